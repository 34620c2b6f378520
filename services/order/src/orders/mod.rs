//! Orders (`/api/orders`): what a shopper sees of their orders, live status, cancellation before shipment,
//! the staff list of every shopper's orders (by state, newest first), and the warehouse steps staff
//! record. The HTTP side only: handlers parse, authorize and call [`crate::lifecycle`], which makes every
//! state change and writes its events.

pub mod live;
pub mod store;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use base64::Engine as _;
use bazaar_contracts::Money;
use bazaar_contracts::order::{CancellationReason, ShippingAddress};
use bazaar_platform::audit::{AuditEntry, RequestId};
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use futures::Stream;
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::error::OrderError;
use crate::lifecycle::{WarehouseStep, advance, announce_cancellation};
use crate::state::{OrderState, Step};
use store::OrderRow;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(pack_order))
        .routes(routes!(ship_order))
        .routes(routes!(deliver_order))
        .routes(routes!(follow_order))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineView {
    pub sku: String,
    pub title: String,
    pub quantity: i32,
    pub unit_price: Money,
    pub total: Money,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransitionView {
    pub from: Option<String>,
    pub to: String,
    /// What caused the change: an event type or who did it.
    pub cause: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub id: Uuid,
    /// What shoppers and staff quote, e.g. `BZ-100042`.
    pub number: String,
    pub state: OrderState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    pub currency: String,
    pub lines: Vec<OrderLineView>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    /// Sales tax for the destination, included in `total`.
    pub tax: Money,
    pub total: Money,
    /// Where the parcel goes; for in-store pickup, the shopper's own address given at checkout.
    pub shipping_address: ShippingAddress,
    /// The shipping method's code, `pickup` for in-store pickup.
    pub shipping_method: String,
    /// For in-store pickup: the Store (`namespace/name`) the shopper collects the order from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pickup_store: Option<String>,
    /// Where order updates go.
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracking_number: Option<String>,
    pub placed_at: DateTime<Utc>,
    pub history: Vec<TransitionView>,
    /// Present while payment work for this order (a capture, void, refund, or releasing a hold) kept
    /// failing and waits for ops: "payment needs attention".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_attention: Option<crate::saga::attention::PaymentAttentionView>,
    /// Why payment failed, when it did for good (the order is then cancelled and nothing charged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_failure: Option<PaymentFailureView>,
}

/// Why payment failed, in the shopper's words.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailureView {
    /// `declined`, `insufficient_funds`, `provider_unavailable` or `invalid_token` (from `payment.failed`).
    pub reason: String,
    /// What a shopper reads, e.g. "Your card was declined. Nothing was charged; please use another card."
    pub message: String,
}

