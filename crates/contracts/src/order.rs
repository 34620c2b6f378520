//! Events of the order aggregate (topic `bazaar.order`, key = order id). The order component orchestrates
//! the checkout saga: it announces a placed order, asks for payment, and announces the outcome; the other
//! components react. Events carry what their consumers need (e.g. the shopper's email for notification), so
//! no component reads another's schema.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::{Money, Sku};

/// An order's id (UUIDv7); shoppers see the human-friendly order number instead.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct OrderId(pub Uuid);

impl OrderId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for OrderId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One line of an order, priced by the server at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLine {
    pub sku: Sku,
    pub quantity: u32,
    pub unit_price: Money,
    /// Unit price times quantity, less this line's discounts.
    pub line_total: Money,
}

/// Where an order ships to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
}

/// Who placed the order and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Customer {
    /// The identity user id; absent for a guest checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    pub email: String,
}

/// `order.placed`: a shopper checked out; inventory reserves every line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPlaced {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer: Customer,
    pub lines: Vec<OrderLine>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping: Money,
    /// Sales tax charged (included in `total`); absent where none applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<Money>,
    pub total: Money,
    pub shipping_address: ShippingAddress,
    pub shipping_method: String,
    pub placed_at: DateTime<Utc>,
    /// The promotions applied to the order (`namespace/name`), so the catalog can count redemptions
    /// against their usage limits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotions: Vec<String>,
}

/// `payment.requested`: stock is reserved; payment authorizes `amount` with the shopper's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequested {
    pub order_id: OrderId,
    pub order_number: String,
    pub amount: Money,
    /// The provider token the shopper's client obtained (never a card number).
    pub payment_token: String,
    /// Sent to the provider so a redelivered request cannot authorize twice.
    pub idempotency_key: String,
    /// Counts payment retries of one order, so each retry is a new authorization.
    pub attempt: u32,
}

/// `order.confirmed`: stock reserved and payment authorized; inventory commits, payment captures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderConfirmed {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer: Customer,
    pub lines: Vec<OrderLine>,
    pub total: Money,
}

/// Why an order was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    OutOfStock,
    PaymentFailed,
    ReservationExpired,
    RequestedByCustomer,
    RequestedByStaff,
}

/// `order.cancelled`: inventory releases or restocks; payment voids or refunds what it took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderCancelled {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer: Customer,
    pub reason: CancellationReason,
    /// A sentence a shopper can read.
    pub detail: String,
    pub lines: Vec<OrderLine>,
    /// True when stock had been committed (the order was confirmed): it goes back on hand.
    pub restock: bool,
}

/// `order.packed`: the parcel is ready at the warehouse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPacked {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer: Customer,
}

/// `order.shipped`: handed to a carrier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderShipped {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer: Customer,
    pub carrier: String,
    pub tracking_number: String,
}

/// `order.delivered`: the carrier reported delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDelivered {
    pub order_id: OrderId,
    pub order_number: String,
    pub customer: Customer,
}

crate::domain_events! {
    OrderPlaced => "order.placed", ORDER, order_id;
    PaymentRequested => "payment.requested", ORDER, order_id;
    OrderConfirmed => "order.confirmed", ORDER, order_id;
    OrderCancelled => "order.cancelled", ORDER, order_id;
    OrderPacked => "order.packed", ORDER, order_id;
    OrderShipped => "order.shipped", ORDER, order_id;
    OrderDelivered => "order.delivered", ORDER, order_id;
}
