//! `/api/notifications/deliveries`: the delivery log, for admins.

use axum::extract::State;
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::{ApiJson, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

pub fn router(pool: PgPool) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .with_state(pool)
}

/// Where a message stands (see the `send` module for the guarantees).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[sqlx(type_name = "delivery_state", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Recorded, waiting to be sent (or to be tried again).
    Pending,
    /// Being handed to the transport.
    Sending,
    /// The transport took it.
    Sent,
    /// The transport refused it, or did not take it within the attempts.
    Failed,
    /// Interrupted mid-send: it may have left; it is not sent again.
    Unknown,
}

/// One message: recorded with its event, then sent at most once.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: Uuid,
    /// The event that caused it.
    pub event_id: String,
    pub event_type: String,
    /// `order_placed`, `order_confirmed`, `order_cancelled`, `order_packed`, `order_shipped`, `order_delivered`,
    /// `payment_refunded`, `stock_low` or `welcome`.
    pub template: String,
    pub recipient: String,
    pub channel: String,
    /// `log` or `smtp`.
    pub transport: String,
    pub subject: String,
    pub body: String,
    pub order_id: Option<Uuid>,
    pub state: DeliveryState,
    /// Hand-overs to the transport so far.
    pub attempts: i32,
    /// Why the last attempt did not send it.
    pub last_error: Option<String>,
    /// When it was recorded with its event.
    pub recorded_at: DateTime<Utc>,
    /// When the transport took it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only messages to this address.
    pub recipient: Option<String>,
    /// Only messages about this order.
    pub order_id: Option<Uuid>,
    /// Only messages of this template.
    pub template: Option<String>,
    /// Only messages in this state, e.g. `failed` or `unknown`.
    pub state: Option<DeliveryState>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Deliveries older than this delivery id (from `nextBefore`).
    pub before: Option<Uuid>,
}

/// The delivery log, newest first. Admins only.
#[utoipa::path(
    get,
    path = "/api/notifications/deliveries",
    params(DeliveryQuery),
    responses(
        (status = 200, description = "Deliveries, newest first", body = DeliveryPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "notifications"
)]
async fn list_deliveries(
    user: CurrentUser,
    State(pool): State<PgPool>,
    ApiQuery(query): ApiQuery<DeliveryQuery>,
) -> Result<ApiJson<DeliveryPage>, Problem> {
    user.require(Role::Admin)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::validation(vec![FieldError::new(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        )]));
    }
    let mut items = sqlx::query_as::<_, Delivery>(
        "SELECT id, event_id, event_type, template, recipient, channel, transport, subject, body,
                order_id, state, attempts, last_error, recorded_at, sent_at
         FROM deliveries
         WHERE ($1::text IS NULL OR recipient = $1) AND ($2::uuid IS NULL OR order_id = $2)
           AND ($3::text IS NULL OR template = $3) AND ($4::uuid IS NULL OR id < $4)
           AND ($6::delivery_state IS NULL OR state = $6)
         ORDER BY id DESC LIMIT $5",
    )
    .bind(query.recipient.as_deref())
    .bind(query.order_id)
    .bind(query.template.as_deref())
    .bind(query.before)
    .bind(i64::from(limit) + 1)
    .bind(query.state)
    .fetch_all(&pool)
    .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_before = more.then(|| items.last().map(|d| d.id)).flatten();
    Ok(ApiJson(DeliveryPage { items, next_before }))
}
