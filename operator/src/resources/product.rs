//! `Product`: something sold, with one or more variants (each its own SKU and prices).

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Amounts, CATEGORY_PATTERN, SKU_PATTERN, attributes_schema, option_values_schema,
};
use super::status::ResourceStatus;

/// A product as a merchandiser describes it. Its labels (`metadata.labels`) are what Promotions select.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "bazaar.dev",
    version = "v1alpha1",
    kind = "Product",
    namespaced,
    status = "ResourceStatus",
    derive = "PartialEq",
    shortname = "prod",
    category = "bazaar",
    doc = "Something sold: title, category, images and one or more variants, each with its own SKU and prices.",
    printcolumn(name = "Title", type_ = "string", json_path = ".spec.title"),
    printcolumn(name = "Category", type_ = "string", json_path = ".spec.category"),
    printcolumn(name = "Lifecycle", type_ = "string", json_path = ".spec.lifecycle"),
    printcolumn(
        name = "Featured",
        type_ = "boolean",
        json_path = ".spec.featured",
        priority = 1
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = 1
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.variants.all(v, self.variants.exists_one(w, w.sku == v.sku))")
        .message("each variant needs its own SKU: two variants share one"),
    validation = Rule::new("self.variants.all(v, self.variants.exists_one(w, w.options == v.options))")
        .message("two variants have the same options: each variant needs a distinct combination (e.g. size and color)"),
    validation = Rule::new("self.variants.all(v, v.options.size() == self.variants[0].options.size() && v.options.all(name, name in self.variants[0].options))")
        .message("every variant must use the same option names (e.g. all have size and color)")
)]
pub struct ProductSpec {
    /// Name shown to shoppers, e.g. `Trail Runner`.
    #[schemars(length(min = 1, max = 200))]
    pub title: String,

    /// Longer text for the product page (plain text or Markdown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10000))]
    pub description: Option<String>,

    /// Category path of lowercase slugs separated by `/`, most general first, e.g. `footwear/running`.
    #[schemars(length(max = 200), regex(pattern = CATEGORY_PATTERN))]
    pub category: String,

    /// Brand or manufacturer, e.g. `Northwind`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100))]
    pub brand: Option<String>,

    /// `Draft` products are not shown to shoppers; `Active` ones are sold; `Archived` ones are kept for
    /// order history but no longer sold.
    #[serde(default)]
    pub lifecycle: Lifecycle,

    /// Featured products are highlighted in listings.
    #[serde(default)]
    pub featured: bool,

    /// Pictures of the product, the first one is the main picture.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub images: Vec<Image>,

    /// Facts shoppers can filter on, e.g. `{material: mesh, drop: 8mm}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(schema_with = "attributes_schema")]
    pub attributes: BTreeMap<String, String>,

    /// What is actually sold: one entry per SKU. A product without options has one variant.
    #[schemars(length(min = 1, max = 100))]
    pub variants: Vec<Variant>,
}

/// Whether a product is sold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Lifecycle {
    #[default]
    Draft,
    Active,
    Archived,
}

/// A picture of a product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Image {
    /// Where the picture is served, an `https://` or `http://` URL.
    #[schemars(length(max = 2048), regex(pattern = r"^https?://[^\s]+$"))]
    pub url: String,
    /// Text for screen readers and when the picture does not load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 300))]
    pub alt: Option<String>,
}

/// One sellable version of a product, e.g. size 42 in black.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("!has(self.compareAtPrices) || self.compareAtPrices.all(currency, currency in self.prices)")
        .message("compareAtPrices may only name currencies that prices names")
)]
pub struct Variant {
    /// Stock keeping unit, unique among all Products of the namespace, e.g. `TR-42-BLK`.
    #[schemars(length(min = 1, max = 64), regex(pattern = SKU_PATTERN))]
    pub sku: String,

    /// Option values that tell variants apart, at most three, e.g. `{size: "42", color: black}`.
    #[serde(default)]
    #[schemars(schema_with = "option_values_schema")]
    pub options: BTreeMap<String, String>,

    /// Selling price per currency, e.g. `{USD: "129.00", EUR: "119.00"}`.
    pub prices: Amounts,

    /// The former or list price shown struck through, per currency; should exceed the price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at_prices: Option<Amounts>,

    /// Shipping weight in grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000_000))]
    pub weight_grams: Option<u32>,
}
