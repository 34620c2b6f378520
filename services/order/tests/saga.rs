//! The checkout saga end to end: HTTP in, every component running over real PostgreSQL and the
//! Kafka-protocol broker, and each outcome checked where shoppers and staff see it: the order's state,
//! stock on hand and reserved, payments, and notifications sent exactly once.

mod common;

use bazaar_platform::auth::Role;
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::ServeConfig;
use common::{Order, Shop, Subject, amount, eventually};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const EVERYTHING: [&ComponentSpec; 5] = [
    &bazaar_catalog::COMPONENT,
    &bazaar_order::COMPONENT,
    &bazaar_inventory::COMPONENT,
    &bazaar_payment::COMPONENT,
    &bazaar_notification::COMPONENT,
];

struct Saga {
    shop: Shop,
    ops: String,
    admin: String,
}

impl Saga {
    async fn open(components: &[&'static ComponentSpec]) -> Saga {
        Self::open_with(components, |config| config).await
    }

    async fn open_with(
        components: &[&'static ComponentSpec],
        configure: impl FnOnce(ServeConfig) -> ServeConfig,
    ) -> Saga {
        let shop = Shop::open_with(components, configure).await;
        let ops = shop.token("olga-ops", &[Role::Ops]);
        let admin = shop.token("ada-admin", &[Role::Admin]);
        Saga { shop, ops, admin }
    }

    /// Puts `on_hand` units of `sku` in the warehouse.
    async fn stock(&self, sku: &str, on_hand: i64) {
        let location = self
            .shop
            .call(
                Method::PUT,
                "/api/inventory/locations/shop/warehouse",
                Some(&self.ops),
                &[],
                Some(json!({"canShip": true, "priority": 1})),
            )
            .await;
        assert!(location.status.is_success(), "{}", location.body);
        let stocked = self
            .shop
            .call(
                Method::PUT,
                &format!("/api/inventory/stock/{sku}/shop/warehouse"),
                Some(&self.ops),
                &[],
                Some(json!({"onHand": on_hand, "reason": "test delivery"})),
            )
            .await;
        assert!(stocked.status.is_success(), "{}", stocked.body);
    }

    /// (on hand, reserved) of `sku` over all locations.
    async fn levels(&self, sku: &str) -> (i64, i64) {
        let stock = self
            .shop
            .get(&format!("/api/inventory/stock/{sku}"), Some(&self.ops), &[])
            .await;
        let locations = stock.body["locations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let sum = |field: &str| {
            locations
                .iter()
                .map(|l| l[field].as_i64().unwrap_or(0))
                .sum()
        };
        (sum("onHand"), sum("reserved"))
    }

    async fn checkout(
        &self,
        shopper: &str,
        key: &str,
        lines: Value,
        payment_token: &str,
    ) -> (StatusCode, Value) {
        let token = self.shop.token(shopper, &[Role::Customer]);
        let answer = self
            .shop
            .post("/api/checkout", Some(&token), &[("idempotency-key", key)], json!({
                "lines": lines,
                "currency": "USD",
                "shippingAddress": {"name": "Sam Shopper", "line1": "1 Market St", "city": "San Francisco",
                                    "region": "CA", "postalCode": "94105", "country": "US"},
                "shippingMethod": "standard",
                "paymentToken": payment_token,
            }))
            .await;
        (answer.status, answer.body)
    }

    /// `shopper` checks out `quantity` RR-42 paying with `payment_token`; returns the accepted order's id.
    async fn buy(&self, shopper: &str, key: &str, quantity: u32, payment_token: &str) -> String {
        let lines = json!([{"sku": "RR-42", "quantity": quantity}]);
        let (status, order) = self.checkout(shopper, key, lines, payment_token).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{order}");
        id_of(&order)
    }

    async fn order(&self, id: &str) -> Value {
        self.shop
            .get(&format!("/api/orders/{id}"), Some(&self.ops), &[])
            .await
            .body
    }

    /// Waits for the order to reach `state` and returns it.
    async fn settles(&self, id: &str, state: &str) -> Value {
        eventually(&format!("order {id} to be {state}"), || async {
            let order = self.order(id).await;
            (order["state"] == state).then_some(order)
        })
        .await
    }

    /// Waits until `sku` has `on_hand` units on hand and `reserved` reserved over all locations.
    async fn stock_becomes(&self, sku: &str, levels: (i64, i64), why: &str) {
        eventually(why, || async {
            (self.levels(sku).await == levels).then_some(())
        })
        .await;
    }

    /// Waits until the order's payment is captured and returns all its payments.
    async fn captured(&self, order_id: &str) -> Vec<Value> {
        eventually("the capture", || async {
            let payments = self.payments(order_id).await;
            payments
                .iter()
                .any(|p| p["status"] == "captured")
                .then_some(payments)
        })
        .await
    }

    async fn payments(&self, order_id: &str) -> Vec<Value> {
        let page = self
            .shop
            .get(
                &format!("/api/payments?orderId={order_id}"),
                Some(&self.ops),
                &[],
            )
            .await;
        page.body["items"].as_array().cloned().unwrap_or_default()
    }

    /// Templates of the notifications sent about the order, sorted.
    async fn notifications(&self, order_id: &str) -> Vec<String> {
        let page = self
            .shop
            .get(
                &format!("/api/notifications/deliveries?orderId={order_id}&limit=100"),
                Some(&self.admin),
                &[],
            )
            .await;
        let mut templates: Vec<String> = page.body["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d["template"].as_str().map(str::to_owned))
            .collect();
        templates.sort();
        templates
    }

    /// Waits until exactly these notifications were sent (and gives stragglers a moment to show up).
    async fn notified(&self, order_id: &str, expected: &[&str]) {
        let mut expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        expected.sort();
        eventually(&format!("notifications {expected:?}"), || async {
            (self.notifications(order_id).await == expected).then_some(())
        })
        .await;
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert_eq!(
            self.notifications(order_id).await,
            expected,
            "each sent exactly once"
        );
    }

    async fn staff(&self, id: &str, step: &str, body: Option<Value>) -> Value {
        let answer = self
            .shop
            .call(
                Method::POST,
                &format!("/api/orders/{id}/{step}"),
                Some(&self.ops),
                &[],
                body.or(Some(json!({}))),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{step}: {}", answer.body);
        answer.body
    }
}

fn id_of(order: &Value) -> String {
    order["id"].as_str().expect("order id").to_owned()
}

#[tokio::test]
async fn a_paid_order_is_confirmed_shipped_and_delivered_with_stock_payment_and_mail_in_step() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 5).await;

    let (status, order) = saga
        .checkout(
            "sam",
            "k-1",
            json!([{"sku": "RR-42", "quantity": 2}]),
            "tok_visa",
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    assert_eq!(order["state"], "placed");
    assert_eq!(amount(&order["total"]), "298.00", "priced by the catalog");
    let id = id_of(&order);

    saga.settles(&id, "confirmed").await;
    assert!(
        metrics_text(&saga)
            .await
            .contains("bazaar_order_revenue_total{currency=\"USD\"} 298\n"),
        "the confirmed total counts as revenue, in dollars"
    );
    saga.stock_becomes("RR-42", (3, 0), "sold units to leave the shelf")
        .await;
    saga.staff(&id, "pack", None).await;
    let shipped = saga
        .staff(
            &id,
            "ship",
            Some(json!({"carrier": "UPS", "trackingNumber": "1Z999"})),
        )
        .await;
    assert_eq!(shipped["trackingNumber"], "1Z999");
    let delivered = saga.staff(&id, "deliver", None).await;
    assert_eq!(delivered["state"], "delivered");

    let history: Vec<&str> = delivered["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|t| t["to"].as_str())
        .collect();
    assert_eq!(
        history,
        [
            "placed",
            "awaiting_payment",
            "confirmed",
            "packed",
            "shipped",
            "delivered"
        ]
    );
    let payments = saga.captured(&id).await;
    assert_eq!(payments.len(), 1, "one payment");
    assert_eq!(payments[0]["amount"]["amount"], "298.00");
    saga.notified(
        &id,
        &[
            "order_confirmed",
            "order_delivered",
            "order_packed",
            "order_placed",
            "order_shipped",
        ],
    )
    .await;
    saga.shop.close().await;
}

#[tokio::test]
async fn an_order_for_more_than_is_in_stock_is_cancelled_and_nothing_is_charged() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 1).await;
    let (status, order) = saga
        .checkout(
            "sam",
            "k-2",
            json!([{"sku": "RR-42", "quantity": 2}]),
            "tok_visa",
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    let id = id_of(&order);

    let cancelled = saga.settles(&id, "cancelled").await;
    assert_eq!(cancelled["cancelReason"], "out_of_stock");
    let metrics = metrics_text(&saga).await;
    assert!(
        metrics.contains("bazaar_order_cancellations_total{reason=\"out_of_stock\"} 1\n"),
        "cancellations are counted by reason: {metrics}"
    );
    assert!(
        !metrics.contains("bazaar_order_revenue_total{"),
        "no revenue"
    );
    assert_eq!(saga.levels("RR-42").await, (1, 0));
    assert!(
        saga.payments(&id).await.is_empty(),
        "payment was never asked"
    );
    saga.notified(&id, &["order_cancelled", "order_placed"])
        .await;
    saga.shop.close().await;
}

#[tokio::test]
async fn a_declined_payment_cancels_the_order_and_releases_its_stock() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 3).await;
    let id = saga.buy("sam", "k-3", 1, "tok_declined").await;

    let cancelled = saga.settles(&id, "cancelled").await;
    assert_eq!(cancelled["cancelReason"], "payment_failed");
    saga.stock_becomes("RR-42", (3, 0), "the reservation to be released")
        .await;
    let payments = saga.payments(&id).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0]["status"], "failed");
    saga.notified(&id, &["order_cancelled", "order_placed"])
        .await;
    saga.shop.close().await;
}

