//! Events of the payment component (topic `bazaar.payment`, key = order id).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::Money;
use crate::order::OrderId;

/// `payment.authorized`: the provider holds `amount` on the shopper's instrument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAuthorized {
    pub order_id: OrderId,
    pub payment_id: Uuid,
    pub amount: Money,
}

/// Why a payment did not go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentFailure {
    Declined,
    InsufficientFunds,
    /// The provider did not answer in time; the order may retry.
    ProviderUnavailable,
    InvalidToken,
}

/// `payment.failed`: no money is held for this attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailed {
    pub order_id: OrderId,
    pub payment_id: Uuid,
    pub reason: PaymentFailure,
    /// True when trying again later may succeed.
    pub retryable: bool,
    /// A sentence a shopper can read.
    pub message: String,
    pub attempt: u32,
}

/// `payment.captured`: the authorized amount was taken (on order confirmation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCaptured {
    pub order_id: OrderId,
    pub payment_id: Uuid,
    pub amount: Money,
}

/// `payment.voided`: an authorization was released without taking money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentVoided {
    pub order_id: OrderId,
    pub payment_id: Uuid,
}

/// `payment.refunded`: captured money went back to the shopper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRefunded {
    pub order_id: OrderId,
    pub payment_id: Uuid,
    pub amount: Money,
}

/// What payment was doing when it stopped and asked for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PaymentOperation {
    Authorize,
    Capture,
    Void,
    Refund,
    /// Settling an authorization whose outcome was unknown (the provider timed out): asking the
    /// provider again with the same idempotency key and voiding any hold it reports.
    Reconcile,
}

/// `payment.attention_needed`: a provider call kept failing, payment stopped retrying it and ops must
/// act (the payment's state at the provider is not what the order expects). Ops see it at
/// `GET /api/payments/attention` and can retry it from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentAttentionNeeded {
    pub order_id: OrderId,
    /// The payment concerned; absent when no payment was recorded (an authorization the provider refused
    /// as contradictory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Uuid>,
    /// Payment's id of the stuck work (`/api/payments/attention/{taskId}/retry` retries it).
    pub task_id: Uuid,
    pub operation: PaymentOperation,
    /// How many times the call was tried.
    pub tries: u32,
    /// The last error, for people.
    pub detail: String,
}

crate::domain_events! {
    PaymentAuthorized => "payment.authorized", PAYMENT, order_id;
    PaymentFailed => "payment.failed", PAYMENT, order_id;
    PaymentCaptured => "payment.captured", PAYMENT, order_id;
    PaymentVoided => "payment.voided", PAYMENT, order_id;
    PaymentRefunded => "payment.refunded", PAYMENT, order_id;
    PaymentAttentionNeeded => "payment.attention_needed", PAYMENT, order_id;
}
