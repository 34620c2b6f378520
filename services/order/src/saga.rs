//! The order saga's orchestrator: it consumes inventory and payment outcomes and moves each order on,
//! asking for the next step or for compensation through events written in the same transaction.
//!
//! placed --inventory.reserved--> awaiting payment (payment.requested)
//! placed --inventory.rejected--> cancelled (order.cancelled: nothing to release)
//! awaiting payment --payment.authorized--> confirmed (order.confirmed: inventory commits, payment captures)
//! awaiting payment --payment.failed, retryable, attempts left--> awaiting payment (payment.requested again)
//! awaiting payment --payment.failed--> cancelled (order.cancelled: inventory releases; the failure's reason
//! is kept for the shopper)
//! placed | awaiting payment --inventory.released(expired)--> cancelled
//!
//! An event that finds the order in a state where it means nothing (a late or repeated one) is logged and
//! ignored: the compensations triggered by the order's own events cover it.
//!
//! `payment.attention_needed` changes no state: it is recorded and shown on the order until a capture, void
//! or refund of that payment succeeds (see [`attention`]).

pub mod attention;

use bazaar_contracts::DomainEvent;
use bazaar_contracts::inventory::{
    InventoryRejected, InventoryReleased, InventoryReserved, ReleaseReason,
};
use bazaar_contracts::order::{CancellationReason, OrderConfirmed, OrderId, PaymentRequested};
use bazaar_contracts::payment::{
    PaymentAttentionNeeded, PaymentAuthorized, PaymentCaptured, PaymentFailed, PaymentRefunded,
    PaymentVoided,
};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent, Outbox};
use sqlx::PgConnection;

use crate::config::OrderConfig;
use crate::error::OrderError;
use crate::lifecycle::{self, Advanced};
use crate::metrics::OrderMetrics;
use crate::orders::store;
use crate::state::Step;

pub struct Saga {
    pub outbox: Outbox,
    pub config: OrderConfig,
    pub metrics: OrderMetrics,
}

impl EventHandler for Saga {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        let cause = format!("{} {}", envelope.event_type(), envelope.id());
        match envelope.event_type() {
            InventoryReserved::TYPE => {
                let reserved: InventoryReserved = envelope.decode()?;
                if let Some(advanced) = self
                    .step(tx, reserved.order_id, Step::StockReserved, &cause)
                    .await?
                {
                    self.request_payment(tx, &advanced.order, 1).await?;
                }
            }
            InventoryRejected::TYPE => {
                let rejected: InventoryRejected = envelope.decode()?;
                if let Some(advanced) = self
                    .step(tx, rejected.order_id, Step::StockRejected, &cause)
                    .await?
                {
                    let short: Vec<String> = rejected
                        .shortages
                        .iter()
                        .map(|s| {
                            format!("{} ({} wanted, {} left)", s.sku, s.requested, s.available)
                        })
                        .collect();
                    let detail = format!("Not enough stock: {}.", short.join(", "));
                    self.cancel(tx, &advanced, CancellationReason::OutOfStock, &detail)
                        .await?;
                }
            }
            InventoryReleased::TYPE => {
                let released: InventoryReleased = envelope.decode()?;
                if released.reason == ReleaseReason::Expired
                    && let Some(advanced) = self
                        .step(tx, released.order_id, Step::ReservationExpired, &cause)
                        .await?
                {
                    let detail =
                        "Payment did not complete in time; the reserved stock was released.";
                    self.cancel(
                        tx,
                        &advanced,
                        CancellationReason::ReservationExpired,
                        detail,
                    )
                    .await?;
                }
            }
            PaymentAuthorized::TYPE => {
                let authorized: PaymentAuthorized = envelope.decode()?;
                if let Some(advanced) = self
                    .step(tx, authorized.order_id, Step::PaymentAuthorized, &cause)
                    .await?
                {
                    let order = &advanced.order;
                    let confirmed = OrderConfirmed {
                        order_id: order.order_id(),
                        order_number: order.number.clone(),
                        customer: order.customer(),
                        lines: store::contract_lines(tx, order).await.map_err(transient)?,
                        total: order.money(order.total_minor).map_err(transient)?,
                    };
                    self.outbox
                        .enqueue(tx, &confirmed)
                        .await
                        .map_err(transient)?;
                }
            }
            PaymentFailed::TYPE => {
                let failed: PaymentFailed = envelope.decode()?;
                self.payment_failed(tx, &failed, &cause).await?;
            }
            PaymentAttentionNeeded::TYPE => {
                let stuck: PaymentAttentionNeeded = envelope.decode()?;
                if attention::record(tx, &stuck).await? {
                    tracing::warn!(order_id = %stuck.order_id, operation = ?stuck.operation,
                        detail = stuck.detail, "payment needs attention");
                } else {
                    tracing::warn!(order_id = %stuck.order_id, cause, "event for an unknown order ignored");
                }
            }
            PaymentCaptured::TYPE => {
                let captured: PaymentCaptured = envelope.decode()?;
                attention::settled(tx, captured.order_id.0, captured.payment_id).await?;
            }
            PaymentVoided::TYPE => {
                let voided: PaymentVoided = envelope.decode()?;
                attention::settled(tx, voided.order_id.0, voided.payment_id).await?;
            }
            PaymentRefunded::TYPE => {
                let refunded: PaymentRefunded = envelope.decode()?;
                attention::settled(tx, refunded.order_id.0, refunded.payment_id).await?;
            }
            // Other events on these topics (commits, stock signals) need nothing from the saga.
            _ => {}
        }
        Ok(())
    }
}

