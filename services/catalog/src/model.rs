//! The catalog's own model of the merchandising resources. The operator maps its Kubernetes resource specs
//! into these types and hands them to [`crate::write`]; nothing here depends on Kubernetes.
//!
//! Every resource is identified by `namespace` and `name`. Amounts are [`Money`] (minor units plus currency);
//! a list of `Money` holds at most one amount per currency. [`Product::validate`] and friends check the rules
//! the write module relies on and say what to fix.

use std::collections::BTreeMap;

use bazaar_contracts::{Currency, Money, Sku};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use bazaar_contracts::catalog::{ProductLifecycle, StoreKind};

/// One rule an object breaks: which field, and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

#[derive(Default)]
struct Checker(Vec<Violation>);

impl Checker {
    fn check(&mut self, ok: bool, field: impl Into<String>, message: impl Into<String>) {
        if !ok {
            self.0.push(Violation {
                field: field.into(),
                message: message.into(),
            });
        }
    }

    fn name(&mut self, value: &str, field: &str) {
        self.check(
            is_dns_label(value),
            field,
            format!("`{value}` is not a valid name: expected lowercase letters, digits and `-`, at most 253 characters"),
        );
    }

    fn text(&mut self, value: &str, field: &str, max: usize) {
        self.check(
            !value.trim().is_empty() && value.chars().count() <= max,
            field,
            format!("must be non-empty text of at most {max} characters"),
        );
    }

    /// At most one amount per currency, none negative.
    fn amounts(&mut self, amounts: &[Money], field: &str) {
        for (i, money) in amounts.iter().enumerate() {
            self.check(
                !money.is_negative(),
                format!("{field}[{i}]"),
                "must not be negative",
            );
            self.check(
                !amounts[..i]
                    .iter()
                    .any(|other| other.currency() == money.currency()),
                format!("{field}[{i}]"),
                format!(
                    "{} appears more than once; give one amount per currency",
                    money.currency().code()
                ),
            );
        }
    }

    fn finish(self) -> Result<(), Vec<Violation>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, the shape of Kubernetes names and of slugs.
pub fn is_dns_label(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// A category path: segments of `[a-z0-9-]` joined by `/`, e.g. `footwear/running`.
pub fn is_category_path(value: &str) -> bool {
    value.len() <= 200 && value.split('/').all(is_dns_label)
}

/// The amount in `currency` from a list holding at most one per currency.
pub fn amount_in(amounts: &[Money], currency: Currency) -> Option<Money> {
    amounts.iter().copied().find(|m| m.currency() == currency)
}

/// A picture of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Image {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// Something sold: one or more variants, each with its own SKU and prices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub namespace: String,
    pub name: String,
    /// The public identifier in URLs, unique across the shop; the operator uses the resource name.
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Category path, e.g. `footwear/running`.
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    #[serde(default)]
    pub images: Vec<Image>,
    /// Facts shown to shoppers, e.g. `material: mesh`.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Labels for selection by promotions (the resource's metadata labels).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub lifecycle: ProductLifecycle,
    #[serde(default)]
    pub featured: bool,
    pub variants: Vec<Variant>,
    /// `metadata.generation` of the Product resource this projection was made from (the operator sets
    /// it; absent for products loaded otherwise, such as the example shop). Staff see it as the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_generation: Option<i64>,
}

/// One sellable form of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Variant {
    pub sku: Sku,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Option values, e.g. `size: "42"`, `color: black`.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// List prices, one per currency.
    pub prices: Vec<Money>,
    /// "Was" prices shown struck through, one per currency; each above the list price.
    #[serde(default)]
    pub compare_at_prices: Vec<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
}

impl Variant {
    pub fn price_in(&self, currency: Currency) -> Option<Money> {
        amount_in(&self.prices, currency)
    }

    pub fn compare_at_in(&self, currency: Currency) -> Option<Money> {
        amount_in(&self.compare_at_prices, currency)
    }
}

impl Product {
    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn variant(&self, sku: &Sku) -> Option<&Variant> {
        self.variants.iter().find(|v| &v.sku == sku)
    }

