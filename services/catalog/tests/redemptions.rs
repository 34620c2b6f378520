//! Promotion usage limits in a running catalog (real HTTP, PostgreSQL and Kafka): `order.placed` events
//! naming a promotion count as redemptions, `order.cancelled` gives them back, and the quote applies
//! `perCustomer` and `totalUses` from those counts.
//!
//! The order events are written through an outbox in a scratch schema of the same environment and published
//! by a relay, as the order component would.

use std::time::Duration;

use bazaar_catalog::{COMPONENT, seed, write};
use bazaar_contracts::order::{
    CancellationReason, Customer, OrderCancelled, OrderId, OrderLine, OrderPlaced, ShippingAddress,
};
use bazaar_contracts::{Currency, Money};
use bazaar_platform::auth::{Role, TestIssuer};
use bazaar_platform::config::KafkaConfig;
use bazaar_platform::db;
use bazaar_platform::kafka::{Kafka, Outbox, Relay};
use bazaar_platform::metrics::Metrics;
use bazaar_platform::runtime::{ServeConfig, Spawned, spawn};
use bazaar_testkit::{TestEnv, wait_for};
use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

const PATIENCE: Duration = Duration::from_secs(60);
const WELCOME: &str = "shop/welcome-10";

struct Rig {
    env: TestEnv,
    running: Spawned,
    catalog: PgPool,
    orders: PgPool,
    outbox: Outbox,
    relay: Relay,
    http: reqwest::Client,
    issuer: TestIssuer,
}

impl Rig {
    /// A running catalog with `shop` loaded, and an order-side outbox to announce orders with.
    async fn start(shop: seed::Shop) -> Rig {
        let env = TestEnv::start().await.expect("infrastructure");
        let issuer = TestIssuer::new();
        let auth = issuer
            .trusted_through_file(&std::env::temp_dir().join(format!("{}-jwks.json", env.id)));
        let config = ServeConfig::local(&env.database_url, &env.kafka_brokers, &env.id, auth);
        let running = spawn(&[&COMPONENT], config).await.expect("catalog running");
        let catalog = env.pool(&env.schema("catalog")).await.expect("pool");
        let mut tx = catalog.begin().await.expect("begin");
        seed::load(&mut tx, &write::outbox(), &shop)
            .await
            .expect("seed");
        tx.commit().await.expect("commit");

        // The order component's side: only its messaging tables, in a schema of its own.
        let schema = env.schema("order");
        let orders = db::pool("order", &env.database_url, &schema, 2).expect("pool");
        db::migrate(&orders, &schema, &Migrator::with_migrations(Vec::new()))
            .await
            .expect("messaging tables");
        let kafka = Kafka::connect(
            &KafkaConfig {
                brokers: Some(env.kafka_brokers.clone()),
                topic_prefix: env.topic_prefix(),
                partitions: 2,
                max_attempts: 3,
                retry_backoff_ms: 20,
                outbox_poll_ms: 20,
            },
            "redemptions-test",
        )
        .expect("producer");
        let relay = Relay::new("order", orders.clone(), kafka, Metrics::new());
        Rig {
            env,
            running,
            catalog,
            orders,
            outbox: Outbox::new("order"),
            relay,
            http: reqwest::Client::new(),
            issuer,
        }
    }

    /// Announces an order by `customer` that used `promotions`.
    async fn place(&self, customer: &str, promotions: &[&str]) -> OrderId {
        let order_id = OrderId::new();
        self.publish(&placed(order_id, customer, promotions)).await;
        order_id
    }

    async fn publish<E: bazaar_contracts::DomainEvent>(&self, event: &E) {
        let mut tx = self.orders.begin().await.expect("begin");
        self.outbox.enqueue(&mut tx, event).await.expect("enqueue");
        tx.commit().await.expect("commit");
        let published = self.relay.relay_once().await.expect("relay");
        assert!(published >= 1, "the event was published");
    }

    /// Quotes one pair of RR-42 (149.00 USD) with WELCOME10 for `customer`, who proves who they are with
    /// their own token (as order forwards it).
    async fn quote(&self, customer: Option<&str>) -> Value {
        let body = json!({
            "currency": "USD",
            "lines": [{"sku": "RR-42", "quantity": 1}],
            "couponCode": "welcome10",
        });
        let mut request = self
            .http
            .post(format!("{}/api/catalog/quote", self.running.base_url))
            .json(&body);
        if let Some(customer) = customer {
            request = request.bearer_auth(self.issuer.issue(
                customer,
                &[Role::Customer],
                Duration::from_secs(300),
            ));
        }
        let response = request.send().await.expect("POST quote");
        assert!(response.status().is_success(), "quote answered");
        response.json().await.expect("json")
    }

