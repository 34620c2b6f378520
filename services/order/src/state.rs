//! The order's life as a state machine. Every change goes through [`OrderState::on`], which accepts only
//! the moves the saga allows; anything else is an [`IllegalTransition`], never a silent overwrite.

use bazaar_contracts::order::CancellationReason;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Checked out; waiting for inventory to reserve every line.
    Placed,
    /// Stock reserved; waiting for the payment authorization.
    AwaitingPayment,
    /// Paid (authorized) with stock committed; waiting for the warehouse.
    Confirmed,
    Packed,
    Shipped,
    Delivered,
    Cancelled,
}

/// Something that happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    StockReserved,
    StockRejected,
    ReservationExpired,
    PaymentAuthorized,
    /// A retryable failure with attempts left: payment is asked again.
    PaymentRetry,
    PaymentFailed,
    Cancel(CancellationReason),
    Pack,
    Ship,
    Deliver,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an order that is {from} cannot be {attempted}")]
pub struct IllegalTransition {
    pub from: OrderState,
    pub attempted: &'static str,
}

impl OrderState {
    /// The state after `step`, if the saga allows it from here.
    pub fn on(self, step: Step) -> Result<OrderState, IllegalTransition> {
        use OrderState::*;
        let next = match (self, step) {
            (Placed, Step::StockReserved) => Some(AwaitingPayment),
            (Placed, Step::StockRejected) => Some(Cancelled),
            // A reservation can expire just as payment confirms the order: without stock the order
            // cannot be fulfilled, so it is cancelled and its payment refunded.
            (Placed | AwaitingPayment | Confirmed, Step::ReservationExpired) => Some(Cancelled),
            (AwaitingPayment, Step::PaymentAuthorized) => Some(Confirmed),
            (AwaitingPayment, Step::PaymentRetry) => Some(AwaitingPayment),
            (AwaitingPayment, Step::PaymentFailed) => Some(Cancelled),
            // A shopper or staff may cancel until the parcel leaves.
            (Placed | AwaitingPayment | Confirmed | Packed, Step::Cancel(_)) => Some(Cancelled),
            (Confirmed, Step::Pack) => Some(Packed),
            (Packed, Step::Ship) => Some(Shipped),
            (Shipped, Step::Deliver) => Some(Delivered),
            _ => None,
        };
        next.ok_or(IllegalTransition {
            from: self,
            attempted: step.verb(),
        })
    }

    /// Whether the order can change any more.
    pub fn is_final(self) -> bool {
        matches!(self, OrderState::Delivered | OrderState::Cancelled)
    }

    /// True once stock was committed (so a cancellation puts it back on hand).
    pub fn stock_committed(self) -> bool {
        matches!(self, OrderState::Confirmed | OrderState::Packed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Placed => "placed",
            OrderState::AwaitingPayment => "awaiting_payment",
            OrderState::Confirmed => "confirmed",
            OrderState::Packed => "packed",
            OrderState::Shipped => "shipped",
            OrderState::Delivered => "delivered",
            OrderState::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<OrderState> {
        Some(match value {
            "placed" => OrderState::Placed,
            "awaiting_payment" => OrderState::AwaitingPayment,
            "confirmed" => OrderState::Confirmed,
            "packed" => OrderState::Packed,
            "shipped" => OrderState::Shipped,
            "delivered" => OrderState::Delivered,
            "cancelled" => OrderState::Cancelled,
            _ => return None,
        })
    }
}

impl std::fmt::Display for OrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}

impl Step {
    fn verb(self) -> &'static str {
        match self {
            Step::StockReserved => "reserved",
            Step::StockRejected => "rejected for lack of stock",
            Step::ReservationExpired => "expired",
            Step::PaymentAuthorized => "paid",
            Step::PaymentRetry => "retried for payment",
            Step::PaymentFailed => "failed for payment",
            Step::Cancel(_) => "cancelled",
            Step::Pack => "packed",
            Step::Ship => "shipped",
            Step::Deliver => "delivered",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::OrderState::*;
    use super::*;

    #[test]
    fn the_happy_path_runs_from_placed_to_delivered() {
        let mut state = Placed;
        for step in [
            Step::StockReserved,
            Step::PaymentAuthorized,
            Step::Pack,
            Step::Ship,
            Step::Deliver,
        ] {
            state = state.on(step).expect("allowed");
        }
        assert_eq!(state, Delivered);
    }

    #[test]
    fn compensations_lead_to_cancelled() {
        assert_eq!(Placed.on(Step::StockRejected), Ok(Cancelled));
        assert_eq!(AwaitingPayment.on(Step::PaymentFailed), Ok(Cancelled));
        assert_eq!(AwaitingPayment.on(Step::ReservationExpired), Ok(Cancelled));
        assert_eq!(
            Confirmed.on(Step::ReservationExpired),
            Ok(Cancelled),
            "expired as payment confirmed"
        );
        assert_eq!(AwaitingPayment.on(Step::PaymentRetry), Ok(AwaitingPayment));
    }

    #[test]
    fn a_shopper_can_cancel_until_shipment_and_not_after() {
        let cancel = Step::Cancel(CancellationReason::RequestedByCustomer);
        for state in [Placed, AwaitingPayment, Confirmed, Packed] {
            assert_eq!(state.on(cancel), Ok(Cancelled), "{state}");
        }
        for state in [Shipped, Delivered, Cancelled] {
            assert!(state.on(cancel).is_err(), "{state}");
        }
    }

    #[test]
    fn late_or_repeated_events_are_illegal_not_silent() {
        assert!(Cancelled.on(Step::PaymentAuthorized).is_err());
        assert!(Confirmed.on(Step::StockReserved).is_err());
        assert!(Placed.on(Step::Ship).is_err());
        let error = Delivered.on(Step::Pack).expect_err("illegal");
        assert_eq!(
            error.to_string(),
            "an order that is delivered cannot be packed"
        );
    }

    #[test]
    fn states_round_trip_through_their_stored_names() {
        for state in [
            Placed,
            AwaitingPayment,
            Confirmed,
            Packed,
            Shipped,
            Delivered,
            Cancelled,
        ] {
            assert_eq!(OrderState::parse(state.as_str()), Some(state));
        }
    }
}
