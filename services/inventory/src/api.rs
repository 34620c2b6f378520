//! `/api/inventory`: public availability by SKU; for ops, stock levels per location (one SKU, or every SKU
//! and location paged by cursor and filtered by SKU prefix and location), the low-stock list, setting and
//! adjusting on-hand units (audited), low-stock thresholds, the audit trail, locations and reservations.

use axum::extract::State;
use axum::http::StatusCode;
use bazaar_contracts::Sku;
use bazaar_platform::audit::{self, AuditEntry, RequestId};
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::model::{LocationName, ReservationState};
use crate::service::{Inventory, InventoryError, StockChange, StockLevel};

/// Page sizes of the ops lists.
const DEFAULT_PAGE: i64 = 100;
const MAX_PAGE: i64 = 500;
/// Largest on-hand count, delta or threshold accepted: far above any real shelf, far below overflow.
const MAX_UNITS: i64 = 1_000_000_000;
const MAX_REASON_CHARS: usize = 500;

#[derive(Clone)]
pub struct Api {
    pub pool: PgPool,
    pub inventory: Inventory,
}

pub fn router(api: Api) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(availability))
        .routes(routes!(list_stock))
        .routes(routes!(low_stock))
        .routes(routes!(stock_of_sku))
        .routes(routes!(set_stock))
        .routes(routes!(adjust_stock))
        .routes(routes!(set_threshold))
        .routes(routes!(list_adjustments))
        .routes(routes!(list_locations))
        .routes(routes!(put_location))
        .routes(routes!(reservation))
        .with_state(api.clone())
        .merge(audit::router("inventory", api.pool))
}

// ---------------------------------------------------------------------------------------------------------
// Bodies

/// Whether a SKU can be ordered now.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Availability {
    pub sku: String,
    /// Units that can be ordered now, over every location that ships online orders.
    pub available: i64,
    pub in_stock: bool,
}

/// Stock of a SKU at one location.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocationStock {
    /// The Store, `namespace/name`.
    pub location: String,
    pub on_hand: i32,
    /// Units held for orders not yet confirmed.
    pub reserved: i32,
    /// On hand less reserved.
    pub available: i32,
    /// Whether online orders are served from this location.
    pub can_ship: bool,
    /// On a change of stock: what the caller should know, e.g. that the catalog does not sell the SKU
    /// (the change is recorded all the same).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl From<StockLevel> for LocationStock {
    fn from(level: StockLevel) -> Self {
        Self {
            location: level.location,
            on_hand: level.on_hand,
            reserved: level.reserved,
            available: level.on_hand - level.reserved,
            can_ship: level.can_ship,
            warnings: level.warning.into_iter().collect(),
        }
    }
}

/// A SKU's stock at every location, for ops.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SkuStock {
    pub sku: String,
    /// `inventory.stock_low` is signalled when available units (all locations) fall to this.
    pub low_stock_threshold: Option<i32>,
    /// Available units over all locations.
    pub available: i64,
    pub locations: Vec<LocationStock>,
}

/// Stock of one SKU at one location, as the ops list shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct StockRow {
    pub sku: String,
    /// The Store, `namespace/name`.
    pub location: String,
    pub on_hand: i32,
    /// Units held for orders not yet confirmed.
    pub reserved: i32,
    /// On hand less reserved.
    pub available: i32,
    /// Whether online orders are served from this location.
    pub can_ship: bool,
}

/// A page of stock rows, by SKU then location.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockPage {
    pub items: Vec<StockRow>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StockQuery {
    /// Only SKUs starting with this (taken literally; SKU characters only).
    #[param(max_length = 64)]
    pub sku_prefix: Option<String>,
    /// Only this location, `namespace/name`.
    pub location: Option<String>,
    /// `nextCursor` of the previous page, unchanged.
    pub cursor: Option<String>,
    /// Rows per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A SKU whose available units (all locations) are at or below its low-stock threshold.
#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct LowStock {
    pub sku: String,
    /// On hand less reserved, over all locations.
    pub available: i64,
    pub threshold: i32,
}

