//! `GET /api/catalog/promotions`: the automatic promotions running now, and the promotion view
//! coupons share.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bazaar_contracts::{Money, Sku};
use bazaar_platform::Problem;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{CatalogState, cached_json, reference};
use crate::model::{Discount, Promotion, ScheduleState};

/// A promotion as shoppers may see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionView {
    /// `namespace/name`.
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `percentage`, `amount`, `free_shipping` or `buy_x_get_y`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage: Option<u32>,
    pub amounts: Vec<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buy: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub get: Option<u32>,
    /// Product labels, categories and SKUs it is limited to; all empty means everything.
    pub labels: BTreeMap<String, String>,
    pub categories: Vec<String>,
    pub skus: Vec<Sku>,
    pub minimum_subtotal: Vec<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    pub stackable: bool,
    pub priority: i32,
}

pub(super) fn promotion_view(promotion: &Promotion) -> PromotionView {
    let (kind, percentage, amounts, buy, get) = match &promotion.discount {
        Discount::Percentage(p) => ("percentage", Some(*p), Vec::new(), None, None),
        Discount::Amount(a) => ("amount", None, a.clone(), None, None),
        Discount::FreeShipping => ("free_shipping", None, Vec::new(), None, None),
        Discount::BuyXGetY { buy, get } => {
            ("buy_x_get_y", None, Vec::new(), Some(*buy), Some(*get))
        }
    };
    PromotionView {
        id: promotion.key(),
        title: promotion.display_name().to_owned(),
        code: promotion.normalized_code(),
        kind: kind.to_owned(),
        percentage,
        amounts,
        buy,
        get,
        labels: promotion.applies_to.labels.clone(),
        categories: promotion.applies_to.categories.clone(),
        skus: promotion.applies_to.skus.clone(),
        minimum_subtotal: promotion.minimum_subtotal.clone(),
        starts_at: promotion.schedule.starts_at,
        ends_at: promotion.schedule.ends_at,
        stackable: promotion.stackable,
        priority: promotion.priority,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionList {
    pub items: Vec<PromotionView>,
}

/// Automatic promotions running now, highest priority first.
#[utoipa::path(
    get,
    path = "/api/catalog/promotions",
    responses((status = 200, description = "Running automatic promotions", body = PromotionList)),
    tag = "catalog"
)]
pub async fn list_promotions(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Problem> {
    cached_json(&state, &headers, &uri, async {
        let reference = reference(&state).await?;
        let now = Utc::now();
        let mut running: Vec<&Promotion> = reference
            .promotions
            .iter()
            .filter(|p| p.is_automatic() && p.schedule.state(now) == ScheduleState::Running)
            .collect();
        running.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.key().cmp(&b.key())));
        Ok(PromotionList {
            items: running.into_iter().map(promotion_view).collect(),
        })
    })
    .await
}
