//! Redemptions of promotions, counted so that usage limits (`totalUses`, `perCustomer`) bite.
//!
//! The order component names the promotions applied to each order in `order.placed`; the [`Redemptions`]
//! consumer records one row per (order, promotion) in `promotion_redemptions`, and deletes the order's rows
//! on `order.cancelled` (a cancelled order gives its uses back). The quote reads the counts with
//! [`usage_for`] into [`PricingData::usage`](crate::pricing::PricingData::usage).
//!
//! Counting is eventually consistent: an order counts once its `order.placed` has been consumed, so
//! checkouts racing for the last use can all succeed (a limit can be exceeded by the number of concurrent
//! checkouts). The consumer is one group for all replicas ([`CONSUMER_NAME`]), with the inbox, so each
//! event is counted once.

use std::collections::BTreeMap;

use bazaar_contracts::order::{OrderCancelled, OrderPlaced};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent};
use sqlx::{PgConnection, PgPool};

use crate::pricing::Usage;

/// The consumer group all replicas share.
pub const CONSUMER_NAME: &str = "catalog-redemptions";

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
                 ON CONFLICT (order_id, promotion) DO NOTHING",
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

/// How often each of `promotions` (`namespace/name` keys) has been redeemed, in total and by `customer`
/// (none for a guest: `by_customer` is then 0). Promotions never redeemed are absent.
pub async fn usage_for(
    pool: &PgPool,
    promotions: &[String],
    customer: Option<&str>,
) -> sqlx::Result<BTreeMap<String, Usage>> {
    if promotions.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT promotion, count(*), count(*) FILTER (WHERE customer_id = $2)
         FROM promotion_redemptions WHERE promotion = ANY($1) GROUP BY promotion",
    )
    .bind(promotions)
    .bind(customer)
    .fetch_all(pool)
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