    pub fn is_active(&self) -> bool {
        self.lifecycle == ProductLifecycle::Active
    }

    /// Whether the product is in `category` or one of its subcategories.
    pub fn in_category(&self, category: &str) -> bool {
        self.category == category
            || self
                .category
                .strip_prefix(category)
                .is_some_and(|rest| rest.starts_with('/'))
    }

    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut c = Checker::default();
        c.name(&self.namespace, "namespace");
        c.name(&self.name, "name");
        c.check(
            is_dns_label(&self.slug) && self.slug.len() <= 100,
            "slug",
            format!(
                "`{}` is not a slug: expected lowercase letters, digits and `-`, at most 100 characters",
                self.slug
            ),
        );
        c.text(&self.title, "title", 200);
        c.check(
            self.description.chars().count() <= 10_000,
            "description",
            "must be at most 10000 characters",
        );
        c.check(
            is_category_path(&self.category),
            "category",
            format!(
                "`{}` is not a category path: expected segments of lowercase letters, digits and `-` joined by `/`, e.g. footwear/running",
                self.category
            ),
        );
        if let Some(brand) = &self.brand {
            c.text(brand, "brand", 100);
        }
        for (i, image) in self.images.iter().enumerate() {
            c.check(
                image.url.starts_with("https://") || image.url.starts_with("http://"),
                format!("images[{i}].url"),
                "must be an http(s) URL",
            );
        }
        c.check(
            !self.variants.is_empty(),
            "variants",
            "a product needs at least one variant",
        );
        for (i, variant) in self.variants.iter().enumerate() {
            let field = format!("variants[{i}]");
            c.check(
                !self.variants[..i].iter().any(|v| v.sku == variant.sku),
                format!("{field}.sku"),
                format!("SKU {} appears twice in this product", variant.sku),
            );
            c.check(
                !variant.prices.is_empty(),
                format!("{field}.prices"),
                "a variant needs a price in at least one currency",
            );
            c.amounts(&variant.prices, &format!("{field}.prices"));
            c.amounts(
                &variant.compare_at_prices,
                &format!("{field}.compareAtPrices"),
            );
            for (j, compare_at) in variant.compare_at_prices.iter().enumerate() {
                let ok = variant
                    .price_in(compare_at.currency())
                    .is_some_and(|price| compare_at.minor() > price.minor());
                c.check(
                    ok,
                    format!("{field}.compareAtPrices[{j}]"),
                    format!(
                        "a compare-at price in {} needs a lower list price in {0}",
                        compare_at.currency().code()
                    ),
                );
            }
        }
        c.finish()
    }
}

/// A point on Earth, in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    /// Street lines.
    #[serde(default)]
    pub lines: Vec<String>,
    pub city: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2, e.g. `US`.
    pub country: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// Opening time on some days, local to the store's time zone, `HH:MM` 24-hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpeningHours {
    pub days: Vec<Weekday>,
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

/// A retail store or a warehouse: where stock lives and where shoppers may pick up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Store {
    pub namespace: String,
    pub name: String,
    pub display_name: String,
    pub kind: StoreKind,
    pub address: Address,
    pub location: GeoPoint,
    /// IANA time zone, e.g. `America/New_York`.
    pub time_zone: String,
    #[serde(default)]
    pub opening_hours: Vec<OpeningHours>,
    #[serde(default)]
    pub contact: Contact,
    /// Shoppers may collect orders here.
    #[serde(default)]
    pub pickup: bool,
    /// Orders may ship from here.
    #[serde(default)]
    pub ship_from_store: bool,
    pub active: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn is_hh_mm(value: &str) -> bool {
    let Some((h, m)) = value.split_once(':') else {
        return false;
    };
    h.len() == 2
        && m.len() == 2
        && h.parse::<u8>().is_ok_and(|h| h <= 24)
        && m.parse::<u8>().is_ok_and(|m| m < 60)
}

fn is_country(value: &str) -> bool {
    value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase())
}