    /// Whether WELCOME10 applies for `customer`, with its status.
    async fn welcome_for(&self, customer: &str) -> (bool, String) {
        let quote = self.quote(Some(customer)).await;
        (
            quote["coupon"]["applied"].as_bool().expect("applied"),
            quote["coupon"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        )
    }

    /// Waits until WELCOME10 has `redemptions` rows.
    async fn counted(&self, redemptions: i64) {
        wait_for(
            PATIENCE,
            &format!("{redemptions} redemptions of {WELCOME}"),
            || async {
                let count: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM promotion_redemptions WHERE promotion = $1",
                )
                .bind(WELCOME)
                .fetch_one(&self.catalog)
                .await
                .ok()?;
                (count == redemptions).then_some(())
            },
        )
        .await
        .expect("redemptions counted");
    }

    async fn stop(self) {
        self.catalog.close().await;
        self.orders.close().await;
        self.running.stop().await.expect("clean stop");
        self.env.cleanup().await;
    }
}

fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::USD).expect("money")
}

fn placed(order_id: OrderId, customer: &str, promotions: &[&str]) -> OrderPlaced {
    OrderPlaced {
        order_id,
        order_number: format!("BZ-{}", order_id.0.simple()),
        customer: Customer {
            user_id: Some(customer.to_owned()),
            email: format!("{customer}@example.test"),
        },
        lines: vec![OrderLine {
            sku: "RR-42".parse().expect("sku"),
            quantity: 1,
            unit_price: usd("149.00"),
            line_total: usd("139.00"),
        }],
        subtotal: usd("149.00"),
        discount: usd("10.00"),
        shipping: usd("0.00"),
        tax: None,
        total: usd("139.00"),
        shipping_address: ShippingAddress {
            name: "Sam Shopper".into(),
            line1: "1 Market St".into(),
            line2: None,
            city: "San Francisco".into(),
            region: Some("CA".into()),
            postal_code: "94105".into(),
            country: "US".into(),
        },
        shipping_method: "standard".into(),
        placed_at: chrono::Utc::now(),
        promotions: promotions.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn cancelled(placed: &OrderPlaced) -> OrderCancelled {
    OrderCancelled {
        order_id: placed.order_id,
        order_number: placed.order_number.clone(),
        customer: placed.customer.clone(),
        reason: CancellationReason::RequestedByCustomer,
        detail: "Cancelled at the shopper's request.".into(),
        lines: placed.lines.clone(),
        restock: false,
    }
}

#[tokio::test]
async fn a_customer_who_used_a_one_per_customer_coupon_cannot_use_it_again_until_the_order_is_cancelled()
 {
    let rig = Rig::start(seed::shop("shop")).await;
    assert_eq!(rig.welcome_for("alice").await, (true, "applied".into()));

    let order = placed(OrderId::new(), "alice", &[WELCOME]);
    rig.publish(&order).await;
    rig.counted(1).await;
    assert_eq!(
        rig.welcome_for("alice").await,
        (false, "limit-reached".into()),
        "alice used her one WELCOME10"
    );
    assert_eq!(
        rig.welcome_for("bob").await,
        (true, "applied".into()),
        "bob has not"
    );
    let reason = rig.quote(Some("alice")).await["coupon"]["reason"].clone();
    assert_eq!(reason, "This code has been used up.");

    // Naming alice in the body instead of proving to be her reveals nothing about her.
    let probe = rig
        .http
        .post(format!("{}/api/catalog/quote", rig.running.base_url))
        .json(
            &json!({"currency": "USD", "lines": [{"sku": "RR-42", "quantity": 1}],
                      "couponCode": "welcome10", "customerId": "alice"}),
        )
        .send()
        .await
        .expect("POST quote");
    let probe: Value = probe.json().await.expect("json");
    assert_eq!(probe["coupon"]["status"], "applied", "{probe}");

    rig.publish(&cancelled(&order)).await;
    rig.counted(0).await;
    assert_eq!(
        rig.welcome_for("alice").await,
        (true, "applied".into()),
        "the cancelled order gave the use back"
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_coupon_with_a_total_use_limit_stops_applying_once_that_many_orders_used_it() {
    let mut shop = seed::shop("shop");
    let welcome = shop
        .promotions
        .iter_mut()
        .find(|p| p.name == "welcome-10")
        .expect("WELCOME10 in the seed shop");
    welcome.limits.total_uses = Some(2);
    let rig = Rig::start(shop).await;

    let first = rig.place("carol", &[WELCOME]).await;
    // A repeated announcement of the same order (a new event id) counts once.
    let mut again = placed(first, "carol", &[WELCOME]);
    again.order_number = "BZ-again".into();
    rig.publish(&again).await;
    rig.place("dave", &[WELCOME]).await;
    rig.counted(2).await;

    assert_eq!(
        rig.welcome_for("erin").await,
        (false, "limit-reached".into()),
        "two uses of two"
    );
    let check: Value = rig
        .http
        .get(format!(
            "{}/api/catalog/coupons/WELCOME10",
            rig.running.base_url
        ))
        .send()
        .await
        .expect("GET coupon")
        .json()
        .await
        .expect("json");
    assert_eq!(check["valid"], false, "{check}");
    assert_eq!(check["status"], "limit-reached");
    rig.stop().await;
}