/// A page of low-stock SKUs, by SKU.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LowStockPage {
    pub items: Vec<LowStock>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LowStockQuery {
    /// `nextCursor` of the previous page, unchanged.
    pub cursor: Option<String>,
    /// SKUs per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// Sets the units on hand.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetStock {
    /// Units physically at the location, 0 or more.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub on_hand: i64,
    /// Why (a stock count, a delivery, ...); kept in the audit trail.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Adds or removes units on hand.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdjustStock {
    /// Units added (positive) or removed (negative); not zero.
    #[schema(minimum = -1_000_000_000, maximum = 1_000_000_000)]
    pub delta: i64,
    /// Why (damaged, found, returned to supplier, ...); kept in the audit trail.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// Sets or clears a SKU's low-stock threshold.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetThreshold {
    /// Signal when available units fall to this; `null` never signals.
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub threshold: Option<i64>,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// One audited change.
#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Adjustment {
    pub id: Uuid,
    pub sku: String,
    /// The location; absent for a change of the SKU's threshold.
    pub location: Option<String>,
    /// `set` or `adjust` (on-hand units), or `threshold`.
    pub kind: String,
    /// On-hand units (or the threshold) before the change.
    pub before: Option<i32>,
    /// On-hand units (or the threshold) after the change.
    pub after: Option<i32>,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// The user who made the change (token subject).
    pub actor: String,
    pub occurred_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct AdjustmentsQuery {
    /// The SKU whose trail to read.
    pub sku: String,
    /// At most this many, newest first (1 to 500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// A stock location.
#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    /// The Store, `namespace/name`.
    pub name: String,
    pub can_ship: bool,
    /// Lower is preferred when an order is split across locations.
    pub priority: i32,
    /// `ops` (this API) or `catalog` (Store resources).
    pub source: String,
}

/// Registers or changes a location.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PutLocation {
    /// Whether online orders may be served from here (default true).
    #[serde(default = "yes")]
    pub can_ship: bool,
    /// 0 to 1000000, lower preferred (default 100).
    #[serde(default = "default_priority")]
    pub priority: i64,
}

fn yes() -> bool {
    true
}

fn default_priority() -> i64 {
    100
}

/// An order's reservation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReservationView {
    pub order_id: Uuid,
    #[schema(value_type = String, example = "held")]
    pub state: String,
    pub expires_at: DateTime<Utc>,
    pub lines: Vec<ReservedLine>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ReservedLine {
    pub sku: String,
    pub location: String,
    pub quantity: i32,
}

// ---------------------------------------------------------------------------------------------------------
// Handlers

/// Units of a SKU that can be ordered now.
#[utoipa::path(get, path = "/api/inventory/availability/{sku}", tag = "inventory",
    params(("sku" = inline(Sku), Path, description = "The SKU, e.g. TR-42-BLK")),
    responses(
        (status = 200, body = Availability),
        (status = 422, description = "Not a SKU", body = Problem, content_type = "application/problem+json"),
    ))]
async fn availability(
    State(api): State<Api>,
    ApiPath(sku): ApiPath<String>,
) -> Result<ApiJson<Availability>, Problem> {
    let sku = parse_sku(&sku).map_err(|e| Problem::validation(vec![e]))?;
    let available: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(s.on_hand - s.reserved), 0)::bigint
         FROM stock s JOIN locations l ON l.name = s.location WHERE s.sku = $1 AND l.can_ship",
    )
    .bind(sku.as_str())
    .fetch_one(&api.pool)
    .await?;
    Ok(ApiJson(Availability {
        sku: sku.to_string(),
        available,
        in_stock: available > 0,
    }))
}