#[tokio::test]
async fn a_shopper_reads_on_the_order_why_payment_failed_in_their_own_words() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 5).await;
    let declined = saga.buy("sam", "why-1", 1, "tok_declined").await;
    let short = saga.buy("sam", "why-2", 1, "tok_insufficient_funds").await;
    let paid = saga.buy("sam", "why-3", 1, "tok_visa").await;
    saga.settles(&declined, "cancelled").await;
    saga.settles(&short, "cancelled").await;
    saga.settles(&paid, "confirmed").await;

    // The shopper's own view, not staff's: the reason comes from payment's event, worded for people.
    let sam = saga.shop.token("sam", &[Role::Customer]);
    let seen = |id: String| {
        let sam = sam.clone();
        let shop = &saga.shop;
        async move {
            shop.get(&format!("/api/orders/{id}"), Some(&sam), &[])
                .await
                .body
        }
    };
    let order = seen(declined).await;
    assert_eq!(order["paymentFailure"]["reason"], "declined", "{order}");
    assert_eq!(
        order["paymentFailure"]["message"],
        "Your card was declined. Nothing was charged; please use another card."
    );
    let order = seen(short).await;
    assert_eq!(
        order["paymentFailure"]["reason"], "insufficient_funds",
        "{order}"
    );
    assert_eq!(
        order["paymentFailure"]["message"],
        "Your card has insufficient funds. Nothing was charged; please use another card."
    );
    let order = seen(paid).await;
    assert!(
        order.get("paymentFailure").is_none(),
        "a paid order has no payment failure: {order}"
    );
    saga.shop.close().await;
}

