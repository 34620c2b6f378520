//! The shop under load at the concurrency that used to break it: 64 shoppers adding to their carts at
//! once, checking out at once, and posting checkouts without waiting for confirmation. Nothing is ever
//! a 500: requests complete, or are refused with 503, `Retry-After` and a problem document; the saga's
//! backlog stays under its bound, so every accepted order is confirmed within bounded time.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use bazaar_order::OrderConfig;
use bazaar_platform::auth::Role;
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::ServeConfig;
use common::{Answer, Shop};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const SHOPPERS: usize = 64;

const EVERYTHING: [&ComponentSpec; 5] = [
    &bazaar_catalog::COMPONENT,
    &bazaar_order::COMPONENT,
    &bazaar_inventory::COMPONENT,
    &bazaar_payment::COMPONENT,
    &bazaar_notification::COMPONENT,
];

/// Components as `bazaar serve` runs them by default: pools of ten connections.
async fn open(components: &[&'static ComponentSpec], order: OrderConfig) -> Shop {
    Shop::open_with(components, move |config: ServeConfig| {
        let mut config = config.with_settings(order);
        config.db.max_connections = 10;
        config
    })
    .await
}

fn checking_nested_acquisition() -> bool {
    bazaar_platform::db::nested_acquisition_check().is_some()
}

/// Most requests are served, not shed: with no nested acquisition a pool of ten serves 64 shoppers at
/// once, and alone on this machine all of them are. Other test processes competing for the same two
/// cores can push some past the acquire timeout, which is answered 503 as designed, so the bar is half.
/// With the nested-acquisition check on (one connection per pool), any one served is enough.
fn mostly_served(answers: &[(Answer, Duration)], served: usize, what: &str) {
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    for (answer, _) in answers {
        if !answer.status.is_success() {
            let detail = answer.body["detail"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *refusals.entry(detail).or_default() += 1;
        }
    }
    let floor = if checking_nested_acquisition() {
        1
    } else {
        SHOPPERS / 2
    };
    assert!(
        served >= floor,
        "{what}: {served} of {SHOPPERS} served, expected at least {floor}; refused: {refusals:?}"
    );
}

fn shopper(shop: &Shop, i: usize) -> String {
    shop.token(&format!("shopper-{i}"), &[Role::Customer])
}

/// Puts `on_hand` units of `sku` in the warehouse.
async fn stock(shop: &Shop, sku: &str, on_hand: i64) {
    let ops = shop.token("olga-ops", &[Role::Ops]);
    let location = shop
        .call(
            Method::PUT,
            "/api/inventory/locations/shop/warehouse",
            Some(&ops),
            &[],
            Some(json!({"canShip": true, "priority": 1})),
        )
        .await;
    assert!(location.status.is_success(), "{}", location.body);
    let stocked = shop
        .call(
            Method::PUT,
            &format!("/api/inventory/stock/{sku}/shop/warehouse"),
            Some(&ops),
            &[],
            Some(json!({"onHand": on_hand, "reason": "load test delivery"})),
        )
        .await;
    assert!(stocked.status.is_success(), "{}", stocked.body);
}

fn checkout_body(lines: Option<Value>) -> Value {
    let mut body = json!({
        "shippingAddress": {"name": "Sam Shopper", "line1": "1 Market St", "city": "San Francisco",
                            "region": "CA", "postalCode": "94105", "country": "US"},
        "shippingMethod": "standard",
        "paymentToken": "tok_visa",
    });
    if let Some(lines) = lines {
        body["lines"] = lines;
        body["currency"] = json!("USD");
    }
    body
}

/// `expected`, or a 503 with `Retry-After` (seconds) and a problem document; never anything else.
fn expected_or_shed(answer: &Answer, expected: StatusCode, what: &str) -> bool {
    if answer.status == expected {
        return true;
    }
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{what}: only {expected} or 503 under load, never {}: {}",
        answer.status,
        answer.body
    );
    let retry_after = answer
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|secs| secs >= 1),
        "{what}: a 503 says when to retry: {:?}",
        answer.headers
    );
    assert_eq!(
        answer
            .headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.as_bytes()),
        Some(&b"application/problem+json"[..]),
        "{what}"
    );
    false
}

