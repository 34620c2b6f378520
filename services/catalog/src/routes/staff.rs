//! `GET /api/catalog/staff/products`: the catalog as staff see it (ops, merchandisers), read-only: every
//! product whatever its lifecycle, with the Product resource it was reconciled from, so the ops console can
//! say where each item came from. Merchandising itself stays in kubectl.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::openapi::Forbidden;
use bazaar_platform::{ApiJson, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CatalogState, fail_on};
use crate::read::{self, CursorKey};

/// The API group and version of the Product resource.
pub const PRODUCT_API_VERSION: &str = "bazaar.dev/v1alpha1";

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StaffProductQuery {
    /// Only products in this lifecycle: `Draft`, `Active` or `Archived`.
    lifecycle: Option<String>,
    /// Page size, 1 to 100 (default 50).
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// The Kubernetes resource a catalog item was reconciled from (`kubectl get product -n <namespace> <name>`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceResource {
    /// `bazaar.dev/v1alpha1`.
    pub api_version: &'static str,
    /// `Product`.
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// The resource's `metadata.generation` the catalog holds; absent for items not loaded by the
    /// operator (e.g. the example shop of `bazaar dev`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
}

/// A product as staff see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffProduct {
    pub slug: String,
    pub title: String,
    pub category: String,
    /// `Draft`, `Active` or `Archived`; only Active products are public.
    pub lifecycle: String,
    pub featured: bool,
    /// In variant order.
    pub skus: Vec<String>,
    pub source: SourceResource,
    /// When the catalog first held it.
    pub created_at: DateTime<Utc>,
    /// When its projection last changed.
    pub projected_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffProductPage {
    /// By namespace and name.
    pub items: Vec<StaffProduct>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn staff_product(row: read::StaffRow) -> StaffProduct {
    StaffProduct {
        slug: row.slug,
        title: row.title,
        category: row.category,
        lifecycle: row.lifecycle,
        featured: row.featured,
        skus: row.skus,
        source: SourceResource {
            api_version: PRODUCT_API_VERSION,
            kind: "Product",
            namespace: row.namespace,
            name: row.name,
            generation: row.generation,
        },
        created_at: row.created_at,
        projected_at: row.updated_at,
    }
}

/// Every product with the resource it came from (ops, merchandiser).
#[utoipa::path(
    get,
    path = "/api/catalog/staff/products",
    params(StaffProductQuery),
    responses(
        (status = 200, description = "One page of products, by namespace and name", body = StaffProductPage),
        Forbidden,
    ),
    security(("bearer" = [])),
    tag = "catalog"
)]
pub async fn staff_products(
    user: CurrentUser,
    State(state): State<CatalogState>,
    ApiQuery(query): ApiQuery<StaffProductQuery>,
) -> Result<Response, Problem> {
    if !user.has_role(Role::Ops) {
        user.require(Role::Merchandiser)?;
    }
    let mut errors = Vec::new();
    let lifecycle = match query.lifecycle.as_deref() {
        None => None,
        Some(l @ ("Draft" | "Active" | "Archived")) => Some(l),
        Some(_) => {
            errors.push(FieldError::new(
                "lifecycle",
                "expected Draft, Active or Archived",
            ));
            None
        }
    };
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => 50,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new(
                "limit",
                "expected a whole number from 1 to 100",
            ));
            50
        }
    };
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => match CursorKey::decode(text) {
            Some(CursorKey::Resource { ns, n }) => Some((ns, n)),
            _ => {
                errors.push(FieldError::new(
                    "cursor",
                    "not a cursor of this listing; pass nextCursor from the previous page unchanged",
                ));
                None
            }
        },
    };
    fail_on(errors)?;
    let mut rows = read::staff_products(
        &state.db,
        lifecycle,
        after.as_ref().map(|(ns, n)| (ns.as_str(), n.as_str())),
        limit + 1,
    )
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more {
        rows.last().map(|row| {
            CursorKey::Resource {
                ns: row.namespace.clone(),
                n: row.name.clone(),
            }
            .encode()
        })
    } else {
        None
    };
    let page = StaffProductPage {
        items: rows.into_iter().map(staff_product).collect(),
        next_cursor,
    };
    let mut response = ApiJson(page).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