#[tokio::test]
async fn a_provider_timeout_is_retried_and_the_second_attempt_confirms_the_order() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 3).await;
    let id = saga.buy("sam", "k-4", 1, "tok_timeout_once").await;

    saga.settles(&id, "confirmed").await;
    let payments = saga.captured(&id).await;
    let mut outcomes: Vec<(i64, String)> = payments
        .iter()
        .map(|p| {
            (
                p["attempt"].as_i64().unwrap_or(0),
                p["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    outcomes.sort();
    assert_eq!(
        outcomes,
        [(1, "failed".to_owned()), (2, "captured".to_owned())]
    );
    saga.stock_becomes("RR-42", (2, 0), "the sale to be committed")
        .await;
    saga.notified(&id, &["order_confirmed", "order_placed"])
        .await;
    saga.shop.close().await;
}

#[tokio::test]
async fn cancelling_a_confirmed_order_refunds_the_payment_and_restocks() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 4).await;
    let id = saga.buy("sam", "k-5", 2, "tok_visa").await;
    saga.settles(&id, "confirmed").await;
    saga.captured(&id).await;

    let sam = saga.shop.token("sam", &[Role::Customer]);
    let cancelled = saga
        .shop
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&sam),
            &[],
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    assert_eq!(cancelled.body["cancelReason"], "requested_by_customer");

    eventually("the refund", || async {
        saga.payments(&id)
            .await
            .iter()
            .any(|p| p["status"] == "refunded")
            .then_some(())
    })
    .await;
    saga.stock_becomes("RR-42", (4, 0), "the restock").await;
    saga.notified(
        &id,
        &[
            "order_cancelled",
            "order_confirmed",
            "order_placed",
            "payment_refunded",
        ],
    )
    .await;

    let again = saga
        .shop
        .post(
            &format!("/api/orders/{id}/cancel"),
            Some(&sam),
            &[],
            json!({}),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::CONFLICT,
        "a cancelled order cannot be cancelled again"
    );
    saga.shop.close().await;
}