/// Waits until none of the shop's orders is still in the saga; returns how long that took.
async fn saga_drains(shop: &Shop) -> Duration {
    let started = Instant::now();
    let pool = shop.pool("order");
    common::eventually("every accepted order to be confirmed or cancelled", || {
        let pool = pool.clone();
        async move {
            let pending: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM orders WHERE state IN ('placed', 'awaiting_payment')",
            )
            .fetch_one(&pool)
            .await
            .ok()?;
            (pending == 0).then_some(())
        }
    })
    .await;
    started.elapsed()
}

/// (orders by final state, the longest time an order took from placed to confirmed).
async fn outcomes(shop: &Shop) -> (Vec<(String, i64)>, Duration) {
    let pool = shop.pool("order");
    let states: Vec<(String, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM orders GROUP BY state ORDER BY state")
            .fetch_all(&pool)
            .await
            .expect("states");
    let longest: Option<f64> = sqlx::query_scalar(
        "SELECT max(EXTRACT(EPOCH FROM c.at - p.at))::float8
         FROM order_transitions p JOIN order_transitions c ON c.order_id = p.order_id
         WHERE p.to_state = 'placed' AND c.to_state = 'confirmed'",
    )
    .fetch_one(&pool)
    .await
    .expect("confirmation times");
    (
        states,
        Duration::from_secs_f64(longest.unwrap_or_default().max(0.0)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_cart_additions_never_answer_500() {
    let shop = open(
        &[&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT],
        OrderConfig::default(),
    )
    .await;
    let additions = (0..SHOPPERS).map(|i| {
        let shop = &shop;
        async move {
            let token = shopper(shop, i);
            let started = Instant::now();
            let answer = shop
                .post(
                    "/api/cart/lines",
                    Some(&token),
                    &[],
                    json!({"sku": "TR-42-BLK", "quantity": 1}),
                )
                .await;
            (answer, started.elapsed())
        }
    });
    let answers = futures::future::join_all(additions).await;
    let added = answers
        .iter()
        .filter(|(answer, _)| expected_or_shed(answer, StatusCode::OK, "add to cart"))
        .count();
    mostly_served(&answers, added, "cart additions");
    let slowest = answers
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(20),
        "bounded latency: {slowest:?}"
    );
    shop.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_checkouts_from_carts_never_answer_500_and_all_confirm() {
    let shop = open(&EVERYTHING, OrderConfig::default()).await;
    stock(&shop, "RR-42", 1_000).await;
    for i in 0..SHOPPERS {
        let added = shop
            .post(
                "/api/cart/lines",
                Some(&shopper(&shop, i)),
                &[],
                json!({"sku": "RR-42", "quantity": 1}),
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    }
    let checkouts = (0..SHOPPERS).map(|i| {
        let shop = &shop;
        async move {
            let token = shopper(shop, i);
            let key = format!("cart-checkout-{i}");
            let started = Instant::now();
            let answer = shop
                .post(
                    "/api/checkout",
                    Some(&token),
                    &[("idempotency-key", key.as_str())],
                    checkout_body(None),
                )
                .await;
            (answer, started.elapsed())
        }
    });
    let answers = futures::future::join_all(checkouts).await;
    let accepted = answers
        .iter()
        .filter(|(answer, _)| expected_or_shed(answer, StatusCode::ACCEPTED, "checkout"))
        .count();
    mostly_served(&answers, accepted, "checkouts from carts");
    let slowest = answers
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(20),
        "bounded latency: {slowest:?}"
    );
    let drained = saga_drains(&shop).await;
    let (states, longest) = outcomes(&shop).await;
    assert_eq!(
        states,
        vec![("confirmed".to_owned(), accepted as i64)],
        "every accepted order is confirmed"
    );
    eprintln!(
        "{accepted} checkouts from carts: slowest answer {slowest:?}, saga drained {drained:?} later, \
         longest placed-to-confirmed {longest:?}"
    );
    shop.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkouts_posted_without_waiting_stay_within_the_backlog_bound_and_the_rest_get_503() {
    const BOUND: i64 = 16;
    const POSTS_PER_CLIENT: usize = 6;
    let shop = open(
        &EVERYTHING,
        OrderConfig {
            checkout_max_pending: BOUND as u64,
            checkout_backlog_refresh_ms: 100,
            ..OrderConfig::default()
        },
    )
    .await;
    stock(&shop, "RR-42", 10_000).await;

    // Watches the real backlog in the database while the clients post.
    let pool = shop.pool("order");
    let done = Arc::new(AtomicBool::new(false));
    let highest = Arc::new(AtomicI64::new(0));
    let watcher = tokio::spawn({
        let (done, highest) = (done.clone(), highest.clone());
        async move {
            while !done.load(Ordering::SeqCst) {
                let pending: Result<i64, _> = sqlx::query_scalar(
                    "SELECT count(*) FROM orders WHERE state IN ('placed', 'awaiting_payment')",
                )
                .fetch_one(&pool)
                .await;
                if let Ok(pending) = pending {
                    highest.fetch_max(pending, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });

    // Each client posts its checkouts one after the other, never waiting for a confirmation; refused,
    // it comes back after a fifth of a second whatever `Retry-After` says (an impatient client).
    let clients = (0..SHOPPERS).map(|i| {
        let shop = &shop;
        async move {
            let token = shopper(shop, i);
            let (mut accepted, mut refused) = (0_usize, 0_usize);
            for n in 0..POSTS_PER_CLIENT {
                let key = format!("no-wait-{i}-{n}");
                let answer = shop
                    .post(
                        "/api/checkout",
                        Some(&token),
                        &[("idempotency-key", key.as_str())],
                        checkout_body(Some(json!([{"sku": "RR-42", "quantity": 1}]))),
                    )
                    .await;
                if expected_or_shed(&answer, StatusCode::ACCEPTED, "checkout") {
                    accepted += 1;
                } else {
                    assert_eq!(
                        answer.body["type"], "https://bazaar.dev/problems/overloaded",
                        "{}",
                        answer.body
                    );
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            (accepted, refused)
        }
    });
    let started = Instant::now();
    let results = futures::future::join_all(clients).await;
    let posting = started.elapsed();
    let accepted: usize = results.iter().map(|(a, _)| a).sum();
    let refused: usize = results.iter().map(|(_, r)| r).sum();
    let drained = saga_drains(&shop).await;
    done.store(true, Ordering::SeqCst);
    watcher.await.expect("watcher");

    assert!(
        refused > 0,
        "posting faster than the saga confirms meets backpressure"
    );
    assert!(accepted > 0);
    let highest = highest.load(Ordering::SeqCst);
    assert!(
        highest <= BOUND,
        "the backlog never exceeded its bound of {BOUND}: {highest}"
    );
    let (states, longest) = outcomes(&shop).await;
    assert_eq!(
        states,
        vec![("confirmed".to_owned(), accepted as i64)],
        "every accepted order is confirmed"
    );
    assert!(
        longest < Duration::from_secs(30),
        "with a bounded backlog an order confirms in bounded time: {longest:?}"
    );
    let metrics = shop
        .http
        .get(format!("{}/metrics", shop.running.base_url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let shed = metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                r#"bazaar_http_shed_total{reason="checkout_backlog",route="/api/checkout"} "#,
            )
        })
        .and_then(|value| value.trim().parse::<usize>().ok());
    assert_eq!(shed, Some(refused), "every refusal is counted");
    eprintln!(
        "{accepted} accepted and {refused} refused in {posting:?}; backlog peaked at {highest}; drained \
         {drained:?} after posting ended; longest placed-to-confirmed {longest:?}"
    );
    shop.close().await;
}
