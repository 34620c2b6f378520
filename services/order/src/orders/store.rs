//! Order persistence: orders, their lines, and the transition log that is the saga's audit trail.

use std::collections::HashMap;

use bazaar_contracts::money::{self, Money};
use bazaar_contracts::order::{Customer, OrderId, OrderLine, ShippingAddress};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::error::OrderError;
use crate::state::OrderState;

/// Channel on which every committed transition is announced (payload: order id), for live updates.
pub const STATUS_CHANNEL: &str = "bazaar_order_status";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    pub id: Uuid,
    pub number: String,
    pub user_id: String,
    pub email: String,
    pub state: String,
    pub cancel_reason: Option<String>,
    pub currency: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub total_minor: i64,
    pub tax_minor: i64,
    pub shipping_address: Json<ShippingAddress>,
    pub shipping_method: String,
    pub coupon_code: Option<String>,
    pub payment_token: String,
    pub payment_attempt: i32,
    pub carrier: Option<String>,
    pub tracking_number: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The Store collected from, for in-store pickup.
    pub pickup_store: Option<String>,
    /// Why payment failed for good (`payment.failed`'s reason), if it did.
    pub payment_failure: Option<String>,
}

impl OrderRow {
    pub fn state(&self) -> Result<OrderState, OrderError> {
        OrderState::parse(&self.state).ok_or_else(|| {
            OrderError::Invalid(format!("unknown stored order state {}", self.state))
        })
    }

    pub fn order_id(&self) -> OrderId {
        OrderId(self.id)
    }

    pub fn money(&self, minor: i64) -> Result<Money, OrderError> {
        Ok(Money::from_minor(minor, money::currency(&self.currency)?))
    }

    pub fn customer(&self) -> Customer {
        Customer {
            user_id: Some(self.user_id.clone()),
            email: self.email.clone(),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineRow {
    pub sku: String,
    pub title: String,
    pub quantity: i32,
    pub unit_price_minor: i64,
    pub line_total_minor: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransitionRow {
    pub from_state: Option<String>,
    pub to_state: String,
    pub cause: String,
    pub at: DateTime<Utc>,
}

pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Option<OrderRow>, OrderError> {
    Ok(
        sqlx::query_as::<_, OrderRow>("SELECT * FROM orders WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Loads and locks the order for the rest of the transaction, so its transitions are serialised.
pub async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Option<OrderRow>, OrderError> {
    Ok(
        sqlx::query_as::<_, OrderRow>("SELECT * FROM orders WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

pub async fn lines(conn: &mut PgConnection, id: Uuid) -> Result<Vec<LineRow>, OrderError> {
    Ok(sqlx::query_as::<_, LineRow>(
        "SELECT sku, title, quantity, unit_price_minor, line_total_minor FROM order_lines
         WHERE order_id = $1 ORDER BY sku",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The lines of a page of orders at once, by order (each order's in [`lines`]' order).
pub async fn lines_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<LineRow>>, OrderError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        order_id: Uuid,
        #[sqlx(flatten)]
        line: LineRow,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT order_id, sku, title, quantity, unit_price_minor, line_total_minor FROM order_lines
         WHERE order_id = ANY($1) ORDER BY order_id, sku",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_order: HashMap<Uuid, Vec<LineRow>> = HashMap::new();
    for row in rows {
        by_order.entry(row.order_id).or_default().push(row.line);
    }
    Ok(by_order)
}

/// The order's lines in the event contract's shape.
pub async fn contract_lines(
    conn: &mut PgConnection,
    order: &OrderRow,
) -> Result<Vec<OrderLine>, OrderError> {
    lines(conn, order.id)
        .await?
        .into_iter()
        .map(|line| {
            Ok(OrderLine {
                sku: line
                    .sku
                    .parse()
                    .map_err(|e: money::InvalidSku| OrderError::Invalid(e.to_string()))?,
                quantity: u32::try_from(line.quantity).unwrap_or(0),
                unit_price: order.money(line.unit_price_minor)?,
                line_total: order.money(line.line_total_minor)?,
            })
        })
        .collect()
}

pub async fn transitions(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<Vec<TransitionRow>, OrderError> {
    Ok(sqlx::query_as::<_, TransitionRow>(
        "SELECT from_state, to_state, cause, at FROM order_transitions WHERE order_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The transitions of a page of orders at once, by order (each order's in [`transitions`]' order).
pub async fn transitions_of(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<TransitionRow>>, OrderError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        order_id: Uuid,
        #[sqlx(flatten)]
        transition: TransitionRow,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT order_id, from_state, to_state, cause, at FROM order_transitions
         WHERE order_id = ANY($1) ORDER BY order_id, id",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_order: HashMap<Uuid, Vec<TransitionRow>> = HashMap::new();
    for row in rows {
        by_order
            .entry(row.order_id)
            .or_default()
            .push(row.transition);
    }
    Ok(by_order)
}

/// Records a state change with its cause and announces it when the transaction commits.
pub async fn record_transition(
    conn: &mut PgConnection,
    id: Uuid,
    from: Option<OrderState>,
    to: OrderState,
    cause: &str,
) -> Result<(), OrderError> {
    sqlx::query("UPDATE orders SET state = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(to.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("INSERT INTO order_transitions (order_id, from_state, to_state, cause) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(from.map(OrderState::as_str))
        .bind(to.as_str())
        .bind(cause)
        .execute(&mut *conn)
        .await?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(STATUS_CHANNEL)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Which orders a page lists.
pub struct Listing<'a> {
    /// Only this shopper's orders; everyone's when `None` (staff).
    pub user_id: Option<&'a str>,
    /// Only orders in one of these states; any state when empty.
    pub states: &'a [OrderState],
    /// After this `(created_at, id)` cursor.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// A page of orders, newest first.
pub async fn list(
    conn: &mut PgConnection,
    listing: &Listing<'_>,
) -> Result<Vec<OrderRow>, OrderError> {
    let (at, id) = listing
        .after
        .unwrap_or((DateTime::<Utc>::MAX_UTC, Uuid::max()));
    let states: Vec<&str> = listing.states.iter().map(|s| s.as_str()).collect();
    Ok(sqlx::query_as::<_, OrderRow>(
        "SELECT * FROM orders
         WHERE ($1::text IS NULL OR user_id = $1)
           AND (cardinality($2::text[]) = 0 OR state = ANY($2))
           AND (created_at, id) < ($3, $4)
         ORDER BY created_at DESC, id DESC LIMIT $5",
    )
    .bind(listing.user_id)
    .bind(states)
    .bind(at)
    .bind(id)
    .bind(listing.limit)
    .fetch_all(&mut *conn)
    .await?)
}
