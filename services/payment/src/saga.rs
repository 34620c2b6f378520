//! The payment component's part in the order saga. One consumer reads the order topic:
//! `payment.requested` authorizes, `order.confirmed` captures, `order.cancelled` voids or refunds. Each
//! runs in the inbox transaction, so a redelivered event has no second effect; the provider is called with
//! an idempotency key derived from order, operation and attempt, so even a call repeated after a crash
//! (before our transaction committed) is answered the same and never charges twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bazaar_contracts::Money;
use bazaar_contracts::order::{OrderCancelled, OrderConfirmed, PaymentRequested};
use bazaar_contracts::payment::{
    PaymentAuthorized, PaymentCaptured, PaymentFailed, PaymentFailure, PaymentRefunded,
    PaymentVoided,
};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent, Outbox, OutboxError};
use sqlx::{AssertSqlSafe, PgConnection, PgPool};
use uuid::Uuid;

use crate::metrics::PaymentMetrics;
use crate::model::{AttemptResult, Operation, PAYMENT_COLUMNS, Payment, PaymentStatus, Transition};
use crate::provider::{
    AuthorizeRequest, FollowUpRequest, PaymentProvider, ProviderError, ProviderResult,
};

/// Handles the order topic's payment-related events.
pub struct PaymentSaga {
    pub provider: Arc<dyn PaymentProvider>,
    pub outbox: Outbox,
    pub metrics: PaymentMetrics,
    /// Records calls that did not decide anything outside the inbox transaction, which rolls back.
    pub pool: PgPool,
    pub provider_timeout: Duration,
}

impl EventHandler for PaymentSaga {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if envelope.is::<PaymentRequested>() {
            self.authorize(envelope.decode()?, tx).await
        } else if envelope.is::<OrderConfirmed>() {
            let confirmed: OrderConfirmed = envelope.decode()?;
            self.settle(confirmed.order_id.0, Trigger::Confirmation, tx)
                .await
        } else if envelope.is::<OrderCancelled>() {
            let cancelled: OrderCancelled = envelope.decode()?;
            self.settle(cancelled.order_id.0, Trigger::Cancellation, tx)
                .await
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    Confirmation,
    Cancellation,
}

fn outbox_error(error: OutboxError) -> HandlerError {
    match error {
        OutboxError::Sql(error) => HandlerError::from(error),
        OutboxError::Envelope(error) => HandlerError::permanent(error.to_string()),
    }
}

impl PaymentSaga {
    async fn authorize(
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

        let key = Operation::Authorize.idempotency_key(order_id, attempt);
        let started = Instant::now();
        let outcome = self
            .timed(
                Operation::Authorize,
                self.provider.authorize(AuthorizeRequest {
                    idempotency_key: key.clone(),
                    reference: order_id.to_string(),
                    token: request.payment_token.clone(),
                    amount: request.amount,
                }),
            )
            .await;
        let latency = started.elapsed();

        let payment_id = Uuid::now_v7();
        let (status, failure, provider_ref) = match &outcome {
            Ok(approval) => (
                PaymentStatus::Authorized,
                None,
                Some(approval.provider_ref.clone()),
            ),
            Err(ProviderError::Conflict(reason)) => {
                return Err(HandlerError::permanent(reason.clone()));
            }
            Err(ProviderError::Refused { reason, message }) => (
                PaymentStatus::Failed,
                Some((*reason, message.clone(), false)),
                None,
            ),
            Err(ProviderError::Timeout) => (
                PaymentStatus::Failed,
                Some((
                    PaymentFailure::ProviderUnavailable,
                    "The payment provider did not answer in time; please try again.".to_owned(),
                    true,
                )),
                None,
            ),
            Err(ProviderError::Unavailable(detail)) => {
                tracing::warn!(%order_id, detail, "payment provider unavailable");
                (
                    PaymentStatus::Failed,
                    Some((
                        PaymentFailure::ProviderUnavailable,
                        "The payment provider is unavailable; please try again.".to_owned(),
                        true,
                    )),
                    None,
                )
            }
        };
        sqlx::query(
            "INSERT INTO payments (id, order_id, order_number, attempt, amount_minor, currency, status,
                                   failure_reason, provider, provider_ref)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(payment_id)
        .bind(order_id)
        .bind(&request.order_number)
        .bind(attempt)
        .bind(request.amount.minor())
        .bind(request.amount.currency().code())
        .bind(status)
        .bind(failure.as_ref().map(|(reason, _, _)| failure_code(*reason)))
        .bind(self.provider.name())
        .bind(&provider_ref)
        .execute(&mut *tx)
        .await?;
        insert_attempt(
            &mut *tx,
            payment_id,
            Operation::Authorize,
            &key,
            &outcome,
            latency,
        )
        .await?;

        match failure {
            None => {
                tracing::info!(%order_id, attempt, %payment_id, amount = %request.amount, "payment authorized");
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentAuthorized {
                            order_id: request.order_id,
                            payment_id,
                            amount: request.amount,
                        },
                    )
                    .await
                    .map_err(outbox_error)?;
            }
            Some((reason, message, retryable)) => {
                tracing::info!(%order_id, attempt, %payment_id, ?reason, retryable, "payment failed");
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentFailed {
                            order_id: request.order_id,
                            payment_id,
                            reason,
                            retryable,
                            message,
                            attempt: request.attempt,
                        },
                    )
                    .await
                    .map_err(outbox_error)?;
            }
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

