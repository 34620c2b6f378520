//! The inventory suite's adapter to the shared harness (`bazaar_testkit`): a shop with the inventory
//! component running in-process over real HTTP, PostgreSQL and Kafka, the means to play the order service
//! (order events) and to look at what inventory did (its tables and its outbox); and `Direct`, the saga
//! handler called without the runtime.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use bazaar_contracts::order::{
    CancellationReason, Customer, OrderCancelled, OrderConfirmed, OrderId, OrderLine, OrderPlaced,
    ShippingAddress,
};
use bazaar_contracts::{Currency, DomainEvent, Envelope, Money, Sku, Topic};
use bazaar_inventory::{Inventory, InventoryConfig, InventoryMetrics, Settings};
use bazaar_platform::auth::Role;
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::kafka::{IncomingEvent, Outbox};
pub use bazaar_testkit::outbox::events;
pub use bazaar_testkit::{Harness, PATIENCE, Subject, TestEnv};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The inventory component, as the harness's subject.
pub struct InventoryComponent;

impl Subject for InventoryComponent {
    type Config = InventoryConfig;
    fn spec() -> &'static ComponentSpec {
        &bazaar_inventory::COMPONENT
    }
}

/// Inventory running, with the calls its tests make.
pub struct Shop {
    harness: Harness,
    /// Bound to the inventory schema (the harness's `db`).
    pub pool: PgPool,
}

impl std::ops::Deref for Shop {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.harness
    }
}

impl Shop {
    /// Inventory with clap's default settings.
    pub async fn start() -> Shop {
        Self::start_component(&bazaar_inventory::COMPONENT).await
    }

    /// `component` (inventory, or a variant of it) served in inventory's place.
    pub async fn start_component(component: &'static ComponentSpec) -> Shop {
        let config = InventoryComponent::config();
        let harness = Harness::serve::<InventoryComponent>(&[component], config, |c| c).await;
        let pool = harness.db.clone();
        Shop { harness, pool }
    }

    pub async fn stop(self) {
        self.harness.stop().await;
    }

    /// A token of the ops user with `roles`.
    pub fn token(&self, roles: &[Role]) -> String {
        self.harness.token(bazaar_testkit::tokens::OPS_USER, roles)
    }