#[tokio::test]
async fn a_reservation_that_outlives_its_time_releases_the_stock_and_cancels_the_order() {
    // No payment component: the order waits for an authorization that never comes.
    let without_payment = [
        &bazaar_catalog::COMPONENT,
        &bazaar_order::COMPONENT,
        &bazaar_inventory::COMPONENT,
        &bazaar_notification::COMPONENT,
    ];
    let short_holds = bazaar_inventory::InventoryConfig {
        reservation_ttl_secs: 2,
        expiry_interval_ms: 200,
    };
    let saga = Saga::open_with(&without_payment, |config| config.with_settings(short_holds)).await;
    saga.stock("RR-42", 2).await;
    let id = saga.buy("sam", "k-exp", 2, "tok_visa").await;
    saga.settles(&id, "awaiting_payment").await;

    let cancelled = saga.settles(&id, "cancelled").await;
    assert_eq!(cancelled["cancelReason"], "reservation_expired");
    assert_eq!(
        saga.levels("RR-42").await,
        (2, 0),
        "the held units are available again"
    );
    saga.notified(&id, &["order_cancelled", "order_placed"])
        .await;
    saga.shop.close().await;
}

#[tokio::test]
async fn a_shopper_follows_the_order_live_until_it_is_delivered() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 2).await;
    let id = saga.buy("sam", "k-live", 1, "tok_visa").await;
    let sam = saga.shop.token("sam", &[Role::Customer]);
    let mut stream = saga
        .shop
        .http
        .get(format!(
            "{}/api/orders/{id}/events",
            saga.shop.running.base_url
        ))
        .bearer_auth(&sam)
        .send()
        .await
        .expect("event stream");
    assert_eq!(stream.headers()["content-type"], "text/event-stream");

    let follow = async {
        let mut states = Vec::new();
        let mut buffer = String::new();
        while let Some(chunk) = stream.chunk().await.expect("chunk") {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data: ")) {
                    let update: Value = serde_json::from_str(data).expect("json data");
                    states.push(update["state"].as_str().unwrap_or_default().to_owned());
                    if states.last().map(String::as_str) == Some("confirmed") {
                        saga.staff(&id, "pack", None).await;
                        saga.staff(
                            &id,
                            "ship",
                            Some(json!({"carrier": "DHL", "trackingNumber": "JD01"})),
                        )
                        .await;
                        saga.staff(&id, "deliver", None).await;
                    }
                }
            }
        }
        states
    };
    let states = tokio::time::timeout(std::time::Duration::from_secs(60), follow)
        .await
        .expect("stream ends");
    assert_eq!(
        states.first().map(String::as_str),
        Some("placed"),
        "{states:?}"
    );
    assert_eq!(
        states.last().map(String::as_str),
        Some("delivered"),
        "the stream ends at a final state: {states:?}"
    );
    let order_of = [
        "placed",
        "awaiting_payment",
        "confirmed",
        "packed",
        "shipped",
        "delivered",
    ];
    let positions: Vec<usize> = states
        .iter()
        .filter_map(|s| order_of.iter().position(|o| o == s))
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "states arrive in order, once each: {states:?}"
    );
    assert!(states.iter().any(|s| s == "confirmed"));

    let eve = saga.shop.token("eve", &[Role::Customer]);
    let foreign = saga
        .shop
        .get(&format!("/api/orders/{id}/events"), Some(&eve), &[])
        .await;
    assert_eq!(
        foreign.status,
        StatusCode::NOT_FOUND,
        "nobody else can follow it"
    );
    saga.shop.close().await;
}

