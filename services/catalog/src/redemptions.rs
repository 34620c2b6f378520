//! Redemptions of promotions, counted so that usage limits (`totalUses`, `perCustomer`) hold exactly.
//!
//! A checkout prices its order with [`reserve`] (`PUT /api/catalog/redemptions/{orderId}`): under a
//! transaction-scoped lock per limited promotion it considers, the usage is read, the quote computed, and
//! one `reserved` row per applied promotion written for the order, in one transaction. Checkouts racing
//! for the last use therefore queue on the lock, and the later ones see the earlier ones' reservations: at
//! most `totalUses` orders get a promotion, however many are in flight.
//!
//! The [`Redemptions`] consumer turns an order's reservation into `placed` rows on `order.placed` (and
//! records rows for an order that reserved nothing, as before reservations existed), and deletes the
//! order's rows on `order.cancelled` (a cancelled order gives its uses back). A checkout that fails after
//! pricing gives its reservation back with [`release`]. A reservation that no `order.placed` confirms
//! within [`RESERVATION_TTL`] (its checkout died before committing) stops counting; the one way a limit
//! can then still be exceeded is an order whose `order.placed` reaches this consumer later than that.
//!
//! The quote ([`usage_for`]) counts placed rows and live reservations alike. The consumer is one group for
//! all replicas ([`CONSUMER_NAME`]), with the inbox, so each event is counted once.

use std::collections::BTreeMap;
use std::time::Duration;

use bazaar_contracts::order::{OrderCancelled, OrderPlaced};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::pricing::Usage;

/// The consumer group all replicas share.
pub const CONSUMER_NAME: &str = "catalog-redemptions";

/// How long a reservation counts without the `order.placed` that confirms it: far longer than a checkout
/// takes from pricing to commit, and than the order events normally take to arrive.
pub const RESERVATION_TTL: Duration = Duration::from_secs(15 * 60);

/// Records redemptions on `order.placed` and gives them back on `order.cancelled`; other order events are
/// not the catalog's business.
#[derive(Debug, Clone, Copy, Default)]
pub struct Redemptions;

impl EventHandler for Redemptions {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if envelope.is::<OrderPlaced>() {
            let placed: OrderPlaced = envelope.decode()?;
            // A reservation for a promotion the order did not get after all stops counting.
            sqlx::query(
                "DELETE FROM promotion_redemptions
                 WHERE order_id = $1 AND state = 'reserved' AND promotion <> ALL($2::text[])",
            )
            .bind(placed.order_id.0)
            .bind(&placed.promotions)
            .execute(&mut *tx)
            .await?;
            if placed.promotions.is_empty() {
                return Ok(());
            }
            let customer = placed
                .customer
                .user_id
                .clone()
                .unwrap_or_else(|| placed.customer.email.clone());
            sqlx::query(
                "INSERT INTO promotion_redemptions (order_id, promotion, customer_id)
                 SELECT $1, promotion, $3 FROM unnest($2::text[]) AS promotion
                 ON CONFLICT (order_id, promotion) DO UPDATE SET state = 'placed'",
            )
            .bind(placed.order_id.0)
            .bind(&placed.promotions)
            .bind(&customer)
            .execute(&mut *tx)
            .await?;
            tracing::debug!(order_id = %placed.order_id, promotions = ?placed.promotions, "redemptions recorded");
        } else if envelope.is::<OrderCancelled>() {
            let cancelled: OrderCancelled = envelope.decode()?;
            let given_back = sqlx::query("DELETE FROM promotion_redemptions WHERE order_id = $1")
                .bind(cancelled.order_id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if given_back > 0 {
                tracing::debug!(order_id = %cancelled.order_id, given_back, "redemptions given back");
            }
        }
        Ok(())
    }
}

