//! `Promotion`: a discount, automatic or behind a coupon code, on some products, for some time.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Amounts, CATEGORY_PATTERN, LabelSelector, SKU_PATTERN};
use super::status::ResourceStatus;

/// A discount. Without a `code` it applies automatically to every eligible cart.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "bazaar.dev",
    version = "v1alpha1",
    kind = "Promotion",
    namespaced,
    status = "ResourceStatus",
    derive = "PartialEq",
    shortname = "promo",
    category = "bazaar",
    doc = "A discount (percentage, fixed amount, free shipping or buy X get Y), automatic or behind a coupon code.",
    printcolumn(name = "Code", type_ = "string", json_path = ".spec.code"),
    printcolumn(
        name = "Percent",
        type_ = "integer",
        json_path = ".spec.discount.percentage"
    ),
    // Strings, not `date`: kubectl shows a `date` column as an age, which is meaningless for a future time.
    printcolumn(name = "Starts", type_ = "string", json_path = ".spec.schedule.startsAt"),
    printcolumn(name = "Ends", type_ = "string", json_path = ".spec.schedule.endsAt"),
    printcolumn(
        name = "Priority",
        type_ = "integer",
        json_path = ".spec.priority",
        priority = 1
    ),
    printcolumn(name = "Targets", type_ = "string", json_path = ".status.summary"),
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
    validation = Rule::new("!has(self.discount.buyXGetY) || has(self.appliesTo)")
        .message("a buyXGetY discount needs appliesTo: say which products count towards it")
)]
pub struct PromotionSpec {
    /// Coupon code shoppers enter, upper case, e.g. `SUMMER20`. Without one the promotion is automatic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 3, max = 32),
        regex(pattern = r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
    )]
    pub code: Option<String>,

    /// Text shown to shoppers, e.g. `20% off the summer collection`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200))]
    pub title: Option<String>,

    /// What the shopper gets: exactly one kind of discount.
    pub discount: Discount,

    /// Which products the discount applies to; every product when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_to: Option<Target>,

    /// Smallest cart subtotal, per currency, that qualifies; carts in currencies not listed never qualify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_subtotal: Option<Amounts>,

    /// When the promotion runs; always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,

    /// How often the promotion may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Limits>,

    /// When promotions compete, higher priority applies first.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1000))]
    pub priority: i32,

    /// Whether this promotion combines with other stackable ones; a non-stackable one applies alone.
    #[serde(default)]
    pub stackable: bool,
}

/// Exactly one kind of discount.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("[has(self.percentage), has(self.amount), has(self.freeShipping), has(self.buyXGetY)].filter(set, set).size() == 1")
        .message("discount takes exactly one of percentage, amount, freeShipping or buyXGetY"),
    validation = Rule::new("!has(self.freeShipping) || self.freeShipping")
        .message("freeShipping: false is no discount; leave it out or choose another kind")
)]
pub struct Discount {
    /// Percent off the eligible items, 1 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub percentage: Option<u32>,
    /// Fixed amount off the eligible items, per currency, e.g. `{USD: "10.00"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amounts>,
    /// Shipping is free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub free_shipping: Option<bool>,
    /// Buy `buy` eligible items, get `get` more of them free (the cheapest ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buy_x_get_y: Option<BuyXGetY>,
}

/// Buy some items, get some free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BuyXGetY {
    #[schemars(range(min = 1, max = 100))]
    pub buy: u32,
    #[schemars(range(min = 1, max = 100))]
    pub get: u32,
}

/// Which products a promotion applies to: exactly one way of choosing them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("[has(self.productSelector), has(self.categories), has(self.skus)].filter(set, set).size() == 1")
        .message("appliesTo takes exactly one of productSelector, categories or skus")
)]
pub struct Target {
    /// Products whose labels match, e.g. `{matchLabels: {collection: summer}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_selector: Option<LabelSelector>,
    /// Category paths; a category includes its subcategories (`footwear` covers `footwear/running`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 50), inner(length(max = 200), regex(pattern = CATEGORY_PATTERN)))]
    pub categories: Option<Vec<String>>,
    /// Individual variants by SKU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 500), inner(length(max = 64), regex(pattern = SKU_PATTERN)))]
    pub skus: Option<Vec<String>>,
}

/// A time window (RFC 3339, UTC recommended).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.startsAt) || !has(self.endsAt) || self.endsAt > self.startsAt")
        .message("schedule.endsAt must be later than startsAt")
)]
pub struct Schedule {
    /// First moment the promotion applies; immediately when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Time>,
    /// Moment the promotion stops applying; never when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<Time>,
}

/// Usage limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.totalUses) || !has(self.perCustomer) || self.perCustomer <= self.totalUses")
        .message("limits.perCustomer cannot exceed totalUses")
)]
pub struct Limits {
    /// Uses across all shoppers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub total_uses: Option<i64>,
    /// Uses per shopper account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub per_customer: Option<i64>,
}