impl Store {
    /// `namespace/name`, how inventory names the location.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut c = Checker::default();
        c.name(&self.namespace, "namespace");
        c.name(&self.name, "name");
        c.text(&self.display_name, "displayName", 200);
        c.text(&self.address.city, "address.city", 200);
        c.check(
            is_country(&self.address.country),
            "address.country",
            "must be an ISO 3166-1 alpha-2 code such as US",
        );
        c.check(
            (-90.0..=90.0).contains(&self.location.lat),
            "location.lat",
            "must be between -90 and 90",
        );
        c.check(
            (-180.0..=180.0).contains(&self.location.lon),
            "location.lon",
            "must be between -180 and 180",
        );
        c.check(
            !self.time_zone.is_empty() && !self.time_zone.contains(' '),
            "timeZone",
            "must be an IANA time zone such as Europe/Berlin",
        );
        for (i, hours) in self.opening_hours.iter().enumerate() {
            c.check(
                is_hh_mm(&hours.opens) && is_hh_mm(&hours.closes) && hours.opens < hours.closes,
                format!("openingHours[{i}]"),
                "opens and closes must be HH:MM with opens before closes",
            );
        }
        c.finish()
    }
}

/// Where a fulfillment policy delivers: whole countries, or only some of their regions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    /// ISO 3166-1 alpha-2 codes.
    pub countries: Vec<String>,
    /// Region codes (ISO 3166-2 without the country, e.g. `CA`); empty means the whole countries.
    #[serde(default)]
    pub regions: Vec<String>,
}

impl Zone {
    /// Whether a destination lies in this zone. Regions compare case-insensitively, with or without the
    /// country prefix (`US-CA` and `CA` are one region).
    pub fn covers(&self, country: &str, region: Option<&str>) -> bool {
        if !self
            .countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(country))
        {
            return false;
        }
        if self.regions.is_empty() {
            return true;
        }
        let strip = |r: &str| -> String {
            let upper = r.to_ascii_uppercase();
            match upper.split_once('-') {
                Some((_, rest)) => rest.to_owned(),
                None => upper,
            }
        };
        region.is_some_and(|region| {
            let region = strip(region);
            self.regions.iter().any(|r| strip(r) == region)
        })
    }
}

/// Inclusive range of delivery days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayRange {
    pub min: u32,
    pub max: u32,
}

/// A way to ship: rates per currency, optionally free above a subtotal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingMethod {
    pub code: String,
    pub name: String,
    pub rates: Vec<Money>,
    /// Free when the cart's merchandise total (after discounts) reaches this amount.
    #[serde(default)]
    pub free_over: Vec<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_days: Option<DayRange>,
}

/// A shipping policy: which destinations, from which stores, by which methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fulfillment {
    pub namespace: String,
    pub name: String,
    pub zones: Vec<Zone>,
    /// Names of the Stores (same namespace) goods come from, as resolved by the operator.
    pub source_stores: Vec<String>,
    pub methods: Vec<ShippingMethod>,
    /// Shoppers in these zones may collect from the source stores that offer pickup.
    #[serde(default)]
    pub pickup: bool,
}

