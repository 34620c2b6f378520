//! The payment component's part in the order saga. One consumer reads the order topic and, in the inbox
//! transaction, records what is to be done as a task: `payment.requested` an authorization,
//! `order.confirmed` a capture, `order.cancelled` a void or refund (and a note that the order is
//! cancelled, so that a late request is not authorized). No provider is called here, so no transaction is
//! open while the provider thinks: [`crate::worker`] makes the calls, records their outcomes and announces
//! them. A redelivered event finds its inbox row and records nothing twice; a repeated request for an
//! attempt already decided is answered again from the payment row.

use std::sync::Arc;

use bazaar_contracts::Money;
use bazaar_contracts::order::{OrderCancelled, OrderConfirmed, PaymentRequested};
use bazaar_contracts::payment::{PaymentAuthorized, PaymentFailed, PaymentFailure};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent, Outbox, OutboxError};
use sqlx::{AssertSqlSafe, PgConnection};
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::model::{AttemptResult, Operation, PAYMENT_COLUMNS, Payment, PaymentStatus};
use crate::provider::ProviderResult;
use crate::worker::TaskKind;

/// Handles the order topic's payment-related events by recording tasks for the worker.
pub struct PaymentSaga {
    pub outbox: Outbox,
    /// Wakes the worker (a hint: it also polls).
    pub wake: Arc<Notify>,
}

impl EventHandler for PaymentSaga {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if envelope.is::<PaymentRequested>() {
            self.request(envelope.decode()?, tx).await?;
        } else if envelope.is::<OrderConfirmed>() {
            let confirmed: OrderConfirmed = envelope.decode()?;
            queue(tx, confirmed.order_id.0, TaskKind::Capture).await?;
        } else if envelope.is::<OrderCancelled>() {
            let cancelled: OrderCancelled = envelope.decode()?;
            let order_id = cancelled.order_id.0;
            lock_order(tx, order_id).await?;
            sqlx::query(
                "INSERT INTO cancelled_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING",
            )
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
            queue(tx, order_id, TaskKind::Cancel).await?;
        }
        Ok(())
    }

    /// Wakes the worker for the task just committed (woken earlier, it could miss the task).
    fn committed(&self, event: &IncomingEvent) {
        let envelope = &event.envelope;
        if envelope.is::<PaymentRequested>()
            || envelope.is::<OrderConfirmed>()
            || envelope.is::<OrderCancelled>()
        {
            self.wake.notify_one();
        }
    }
}

fn outbox_error(error: OutboxError) -> HandlerError {
    match error {
        OutboxError::Sql(error) => HandlerError::from(error),
        OutboxError::Envelope(error) => HandlerError::permanent(error.to_string()),
    }
}

/// Records a capture or a cancellation of the order, to run after the order's earlier steps.
async fn queue(tx: &mut PgConnection, order_id: Uuid, kind: TaskKind) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO payment_tasks (id, order_id, kind) VALUES ($1, $2, $3)")
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(kind)
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

