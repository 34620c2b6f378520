//! `Fulfillment`: how orders to some destinations are delivered: from which Stores, by which shipping
//! methods at which rates, and whether shoppers may pick up in store.

use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::common::{Amounts, COUNTRY_PATTERN, LabelSelector, RESOURCE_NAME_PATTERN};
use super::status::ResourceStatus;

/// A shipping policy: destinations, source Stores and shipping methods.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "bazaar.dev",
    version = "v1alpha1",
    kind = "Fulfillment",
    namespaced,
    status = "ResourceStatus",
    derive = "PartialEq",
    shortname = "ful",
    category = "bazaar",
    doc = "How orders to some destinations are delivered: source Stores, shipping methods with rates, in-store pickup.",
    printcolumn(name = "Pickup", type_ = "boolean", json_path = ".spec.pickup"),
    printcolumn(name = "Delivers", type_ = "string", json_path = ".status.summary"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("size(self.methods) > 0 || self.pickup")
        .message("a Fulfillment must offer at least one shipping method or pickup"),
    validation = Rule::new("self.methods.all(m, self.methods.exists_one(n, n.code == m.code))")
        .message("each shipping method needs its own code: two methods share one")
)]
pub struct FulfillmentSpec {
    /// Destinations this policy serves. A shipping address matches a zone when its country is listed and,
    /// if the zone names regions, its region too.
    #[schemars(length(min = 1, max = 50))]
    pub zones: Vec<Zone>,

    /// The Stores whose stock fulfills orders under this policy.
    pub sources: Sources,

    /// Shipping methods offered to these destinations.
    #[serde(default)]
    #[schemars(length(max = 20))]
    pub methods: Vec<ShippingMethod>,

    /// Shoppers may pick orders up at a source Store that offers pickup.
    #[serde(default)]
    pub pickup: bool,
}

/// A set of destinations: countries, optionally narrowed to some of one country's regions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    validation = Rule::new("size(self.regions) == 0 || size(self.countries) == 1")
        .message("regions belong to one country: a zone that names regions must list exactly one country")
)]
pub struct Zone {
    /// ISO 3166-1 alpha-2 country codes, e.g. `[US, CA]`.
    #[schemars(length(min = 1, max = 250), inner(regex(pattern = COUNTRY_PATTERN)))]
    pub countries: Vec<String>,
    /// Region codes within the country (the part of ISO 3166-2 after the dash), e.g. `[CA, NY]`.
    #[serde(default)]
    #[schemars(length(max = 100), inner(regex(pattern = r"^[A-Z0-9]{1,3}$")))]
    pub regions: Vec<String>,
}

/// Which Stores ship: either named ones or those whose labels match a selector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("has(self.storeNames) != has(self.storeSelector)")
        .message("sources takes exactly one of storeNames or storeSelector")
)]
pub struct Sources {
    /// Names of Stores in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100), inner(length(max = 253), regex(pattern = RESOURCE_NAME_PATTERN)))]
    pub store_names: Option<Vec<String>>,
    /// Stores whose labels match, e.g. `{matchLabels: {region: west}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_selector: Option<LabelSelector>,
}

/// A way to ship, e.g. standard or express, with its price per currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.freeOver) || self.freeOver.all(currency, currency in self.rates)")
        .message("freeOver may only name currencies that rates names")
)]
pub struct ShippingMethod {
    /// Identifier used in orders, e.g. `standard`.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
    )]
    pub code: String,
    /// Name shown to shoppers, e.g. `Standard (3-5 days)`.
    #[schemars(length(min = 1, max = 100))]
    pub name: String,
    /// Price per currency, e.g. `{USD: "4.99"}`; `"0"` ships free.
    pub rates: Amounts,
    /// Orders whose subtotal reaches this amount ship free, per currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_over: Option<Amounts>,
    /// Business days from dispatch to delivery.
    pub delivery_days: DayRange,
}

/// An inclusive range of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new("self.min <= self.max").message("deliveryDays.min must not exceed max"))]
pub struct DayRange {
    #[schemars(range(min = 0, max = 365))]
    pub min: u32,
    #[schemars(range(min = 0, max = 365))]
    pub max: u32,
}
