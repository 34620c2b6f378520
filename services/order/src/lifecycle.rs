//! The order's state changes, apart from HTTP: [`advance`] moves an order one step of the state machine
//! ([`crate::state`]) inside the caller's transaction and records the transition with its cause;
//! [`announce_cancellation`] records why an order was cancelled and tells the other components;
//! [`warehouse_step`] records packing, shipping and delivery with their events; [`payment_failed`] keeps
//! why payment failed for the shopper. The saga (events) and the orders API (shoppers and staff) both
//! change orders only through these.

use bazaar_contracts::order::{
    CancellationReason, OrderCancelled, OrderDelivered, OrderPacked, OrderShipped,
};
use bazaar_contracts::payment::PaymentFailure;
use bazaar_platform::kafka::Outbox;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::OrderError;
use crate::orders::store::{self, OrderRow};
use crate::state::{OrderState, Step};

/// An order moved one step: the row as it was, and the states before and after.
pub struct Advanced {
    pub order: OrderRow,
    pub from: OrderState,
    pub to: OrderState,
}

/// Moves an order by `step` inside `tx`: locks it, checks the state machine, records the transition with
/// its `cause`. Illegal moves fail without changing anything.
pub async fn advance(
    tx: &mut PgConnection,
    id: Uuid,
    step: Step,
    cause: &str,
) -> Result<Advanced, OrderError> {
    let order = store::lock(tx, id)
        .await?
        .ok_or(OrderError::NotFound("No such order."))?;
    let from = order.state()?;
    let to = from.on(step)?;
    store::record_transition(tx, id, Some(from), to, cause).await?;
    Ok(Advanced { order, from, to })
}

/// Records why the order was cancelled and tells inventory, payment and notification.
pub async fn announce_cancellation(
    tx: &mut PgConnection,
    outbox: &Outbox,
    advanced: &Advanced,
    reason: CancellationReason,
    detail: &str,
) -> Result<(), OrderError> {
    let order = &advanced.order;
    let reason_text = serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    sqlx::query("UPDATE orders SET cancel_reason = $2 WHERE id = $1")
        .bind(order.id)
        .bind(reason_text)
        .execute(&mut *tx)
        .await?;
    let lines = store::contract_lines(tx, order).await?;
    outbox
        .enqueue(
            tx,
            &OrderCancelled {
                order_id: order.order_id(),
                order_number: order.number.clone(),
                customer: order.customer(),
                reason,
                detail: detail.to_owned(),
                lines,
                // Expired stock was never committed, so there is nothing to put back.
                restock: advanced.from.stock_committed()
                    && reason != CancellationReason::ReservationExpired,
            },
        )
        .await?;
    Ok(())
}

/// A step the warehouse takes with an order, recorded by staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WarehouseStep {
    Pack,
    /// Handed to `carrier` with `tracking_number` (both trimmed, 1 to 100 characters).
    Ship {
        carrier: String,
        tracking_number: String,
    },
    Deliver,
}

impl WarehouseStep {
    fn step(&self) -> Step {
        match self {
            WarehouseStep::Pack => Step::Pack,
            WarehouseStep::Ship { .. } => Step::Ship,
            WarehouseStep::Deliver => Step::Deliver,
        }
    }
}

/// Moves the order by a warehouse step inside `tx` and tells the other components: `order.packed`,
/// `order.shipped` (with the carrier and tracking number, also kept on the order) or `order.delivered`.
pub async fn warehouse_step(
    tx: &mut PgConnection,
    outbox: &Outbox,
    id: Uuid,
    step: &WarehouseStep,
    cause: &str,
) -> Result<Advanced, OrderError> {
    let advanced = advance(tx, id, step.step(), cause).await?;
    let order = &advanced.order;
    let (order_id, order_number, customer) =
        (order.order_id(), order.number.clone(), order.customer());
    match step {
        WarehouseStep::Pack => {
            let event = OrderPacked {
                order_id,
                order_number,
                customer,
            };
            outbox.enqueue(tx, &event).await?;
        }
        WarehouseStep::Ship {
            carrier,
            tracking_number,
        } => {
            sqlx::query("UPDATE orders SET carrier = $2, tracking_number = $3 WHERE id = $1")
                .bind(id)
                .bind(carrier)
                .bind(tracking_number)
                .execute(&mut *tx)
                .await?;
            let event = OrderShipped {
                order_id,
                order_number,
                customer,
                carrier: carrier.clone(),
                tracking_number: tracking_number.clone(),
            };
            outbox.enqueue(tx, &event).await?;
        }
        WarehouseStep::Deliver => {
            let event = OrderDelivered {
                order_id,
                order_number,
                customer,
            };
            outbox.enqueue(tx, &event).await?;
        }
    }
    Ok(advanced)
}

/// Keeps why payment failed for good (from `payment.failed`), so the shopper reads it on the order.
pub async fn payment_failed(
    tx: &mut PgConnection,
    id: Uuid,
    reason: PaymentFailure,
) -> Result<(), OrderError> {
    let reason = serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    sqlx::query("UPDATE orders SET payment_failure = $2 WHERE id = $1")
        .bind(id)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    Ok(())
}