/// Stock per SKU and location, by SKU then location, paged by cursor; filtered by SKU prefix and location
/// (ops).
#[utoipa::path(get, path = "/api/inventory/stock", tag = "inventory",
    params(StockQuery),
    responses(
        (status = 200, body = StockPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not ops or admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid prefix, location, cursor or limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn list_stock(
    user: CurrentUser,
    State(api): State<Api>,
    ApiQuery(query): ApiQuery<StockQuery>,
) -> Result<ApiJson<StockPage>, Problem> {
    user.require(Role::Ops)?;
    let mut errors = Vec::new();
    let limit = page_size(query.limit, &mut errors);
    let prefix = query.sku_prefix.as_deref().filter(|p| !p.is_empty());
    if let Some(prefix) = prefix
        && (prefix.len() > 64
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        errors.push(FieldError::new(
            "skuPrefix",
            "must be the start of a SKU: letters, digits, '.', '_' and '-', at most 64",
        ));
    }
    let location = query.location.as_deref().and_then(|location| {
        LocationName::parse(location)
            .map_err(|message| errors.push(FieldError::new("location", message)))
            .ok()
    });
    let cursor = query.cursor.as_deref().and_then(|cursor| {
        StockCursor::decode(cursor)
            .ok_or_else(|| errors.push(not_a_cursor()))
            .ok()
    });
    let (Some(limit), true) = (limit, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let mut rows: Vec<StockRow> = sqlx::query_as(
        "SELECT s.sku, s.location, s.on_hand, s.reserved, s.on_hand - s.reserved AS available,
                l.can_ship
         FROM stock s JOIN locations l ON l.name = s.location
         WHERE ($1::text IS NULL OR left(s.sku, length($1)) = $1)
           AND ($2::text IS NULL OR s.location = $2)
           AND ($3::text IS NULL OR (s.sku, s.location) > ($3, $4))
         ORDER BY s.sku, s.location LIMIT $5",
    )
    .bind(prefix)
    .bind(location.as_ref().map(LocationName::as_str))
    .bind(cursor.as_ref().map(|c| c.sku.as_str()))
    .bind(cursor.as_ref().map(|c| c.location.as_str()))
    .bind(limit + 1)
    .fetch_all(&api.pool)
    .await?;
    let next_cursor = next_page(&mut rows, limit).map(|last| {
        StockCursor {
            sku: last.sku.clone(),
            location: last.location.clone(),
        }
        .encode()
    });
    Ok(ApiJson(StockPage {
        items: rows,
        next_cursor,
    }))
}

/// SKUs whose available units over all locations are at or below their low-stock threshold, by SKU,
/// paged by cursor (ops). SKUs without a threshold are never listed.
#[utoipa::path(get, path = "/api/inventory/low-stock", tag = "inventory",
    params(LowStockQuery),
    responses(
        (status = 200, body = LowStockPage),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not ops or admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn low_stock(
    user: CurrentUser,
    State(api): State<Api>,
    ApiQuery(query): ApiQuery<LowStockQuery>,
) -> Result<ApiJson<LowStockPage>, Problem> {
    user.require(Role::Ops)?;
    let mut errors = Vec::new();
    let limit = page_size(query.limit, &mut errors);
    let after = query
        .cursor
        .as_deref()
        .and_then(|cursor| collect(parse_sku(cursor).map_err(|_| not_a_cursor()), &mut errors));
    let (Some(limit), true) = (limit, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let mut rows: Vec<LowStock> = sqlx::query_as(
        "SELECT k.sku, COALESCE(sum(s.on_hand - s.reserved), 0)::bigint AS available,
                k.low_stock_threshold AS threshold
         FROM skus k LEFT JOIN stock s ON s.sku = k.sku
         WHERE k.low_stock_threshold IS NOT NULL AND ($1::text IS NULL OR k.sku > $1)
         GROUP BY k.sku
         HAVING COALESCE(sum(s.on_hand - s.reserved), 0) <= k.low_stock_threshold
         ORDER BY k.sku LIMIT $2",
    )
    .bind(after.as_ref().map(Sku::as_str))
    .bind(limit + 1)
    .fetch_all(&api.pool)
    .await?;
    let next_cursor = next_page(&mut rows, limit).map(|last| last.sku.clone());
    Ok(ApiJson(LowStockPage {
        items: rows,
        next_cursor,
    }))
}

/// Where a page of stock rows continues: after this SKU at this location. Written `SKU@namespace/name`,
/// which needs no escaping in a query string; clients pass it back unchanged.
struct StockCursor {
    sku: String,
    location: String,
}

impl StockCursor {
    fn encode(&self) -> String {
        format!("{}@{}", self.sku, self.location)
    }

    fn decode(text: &str) -> Option<Self> {
        let (sku, location) = text.split_once('@')?;
        let sku = parse_sku(sku).ok()?;
        let location = LocationName::parse(location).ok()?;
        Some(Self {
            sku: sku.to_string(),
            location: location.as_str().to_owned(),
        })
    }
}

fn not_a_cursor() -> FieldError {
    FieldError::new(
        "cursor",
        "not a cursor from this API; pass nextCursor from the previous page unchanged",
    )
}

fn page_size(limit: Option<i64>, errors: &mut Vec<FieldError>) -> Option<i64> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&limit) {
        Some(limit)
    } else {
        errors.push(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
        None
    }
}

/// Keeps the first `limit` of `rows` (read with one more) and returns the last kept when more follow.
fn next_page<T>(rows: &mut Vec<T>, limit: i64) -> Option<&T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    if more { rows.last() } else { None }
}

/// A SKU's stock at every location (ops).
#[utoipa::path(get, path = "/api/inventory/stock/{sku}", tag = "inventory",
    params(("sku" = inline(Sku), Path, description = "The SKU")),
    responses(
        (status = 200, body = SkuStock),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn stock_of_sku(
    user: CurrentUser,
    State(api): State<Api>,
    ApiPath(sku): ApiPath<String>,
) -> Result<ApiJson<SkuStock>, Problem> {
    user.require(Role::Ops)?;
    let sku = parse_sku(&sku).map_err(|e| Problem::validation(vec![e]))?;
    let threshold: Option<Option<i32>> =
        sqlx::query_scalar("SELECT low_stock_threshold FROM skus WHERE sku = $1")
            .bind(sku.as_str())
            .fetch_optional(&api.pool)
            .await?;
    let levels: Vec<StockLevel> = sqlx::query_as(
        "SELECT s.location, s.on_hand, s.reserved, l.can_ship
         FROM stock s JOIN locations l ON l.name = s.location WHERE s.sku = $1 ORDER BY l.priority, s.location",
    )
    .bind(sku.as_str())
    .fetch_all(&api.pool)
    .await
    ?;
    let locations: Vec<LocationStock> = levels.into_iter().map(LocationStock::from).collect();
    Ok(ApiJson(SkuStock {
        sku: sku.to_string(),
        low_stock_threshold: threshold.flatten(),
        available: locations.iter().map(|l| i64::from(l.available)).sum(),
        locations,
    }))
}

/// Sets the units on hand of a SKU at a location (ops; audited).
#[utoipa::path(put, path = "/api/inventory/stock/{sku}/{namespace}/{name}", tag = "inventory",
    params(
        ("sku" = inline(Sku), Path, description = "The SKU"),
        ("namespace" = String, Path, description = "The location's namespace"),
        ("name" = String, Path, description = "The location's Store name"),
    ),
    request_body = SetStock,
    responses(
        (status = 200, body = LocationStock),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Less than reserved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input or unknown location", body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_stock(
    user: CurrentUser,
    request_id: RequestId,
    State(api): State<Api>,
    ApiPath((sku, namespace, name)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<SetStock>,
) -> Result<ApiJson<LocationStock>, Problem> {
    user.require(Role::Ops)?;
    let audit = AuditEntry::new(
        &user,
        &request_id,
        "stock.set",
        "stock",
        format!("{sku}@{namespace}/{name}"),
    );
    audit
        .on_failure(&api.pool, async {
            let mut errors = Vec::new();
            let sku = collect(parse_sku(&sku), &mut errors);
            let location = collect(parse_location(&namespace, &name), &mut errors);
            let on_hand = units(body.on_hand, "onHand", 0, &mut errors);
            let reason = reason(&body.reason, &mut errors);
            let (Some(sku), Some(location), Some(on_hand), Some(reason), true) =
                (sku, location, on_hand, reason, errors.is_empty())
            else {
                return Err(Problem::validation(errors));
            };
            let change = StockChange {
                sku: &sku,
                reason,
                actor: &user.id,
            };
            let mut tx = api.pool.begin().await?;
            let level = api
                .inventory
                .set_on_hand(&mut tx, &change, &location, on_hand)
                .await?;
            record_stock_change(&mut tx, &audit, &sku, &location, reason).await?;
            tx.commit().await?;
            Ok::<_, Problem>(ApiJson(level.into()))
        })
        .await
}

/// Adds or removes units on hand of a SKU at a location (ops; audited).
#[utoipa::path(post, path = "/api/inventory/stock/{sku}/{namespace}/{name}/adjustments", tag = "inventory",
    params(
        ("sku" = inline(Sku), Path, description = "The SKU"),
        ("namespace" = String, Path, description = "The location's namespace"),
        ("name" = String, Path, description = "The location's Store name"),
    ),
    request_body = AdjustStock,
    responses(
        (status = 200, body = LocationStock),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Would go below zero or below reserved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid input or unknown location", body = Problem, content_type = "application/problem+json"),
    ))]
async fn adjust_stock(
    user: CurrentUser,
    request_id: RequestId,
    State(api): State<Api>,
    ApiPath((sku, namespace, name)): ApiPath<(String, String, String)>,
    ApiJson(body): ApiJson<AdjustStock>,
) -> Result<ApiJson<LocationStock>, Problem> {
    user.require(Role::Ops)?;
    let audit = AuditEntry::new(
        &user,
        &request_id,
        "stock.adjust",
        "stock",
        format!("{sku}@{namespace}/{name}"),
    );
    audit
        .on_failure(&api.pool, async {
            let mut errors = Vec::new();
            let sku = collect(parse_sku(&sku), &mut errors);
            let location = collect(parse_location(&namespace, &name), &mut errors);
            let delta = units(body.delta, "delta", -MAX_UNITS, &mut errors);
            if delta == Some(0) {
                errors.push(FieldError::new("delta", "must not be zero"));
            }
            let reason = reason(&body.reason, &mut errors);
            let (Some(sku), Some(location), Some(delta), Some(reason), true) =
                (sku, location, delta, reason, errors.is_empty())
            else {
                return Err(Problem::validation(errors));
            };
            let change = StockChange {
                sku: &sku,
                reason,
                actor: &user.id,
            };
            let mut tx = api.pool.begin().await?;
            let level = api
                .inventory
                .adjust_on_hand(&mut tx, &change, &location, delta)
                .await?;
            record_stock_change(&mut tx, &audit, &sku, &location, reason).await?;
            tx.commit().await?;
            Ok::<_, Problem>(ApiJson(level.into()))
        })
        .await
}

/// Sets or clears a SKU's low-stock threshold (ops; audited as `threshold.set`, refusals included).
#[utoipa::path(put, path = "/api/inventory/thresholds/{sku}", tag = "inventory",
    params(("sku" = inline(Sku), Path, description = "The SKU")),
    request_body = SetThreshold,
    responses(
        (status = 204, description = "Threshold set"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn set_threshold(
    user: CurrentUser,
    request_id: RequestId,
    State(api): State<Api>,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<SetThreshold>,
) -> Result<StatusCode, Problem> {
    user.require(Role::Ops)?;
    let audit = AuditEntry::new(&user, &request_id, "threshold.set", "sku", sku.clone());
    audit
        .on_failure(&api.pool, async {
            let mut errors = Vec::new();
            let sku = collect(parse_sku(&sku), &mut errors);
            let threshold = body
                .threshold
                .map(|t| units(t, "threshold", 0, &mut errors));
            let reason = reason(&body.reason, &mut errors);
            let (Some(sku), Some(reason), true) = (sku, reason, errors.is_empty()) else {
                return Err(Problem::validation(errors));
            };
            let threshold = threshold.flatten();
            let change = StockChange {
                sku: &sku,
                reason,
                actor: &user.id,
            };
            let mut tx = api.pool.begin().await?;
            api.inventory
                .set_threshold(&mut tx, &change, threshold)
                .await?;
            // The threshold before, as the change itself recorded it under the SKU's row lock.
            let before: Option<i32> = sqlx::query_scalar(
                "SELECT before FROM adjustments WHERE sku = $1 AND kind = 'threshold'
                 ORDER BY id DESC LIMIT 1",
            )
            .bind(sku.as_str())
            .fetch_one(&mut *tx)
            .await?;
            audit
                .clone()
                .before(serde_json::json!({"threshold": before}))
                .after(serde_json::json!({"threshold": threshold, "reason": reason}))
                .record(&mut tx)
                .await?;
            tx.commit().await?;
            Ok::<_, Problem>(StatusCode::NO_CONTENT)
        })
        .await
}

/// The audit trail of a SKU, newest first (ops).
#[utoipa::path(get, path = "/api/inventory/adjustments", tag = "inventory",
    params(AdjustmentsQuery),
    responses(
        (status = 200, body = Vec<Adjustment>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_adjustments(
    user: CurrentUser,
    State(api): State<Api>,
    ApiQuery(query): ApiQuery<AdjustmentsQuery>,
) -> Result<ApiJson<Vec<Adjustment>>, Problem> {
    user.require(Role::Ops)?;
    let mut errors = Vec::new();
    let sku = collect(parse_sku(&query.sku), &mut errors);
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        errors.push(FieldError::new("limit", "must be between 1 and 500"));
    }
    let (Some(sku), true) = (sku, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let rows: Vec<Adjustment> = sqlx::query_as(
        "SELECT id, sku, location, kind, before, after, reason, actor, occurred_at
         FROM adjustments WHERE sku = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2",
    )
    .bind(sku.as_str())
    .bind(limit)
    .fetch_all(&api.pool)
    .await?;
    Ok(ApiJson(rows))
}

/// Every stock location (ops).
#[utoipa::path(get, path = "/api/inventory/locations", tag = "inventory",
    responses(
        (status = 200, body = Vec<Location>),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_locations(
    user: CurrentUser,
    State(api): State<Api>,
) -> Result<ApiJson<Vec<Location>>, Problem> {
    user.require(Role::Ops)?;
    let rows: Vec<Location> = sqlx::query_as(
        "SELECT name, can_ship, priority, source FROM locations ORDER BY priority, name",
    )
    .fetch_all(&api.pool)
    .await?;
    Ok(ApiJson(rows))
}

/// Registers a location or changes whether it ships and its priority (ops).
#[utoipa::path(put, path = "/api/inventory/locations/{namespace}/{name}", tag = "inventory",
    params(
        ("namespace" = String, Path, description = "The Store's namespace"),
        ("name" = String, Path, description = "The Store's name"),
    ),
    request_body = PutLocation,
    responses(
        (status = 200, body = Location),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
async fn put_location(
    user: CurrentUser,
    request_id: RequestId,
    State(api): State<Api>,
    ApiPath((namespace, name)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<PutLocation>,
) -> Result<ApiJson<Location>, Problem> {
    user.require(Role::Ops)?;
    let audit = AuditEntry::new(
        &user,
        &request_id,
        "location.put",
        "location",
        format!("{namespace}/{name}"),
    );
    audit
        .on_failure(&api.pool, async {
            let mut errors = Vec::new();
            let location = collect(parse_location(&namespace, &name), &mut errors);
            if !(0..=1_000_000).contains(&body.priority) {
                errors.push(FieldError::new("priority", "must be between 0 and 1000000"));
            }
            let (Some(location), true) = (location, errors.is_empty()) else {
                return Err(Problem::validation(errors));
            };
            let mut tx = api.pool.begin().await?;
            let before: Option<Location> = sqlx::query_as(
                "SELECT name, can_ship, priority, source FROM locations WHERE name = $1 FOR UPDATE",
            )
            .bind(location.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let row: Location = sqlx::query_as(
        "INSERT INTO locations (name, can_ship, priority, source) VALUES ($1, $2, $3, 'ops')
         ON CONFLICT (name) DO UPDATE
         SET can_ship = EXCLUDED.can_ship, priority = EXCLUDED.priority, updated_at = now()
         RETURNING name, can_ship, priority, source",
    )
    .bind(location.as_str())
    .bind(body.can_ship)
    .bind(i32::try_from(body.priority).unwrap_or(100))
    .fetch_one(&mut *tx)
    .await?;
            api.inventory
                .review_location(&mut tx, location.as_str())
                .await?;
            audit
                .clone()
                .before(&before)
                .after(&row)
                .record(&mut tx)
                .await?;
            tx.commit().await?;
            Ok::<_, Problem>(ApiJson(row))
        })
        .await
}

/// Records a stock change made in `tx` in the audit trail, with on-hand units before and after as the
/// change itself wrote them to `adjustments` (its row is the newest for the SKU and location: the stock
/// row stays locked until `tx` ends).
async fn record_stock_change(
    tx: &mut sqlx::PgConnection,
    audit: &AuditEntry,
    sku: &Sku,
    location: &LocationName,
    reason: &str,
) -> Result<(), Problem> {
    let (before, after): (Option<i32>, Option<i32>) = sqlx::query_as(
        "SELECT before, after FROM adjustments WHERE sku = $1 AND location = $2 ORDER BY id DESC LIMIT 1",
    )
    .bind(sku.as_str())
    .bind(location.as_str())
    .fetch_one(&mut *tx)
    .await?;
    audit
        .clone()
        .before(serde_json::json!({"onHand": before}))
        .after(serde_json::json!({"onHand": after, "reason": reason}))
        .record(tx)
        .await?;
    Ok(())
}

/// An order's reservation (ops).
#[utoipa::path(get, path = "/api/inventory/reservations/{order_id}", tag = "inventory",
    params(("order_id" = Uuid, Path, description = "The order id")),
    responses(
        (status = 200, body = ReservationView),
        (status = 400, description = "Not an order id", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
async fn reservation(
    user: CurrentUser,
    State(api): State<Api>,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<ApiJson<ReservationView>, Problem> {
    user.require(Role::Ops)?;
    let row: Option<(String, DateTime<Utc>)> =
        sqlx::query_as("SELECT state, expires_at FROM reservations WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&api.pool)
            .await?;
    let Some((state, expires_at)) = row else {
        return Err(Problem::not_found(format!(
            "Order {order_id} has no reservation."
        )));
    };
    let state = ReservationState::parse(&state)
        .map(|s| s.as_str().to_owned())
        .unwrap_or(state);
    let lines: Vec<ReservedLine> = sqlx::query_as(
        "SELECT sku, location, quantity FROM reservation_lines WHERE order_id = $1 ORDER BY sku, location",
    )
    .bind(order_id)
    .fetch_all(&api.pool)
    .await
    ?;
    Ok(ApiJson(ReservationView {
        order_id,
        state,
        expires_at,
        lines,
    }))
}

// ---------------------------------------------------------------------------------------------------------
// Input checks

fn parse_sku(sku: &str) -> Result<Sku, FieldError> {
    sku.parse()
        .map_err(|e: bazaar_contracts::money::InvalidSku| FieldError::new("sku", e.to_string()))
}

fn parse_location(namespace: &str, name: &str) -> Result<LocationName, FieldError> {
    LocationName::new(namespace, name).map_err(|message| FieldError::new("location", message))
}

fn collect<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn units(value: i64, name: &str, min: i64, errors: &mut Vec<FieldError>) -> Option<i32> {
    if (min..=MAX_UNITS).contains(&value) {
        i32::try_from(value).ok()
    } else {
        errors.push(FieldError::new(
            name,
            format!("must be a whole number between {min} and {MAX_UNITS}"),
        ));
        None
    }
}

fn reason<'a>(reason: &'a str, errors: &mut Vec<FieldError>) -> Option<&'a str> {
    let trimmed = reason.trim();
    if trimmed.is_empty() || trimmed.chars().count() > MAX_REASON_CHARS {
        errors.push(FieldError::new(
            "reason",
            format!("must say why, in 1 to {MAX_REASON_CHARS} characters"),
        ));
        None
    } else {
        Some(trimmed)
    }
}

impl From<InventoryError> for Problem {
    /// Database and outbox errors go through the platform's one conversion (an outage is 503).
    fn from(error: InventoryError) -> Self {
        match error {
            InventoryError::Conflict(detail) => Problem::conflict(detail),
            InventoryError::UnknownLocation(detail) => {
                Problem::validation(vec![FieldError::new("location", detail)])
            }
            InventoryError::Sql(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("23514") =>
            {
                Problem::conflict(
                    "The change would break a stock rule (negative or oversold stock).",
                )
            }
            InventoryError::Sql(db) => Problem::from_db(&db),
            InventoryError::Outbox(outbox) => Problem::from(outbox),
            other => Problem::internal(&other),
        }
    }
}