impl PaymentSaga {
    async fn request(
        &self,
        request: PaymentRequested,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let order_id = request.order_id.0;
        let attempt = i32::try_from(request.attempt)
            .map_err(|_| HandlerError::permanent("payment attempt number out of range"))?;
        if request.amount.is_negative() {
            return Err(HandlerError::permanent(format!(
                "payment of a negative amount ({}) requested",
                request.amount
            )));
        }
        lock_order(tx, order_id).await?;

        let cancelled: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM cancelled_orders WHERE order_id = $1)",
        )
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?;
        if cancelled {
            tracing::warn!(%order_id, attempt, "payment requested for a cancelled order; not authorizing");
            return Ok(());
        }

        // Asked before (the order re-sent its request): answer again, without a second authorization.
        let same_attempt = fetch_payment(
            tx,
            "WHERE order_id = $1 AND attempt = $2",
            order_id,
            Some(attempt),
        )
        .await?;
        let live = fetch_payment(
            tx,
            "WHERE order_id = $1 AND status <> 'failed'",
            order_id,
            None,
        )
        .await?;
        if let Some(existing) = same_attempt.or(live) {
            tracing::info!(%order_id, attempt, payment_id = %existing.id, "payment already decided; announcing it again");
            return self.announce(tx, &existing, attempt).await;
        }

        let recorded = sqlx::query(
            "INSERT INTO payment_tasks (id, order_id, kind, attempt, order_number, amount_minor, currency, token)
             VALUES ($1, $2, 'authorize', $3, $4, $5, $6, $7)
             ON CONFLICT (order_id, attempt) WHERE kind = 'authorize' DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(order_id)
        .bind(attempt)
        .bind(&request.order_number)
        .bind(request.amount.minor())
        .bind(request.amount.currency().code())
        .bind(&request.payment_token)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recorded == 0 {
            tracing::info!(%order_id, attempt, "authorization already under way; its outcome will be announced");
        }
        Ok(())
    }

    /// Re-announces the outcome of a payment decided earlier.
    async fn announce(
        &self,
        tx: &mut PgConnection,
        payment: &Payment,
        requested_attempt: i32,
    ) -> Result<(), HandlerError> {
        let order_id = bazaar_contracts::order::OrderId(payment.order_id);
        match payment.status {
            PaymentStatus::Authorized | PaymentStatus::Captured => self
                .outbox
                .enqueue(
                    tx,
                    &PaymentAuthorized {
                        order_id,
                        payment_id: payment.id,
                        amount: amount_of(payment)?,
                    },
                )
                .await
                .map(|_| ())
                .map_err(outbox_error),
            PaymentStatus::Failed => {
                let reason = parse_failure(payment.failure_reason.as_deref());
                let retryable = reason == PaymentFailure::ProviderUnavailable;
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentFailed {
                            order_id,
                            payment_id: payment.id,
                            reason,
                            retryable,
                            message: "This payment attempt failed earlier.".to_owned(),
                            attempt: u32::try_from(requested_attempt).unwrap_or_default(),
                        },
                    )
                    .await
                    .map(|_| ())
                    .map_err(outbox_error)
            }
            PaymentStatus::Voided | PaymentStatus::Refunded => {
                tracing::warn!(%order_id, payment_id = %payment.id, status = ?payment.status,
                    "payment requested again after the money went back; ignoring");
                Ok(())
            }
        }
    }
}

pub(crate) async fn lock_order(tx: &mut PgConnection, order_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("payment/{order_id}"))
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

pub(crate) async fn fetch_payment(
    tx: &mut PgConnection,
    filter: &'static str,
    order_id: Uuid,
    attempt: Option<i32>,
) -> Result<Option<Payment>, sqlx::Error> {
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments {filter}");
    let mut query = sqlx::query_as::<_, Payment>(AssertSqlSafe(sql)).bind(order_id);
    if let Some(attempt) = attempt {
        query = query.bind(attempt);
    }
    query.fetch_optional(&mut *tx).await
}

pub(crate) async fn insert_attempt<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    payment_id: Uuid,
    operation: Operation,
    key: &str,
    outcome: &ProviderResult,
    latency: Duration,
) -> Result<(), sqlx::Error> {
    let (result, detail, provider_ref) = match outcome {
        Ok(approval) => (
            AttemptResult::Succeeded,
            None,
            Some(approval.provider_ref.clone()),
        ),
        Err(error) => (error.result(), Some(error.to_string()), None),
    };
    sqlx::query(
        "INSERT INTO payment_attempts (id, payment_id, operation, idempotency_key, result, detail,
                                       provider_ref, latency_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(Uuid::now_v7())
    .bind(payment_id)
    .bind(operation)
    .bind(key)
    .bind(result)
    .bind(detail)
    .bind(provider_ref)
    .bind(i32::try_from(latency.as_millis()).unwrap_or(i32::MAX))
    .execute(executor)
    .await
    .map(|_| ())
}

fn amount_of(payment: &Payment) -> Result<Money, HandlerError> {
    bazaar_contracts::money::currency(&payment.currency)
        .map(|currency| Money::from_minor(payment.amount_minor, currency))
        .map_err(|error| HandlerError::permanent(error.to_string()))
}

pub(crate) fn failure_code(reason: PaymentFailure) -> &'static str {
    match reason {
        PaymentFailure::Declined => "declined",
        PaymentFailure::InsufficientFunds => "insufficient_funds",
        PaymentFailure::ProviderUnavailable => "provider_unavailable",
        PaymentFailure::InvalidToken => "invalid_token",
    }
}

fn parse_failure(code: Option<&str>) -> PaymentFailure {
    match code {
        Some("insufficient_funds") => PaymentFailure::InsufficientFunds,
        Some("provider_unavailable") => PaymentFailure::ProviderUnavailable,
        Some("invalid_token") => PaymentFailure::InvalidToken,
        _ => PaymentFailure::Declined,
    }
}
