//! `GET /api/catalog/coupons/{code}`: whether a coupon code can be used now (total-use limit only).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bazaar_platform::{ApiJson, ApiPath, Problem};
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use super::promotions::{PromotionView, promotion_view};
use super::{CatalogState, reference, usage_for_quote};
use crate::model::normalize_code;
use crate::pricing::{self, CouponStatus};

/// Whether a coupon code can be used now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CouponCheck {
    pub code: String,
    pub valid: bool,
    /// `applied` stands for "valid"; otherwise `not-yet-valid`, `expired` or `limit-reached`.
    pub status: CouponStatus,
    pub message: String,
    pub promotion: PromotionView,
}

/// Checks a coupon code (case-insensitive). Whether it applies to a given cart is the quote's business.
#[utoipa::path(
    get,
    path = "/api/catalog/coupons/{code}",
    params(("code" = String, Path, description = "The coupon code")),
    responses(
        (status = 200, description = "The code exists; `valid` says whether it can be used now", body = CouponCheck),
        (status = 404, description = "No promotion has this code", body = Problem),
    ),
    tag = "catalog"
)]
pub async fn check_coupon(
    State(state): State<CatalogState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, Problem> {
    let code = normalize_code(&code);
    let reference = reference(&state).await?;
    let promotion = reference
        .promotions
        .iter()
        .find(|p| p.normalized_code().as_deref() == Some(code.as_str()))
        .ok_or_else(|| Problem::not_found(pricing::coupon_message(CouponStatus::Unknown)))?;
    // No customer here: only the total-use limit can be judged.
    let usage = usage_for_quote(
        &state,
        std::slice::from_ref(promotion),
        Some(code.as_str()),
        None,
    )
    .await?;
    let (valid, status, message) = match pricing::availability(promotion, Utc::now(), &usage) {
        Ok(()) => (
            true,
            CouponStatus::Applied,
            "The code can be used.".to_owned(),
        ),
        Err(CouponStatus::NotYetValid) => (
            false,
            CouponStatus::NotYetValid,
            match promotion.schedule.starts_at {
                Some(at) => format!("This code is valid from {}.", at.to_rfc3339()),
                None => "This code is not valid yet.".to_owned(),
            },
        ),
        Err(status) => (false, status, pricing::coupon_message(status).to_owned()),
    };
    let body = CouponCheck {
        code,
        valid,
        status,
        message,
        promotion: promotion_view(promotion),
    };
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        ApiJson(body),
    )
        .into_response())
}