impl Fulfillment {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn covers(&self, country: &str, region: Option<&str>) -> bool {
        self.zones.iter().any(|z| z.covers(country, region))
    }

    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut c = Checker::default();
        c.name(&self.namespace, "namespace");
        c.name(&self.name, "name");
        c.check(!self.zones.is_empty(), "zones", "needs at least one zone");
        for (i, zone) in self.zones.iter().enumerate() {
            c.check(
                !zone.countries.is_empty() && zone.countries.iter().all(|x| is_country(x)),
                format!("zones[{i}].countries"),
                "needs ISO 3166-1 alpha-2 codes such as US",
            );
        }
        for (i, store) in self.source_stores.iter().enumerate() {
            c.name(store, &format!("sourceStores[{i}]"));
        }
        c.check(
            !self.methods.is_empty() || self.pickup,
            "methods",
            "needs at least one shipping method, or pickup",
        );
        for (i, method) in self.methods.iter().enumerate() {
            let field = format!("methods[{i}]");
            c.check(
                is_dns_label(&method.code) && method.code != "pickup",
                format!("{field}.code"),
                "must be lowercase letters, digits and `-`, and not `pickup` (reserved for in-store pickup)",
            );
            c.check(
                !self.methods[..i].iter().any(|m| m.code == method.code),
                format!("{field}.code"),
                format!("method code {} appears twice", method.code),
            );
            c.text(&method.name, &format!("{field}.name"), 100);
            c.check(
                !method.rates.is_empty(),
                format!("{field}.rates"),
                "needs a rate in at least one currency",
            );
            c.amounts(&method.rates, &format!("{field}.rates"));
            c.amounts(&method.free_over, &format!("{field}.freeOver"));
            if let Some(days) = method.delivery_days {
                c.check(
                    days.min <= days.max,
                    format!("{field}.deliveryDays"),
                    "min must not exceed max",
                );
            }
        }
        c.finish()
    }
}

/// What a promotion takes off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Discount {
    /// Percent off each targeted line, 1 to 100.
    Percentage(u32),
    /// A fixed amount off the targeted lines together, per currency.
    Amount(Vec<Money>),
    /// Shipping costs nothing.
    FreeShipping,
    /// For every `buy` targeted units, `get` more are free (the cheapest ones).
    #[serde(rename_all = "camelCase")]
    BuyXGetY { buy: u32, get: u32 },
}

/// Which lines a promotion applies to. Empty means every line; otherwise a line is targeted when its
/// product carries all of `labels` (if given), or is in one of `categories` (subcategories included), or
/// its SKU is listed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(default)]
    pub skus: Vec<Sku>,
}

impl Targets {
    pub fn is_everything(&self) -> bool {
        self.labels.is_empty() && self.categories.is_empty() && self.skus.is_empty()
    }

    pub fn matches(&self, product: &Product, sku: &Sku) -> bool {
        if self.is_everything() {
            return true;
        }
        let labels = !self.labels.is_empty()
            && self
                .labels
                .iter()
                .all(|(k, v)| product.labels.get(k) == Some(v));
        labels || self.categories.iter().any(|c| product.in_category(c)) || self.skus.contains(sku)
    }
}

/// When a promotion runs: from `starts_at` (inclusive) until `ends_at` (exclusive); open ends are unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
}

/// Where `now` falls relative to a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleState {
    NotStarted,
    Running,
    Ended,
}

impl Schedule {
    pub fn state(&self, now: DateTime<Utc>) -> ScheduleState {
        if self.starts_at.is_some_and(|s| now < s) {
            ScheduleState::NotStarted
        } else if self.ends_at.is_some_and(|e| now >= e) {
            ScheduleState::Ended
        } else {
            ScheduleState::Running
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_uses: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_customer: Option<u32>,
}

/// A discount, automatic or unlocked by a coupon code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    pub namespace: String,
    pub name: String,
    /// Shown to shoppers, e.g. "Summer sale: 20% off".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The coupon code; absent means automatic. Compared case-insensitively, stored upper case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub discount: Discount,
    #[serde(default)]
    pub applies_to: Targets,
    /// The cart subtotal (before discounts) must reach this, per currency. A promotion with minimums does
    /// not apply in a currency it names no minimum for.
    #[serde(default)]
    pub minimum_subtotal: Vec<Money>,
    #[serde(default)]
    pub schedule: Schedule,
    #[serde(default)]
    pub limits: Limits,
    /// Higher applies first.
    #[serde(default)]
    pub priority: i32,
    /// May combine with other stackable promotions.
    #[serde(default)]
    pub stackable: bool,
}

impl Promotion {
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn is_automatic(&self) -> bool {
        self.code.is_none()
    }

    /// The title, or the resource name.
    pub fn display_name(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }

    /// The code as stored and compared: trimmed, upper case.
    pub fn normalized_code(&self) -> Option<String> {
        self.code.as_deref().map(normalize_code)
    }

