//! Payments and their life: the states as enums (mirrored by PostgreSQL enum types) and the only
//! transitions the saga may make.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Where a payment stands. `Failed`, `Voided` and `Refunded` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "payment_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The provider holds the amount.
    Authorized,
    /// No money is held: the provider refused or did not answer.
    Failed,
    /// The amount was taken.
    Captured,
    /// The hold was released without taking money.
    Voided,
    /// Taken money went back to the shopper.
    Refunded,
}

/// A call to the provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "payment_operation", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Authorize,
    Capture,
    Void,
    Refund,
}

impl Operation {
    pub const fn as_str(self) -> &'static str {
        match self {
            Operation::Authorize => "authorize",
            Operation::Capture => "capture",
            Operation::Void => "void",
            Operation::Refund => "refund",
        }
    }

    /// The idempotency key sent to the provider: one per order, operation and payment attempt, so an
    /// operation is done at most once per order however often its event is delivered.
    pub fn idempotency_key(self, order_id: Uuid, attempt: i32) -> String {
        format!("bazaar:{order_id}:{}:{attempt}", self.as_str())
    }
}

/// What became of one provider call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "attempt_result", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AttemptResult {
    Succeeded,
    Declined,
    InsufficientFunds,
    InvalidToken,
    TimedOut,
    Error,
}

impl AttemptResult {
    pub const fn as_str(self) -> &'static str {
        match self {
            AttemptResult::Succeeded => "succeeded",
            AttemptResult::Declined => "declined",
            AttemptResult::InsufficientFunds => "insufficient_funds",
            AttemptResult::InvalidToken => "invalid_token",
            AttemptResult::TimedOut => "timed_out",
            AttemptResult::Error => "error",
        }
    }
}

/// The only ways a payment's status changes after it was created (as `authorized` or `failed`). Code
/// names a transition, never a target status, so it cannot write an illegal one; the database trigger
/// `payments_transition` refuses any other change as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// authorized → captured, on order confirmation.
    Capture,
    /// authorized → voided, on cancellation before capture.
    Void,
    /// captured → refunded, on cancellation after capture.
    Refund,
}

impl Transition {
    pub const fn from(self) -> PaymentStatus {
        match self {
            Transition::Capture | Transition::Void => PaymentStatus::Authorized,
            Transition::Refund => PaymentStatus::Captured,
        }
    }

    pub const fn to(self) -> PaymentStatus {
        match self {
            Transition::Capture => PaymentStatus::Captured,
            Transition::Void => PaymentStatus::Voided,
            Transition::Refund => PaymentStatus::Refunded,
        }
    }

    pub const fn operation(self) -> Operation {
        match self {
            Transition::Capture => Operation::Capture,
            Transition::Void => Operation::Void,
            Transition::Refund => Operation::Refund,
        }
    }

    /// What an order's cancellation asks of a payment in `status`: void a hold, refund a capture, or
    /// nothing when no money is held.
    pub const fn on_cancellation(status: PaymentStatus) -> Option<Transition> {
        match status {
            PaymentStatus::Authorized => Some(Transition::Void),
            PaymentStatus::Captured => Some(Transition::Refund),
            PaymentStatus::Failed | PaymentStatus::Voided | PaymentStatus::Refunded => None,
        }
    }
}

/// A row of `payments`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    pub attempt: i32,
    pub amount_minor: i64,
    pub currency: String,
    pub status: PaymentStatus,
    pub failure_reason: Option<String>,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A row of `payment_attempts`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Attempt {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub operation: Operation,
    pub idempotency_key: String,
    pub result: AttemptResult,
    pub detail: Option<String>,
    pub provider_ref: Option<String>,
    pub latency_ms: i32,
    pub created_at: DateTime<Utc>,
}

pub const PAYMENT_COLUMNS: &str = "id, order_id, order_number, attempt, amount_minor, currency, status, \
     failure_reason, provider, provider_ref, created_at, updated_at";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_voids_holds_refunds_captures_and_leaves_the_rest() {
        assert_eq!(
            Transition::on_cancellation(PaymentStatus::Authorized),
            Some(Transition::Void)
        );
        assert_eq!(
            Transition::on_cancellation(PaymentStatus::Captured),
            Some(Transition::Refund)
        );
        for status in [
            PaymentStatus::Failed,
            PaymentStatus::Voided,
            PaymentStatus::Refunded,
        ] {
            assert_eq!(Transition::on_cancellation(status), None);
        }
    }

    #[test]
    fn keys_differ_by_order_operation_and_attempt() {
        let order = Uuid::now_v7();
        let key = Operation::Authorize.idempotency_key(order, 1);
        assert_eq!(key, format!("bazaar:{order}:authorize:1"));
        assert_ne!(key, Operation::Authorize.idempotency_key(order, 2));
        assert_ne!(key, Operation::Capture.idempotency_key(order, 1));
    }
}
