//! JSON Schemas of the event payloads, generated from the Rust types so that they cannot drift.

use crate::DomainEvent;
use crate::{catalog, identity, inventory, order, payment, review};

/// Every event type with the JSON Schema of its data, sorted by type. The committed copies under
/// `crates/contracts/schemas/` are checked against this list by a test.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    fn entry<E: DomainEvent>() -> (&'static str, serde_json::Value) {
        (E::TYPE, generate::<E>())
    }
    let mut schemas = vec![
        entry::<order::OrderPlaced>(),
        entry::<order::PaymentRequested>(),
        entry::<order::OrderConfirmed>(),
        entry::<order::OrderCancelled>(),
        entry::<order::OrderPacked>(),
        entry::<order::OrderShipped>(),
        entry::<order::OrderDelivered>(),
        entry::<inventory::InventoryReserved>(),
        entry::<inventory::InventoryRejected>(),
        entry::<inventory::InventoryCommitted>(),
        entry::<inventory::InventoryReleased>(),
        entry::<inventory::StockLow>(),
        entry::<inventory::AvailabilityChanged>(),
        entry::<payment::PaymentAuthorized>(),
        entry::<payment::PaymentFailed>(),
        entry::<payment::PaymentCaptured>(),
        entry::<payment::PaymentVoided>(),
        entry::<payment::PaymentRefunded>(),
        entry::<payment::PaymentAttentionNeeded>(),
        entry::<identity::UserRegistered>(),
        entry::<catalog::ProductUpserted>(),
        entry::<catalog::ProductDeleted>(),
        entry::<catalog::StoreUpserted>(),
        entry::<catalog::StoreDeleted>(),
        entry::<catalog::FulfillmentUpserted>(),
        entry::<catalog::FulfillmentDeleted>(),
        entry::<catalog::PromotionUpserted>(),
        entry::<catalog::PromotionDeleted>(),
        entry::<review::RatingSummaryChanged>(),
    ];
    schemas.sort_by_key(|(event_type, _)| *event_type);
    schemas
}

/// The JSON Schema of one event's `data`, with its CloudEvents type as the title.
pub fn generate<E: DomainEvent>() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(E)).unwrap_or_default();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "title".into(),
            serde_json::Value::String(E::TYPE.to_owned()),
        );
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Topic;
    use serde::{Deserialize, Serialize};

    /// A sample payload, documented the way real contracts are.
    #[derive(Serialize, Deserialize, schemars::JsonSchema)]
    struct StockLow {
        /// The SKU that ran low.
        sku: String,
        available: u32,
    }

    impl DomainEvent for StockLow {
        const TYPE: &'static str = "test.stock.low";
        const TOPIC: Topic = Topic::custom("test.stock");
        fn key(&self) -> String {
            self.sku.clone()
        }
    }

    #[test]
    fn the_schema_names_the_event_type_and_describes_every_field() {
        let schema = generate::<StockLow>();
        assert_eq!(schema["title"], "test.stock.low");
        assert_eq!(schema["properties"]["sku"]["type"], "string");
        assert_eq!(
            schema["properties"]["sku"]["description"],
            "The SKU that ran low."
        );
        assert_eq!(schema["properties"]["available"]["type"], "integer");
        let required = schema["required"].as_array().expect("required list");
        assert_eq!(required.len(), 2);
    }
}
