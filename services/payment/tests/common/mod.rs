//! A payment component served in-process over real HTTP, PostgreSQL and Kafka, with helpers to send it
//! order events and read what it announced.

#![allow(dead_code)]

use std::time::Duration;

use bazaar_contracts::order::{
    CancellationReason, Customer, OrderCancelled, OrderConfirmed, OrderId, PaymentRequested,
};
use bazaar_contracts::{Currency, DomainEvent, Envelope, Money};
use bazaar_payment::PaymentConfig;
use bazaar_platform::auth::{Role, TestIssuer};
use bazaar_platform::kafka::Kafka;
use bazaar_platform::runtime::{ServeConfig, Spawned, spawn};
use bazaar_testkit::{TestEnv, wait_for};
use rdkafka::producer::FutureRecord;
use serde_json::Value;
use sqlx::PgPool;

pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Harness {
    pub env: TestEnv,
    pub running: Spawned,
    pub issuer: TestIssuer,
    pub kafka: Kafka,
    /// The payment schema, for assertions.
    pub db: PgPool,
    pub http: reqwest::Client,
}

impl Harness {
    pub async fn start(config: PaymentConfig) -> Harness {
        let env = TestEnv::start().await.expect("test infrastructure");
        let issuer = TestIssuer::new();
        let auth = issuer
            .trusted_through_file(&std::env::temp_dir().join(format!("{}-jwks.json", env.id)));
        let serve = ServeConfig::local(&env.database_url, &env.kafka_brokers, &env.id, auth)
            .with_settings(config);
        let kafka = Kafka::connect(&serve.kafka, "payment-test").expect("producer");
        let running = spawn(&[&bazaar_payment::COMPONENT], serve)
            .await
            .expect("payment component started");
        let db = env
            .pool(&env.schema("payment"))
            .await
            .expect("payment schema pool");
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

    pub fn token(&self, roles: &[Role]) -> String {
        self.issuer.issue("user-1", roles, Duration::from_secs(300))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    /// Publishes `event` as the order component would, and returns the envelope (to deliver it again).
    pub async fn publish<E: DomainEvent>(&self, event: &E) -> Envelope {
        let envelope = Envelope::wrap("/bazaar/order", event).expect("envelope");
        self.deliver(&envelope, &event.key()).await;
        envelope
    }

    /// Sends an envelope (again), with its original id: a redelivery.
    pub async fn deliver(&self, envelope: &Envelope, key: &str) {
        let topic = self.kafka.topic("bazaar.order");
        let payload = envelope.to_json();
        self.kafka
            .producer()
            .send(
                FutureRecord::to(&topic).key(key).payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .expect("delivered to the broker");
    }

    /// The payment events announced for `order` (type, data), in order.
    pub async fn announced(&self, order: OrderId) -> Vec<(String, Value)> {
        sqlx::query_as::<_, (String, Value)>(
            "SELECT event_type, payload->'data' FROM outbox WHERE message_key = $1 ORDER BY seq",
        )
        .bind(order.to_string())
        .fetch_all(&self.db)
        .await
        .expect("outbox rows")
    }

    /// Waits until `count` events were announced for `order`.
    pub async fn wait_announced(&self, order: OrderId, count: usize) -> Vec<(String, Value)> {
        wait_for(
            PATIENCE,
            &format!("{count} payment events for {order}"),
            || async {
                let events = self.announced(order).await;
                (events.len() >= count).then_some(events)
            },
        )
        .await
        .expect("payment events")
    }

    /// The statuses of the order's payments, by attempt.
    pub async fn statuses(&self, order: OrderId) -> Vec<(i32, String)> {
        sqlx::query_as::<_, (i32, String)>(
            "SELECT attempt, status::text FROM payments WHERE order_id = $1 ORDER BY attempt",
        )
        .bind(order.0)
        .fetch_all(&self.db)
        .await
        .expect("payments")
    }

    /// The simulated provider's ledger rows for the order: (operation, outcome, calls).
    pub async fn ledger(&self, order: OrderId) -> Vec<(String, String, i32)> {
        sqlx::query_as::<_, (String, String, i32)>(
            "SELECT operation, outcome, calls FROM simulated_provider_ledger WHERE reference = $1
             ORDER BY created_at",
        )
        .bind(order.to_string())
        .fetch_all(&self.db)
        .await
        .expect("ledger")
    }

    /// Waits until the payment consumer has handled `count` events.
    pub async fn wait_handled(&self, count: i64) {
        wait_for(PATIENCE, &format!("{count} handled events"), || async {
            let handled: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox")
                .fetch_one(&self.db)
                .await
                .ok()?;
            (handled >= count).then_some(())
        })
        .await
        .expect("events handled");
    }
}

pub fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::USD).expect("amount")
}

pub fn request(order: OrderId, token: &str, attempt: u32) -> PaymentRequested {
    PaymentRequested {
        order_id: order,
        order_number: format!("BZ-{}", &order.to_string()[..8]),
        amount: usd("129.00"),
        payment_token: token.to_owned(),
        idempotency_key: format!("{order}:{attempt}"),
        attempt,
    }
}

fn customer() -> Customer {
    Customer {
        user_id: Some("user-1".to_owned()),
        email: "shopper@example.com".to_owned(),
    }
}

pub fn confirmed(order: OrderId) -> OrderConfirmed {
    OrderConfirmed {
        order_id: order,
        order_number: "BZ-1".to_owned(),
        customer: customer(),
        lines: Vec::new(),
        total: usd("129.00"),
    }
}

pub fn cancelled(order: OrderId, reason: CancellationReason) -> OrderCancelled {
    OrderCancelled {
        order_id: order,
        order_number: "BZ-1".to_owned(),
        customer: customer(),
        reason,
        detail: "Cancelled.".to_owned(),
        lines: Vec::new(),
        restock: false,
    }
}
