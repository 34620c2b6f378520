//! The review component served in-process over real HTTP, PostgreSQL and Kafka; catalog and order events
//! published as their producers would.

#![allow(dead_code)]

use std::time::Duration;

use bazaar_contracts::catalog::{
    Change, ProductDeleted, ProductLifecycle, ProductUpserted, VariantSummary,
};
use bazaar_contracts::order::{
    Customer, OrderDelivered, OrderId, OrderLine, OrderPlaced, ShippingAddress,
};
use bazaar_contracts::{Currency, DomainEvent, Envelope, Money};
use bazaar_platform::auth::{Role, TestIssuer};
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::kafka::Kafka;
use bazaar_platform::runtime::{ServeConfig, Spawned, spawn};
use bazaar_review::ReviewConfig;
use bazaar_testkit::{TestEnv, wait_for};
use rdkafka::producer::FutureRecord;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Harness {
    pub env: TestEnv,
    pub running: Spawned,
    pub issuer: TestIssuer,
    pub kafka: Kafka,
    pub db: PgPool,
    pub http: reqwest::Client,
}

/// One HTTP answer: status, headers and JSON body (Null when there is none).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Harness {
    /// The review component alone.
    pub async fn start(config: ReviewConfig) -> Harness {
        Self::start_with(&[&bazaar_review::COMPONENT], config).await
    }

    /// `components` (the review component among them) in one process.
    pub async fn start_with(
        components: &[&'static ComponentSpec],
        config: ReviewConfig,
    ) -> Harness {
        let env = TestEnv::start().await.expect("test infrastructure");
        let issuer = TestIssuer::new();
        let auth = issuer
            .trusted_through_file(&std::env::temp_dir().join(format!("{}-jwks.json", env.id)));
        let serve = ServeConfig::local(&env.database_url, &env.kafka_brokers, &env.id, auth)
            .with_settings(config);
        let kafka = Kafka::connect(&serve.kafka, "review-test").expect("producer");
        let running = spawn(components, serve).await.expect("components started");
        let db = env
            .pool(&env.schema("review"))
            .await
            .expect("review schema pool");
        Harness {
            env,
            running,
            issuer,
            kafka,
            db,
            http: reqwest::Client::new(),
        }
    }

    pub async fn stop(self) {
        self.running.stop().await.expect("clean stop");
        self.env.cleanup().await;
    }

    /// A token for user `id` with `roles`.
    pub fn token(&self, id: &str, roles: &[Role]) -> String {
        let mut claims = self.issuer.claims(id, roles);
        claims.email = Some(format!("{id}@example.test"));
        self.issuer.issue_with(&claims)
    }

    pub fn shopper(&self, id: &str) -> String {
        self.token(id, &[Role::Customer])
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        self.call_with(method, path, token, &[], body).await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.running.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, None).await
    }

    /// Publishes `event` as its producer would.
    pub async fn publish<E: DomainEvent>(&self, event: &E) {
        let envelope = Envelope::wrap("/bazaar/test", event).expect("envelope");
        let topic = self.kafka.topic(E::TOPIC.name());
        let payload = envelope.to_json();
        self.kafka
            .producer()
            .send(
                FutureRecord::to(&topic).key(&event.key()).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("delivered to the broker");
    }

    /// Waits until the review component has projected `slug` with `status` and its variants.
    pub async fn wait_product(&self, slug: &str, status: &str) {
        wait_for(PATIENCE, &format!("{slug} {status} projected"), || async {
            let found: Option<String> =
                sqlx::query_scalar("SELECT status FROM products WHERE slug = $1")
                    .bind(slug)
                    .fetch_optional(&self.db)
                    .await
                    .ok()?
                    .flatten();
            (found.as_deref() == Some(status)).then_some(())
        })
        .await
        .expect("product projected");
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