/// How often each of `promotions` (`namespace/name` keys) has been redeemed or is reserved by a checkout in
/// flight, in total and by `customer` (none for a guest: `by_customer` is then 0). Promotions never
/// redeemed are absent.
pub async fn usage_for(
    pool: &PgPool,
    promotions: &[String],
    customer: Option<&str>,
) -> sqlx::Result<BTreeMap<String, Usage>> {
    if promotions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let mut conn = pool.acquire().await?;
    usage_in(&mut conn, promotions, customer).await
}

async fn usage_in(
    conn: &mut PgConnection,
    promotions: &[String],
    customer: Option<&str>,
) -> sqlx::Result<BTreeMap<String, Usage>> {
    // Redemptions of placed orders count, and reservations still alive.
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT promotion, count(*), count(*) FILTER (WHERE customer_id = $2)
         FROM promotion_redemptions
         WHERE promotion = ANY($1)
           AND (state = 'placed' OR redeemed_at > now() - make_interval(secs => $3::double precision))
         GROUP BY promotion",
    )
    .bind(promotions)
    .bind(customer)
    .bind(RESERVATION_TTL.as_secs_f64())
    .fetch_all(&mut *conn)
    .await?;
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(rows
        .into_iter()
        .map(|(promotion, total, by_customer)| {
            (
                promotion,
                Usage {
                    total: count(total),
                    by_customer: count(by_customer),
                },
            )
        })
        .collect())
}

/// Why a reservation was not made.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError<E> {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The order's rows belong to another customer.
    #[error("this order id is another shopper's")]
    NotYours,
    /// Pricing failed.
    #[error("{0}")]
    Pricing(E),
}

/// Prices a checkout and reserves the promotions it applies for `order_id`, exactly: `limited` (the
/// limited promotions the quote considers) are locked for the transaction, then `price` is given their
/// usage (this order's own earlier reservation left out) and answers the quote with the promotions it
/// applied; those are recorded as reserved for `customer`. Repeating it for the same order replaces the
/// order's reservation.
pub async fn reserve<Q, E>(
    pool: &PgPool,
    order_id: Uuid,
    customer: &str,
    limited: &[String],
    price: impl FnOnce(&BTreeMap<String, Usage>) -> Result<(Q, Vec<String>), E>,
) -> Result<Q, ReserveError<E>> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let mut keys = limited.to_vec();
    keys.sort();
    keys.dedup();
    for key in &keys {
        // The schema is part of the key: advisory locks are database-wide.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || $1, 7))",
        )
        .bind(format!("catalog/redemptions/{key}"))
        .execute(&mut *tx)
        .await?;
    }
    let others: Option<String> = sqlx::query_scalar(
        "SELECT customer_id FROM promotion_redemptions WHERE order_id = $1 AND customer_id <> $2 LIMIT 1",
    )
    .bind(order_id)
    .bind(customer)
    .fetch_optional(&mut *tx)
    .await?;
    if others.is_some() {
        return Err(ReserveError::NotYours);
    }
    sqlx::query("DELETE FROM promotion_redemptions WHERE order_id = $1 AND state = 'reserved'")
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    let usage = usage_in(&mut tx, &keys, Some(customer)).await?;
    let (quote, applied) = price(&usage).map_err(ReserveError::Pricing)?;
    sqlx::query(
        "INSERT INTO promotion_redemptions (order_id, promotion, customer_id, state)
         SELECT $1, promotion, $3, 'reserved' FROM unnest($2::text[]) AS promotion
         ON CONFLICT (order_id, promotion) DO NOTHING",
    )
    .bind(order_id)
    .bind(&applied)
    .bind(customer)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(quote)
}

/// Gives back `customer`'s reservation for `order_id` (a checkout that failed after pricing). Redemptions
/// of a placed order are only given back by its `order.cancelled`. True when there was one.
pub async fn release(pool: &PgPool, order_id: Uuid, customer: &str) -> sqlx::Result<bool> {
    let released = sqlx::query(
        "DELETE FROM promotion_redemptions WHERE order_id = $1 AND customer_id = $2 AND state = 'reserved'",
    )
    .bind(order_id)
    .bind(customer)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(released > 0)
}