#[tokio::test]
async fn sales_tax_comes_from_the_destination_and_is_what_the_shopper_is_charged() {
    let rates = bazaar_order::OrderConfig {
        tax_rates: "US-CA=7.25,US=5".parse().expect("rates"),
        ..Order::config()
    };
    let saga = Saga::open_with(&EVERYTHING, |config| config.with_settings(rates)).await;
    saga.stock("RR-42", 5).await;
    let sam = saga.shop.token("sam", &[Role::Customer]);
    saga.shop
        .post(
            "/api/cart/lines",
            Some(&sam),
            &[],
            json!({"sku": "RR-42", "quantity": 2}),
        )
        .await;
    let estimate = saga
        .shop
        .get("/api/cart?country=US&region=CA", Some(&sam), &[])
        .await;
    assert_eq!(amount(&estimate.body["tax"]), "21.61", "7.25% of 298.00");
    assert_eq!(amount(&estimate.body["total"]), "319.61");

    let (status, order) = saga
        .checkout(
            "sam",
            "k-tax",
            json!([{"sku": "RR-42", "quantity": 2}]),
            "tok_visa",
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{order}");
    assert_eq!(amount(&order["tax"]), "21.61");
    assert_eq!(amount(&order["total"]), "319.61");
    let id = id_of(&order);
    saga.settles(&id, "confirmed").await;
    let payments = saga.captured(&id).await;
    assert_eq!(payments[0]["amount"]["amount"], "319.61", "tax is charged");
    saga.shop.close().await;
}

#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_order_and_a_different_body_is_refused() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 5).await;
    let lines = json!([{"sku": "RR-42", "quantity": 1}]);
    let (first_status, first) = saga
        .checkout("sam", "same-key", lines.clone(), "tok_visa")
        .await;
    let (second_status, second) = saga.checkout("sam", "same-key", lines, "tok_visa").await;
    assert_eq!(
        (first_status, second_status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    assert_eq!(
        first["id"], second["id"],
        "a retried checkout is the same order"
    );

    let (status, problem) = saga
        .checkout(
            "sam",
            "same-key",
            json!([{"sku": "RR-42", "quantity": 2}]),
            "tok_visa",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    let id = id_of(&first);
    saga.settles(&id, "confirmed").await;
    saga.captured(&id).await;
    saga.stock_becomes("RR-42", (4, 0), "one unit sold, not two")
        .await;
    assert_eq!(saga.payments(&id).await.len(), 1, "charged once");
    let sam = saga.shop.token("sam", &[Role::Customer]);
    let mine = saga.shop.get("/api/orders", Some(&sam), &[]).await;
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(1));

    // A second order: the list pages newest first, without gaps or repeats.
    let (_, second) = saga
        .checkout(
            "sam",
            "other-key",
            json!([{"sku": "RR-42", "quantity": 1}]),
            "tok_visa",
        )
        .await;
    let page_one = saga.shop.get("/api/orders?limit=1", Some(&sam), &[]).await;
    assert_eq!(
        page_one.body["items"][0]["id"], second["id"],
        "newest first"
    );
    let cursor = page_one.body["nextCursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let page_two = saga
        .shop
        .get(
            &format!("/api/orders?limit=1&cursor={cursor}"),
            Some(&sam),
            &[],
        )
        .await;
    assert_eq!(page_two.body["items"][0]["id"], first["id"]);
    assert!(
        page_two.body.get("nextCursor").is_none(),
        "no third page: {}",
        page_two.body
    );
    let bad = saga
        .shop
        .get("/api/orders?cursor=not-ours", Some(&sam), &[])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    saga.shop.close().await;
}

#[tokio::test]
async fn many_shoppers_racing_for_the_last_units_buy_exactly_those_units() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 3).await;
    let checkouts = (0..12).map(|i| {
        let saga = &saga;
        async move {
            let (status, order) = saga
                .checkout(
                    &format!("racer-{i}"),
                    &format!("race-{i}"),
                    json!([{"sku": "RR-42", "quantity": 1}]),
                    "tok_visa",
                )
                .await;
            assert_eq!(status, StatusCode::ACCEPTED, "{order}");
            id_of(&order)
        }
    });
    let ids = futures::future::join_all(checkouts).await;
    let mut outcomes = Vec::new();
    for id in &ids {
        let settled = eventually("every order to settle", || async {
            let order = saga.order(id).await;
            matches!(order["state"].as_str(), Some("confirmed" | "cancelled")).then_some(order)
        })
        .await;
        outcomes.push(settled["state"].as_str().unwrap_or_default().to_owned());
    }
    let confirmed = outcomes.iter().filter(|s| *s == "confirmed").count();
    assert_eq!(
        confirmed, 3,
        "exactly the three units were sold: {outcomes:?}"
    );
    saga.stock_becomes(
        "RR-42",
        (0, 0),
        "every sale committed and every rejection released",
    )
    .await;
    saga.shop.close().await;
}

#[tokio::test]
async fn bad_checkout_input_is_a_clear_4xx_and_creates_no_order() {
    let saga = Saga::open(&[&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT]).await;
    let sam = saga.shop.token("sam", &[Role::Customer]);
    let good = json!({
        "lines": [{"sku": "RR-42", "quantity": 1}], "currency": "USD",
        "shippingAddress": {"name": "Sam", "line1": "1 Market St", "city": "SF", "postalCode": "94105", "country": "US"},
        "shippingMethod": "standard", "paymentToken": "tok_visa"
    });
    let with = |path: &str, value: Value| {
        let mut body = good.clone();
        let mut target = &mut body;
        let parts: Vec<&str> = path.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            target = &mut target[*part];
        }
        target[parts[parts.len() - 1]] = value;
        body
    };
    let cases = [
        (
            with("lines", json!([{"sku": "RR-42", "quantity": 0}])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("lines", json!([{"sku": "RR-42", "quantity": 1000000}])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("lines", json!([{"sku": "NO-SUCH", "quantity": 1}])),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (with("lines", json!([])), StatusCode::UNPROCESSABLE_ENTITY),
        (
            with("shippingAddress.country", json!("USA")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("shippingMethod", json!("teleport")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("paymentToken", json!("")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            with("lines", json!("lots")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ];
    for (i, (body, status)) in cases.into_iter().enumerate() {
        let key = format!("bad-{i}");
        let answer = saga
            .shop
            .post(
                "/api/checkout",
                Some(&sam),
                &[("idempotency-key", key.as_str())],
                body.clone(),
            )
            .await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
    }
    let no_key = saga
        .shop
        .post("/api/checkout", Some(&sam), &[], good.clone())
        .await;
    assert_eq!(no_key.status, StatusCode::BAD_REQUEST, "{}", no_key.body);
    let no_token = saga
        .shop
        .post(
            "/api/checkout",
            None,
            &[("idempotency-key", "x")],
            good.clone(),
        )
        .await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    let forged = saga
        .shop
        .post(
            "/api/checkout",
            Some("eyJhbGciOiJub25lIn0.e30."),
            &[("idempotency-key", "x")],
            good.clone(),
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    let malformed = saga
        .shop
        .http
        .post(format!("{}/api/checkout", saga.shop.running.base_url))
        .bearer_auth(&sam)
        .header("idempotency-key", "m")
        .header("content-type", "application/json")
        .body("{\"lines\": [")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    let mine = saga.shop.get("/api/orders", Some(&sam), &[]).await;
    assert_eq!(
        mine.body["items"].as_array().map(Vec::len),
        Some(0),
        "no order was created"
    );

    // Someone else's order is nobody's business: it does not exist for them.
    let (_, order) = saga
        .checkout(
            "sam",
            "real",
            json!([{"sku": "RR-42", "quantity": 1}]),
            "tok_visa",
        )
        .await;
    let eve = saga.shop.token("eve", &[Role::Customer]);
    let foreign = saga
        .shop
        .get(&format!("/api/orders/{}", id_of(&order)), Some(&eve), &[])
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    let foreign_cancel = saga
        .shop
        .post(
            &format!("/api/orders/{}/cancel", id_of(&order)),
            Some(&eve),
            &[],
            json!({}),
        )
        .await;
    assert_eq!(foreign_cancel.status, StatusCode::NOT_FOUND);
    let shopper_ships = saga
        .shop
        .post(
            &format!("/api/orders/{}/ship", id_of(&order)),
            Some(&sam),
            &[],
            json!({"carrier": "UPS", "trackingNumber": "1"}),
        )
        .await;
    assert_eq!(shopper_ships.status, StatusCode::FORBIDDEN);
    saga.shop.close().await;
}

#[tokio::test]
async fn a_one_per_customer_coupon_used_at_checkout_is_refused_on_the_shoppers_next_checkout() {
    let saga = Saga::open(&EVERYTHING).await;
    saga.stock("RR-42", 5).await;
    let shop = &saga.shop;
    let checkout = |shopper: &str, key: &str| {
        let token = shop.token(shopper, &[Role::Customer]);
        let key = key.to_owned();
        async move {
            shop
                .post("/api/checkout", Some(&token), &[("idempotency-key", key.as_str())], json!({
                    "lines": [{"sku": "RR-42", "quantity": 1}],
                    "currency": "USD",
                    "couponCode": "WELCOME10",
                    "shippingAddress": {"name": "Wendy", "line1": "1 Market St", "city": "San Francisco",
                                        "region": "CA", "postalCode": "94105", "country": "US"},
                    "shippingMethod": "standard",
                    "paymentToken": "tok_visa",
                }))
                .await
        }
    };

    let first = checkout("wendy", "w-1").await;
    assert_eq!(first.status, StatusCode::ACCEPTED, "{}", first.body);
    assert_eq!(amount(&first.body["discount"]), "10.00", "{}", first.body);
    saga.settles(&id_of(&first.body), "confirmed").await;

    // The catalog counts the redemption from order.placed, a moment after the checkout.
    let wendy = saga.shop.token("wendy", &[Role::Customer]);
    eventually("the catalog to count wendy's WELCOME10", || async {
        let quote = saga
            .shop
            .post(
                "/api/catalog/quote",
                Some(&wendy),
                &[],
                json!({"currency": "USD", "lines": [{"sku": "RR-42", "quantity": 1}],
                       "couponCode": "WELCOME10"}),
            )
            .await;
        (quote.body["coupon"]["applied"] == false).then_some(())
    })
    .await;

    let again = checkout("wendy", "w-2").await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );
    let fields: Vec<&str> = again.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["couponCode"], "{}", again.body);

    let other = checkout("xavier", "x-1").await;
    assert_eq!(
        other.status,
        StatusCode::ACCEPTED,
        "another shopper still may: {}",
        other.body
    );
    saga.shop.close().await;
}

/// The order component's Prometheus text.
async fn metrics_text(saga: &Saga) -> String {
    saga.shop
        .http
        .get(format!("{}/metrics", saga.shop.running.base_url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

#[tokio::test]
async fn a_capture_that_keeps_failing_shows_payment_needs_attention_on_the_order() {
    let payment = bazaar_payment::PaymentConfig {
        retry_backoff_ms: 20,
        max_tries: 2,
        ..bazaar_testkit::config::defaults()
    };
    let saga = Saga::open_with(&EVERYTHING, |config| config.with_settings(payment)).await;
    saga.stock("RR-42", 2).await;
    // The provider authorizes, then every capture of it meets an outage.
    let id = saga.buy("sam", "k-att", 1, "tok_settle_unavailable").await;
    saga.settles(&id, "confirmed").await;

    let order = eventually("payment needs attention on the order", || async {
        let order = saga.order(&id).await;
        order.get("paymentAttention").is_some().then_some(order)
    })
    .await;
    let attention = &order["paymentAttention"];
    assert_eq!(attention["operation"], "capture", "{order}");
    assert_eq!(attention["tries"], 2);
    assert!(attention["since"].is_string());
    assert_eq!(
        order["state"], "confirmed",
        "the order's state does not change"
    );
    let sam = saga.shop.token("sam", &[Role::Customer]);
    let own = saga
        .shop
        .get(&format!("/api/orders/{id}"), Some(&sam), &[])
        .await;
    assert_eq!(own.body["paymentAttention"]["operation"], "capture");

    // A healthy order shows nothing.
    let fine = saga.buy("sam", "k-fine", 1, "tok_visa").await;
    saga.settles(&fine, "confirmed").await;
    saga.captured(&fine).await;
    assert!(saga.order(&fine).await.get("paymentAttention").is_none());
    saga.shop.close().await;
}
