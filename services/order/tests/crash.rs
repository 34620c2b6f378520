//! Stopping any service in the middle of the saga loses nothing and duplicates nothing: each component
//! runs as its own server, each is stopped in turn while orders are in flight and started again, and every
//! order still ends confirmed, with its stock, payment and notifications each counted exactly once.

mod common;

use std::time::Duration;

use bazaar_platform::auth::{Role, TestIssuer};
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::{ServeConfig, Spawned, spawn};
use bazaar_testkit::TestEnv;
use common::eventually;
use serde_json::{Value, json};

struct Cluster {
    env: TestEnv,
    config: ServeConfig,
    issuer: TestIssuer,
    http: reqwest::Client,
    front: Spawned,
    inventory: Spawned,
    payment: Spawned,
    notification: Spawned,
}

const FRONT: [&ComponentSpec; 2] = [&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT];

impl Cluster {
    async fn start() -> Cluster {
        let env = TestEnv::start().await.expect("infrastructure");
        let issuer = TestIssuer::new();
        let auth = issuer.trusted_through_file(
            &std::env::temp_dir().join(format!("bazaar-{}-jwks.json", env.id)),
        );
        let config = ServeConfig::local(&env.database_url, &env.kafka_brokers, &env.id, auth);
        let front = spawn(&FRONT, config.clone()).await.expect("front");
        let inventory = spawn(&[&bazaar_inventory::COMPONENT], config.clone())
            .await
            .expect("inventory");
        let payment = spawn(&[&bazaar_payment::COMPONENT], config.clone())
            .await
            .expect("payment");
        let notification = spawn(&[&bazaar_notification::COMPONENT], config.clone())
            .await
            .expect("notification");
        let cluster = Cluster {
            env,
            config,
            issuer,
            http: reqwest::Client::new(),
            front,
            inventory,
            payment,
            notification,
        };
        let catalog = bazaar_platform::db::pool(
            "catalog",
            &cluster.env.database_url,
            &format!("{}_catalog", cluster.env.id),
            2,
        )
        .expect("pool");
        common::seed_catalog(&catalog).await;
        cluster
    }

    fn token(&self, user: &str, roles: &[Role]) -> String {
        bazaar_testkit::tokens::token(&self.issuer, user, roles)
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        token: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self.http.request(method, url).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap_or(Value::Null)
    }

    async fn checkout(&self, n: usize) -> String {
        let token = self.token(&format!("shopper-{n}"), &[Role::Customer]);
        let response = self
            .http
            .post(format!("{}/api/checkout", self.front.base_url))
            .bearer_auth(token)
            .header("idempotency-key", format!("crash-{n}"))
            .json(&json!({
                "lines": [{"sku": "RR-42", "quantity": 1}], "currency": "USD",
                "shippingAddress": {"name": "S", "line1": "1 Main St", "city": "Austin", "postalCode": "73301", "country": "US"},
                "shippingMethod": "standard", "paymentToken": "tok_visa"
            }))
            .send()
            .await
            .expect("checkout");
        assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
        let order: Value = response.json().await.expect("order");
        order["id"].as_str().expect("id").to_owned()
    }

    /// Stops one server while orders are in flight and starts it again on the same schemas, topics and
    /// consumer groups.
    async fn bounce(&mut self, which: &str) {
        let (slot, components): (&mut Spawned, &[&'static ComponentSpec]) = match which {
            "inventory" => (&mut self.inventory, &[&bazaar_inventory::COMPONENT]),
            "payment" => (&mut self.payment, &[&bazaar_payment::COMPONENT]),
            "notification" => (&mut self.notification, &[&bazaar_notification::COMPONENT]),
            _ => (&mut self.front, &FRONT),
        };
        let placeholder = spawn(&[], self.config.clone()).await.expect("placeholder");
        let stopped = std::mem::replace(slot, placeholder);
        stopped.stop().await.expect("stopped");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let restarted = spawn(components, self.config.clone())
            .await
            .expect("restarted");
        let placeholder = std::mem::replace(slot, restarted);
        placeholder.stop().await.expect("placeholder stopped");
    }
}

#[tokio::test]
async fn every_order_completes_exactly_once_while_each_service_is_stopped_and_restarted_in_turn() {
    let mut cluster = Cluster::start().await;
    let ops = cluster.token("olga-ops", &[Role::Ops]);
    let admin = cluster.token("ada-admin", &[Role::Admin]);
    let inventory = cluster.inventory.base_url.clone();
    cluster
        .send(
            reqwest::Method::PUT,
            format!("{inventory}/api/inventory/locations/shop/warehouse"),
            &ops,
            Some(json!({"canShip": true, "priority": 1})),
        )
        .await;
    cluster
        .send(
            reqwest::Method::PUT,
            format!("{inventory}/api/inventory/stock/RR-42/shop/warehouse"),
            &ops,
            Some(json!({"onHand": 50, "reason": "crash drill"})),
        )
        .await;

    let mut orders = Vec::new();
    for (round, victim) in ["inventory", "payment", "notification", "front"]
        .into_iter()
        .enumerate()
    {
        for n in 0..3 {
            orders.push(cluster.checkout(round * 10 + n).await);
        }
        cluster.bounce(victim).await;
    }

    for id in &orders {
        let url = format!("{}/api/orders/{id}", cluster.front.base_url);
        eventually(&format!("order {id} to be confirmed"), || async {
            let order = cluster
                .send(reqwest::Method::GET, url.clone(), &ops, None)
                .await;
            (order["state"] == "confirmed").then_some(())
        })
        .await;
    }
    let sold = orders.len() as i64;
    let stock_url = format!("{}/api/inventory/stock/RR-42", cluster.inventory.base_url);
    eventually("every sale committed once", || async {
        let stock = cluster
            .send(reqwest::Method::GET, stock_url.clone(), &ops, None)
            .await;
        let location = &stock["locations"][0];
        (location["onHand"] == json!(50 - sold) && location["reserved"] == json!(0)).then_some(())
    })
    .await;
    for id in &orders {
        let payments_url = format!("{}/api/payments?orderId={id}", cluster.payment.base_url);
        let payments = eventually("the capture", || async {
            let page = cluster
                .send(reqwest::Method::GET, payments_url.clone(), &ops, None)
                .await;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            items
                .iter()
                .any(|p| p["status"] == "captured")
                .then_some(items)
        })
        .await;
        assert_eq!(payments.len(), 1, "order {id} was charged once");
        let mail_url = format!(
            "{}/api/notifications/deliveries?orderId={id}",
            cluster.notification.base_url
        );
        let templates = eventually("both notifications", || async {
            let page = cluster
                .send(reqwest::Method::GET, mail_url.clone(), &admin, None)
                .await;
            let mut templates: Vec<String> = page["items"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d["template"].as_str().map(str::to_owned))
                .collect();
            templates.sort();
            (templates.len() >= 2).then_some(templates)
        })
        .await;
        assert_eq!(
            templates,
            ["order_confirmed", "order_placed"],
            "order {id}: each message once"
        );
    }
    for spawned in [
        cluster.front,
        cluster.inventory,
        cluster.payment,
        cluster.notification,
    ] {
        let _ = spawned.stop().await;
    }
    cluster.env.cleanup().await;
}