    /// Registers a location through the API.
    pub async fn location(&self, name: &str, priority: i32) {
        let response = self
            .http
            .put(self.url(&format!("/api/inventory/locations/{name}")))
            .bearer_auth(self.ops())
            .json(&json!({"canShip": true, "priority": priority}))
            .send()
            .await
            .expect("put location");
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Sets on-hand units through the API.
    pub async fn stock(&self, sku: &str, location: &str, on_hand: i64) {
        let response = self
            .http
            .put(self.url(&format!("/api/inventory/stock/{sku}/{location}")))
            .bearer_auth(self.ops())
            .json(&json!({"onHand": on_hand, "reason": "initial count"}))
            .send()
            .await
            .expect("put stock");
        assert_eq!(
            response.status(),
            200,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    pub async fn threshold(&self, sku: &str, threshold: i64) {
        let response = self
            .http
            .put(self.url(&format!("/api/inventory/thresholds/{sku}")))
            .bearer_auth(self.ops())
            .json(&json!({"threshold": threshold, "reason": "reorder point"}))
            .send()
            .await
            .expect("put threshold");
        assert_eq!(
            response.status(),
            204,
            "{}",
            response.text().await.unwrap_or_default()
        );
    }

    /// Publishes `envelope` again (a redelivery) to the order topic.
    pub async fn publish_envelope(&self, envelope: &Envelope, key: &str) {
        self.send_to(Topic::ORDER, envelope, key).await;
    }

    /// Publishes `envelope` to the logical `topic` of this shop.
    pub async fn publish_to(&self, topic: Topic, envelope: &Envelope, key: &str) {
        self.send_to(topic, envelope, key).await;
    }

    /// Events inventory wrote for `key` (an order id or a SKU), oldest first: (type, data).
    pub async fn events(&self, key: &str) -> Vec<(String, Value)> {
        self.outbox(key).await
    }

    /// (on hand, reserved) of `sku` at `location`.
    pub async fn level(&self, sku: &str, location: &str) -> (i32, i32) {
        level(&self.pool, sku, location).await
    }

    pub async fn reservation_state(&self, order: OrderId) -> Option<String> {
        sqlx::query_scalar("SELECT state FROM reservations WHERE order_id = $1")
            .bind(order.0)
            .fetch_optional(&self.pool)
            .await
            .expect("state")
    }
}

pub async fn level(pool: &PgPool, sku: &str, location: &str) -> (i32, i32) {
    sqlx::query_as("SELECT on_hand, reserved FROM stock WHERE sku = $1 AND location = $2")
        .bind(sku)
        .bind(location)
        .fetch_optional(pool)
        .await
        .expect("stock")
        .unwrap_or((0, 0))
}

fn usd(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD)
}

fn customer() -> Customer {
    Customer {
        user_id: Some("shopper-1".into()),
        email: "shopper@example.com".into(),
    }
}

fn lines(items: &[(&str, u32)]) -> Vec<OrderLine> {
    items
        .iter()
        .map(|&(sku, quantity)| OrderLine {
            sku: sku.parse::<Sku>().expect("sku"),
            quantity,
            unit_price: usd(1000),
            line_total: usd(1000 * i64::from(quantity)),
        })
        .collect()
}

pub fn placed(order_id: OrderId, items: &[(&str, u32)]) -> OrderPlaced {
    OrderPlaced {
        order_id,
        order_number: format!("BZ-{}", &order_id.to_string()[..8]),
        customer: customer(),
        lines: lines(items),
        subtotal: usd(0),
        discount: usd(0),
        shipping: usd(0),
        tax: None,
        total: usd(0),
        shipping_address: ShippingAddress {
            name: "Sam Shopper".into(),
            line1: "1 Main St".into(),
            line2: None,
            city: "Springfield".into(),
            region: None,
            postal_code: "12345".into(),
            country: "US".into(),
        },
        shipping_method: "standard".into(),
        placed_at: chrono::Utc::now(),
        promotions: Vec::new(),
    }
}

pub fn confirmed(order_id: OrderId, items: &[(&str, u32)]) -> OrderConfirmed {
    OrderConfirmed {
        order_id,
        order_number: "BZ-1".into(),
        customer: customer(),
        lines: lines(items),
        total: usd(0),
    }
}

pub fn cancelled(order_id: OrderId, items: &[(&str, u32)], restock: bool) -> OrderCancelled {
    OrderCancelled {
        order_id,
        order_number: "BZ-1".into(),
        customer: customer(),
        reason: CancellationReason::RequestedByCustomer,
        detail: "Changed my mind.".into(),
        lines: lines(items),
        restock,
    }
}

/// Inventory without the runtime: the saga handler called directly in transactions of `pool`.
pub struct Direct {
    pub env: TestEnv,
    pub pool: PgPool,
    pub inventory: Inventory,
}

impl Direct {
    pub async fn start(settings: Settings) -> Direct {
        let env = TestEnv::start().await.expect("test infrastructure");
        let schema = env.schema("inventory");
        let pool =
            bazaar_platform::db::pool("inventory", &env.database_url, &schema, 8).expect("pool");
        bazaar_platform::db::migrate(&pool, &schema, &bazaar_inventory::MIGRATIONS)
            .await
            .expect("migrated");
        let inventory = Inventory::new(
            Outbox::new("inventory"),
            InventoryMetrics::unregistered().expect("metrics"),
            settings,
        );
        Direct {
            env,
            pool,
            inventory,
        }
    }

    /// Stock set up directly in the tables (the API is tested elsewhere).
    pub async fn stock(&self, sku: &str, location: &str, priority: i32, on_hand: i32) {
        sqlx::query(
            "INSERT INTO locations (name, priority) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(location)
        .bind(priority)
        .execute(&self.pool)
        .await
        .expect("location");
        sqlx::query("INSERT INTO skus (sku) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(sku)
            .execute(&self.pool)
            .await
            .expect("sku");
        sqlx::query("INSERT INTO stock (sku, location, on_hand) VALUES ($1, $2, $3)")
            .bind(sku)
            .bind(location)
            .bind(on_hand)
            .execute(&self.pool)
            .await
            .expect("stock");
    }

    /// Delivers `event` to the saga handler in its own transaction, as the consumer does.
    pub async fn deliver<E: DomainEvent>(&self, event: &E) {
        use bazaar_platform::kafka::EventHandler;
        let handler = bazaar_inventory::saga::OrderEvents {
            inventory: self.inventory.clone(),
        };
        let incoming = IncomingEvent {
            envelope: Envelope::wrap("/bazaar/order", event).expect("envelope"),
            topic: "bazaar.order".into(),
            partition: 0,
            offset: 0,
            key: Some(event.key()),
        };
        let mut tx = self.pool.begin().await.expect("begin");
        handler.handle(&incoming, &mut tx).await.expect("handled");
        tx.commit().await.expect("commit");
    }

    pub async fn level(&self, sku: &str, location: &str) -> (i32, i32) {
        level(&self.pool, sku, location).await
    }

    pub async fn events(&self, key: &str) -> Vec<(String, Value)> {
        events(&self.pool, key).await
    }
}
