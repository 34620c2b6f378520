//! Events of the inventory component (topic `bazaar.inventory`). Reservation events are keyed by order id,
//! so one order's reservation story stays in order; stock signals are keyed by SKU.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::money::Sku;
use crate::order::OrderId;

/// Units of one SKU held at one location (a Store of type warehouse or ship-from-store).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Allocation {
    pub sku: Sku,
    /// The Store's name (`namespace/name`).
    pub location: String,
    pub quantity: u32,
}

/// `inventory.reserved`: every line of the order is held, possibly across several locations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryReserved {
    pub order_id: OrderId,
    pub allocations: Vec<Allocation>,
    /// The hold is released at this time unless the order is confirmed first.
    pub expires_at: DateTime<Utc>,
}

/// A SKU that could not be reserved in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Shortage {
    pub sku: Sku,
    pub requested: u32,
    pub available: u32,
}

/// `inventory.rejected`: nothing was reserved (all or nothing) because these SKUs fall short.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryRejected {
    pub order_id: OrderId,
    pub shortages: Vec<Shortage>,
}

/// `inventory.committed`: the order's reservation became a sale; on-hand stock went down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryCommitted {
    pub order_id: OrderId,
}

/// Why reserved or sold stock became available again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseReason {
    /// The order was cancelled before confirmation.
    OrderCancelled,
    /// The reservation outlived its time to live.
    Expired,
    /// A confirmed order was cancelled: its committed stock went back on hand.
    Restocked,
}

/// `inventory.released`: the order's units are available again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InventoryReleased {
    pub order_id: OrderId,
    pub reason: ReleaseReason,
}

/// `inventory.stock_low`: available stock of a SKU fell to its threshold (for ops).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StockLow {
    pub sku: Sku,
    /// Available units over all locations.
    pub available: u32,
    pub threshold: u32,
}

/// `inventory.availability_changed`: a SKU went out of stock (no unit available at any location) or came
/// back in stock. Only these transitions are announced, not every change of the count; whatever moves
/// stock across zero announces it (stock set or adjusted by ops, a reservation, its release or expiry, a
/// restock), in the transaction of that change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityChanged {
    pub sku: Sku,
    /// True when at least one unit is available (on hand and not reserved) at some location.
    pub in_stock: bool,
    /// Available units over all locations after the change.
    pub available: u32,
    /// When the change was made (UTC); later events of a SKU carry later times.
    pub changed_at: DateTime<Utc>,
}

crate::domain_events! {
    InventoryReserved => "inventory.reserved", INVENTORY, order_id;
    InventoryRejected => "inventory.rejected", INVENTORY, order_id;
    InventoryCommitted => "inventory.committed", INVENTORY, order_id;
    InventoryReleased => "inventory.released", INVENTORY, order_id;
    StockLow => "inventory.stock_low", INVENTORY, sku;
    AvailabilityChanged => "inventory.availability_changed", INVENTORY, sku;
}
