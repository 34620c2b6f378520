//! Events of the catalog (topic `bazaar.catalog`): the merchandising projection changed. The operator writes
//! them through the catalog's write module, in the transaction that changes the projection. Each event is
//! keyed by its resource, `<kind>/<namespace>/<name>` (e.g. `product/shop/trail-runner`), so the story of one
//! resource stays in order, deletions and re-creations included.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Topic;
use crate::envelope::DomainEvent;
use crate::money::{Money, Sku};

/// Whether a product can be seen and bought.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ProductLifecycle {
    /// Being prepared; invisible to shoppers.
    Draft,
    /// Listed and for sale.
    Active,
    /// No longer sold; invisible to shoppers, kept for history.
    Archived,
}

impl ProductLifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "Draft",
            Self::Active => "Active",
            Self::Archived => "Archived",
        }
    }
}

/// What a Store is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum StoreKind {
    /// A shop shoppers can visit.
    Retail,
    /// A stock location shoppers never see.
    Warehouse,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Retail => "Retail",
            Self::Warehouse => "Warehouse",
        }
    }
}

/// Whether an upsert created the resource's projection or changed an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Created,
    Updated,
}

/// One sellable variant as announced to other components.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariantSummary {
    pub sku: Sku,
    /// List prices, one per currency.
    pub prices: Vec<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
}

/// `catalog.product.upserted`: a Product's projection was created or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductUpserted {
    pub namespace: String,
    pub name: String,
    pub change: Change,
    pub slug: String,
    pub title: String,
    pub lifecycle: ProductLifecycle,
    pub variants: Vec<VariantSummary>,
    /// SKUs this product had before and no longer has.
    #[serde(default)]
    pub removed_skus: Vec<Sku>,
}

/// `catalog.product.deleted`: a Product and its variants left the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDeleted {
    pub namespace: String,
    pub name: String,
    pub slug: String,
    pub skus: Vec<Sku>,
}

/// `catalog.store.upserted`: a Store (retail location or warehouse) was created or changed. Inventory
/// knows locations by `namespace/name`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreUpserted {
    pub namespace: String,
    pub name: String,
    pub change: Change,
    pub display_name: String,
    pub kind: StoreKind,
    pub active: bool,
    pub pickup: bool,
    pub ship_from_store: bool,
}

/// `catalog.store.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreDeleted {
    pub namespace: String,
    pub name: String,
}

/// `catalog.fulfillment.upserted`: a shipping policy was created or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentUpserted {
    pub namespace: String,
    pub name: String,
    pub change: Change,
    /// Stores that ship or hand over the goods, as `namespace/name`.
    pub source_stores: Vec<String>,
    /// Codes of the shipping methods offered.
    pub methods: Vec<String>,
    pub pickup: bool,
}

/// `catalog.fulfillment.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FulfillmentDeleted {
    pub namespace: String,
    pub name: String,
}

/// `catalog.promotion.upserted`: a promotion was created or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionUpserted {
    pub namespace: String,
    pub name: String,
    pub change: Change,
    /// The coupon code, upper case; absent for an automatic promotion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// `catalog.promotion.deleted`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionDeleted {
    pub namespace: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

macro_rules! catalog_event {
    ($ty:ty, $name:literal, $kind:literal) => {
        impl DomainEvent for $ty {
            const TYPE: &'static str = $name;
            const TOPIC: Topic = Topic::CATALOG;
            fn key(&self) -> String {
                format!(concat!($kind, "/{}/{}"), self.namespace, self.name)
            }
        }
    };
}

catalog_event!(ProductUpserted, "catalog.product.upserted", "product");
catalog_event!(ProductDeleted, "catalog.product.deleted", "product");
catalog_event!(StoreUpserted, "catalog.store.upserted", "store");
catalog_event!(StoreDeleted, "catalog.store.deleted", "store");
catalog_event!(
    FulfillmentUpserted,
    "catalog.fulfillment.upserted",
    "fulfillment"
);
catalog_event!(
    FulfillmentDeleted,
    "catalog.fulfillment.deleted",
    "fulfillment"
);
catalog_event!(PromotionUpserted, "catalog.promotion.upserted", "promotion");
catalog_event!(PromotionDeleted, "catalog.promotion.deleted", "promotion");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_keyed_by_kind_namespace_and_name() {
        let event = StoreDeleted {
            namespace: "shop".into(),
            name: "downtown".into(),
        };
        assert_eq!(event.key(), "store/shop/downtown");
        assert_eq!(StoreDeleted::TYPE, "catalog.store.deleted");
        assert_eq!(StoreDeleted::TOPIC, Topic::CATALOG);
    }
}