    pub fn validate(&self) -> Result<(), Vec<Violation>> {
        let mut c = Checker::default();
        c.name(&self.namespace, "namespace");
        c.name(&self.name, "name");
        if let Some(code) = &self.code {
            c.check(
                (3..=32).contains(&code.len())
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "code",
                "must be 3 to 32 letters, digits, `-` or `_`",
            );
        }
        match &self.discount {
            Discount::Percentage(p) => c.check(
                (1..=100).contains(p),
                "discount.percentage",
                "must be between 1 and 100",
            ),
            Discount::Amount(amounts) => {
                c.check(
                    !amounts.is_empty() && amounts.iter().all(|m| m.minor() > 0),
                    "discount.amount",
                    "needs a positive amount in at least one currency",
                );
                c.amounts(amounts, "discount.amount");
            }
            Discount::FreeShipping => {}
            Discount::BuyXGetY { buy, get } => c.check(
                *buy >= 1 && *get >= 1 && buy.saturating_add(*get) <= 1000,
                "discount.buyXGetY",
                "buy and get must each be at least 1",
            ),
        }
        for (i, category) in self.applies_to.categories.iter().enumerate() {
            c.check(
                is_category_path(category),
                format!("appliesTo.categories[{i}]"),
                "must be a category path such as footwear/running",
            );
        }
        c.amounts(&self.minimum_subtotal, "minimumSubtotal");
        if let (Some(start), Some(end)) = (self.schedule.starts_at, self.schedule.ends_at) {
            c.check(
                end > start,
                "schedule.endsAt",
                "must be after schedule.startsAt",
            );
        }
        c.finish()
    }
}

/// Coupon codes compare trimmed and case-insensitively.
pub fn normalize_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::USD).expect("usd")
    }

    fn product() -> Product {
        Product {
            namespace: "shop".into(),
            name: "trail-runner".into(),
            slug: "trail-runner".into(),
            title: "Trail Runner".into(),
            description: String::new(),
            category: "footwear/running".into(),
            brand: None,
            images: vec![],
            attributes: BTreeMap::new(),
            labels: BTreeMap::new(),
            lifecycle: ProductLifecycle::Active,
            featured: false,
            variants: vec![Variant {
                sku: "TR-42".parse().expect("sku"),
                title: None,
                options: BTreeMap::new(),
                prices: vec![usd("129.00")],
                compare_at_prices: vec![],
                weight_grams: None,
            }],
            source_generation: None,
        }
    }

    #[test]
    fn a_valid_product_passes_and_broken_rules_name_their_fields() {
        assert_eq!(product().validate(), Ok(()));
        let mut bad = product();
        bad.category = "Footwear//Running".into();
        bad.variants.push(bad.variants[0].clone());
        bad.variants[0].compare_at_prices = vec![usd("100.00")];
        let fields: Vec<String> = bad
            .validate()
            .expect_err("invalid")
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert!(fields.contains(&"category".to_owned()), "{fields:?}");
        assert!(fields.contains(&"variants[1].sku".to_owned()), "{fields:?}");
        assert!(
            fields.contains(&"variants[0].compareAtPrices[0]".to_owned()),
            "{fields:?}"
        );
    }

    #[test]
    fn categories_include_their_subcategories_only_at_segment_boundaries() {
        let p = product();
        assert!(p.in_category("footwear"));
        assert!(p.in_category("footwear/running"));
        assert!(!p.in_category("foot"));
        assert!(!p.in_category("footwear/run"));
    }

    #[test]
    fn zones_match_countries_and_regions_with_or_without_prefix() {
        let zone = Zone {
            countries: vec!["US".into()],
            regions: vec!["CA".into(), "US-NY".into()],
        };
        assert!(zone.covers("US", Some("ca")));
        assert!(zone.covers("us", Some("US-NY")));
        assert!(!zone.covers("US", Some("TX")));
        assert!(!zone.covers("US", None));
        assert!(!zone.covers("CA", Some("CA")));
        let whole = Zone {
            countries: vec!["DE".into()],
            regions: vec![],
        };
        assert!(whole.covers("DE", None));
    }
}
