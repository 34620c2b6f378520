//! `Store`: a place stock is kept: a retail store shoppers visit or a warehouse that only ships.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::COUNTRY_PATTERN;
use super::status::ResourceStatus;

/// A location that holds stock. Fulfillments select Stores by name or by their labels.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "bazaar.dev",
    version = "v1alpha1",
    kind = "Store",
    namespaced,
    status = "ResourceStatus",
    derive = "PartialEq",
    shortname = "st",
    category = "bazaar",
    doc = "A place that holds stock: a retail store shoppers can visit, or a warehouse that ships orders.",
    printcolumn(
        name = "Display Name",
        type_ = "string",
        json_path = ".spec.displayName"
    ),
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type"),
    printcolumn(name = "City", type_ = "string", json_path = ".spec.address.city"),
    printcolumn(
        name = "Country",
        type_ = "string",
        json_path = ".spec.address.country"
    ),
    printcolumn(name = "Active", type_ = "boolean", json_path = ".spec.active"),
    printcolumn(
        name = "Pickup",
        type_ = "boolean",
        json_path = ".spec.capabilities.pickup",
        priority = 1
    ),
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
    validation = Rule::new("!self.capabilities.pickup || size(self.openingHours) > 0")
        .message("a Store that offers pickup needs openingHours, so shoppers know when to come")
)]
pub struct StoreSpec {
    /// Name shown to shoppers, e.g. `Northwind Downtown`.
    #[schemars(length(min = 1, max = 100))]
    pub display_name: String,

    /// `Retail` stores serve shoppers in person; `Warehouse`s only hold and ship stock.
    #[serde(rename = "type")]
    pub store_type: StoreType,

    /// Postal address.
    pub address: Address,

    /// Where the Store is, for "stores near me" and distance-based choices.
    pub location: GeoPoint,

    /// IANA time zone that openingHours are given in, e.g. `America/New_York`.
    #[schemars(
        length(max = 64),
        regex(pattern = r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$")
    )]
    pub time_zone: String,

    /// When the Store is open, in its time zone. Several entries may name the same day (e.g. a lunch break).
    #[serde(default)]
    #[schemars(length(max = 21))]
    pub opening_hours: Vec<OpeningHours>,

    /// How shoppers reach the Store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,

    /// What the Store does besides holding stock.
    #[serde(default)]
    pub capabilities: Capabilities,

    /// An inactive Store keeps its stock records but is not used for pickup or shipping.
    #[serde(default = "default_true")]
    pub active: bool,
}

fn default_true() -> bool {
    true
}

/// Whether shoppers can visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum StoreType {
    Retail,
    Warehouse,
}

/// A postal address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street lines, e.g. `["500 Market St", "Suite 2"]`.
    #[schemars(length(min = 1, max = 4), inner(length(min = 1, max = 200)))]
    pub lines: Vec<String>,
    #[schemars(length(min = 1, max = 100))]
    pub city: String,
    /// State, province or county, e.g. `CA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20))]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2 country code, e.g. `US`.
    #[schemars(regex(pattern = COUNTRY_PATTERN))]
    pub country: String,
}

/// A point on Earth in decimal degrees (WGS 84).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GeoPoint {
    /// Latitude, -90 (south) to 90 (north).
    #[schemars(range(min = -90.0, max = 90.0))]
    pub lat: f64,
    /// Longitude, -180 (west) to 180 (east).
    #[schemars(range(min = -180.0, max = 180.0))]
    pub lon: f64,
}

/// Days of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// Opening hours for some days, e.g. Monday to Friday 09:00 to 18:00.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    validation = Rule::new("self.opens < self.closes")
        .message("closes must be later than opens (24:00 closes at midnight)")
)]
pub struct OpeningHours {
    #[schemars(length(min = 1, max = 7))]
    pub days: Vec<Weekday>,
    /// Opening time, `HH:MM` in 24-hour form.
    #[schemars(length(max = 5), regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub opens: String,
    /// Closing time, `HH:MM` in 24-hour form; `24:00` is midnight.
    #[schemars(
        length(max = 5),
        regex(pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
    )]
    pub closes: String,
}

/// How to reach a Store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 254), regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))]
    pub email: Option<String>,
    /// Phone number in E.164 form, e.g. `+14155550100`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{6,14}$"))]
    pub phone: Option<String>,
}

/// What a Store offers besides holding stock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Capabilities {
    /// Shoppers may collect orders here.
    #[serde(default)]
    pub pickup: bool,
    /// Orders may be shipped from this Store's stock.
    #[serde(default)]
    pub ship_from_store: bool,
}