impl PaymentFailureView {
    fn of(reason: &str) -> Self {
        let message = match reason {
            "declined" => "Your card was declined. Nothing was charged; please use another card.",
            "insufficient_funds" => {
                "Your card has insufficient funds. Nothing was charged; please use another card."
            }
            "provider_unavailable" => {
                "The payment service did not answer, so your card could not be charged. Nothing was \
                 charged; please try again in a few minutes."
            }
            "invalid_token" => {
                "Your card details could not be used. Nothing was charged; please enter them again or \
                 use another card."
            }
            _ => "Your payment did not go through. Nothing was charged; please use another card.",
        };
        Self {
            reason: reason.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// The order as its owner (or staff) sees it.
pub async fn view(conn: &mut PgConnection, order: &OrderRow) -> Result<OrderView, OrderError> {
    let lines = store::lines(conn, order.id).await?;
    let transitions = store::transitions(conn, order.id).await?;
    let attention = crate::saga::attention::load(conn, order.id).await?;
    assemble(order, lines, transitions, attention)
}

/// The views of a page of orders, with three queries for the whole page rather than three per order.
async fn views(conn: &mut PgConnection, orders: &[OrderRow]) -> Result<Vec<OrderView>, OrderError> {
    let ids: Vec<Uuid> = orders.iter().map(|order| order.id).collect();
    let mut lines = store::lines_of(conn, &ids).await?;
    let mut transitions = store::transitions_of(conn, &ids).await?;
    let mut attention = crate::saga::attention::load_for(conn, &ids).await?;
    orders
        .iter()
        .map(|order| {
            assemble(
                order,
                lines.remove(&order.id).unwrap_or_default(),
                transitions.remove(&order.id).unwrap_or_default(),
                attention.remove(&order.id),
            )
        })
        .collect()
}

fn assemble(
    order: &OrderRow,
    lines: Vec<store::LineRow>,
    transitions: Vec<store::TransitionRow>,
    attention: Option<crate::saga::attention::PaymentAttentionView>,
) -> Result<OrderView, OrderError> {
    let lines = lines
        .into_iter()
        .map(|line| {
            Ok(OrderLineView {
                sku: line.sku,
                title: line.title,
                quantity: line.quantity,
                unit_price: order.money(line.unit_price_minor)?,
                total: order.money(line.line_total_minor)?,
            })
        })
        .collect::<Result<Vec<_>, OrderError>>()?;
    let history = transitions
        .into_iter()
        .map(|t| TransitionView {
            from: t.from_state,
            to: t.to_state,
            cause: t.cause,
            at: t.at,
        })
        .collect();
    Ok(OrderView {
        id: order.id,
        number: order.number.clone(),
        state: order.state()?,
        cancel_reason: order.cancel_reason.clone(),
        currency: order.currency.clone(),
        lines,
        subtotal: order.money(order.subtotal_minor)?,
        discount: order.money(order.discount_minor)?,
        shipping: order.money(order.shipping_minor)?,
        tax: order.money(order.tax_minor)?,
        total: order.money(order.total_minor)?,
        shipping_address: order.shipping_address.0.clone(),
        shipping_method: order.shipping_method.clone(),
        pickup_store: order.pickup_store.clone(),
        email: order.email.clone(),
        carrier: order.carrier.clone(),
        tracking_number: order.tracking_number.clone(),
        placed_at: order.created_at,
        history,
        payment_attention: attention,
        payment_failure: order.payment_failure.as_deref().map(PaymentFailureView::of),
    })
}

/// The order if `user` may see it: its owner, or staff. Anyone else is told it does not exist.
async fn visible_order(
    conn: &mut PgConnection,
    id: Uuid,
    user: &CurrentUser,
) -> Result<OrderRow, OrderError> {
    match store::load(conn, id).await? {
        Some(order) if order.user_id == user.id || user.has_role(Role::Ops) => Ok(order),
        _ => Err(OrderError::NotFound("No such order.")),
    }
}

fn parse_id(id: &str) -> Result<Uuid, OrderError> {
    Uuid::parse_str(id).map_err(|_| OrderError::NotFound("No such order."))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// At most this many orders (1 to 100, default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// The `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Staff (ops, admin): `true` lists every shopper's orders instead of their own; 403 for anyone else.
    pub all: Option<bool>,
    /// Only orders in these states, comma-separated (e.g. `confirmed,packed`).
    #[param(pattern = "^[a-z_]+(,[a-z_]+)*$", example = "confirmed,packed")]
    pub state: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPage {
    pub items: Vec<OrderView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The signed-in shopper's orders, newest first; with `all=true`, staff (ops, admin) see every shopper's
/// orders, e.g. the orders to pack (`state=confirmed`). Each carries what a packing list needs: lines,
/// shipping address or pickup store, totals and tracking.
#[utoipa::path(get, path = "/api/orders", tag = "orders", params(PageParams),
    responses((status = 200, body = OrderPage), (status = 401, body = Problem),
              (status = 403, description = "`all=true` without the ops or admin role", body = Problem),
              (status = 422, body = Problem)))]
async fn list_orders(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<ApiJson<OrderPage>, OrderError> {
    let limit = page.limit.unwrap_or(20);
    let mut errors = Vec::new();
    if !(1..=100).contains(&limit) {
        errors.push(FieldError::new("limit", "must be from 1 to 100"));
    }
    let mut states = Vec::new();
    for name in page.state.iter().flat_map(|list| list.split(',')) {
        match OrderState::parse(name.trim()) {
            Some(state) => states.push(state),
            None => errors.push(FieldError::new(
                "state",
                format!(
                    "{name:?} is not an order state; use placed, awaiting_payment, confirmed, packed, \
                     shipped, delivered or cancelled"
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(OrderError::Fields(errors));
    }
    let all = page.all.unwrap_or(false);
    if all {
        user.require(Role::Ops)?;
    }
    let after = page.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut conn = state.db.acquire().await?;
    let listing = store::Listing {
        user_id: (!all).then_some(user.id.as_str()),
        states: &states,
        after,
        limit: limit + 1,
    };
    let rows = store::list(&mut conn, &listing).await?;
    let more = rows.len() as i64 > limit;
    let items = views(&mut conn, &rows[..rows.len().min(limit as usize)]).await?;
    let next_cursor = more
        .then(|| rows.get(limit as usize - 1))
        .flatten()
        .map(|last| encode_cursor(last.created_at, last.id));
    Ok(ApiJson(OrderPage { items, next_cursor }))
}

fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{id}", at.to_rfc3339()))
}

fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, Uuid), OrderError> {
    let invalid = || OrderError::field("cursor", "not a cursor this API gave out");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (at, id) = text.split_once('|').ok_or_else(invalid)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| invalid())?
        .with_timezone(&Utc);
    Ok((at, Uuid::parse_str(id).map_err(|_| invalid())?))
}

/// One order, with its lines and history.
#[utoipa::path(get, path = "/api/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = Problem)))]
async fn get_order(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<OrderView>, OrderError> {
    let mut conn = state.db.acquire().await?;
    let order = visible_order(&mut conn, parse_id(&id)?, &user).await?;
    Ok(ApiJson(view(&mut conn, &order).await?))
}

/// Cancels an order that has not shipped: reserved stock is released or restocked, payment voided or
/// refunded.
#[utoipa::path(post, path = "/api/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn cancel_order(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<OrderView>, OrderError> {
    // Staff cancelling on a shopper's behalf is audited (`order.cancel`), refusals included.
    let audit = AuditEntry::new(&user, &request_id, "order.cancel", "order", id.clone());
    let mut on_behalf = user.has_role(Role::Ops);
    match cancel(&state, &user, &id, &audit, &mut on_behalf).await {
        Err(error) if on_behalf => {
            let problem = Problem::from(error);
            audit.record_outcome(&state.db, &problem).await;
            Err(OrderError::Answer(problem))
        }
        result => result,
    }
}

/// Cancels for [`cancel_order`]; `on_behalf` becomes whether the caller cancels someone else's order, in
/// which case `audit` is recorded with the change.
async fn cancel(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    audit: &AuditEntry,
    on_behalf: &mut bool,
) -> Result<ApiJson<OrderView>, OrderError> {
    let id = parse_id(id)?;
    let mut tx = state.db.begin().await?;
    let order = visible_order(&mut tx, id, user).await?;
    *on_behalf = order.user_id != user.id;
    let reason = if order.user_id == user.id {
        CancellationReason::RequestedByCustomer
    } else {
        CancellationReason::RequestedByStaff
    };
    let advanced = advance(
        &mut tx,
        id,
        Step::Cancel(reason),
        &format!("cancelled by {}", user.id),
    )
    .await?;
    announce_cancellation(
        &mut tx,
        &state.outbox,
        &advanced,
        reason,
        "The order was cancelled on request.",
    )
    .await?;
    state.metrics.cancelled(reason);
    let order = store::load(&mut tx, id)
        .await?
        .ok_or(OrderError::NotFound("No such order."))?;
    let view = view(&mut tx, &order).await?;
    if *on_behalf {
        audit
            .clone()
            .before(serde_json::json!({"state": advanced.from}))
            .after(serde_json::json!({"state": advanced.to, "reason": reason}))
            .record(&mut tx)
            .await?;
    }
    tx.commit().await?;
    Ok(ApiJson(view))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Shipment {
    #[schema(min_length = 1, max_length = 100)]
    pub carrier: String,
    #[schema(min_length = 1, max_length = 100)]
    pub tracking_number: String,
}

/// Staff: the parcel is packed.
#[utoipa::path(post, path = "/api/orders/{id}/pack", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn pack_order(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<OrderView>, OrderError> {
    recorded_step(&state, &user, &request_id, &id, WarehouseStep::Pack).await
}

/// Staff: the parcel left with a carrier.
#[utoipa::path(post, path = "/api/orders/{id}/ship", tag = "orders", params(("id" = String, Path)),
    request_body = Shipment,
    responses((status = 200, body = OrderView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn ship_order(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
    ApiJson(shipment): ApiJson<Shipment>,
) -> Result<ApiJson<OrderView>, OrderError> {
    let errors: Vec<FieldError> = [
        ("carrier", &shipment.carrier),
        ("trackingNumber", &shipment.tracking_number),
    ]
    .into_iter()
    .filter(|(_, value)| value.trim().is_empty() || value.len() > 100)
    .map(|(field, _)| FieldError::new(field, "must have 1 to 100 characters"))
    .collect();
    if !errors.is_empty() {
        return Err(OrderError::Fields(errors));
    }
    let step = WarehouseStep::Ship {
        carrier: shipment.carrier.trim().to_owned(),
        tracking_number: shipment.tracking_number.trim().to_owned(),
    };
    recorded_step(&state, &user, &request_id, &id, step).await
}

/// Staff: the carrier delivered the parcel.
#[utoipa::path(post, path = "/api/orders/{id}/deliver", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn deliver_order(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<OrderView>, OrderError> {
    recorded_step(&state, &user, &request_id, &id, WarehouseStep::Deliver).await
}

/// A warehouse step by ops, audited (`order.pack`, `order.ship`, `order.deliver`), refusals included.
async fn recorded_step(
    state: &AppState,
    user: &CurrentUser,
    request_id: &RequestId,
    id: &str,
    step: WarehouseStep,
) -> Result<ApiJson<OrderView>, OrderError> {
    user.require(Role::Ops)?;
    let action = match step {
        WarehouseStep::Pack => "order.pack",
        WarehouseStep::Ship { .. } => "order.ship",
        WarehouseStep::Deliver => "order.deliver",
    };
    let audit = AuditEntry::new(user, request_id, action, "order", id);
    let recorded = async {
        let id = parse_id(id)?;
        let mut tx = state.db.begin().await?;
        let cause = format!("recorded by {}", audit.actor);
        let shipped = match &step {
            WarehouseStep::Ship {
                carrier,
                tracking_number,
            } => Some((carrier, tracking_number)),
            _ => None,
        };
        let advanced =
            crate::lifecycle::warehouse_step(&mut tx, &state.outbox, id, &step, &cause).await?;
        let order = store::load(&mut tx, id)
            .await?
            .ok_or(OrderError::NotFound("No such order."))?;
        let view = view(&mut tx, &order).await?;
        audit
            .clone()
            .before(serde_json::json!({"state": advanced.from}))
            .after(serde_json::json!({
                "state": advanced.to,
                "carrier": shipped.map(|(carrier, _)| carrier),
                "trackingNumber": shipped.map(|(_, tracking)| tracking),
            }))
            .record(&mut tx)
            .await?;
        tx.commit().await?;
        Ok::<_, OrderError>(ApiJson(view))
    };
    Ok(audit.on_failure(&state.db, recorded).await?)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdate {
    pub state: OrderState,
    pub at: DateTime<Utc>,
}

/// Server-sent events of the order's status: the current one at once, then every change, ending after a
/// final state (delivered or cancelled).
#[utoipa::path(get, path = "/api/orders/{id}/events", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, description = "text/event-stream of `status` events", body = StatusUpdate),
              (status = 404, body = Problem)))]
async fn follow_order(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, OrderError> {
    let id = parse_id(&id)?;
    let mut conn = state.db.acquire().await?;
    visible_order(&mut conn, id, &user).await?;
    drop(conn);
    let stream = live::status_stream(state.db.clone(), state.live.clone(), id).await;
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
