//! "Payment needs attention": payment announces `payment.attention_needed` when a provider call for an
//! order kept failing and it stopped retrying (see the payment crate's `worker` module). Order records it
//! and shows it on the order (`paymentAttention`, to its owner and to staff) until a later capture, void or
//! refund of that payment succeeds. The order's state does not change: the saga already moved on, and what
//! is wrong is at the payment provider, for ops to fix.

use bazaar_contracts::payment::{PaymentAttentionNeeded, PaymentOperation};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

/// Payment work for this order that kept failing and waits for ops.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAttentionView {
    /// What payment could not do: `capture`, `void`, `refund`, `reconcile` (release a hold whose
    /// outcome was unknown) or `authorize`.
    pub operation: String,
    /// The payment concerned.
    pub payment_id: Option<Uuid>,
    /// How often it was tried.
    pub tries: i32,
    /// The last error.
    pub detail: String,
    pub since: DateTime<Utc>,
}

/// Records the event; `false` when the order is unknown here (the event is then ignored).
pub async fn record(
    conn: &mut PgConnection,
    event: &PaymentAttentionNeeded,
) -> Result<bool, sqlx::Error> {
    let recorded = sqlx::query(
        "INSERT INTO payment_attention (task_id, order_id, payment_id, operation, tries, detail)
         SELECT $1, id, $3, $4, $5, $6 FROM orders WHERE id = $2
         ON CONFLICT (task_id) DO UPDATE
             SET tries = EXCLUDED.tries, detail = EXCLUDED.detail, since = now()",
    )
    .bind(event.task_id)
    .bind(event.order_id.0)
    .bind(event.payment_id)
    .bind(operation_name(event.operation))
    .bind(i32::try_from(event.tries).unwrap_or(i32::MAX))
    .bind(&event.detail)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(recorded == 1)
}

/// A capture, void or refund of `payment_id` succeeded: whatever waited for it is settled.
pub async fn settled(
    conn: &mut PgConnection,
    order_id: Uuid,
    payment_id: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM payment_attention WHERE order_id = $1 AND payment_id = $2")
        .bind(order_id)
        .bind(payment_id)
        .execute(&mut *conn)
        .await
        .map(|_| ())
}

/// The oldest attention the order is waiting on, if any.
pub async fn load(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> Result<Option<PaymentAttentionView>, sqlx::Error> {
    sqlx::query_as::<_, PaymentAttentionView>(
        "SELECT operation, payment_id, tries, detail, since FROM payment_attention
         WHERE order_id = $1 ORDER BY since LIMIT 1",
    )
    .bind(order_id)
    .fetch_optional(&mut *conn)
    .await
}

/// [`load`] for a page of orders at once: the oldest attention of each order that has one.
pub async fn load_for(
    conn: &mut PgConnection,
    order_ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, PaymentAttentionView>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        order_id: Uuid,
        #[sqlx(flatten)]
        attention: PaymentAttentionView,
    }
    let rows = sqlx::query_as::<_, Row>(
        "SELECT DISTINCT ON (order_id) order_id, operation, payment_id, tries, detail, since
         FROM payment_attention WHERE order_id = ANY($1) ORDER BY order_id, since",
    )
    .bind(order_ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.order_id, r.attention))
        .collect())
}

fn operation_name(operation: PaymentOperation) -> &'static str {
    match operation {
        PaymentOperation::Authorize => "authorize",
        PaymentOperation::Capture => "capture",
        PaymentOperation::Void => "void",
        PaymentOperation::Refund => "refund",
        PaymentOperation::Reconcile => "reconcile",
    }
}