impl Saga {
    /// Advances the order, or returns `None` when the event means nothing in the order's current state.
    async fn step(
        &self,
        tx: &mut PgConnection,
        order_id: OrderId,
        step: Step,
        cause: &str,
    ) -> Result<Option<Advanced>, HandlerError> {
        match lifecycle::advance(tx, order_id.0, step, cause).await {
            Ok(advanced) => {
                self.metrics.stepped(&advanced);
                Ok(Some(advanced))
            }
            Err(OrderError::IllegalTransition(illegal)) => {
                tracing::info!(%order_id, %illegal, cause, "event ignored in the order's current state");
                Ok(None)
            }
            Err(OrderError::NotFound(_)) => {
                tracing::warn!(%order_id, cause, "event for an unknown order ignored");
                Ok(None)
            }
            Err(error) => Err(transient(error)),
        }
    }

    async fn payment_failed(
        &self,
        tx: &mut PgConnection,
        failed: &PaymentFailed,
        cause: &str,
    ) -> Result<(), HandlerError> {
        let Some(order) = store::load(tx, failed.order_id.0)
            .await
            .map_err(transient)?
        else {
            return Ok(());
        };
        if i64::from(failed.attempt) != i64::from(order.payment_attempt) {
            tracing::info!(order_id = %failed.order_id, attempt = failed.attempt, "stale payment outcome ignored");
            return Ok(());
        }
        let retry = failed.retryable && failed.attempt < self.config.payment_attempts;
        let step = if retry {
            Step::PaymentRetry
        } else {
            Step::PaymentFailed
        };
        let Some(advanced) = self.step(tx, failed.order_id, step, cause).await? else {
            return Ok(());
        };
        if retry {
            self.request_payment(tx, &advanced.order, failed.attempt + 1)
                .await
        } else {
            lifecycle::payment_failed(tx, failed.order_id.0, failed.reason)
                .await
                .map_err(transient)?;
            self.cancel(
                tx,
                &advanced,
                CancellationReason::PaymentFailed,
                &failed.message,
            )
            .await
        }
    }

    async fn request_payment(
        &self,
        tx: &mut PgConnection,
        order: &store::OrderRow,
        attempt: u32,
    ) -> Result<(), HandlerError> {
        sqlx::query("UPDATE orders SET payment_attempt = $2 WHERE id = $1")
            .bind(order.id)
            .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
            .execute(&mut *tx)
            .await?;
        let request = PaymentRequested {
            order_id: order.order_id(),
            order_number: order.number.clone(),
            amount: order.money(order.total_minor).map_err(transient)?,
            payment_token: order.payment_token.clone(),
            idempotency_key: format!("{}:authorize:{attempt}", order.id),
            attempt,
        };
        self.outbox.enqueue(tx, &request).await.map_err(transient)?;
        Ok(())
    }

    async fn cancel(
        &self,
        tx: &mut PgConnection,
        advanced: &Advanced,
        reason: CancellationReason,
        detail: &str,
    ) -> Result<(), HandlerError> {
        lifecycle::announce_cancellation(tx, &self.outbox, advanced, reason, detail)
            .await
            .map_err(transient)?;
        self.metrics.cancelled(reason);
        Ok(())
    }
}

fn transient(error: impl Into<OrderError>) -> HandlerError {
    match error.into() {
        OrderError::Database(e) => HandlerError::from(e),
        other => HandlerError::transient(other),
    }
}
