//! The review suite's adapter to the shared harness (`bazaar_testkit`): the review component (alone or with
//! others) and the catalog and order events it learns products and purchases from.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use bazaar_contracts::catalog::{
    Change, ProductDeleted, ProductLifecycle, ProductUpserted, VariantSummary,
};
use bazaar_contracts::order::{
    Customer, OrderDelivered, OrderId, OrderLine, OrderPlaced, ShippingAddress,
};
use bazaar_contracts::{Currency, Money};
use bazaar_platform::component::ComponentSpec;
use bazaar_review::ReviewConfig;
pub use bazaar_testkit::{Answer, PATIENCE, Subject, eventually};
use reqwest::Method;
use serde_json::Value;

/// The review component, as the harness's subject.
pub struct Review;

impl Subject for Review {
    type Config = ReviewConfig;
    fn spec() -> &'static ComponentSpec {
        &bazaar_review::COMPONENT
    }
}

bazaar_testkit::suite_harness! {
    /// The review component running, with the calls its tests make.
    pub struct Harness;
}

impl Harness {
    /// The review component alone.
    pub async fn start(config: ReviewConfig) -> Harness {
        Harness(Review::start(config).await)
    }

    /// `components` (the review component among them) in one process.
    pub async fn start_with(
        components: &[&'static ComponentSpec],
        config: ReviewConfig,
    ) -> Harness {
        Harness(bazaar_testkit::Harness::serve::<Review>(components, config, |serve| serve).await)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.0.call(method, path, token, &[], body).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        self.0.call(method, path, token, headers, body).await
    }

    /// Waits until the review component has projected `slug` with `status` and its variants.
    pub async fn wait_product(&self, slug: &str, status: &str) {
        eventually(&format!("{slug} {status} projected"), || async {
            let found: Option<String> =
                sqlx::query_scalar("SELECT status FROM products WHERE slug = $1")
                    .bind(slug)
                    .fetch_optional(&self.db)
                    .await
                    .ok()?
                    .flatten();
            (found.as_deref() == Some(status)).then_some(())
        })
        .await;
    }

    /// Publishes a product with `variants` (SKU, USD price) and waits until it is projected.
    pub async fn product(
        &self,
        slug: &str,
        lifecycle: ProductLifecycle,
        variants: &[(&str, &str)],
    ) {
        self.publish(&product(slug, lifecycle, variants, &[])).await;
        let status = match lifecycle {
            ProductLifecycle::Draft => "draft",
            ProductLifecycle::Active => "active",
            ProductLifecycle::Archived => "archived",
        };
        self.wait_product(slug, status).await;
    }
}

pub fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::USD).expect("amount")
}

pub fn product(
    slug: &str,
    lifecycle: ProductLifecycle,
    variants: &[(&str, &str)],
    removed: &[&str],
) -> ProductUpserted {
    ProductUpserted {
        namespace: "shop".to_owned(),
        name: slug.to_owned(),
        change: Change::Updated,
        slug: slug.to_owned(),
        title: format!("The {slug}"),
        lifecycle,
        variants: variants
            .iter()
            .map(|(sku, price)| VariantSummary {
                sku: sku.parse().expect("sku"),
                prices: vec![usd(price)],
                weight_grams: None,
            })
            .collect(),
        removed_skus: removed.iter().map(|s| s.parse().expect("sku")).collect(),
    }
}

pub fn deleted(slug: &str, skus: &[&str]) -> ProductDeleted {
    ProductDeleted {
        namespace: "shop".to_owned(),
        name: slug.to_owned(),
        slug: slug.to_owned(),
        skus: skus.iter().map(|s| s.parse().expect("sku")).collect(),
    }
}

pub fn placed(order: OrderId, user: &str, sku: &str) -> OrderPlaced {
    OrderPlaced {
        order_id: order,
        order_number: "BZ-0001".to_owned(),
        customer: Customer {
            user_id: Some(user.to_owned()),
            email: format!("{user}@example.test"),
        },
        lines: vec![OrderLine {
            sku: sku.parse().expect("sku"),
            quantity: 1,
            unit_price: usd("12.00"),
            line_total: usd("12.00"),
        }],
        subtotal: usd("12.00"),
        discount: usd("0.00"),
        shipping: usd("0.00"),
        tax: None,
        total: usd("12.00"),
        shipping_address: ShippingAddress {
            name: "Ada".to_owned(),
            line1: "1 Market St".to_owned(),
            line2: None,
            city: "San Francisco".to_owned(),
            region: Some("CA".to_owned()),
            postal_code: "94105".to_owned(),
            country: "US".to_owned(),
        },
        shipping_method: "standard".to_owned(),
        placed_at: chrono::Utc::now(),
        promotions: Vec::new(),
    }
}

pub fn delivered(order: OrderId, user: &str) -> OrderDelivered {
    OrderDelivered {
        order_id: order,
        order_number: "BZ-0001".to_owned(),
        customer: Customer {
            user_id: Some(user.to_owned()),
            email: format!("{user}@example.test"),
        },
    }
}

/// A review body as the API takes it.
pub fn review(rating: i64, title: &str) -> Value {
    serde_json::json!({"rating": rating, "title": title, "body": "Held up well.\nWould buy again."})
}
