//! The price-quote contract between the catalog (which owns prices, promotions and shipping) and the order
//! component (carts and checkout): `POST /api/catalog/quote`. Orders are always priced by this quote, never
//! by what a client sends.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::money::{Money, Sku};

/// One line to price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteLineRequest {
    pub sku: Sku,
    pub quantity: u32,
}

/// Where the goods go, for shipping options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `POST /api/catalog/quote` body. Per-customer promotion limits apply to the shopper whose bearer token
/// comes with the request (order forwards the shopper's own token), never to a customer named in the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteRequest {
    /// ISO 4217 code the quote is in.
    pub currency: String,
    pub lines: Vec<QuoteLineRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Code of the shipping method chosen, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping_method: Option<String>,
}

/// Whether a line can be bought.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LineStatus {
    Available,
    /// No product has this SKU (any more).
    UnknownSku,
    /// The product is not Active (draft or archived).
    NotForSale,
    /// The product has no price in the quote's currency.
    NoPriceInCurrency,
}

/// A discount one promotion gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppliedPromotion {
    /// The Promotion resource (`namespace/name`).
    pub promotion: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// What a shopper reads, e.g. "20% off summer collection".
    pub description: String,
    pub amount: Money,
}

/// One priced line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuotedLine {
    pub sku: Sku,
    pub quantity: u32,
    pub status: LineStatus,
    /// Product title, for display; empty for an unknown SKU.
    pub title: String,
    /// Current unit price; absent when the line is not available.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Money>,
    /// Unit price times quantity, before discounts (zero when unavailable).
    pub subtotal: Money,
    /// Discounts applied to this line.
    pub discount: Money,
    /// `subtotal - discount`.
    pub total: Money,
}

/// A way to ship to the destination, priced for this cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShippingOption {
    pub code: String,
    pub name: String,
    /// After free-over thresholds and free-shipping promotions.
    pub price: Money,
    pub delivery_days_min: u32,
    pub delivery_days_max: u32,
    /// For in-store pickup (code `pickup`): the Stores (`namespace/name`) offering it to this destination;
    /// a checkout with pickup names one of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pickup_stores: Vec<String>,
}

/// What became of a coupon code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CouponResult {
    pub code: String,
    pub applied: bool,
    /// Why it did not apply, readable by a shopper (unknown, expired, minimum subtotal not met, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /api/catalog/quote` answer. Unavailable lines are listed (flagged), never dropped, and count
/// nothing toward the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    pub currency: String,
    pub lines: Vec<QuotedLine>,
    pub promotions: Vec<AppliedPromotion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponResult>,
    /// Options for the destination; empty without one.
    pub shipping_options: Vec<ShippingOption>,
    /// The chosen (or else the cheapest) option.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingOption>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping_total: Money,
    pub total: Money,
}