    /// Capture on confirmation; void or refund on cancellation.
    async fn settle(
        &self,
        order_id: Uuid,
        trigger: Trigger,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        lock_order(tx, order_id).await?;
        if trigger == Trigger::Cancellation {
            sqlx::query(
                "INSERT INTO cancelled_orders (order_id) VALUES ($1) ON CONFLICT DO NOTHING",
            )
            .bind(order_id)
            .execute(&mut *tx)
            .await?;
        }
        let live = fetch_payment(
            tx,
            "WHERE order_id = $1 AND status <> 'failed' FOR UPDATE",
            order_id,
            None,
        )
        .await?;
        let Some(payment) = live else {
            tracing::info!(%order_id, ?trigger, "no money held for this order; nothing to do");
            return Ok(());
        };
        let transition = match (trigger, payment.status) {
            (Trigger::Confirmation, PaymentStatus::Authorized) => Transition::Capture,
            (Trigger::Confirmation, PaymentStatus::Captured | PaymentStatus::Refunded) => {
                return Ok(());
            }
            (Trigger::Confirmation, status) => {
                return Err(HandlerError::permanent(format!(
                    "order {order_id} confirmed but its payment {} is {status:?}",
                    payment.id
                )));
            }
            (Trigger::Cancellation, status) => match Transition::on_cancellation(status) {
                Some(transition) => transition,
                None => return Ok(()),
            },
        };
        self.transition(tx, &payment, transition).await
    }

    async fn transition(
        &self,
        tx: &mut PgConnection,
        payment: &Payment,
        transition: Transition,
    ) -> Result<(), HandlerError> {
        let operation = transition.operation();
        let key = operation.idempotency_key(payment.order_id, payment.attempt);
        let amount = amount_of(payment)?;
        let request = FollowUpRequest {
            idempotency_key: key.clone(),
            reference: payment.order_id.to_string(),
            authorization: payment.provider_ref.clone().unwrap_or_default(),
            amount,
        };
        let started = Instant::now();
        let call = match transition {
            Transition::Capture => self.provider.capture(request),
            Transition::Void => self.provider.void(request),
            Transition::Refund => self.provider.refund(request),
        };
        let outcome = self.timed(operation, call).await;
        let latency = started.elapsed();
        if let Err(error) = &outcome {
            let failure = match error {
                ProviderError::Timeout | ProviderError::Unavailable(_) => {
                    HandlerError::transient(std::io::Error::other(error.to_string()))
                }
                ProviderError::Refused { .. } | ProviderError::Conflict(_) => {
                    HandlerError::permanent(format!(
                        "{} of payment {} refused: {error}",
                        operation.as_str(),
                        payment.id
                    ))
                }
            };
            // The inbox transaction rolls back; the try is recorded on its own, then retried (same key).
            // Recorded by a task of its own once this handler has returned: waiting here for a second
            // connection of the pool while the transaction holds one could wait forever on a busy pool.
            let pool = self.pool.clone();
            let (payment_id, key) = (payment.id, key.clone());
            tokio::spawn(async move {
                if let Err(record_error) =
                    insert_attempt(&pool, payment_id, operation, &key, &outcome, latency).await
                {
                    tracing::warn!(%record_error, "failed provider call not recorded");
                }
            });
            return Err(failure);
        }
        let updated = sqlx::query("UPDATE payments SET status = $3 WHERE id = $1 AND status = $2")
            .bind(payment.id)
            .bind(transition.from())
            .bind(transition.to())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated != 1 {
            return Err(HandlerError::transient(std::io::Error::other(
                "payment changed concurrently",
            )));
        }
        insert_attempt(&mut *tx, payment.id, operation, &key, &outcome, latency).await?;
        let order_id = bazaar_contracts::order::OrderId(payment.order_id);
        tracing::info!(%order_id, payment_id = %payment.id, operation = operation.as_str(), "payment updated");
        let enqueued = match transition {
            Transition::Capture => {
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentCaptured {
                            order_id,
                            payment_id: payment.id,
                            amount,
                        },
                    )
                    .await
            }
            Transition::Void => {
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentVoided {
                            order_id,
                            payment_id: payment.id,
                        },
                    )
                    .await
            }
            Transition::Refund => {
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentRefunded {
                            order_id,
                            payment_id: payment.id,
                            amount,
                        },
                    )
                    .await
            }
        };
        enqueued.map(|_| ()).map_err(outbox_error)
    }

    /// Calls the provider under the configured timeout, recording latency and outcome.
    async fn timed(
        &self,
        operation: Operation,
        call: impl Future<Output = ProviderResult>,
    ) -> ProviderResult {
        let started = Instant::now();
        let outcome = match tokio::time::timeout(self.provider_timeout, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ProviderError::Timeout),
        };
        self.metrics
            .provider_latency
            .with_label_values(&[self.provider.name(), operation.as_str()])
            .observe(started.elapsed().as_secs_f64());
        let result = match &outcome {
            Ok(_) => AttemptResult::Succeeded,
            Err(error) => error.result(),
        };
        self.metrics
            .outcomes
            .with_label_values(&[operation.as_str(), result.as_str()])
            .inc();
        outcome
    }
}

async fn lock_order(tx: &mut PgConnection, order_id: Uuid) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("payment/{order_id}"))
        .execute(&mut *tx)
        .await
        .map(|_| ())
}

async fn fetch_payment(
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

async fn insert_attempt<'e>(
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
