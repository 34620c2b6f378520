//! The shop under load at the concurrency that used to break it: 64 shoppers adding to their carts at
//! once, checking out at once, and posting checkouts without waiting for confirmation. Nothing is ever
//! a 500: requests complete, or are refused with 503, `Retry-After` and a problem document, and a shopper
//! who retries after `Retry-After` is served (the load used to keep everyone failing until it stopped);
//! the saga's backlog stays under its bound, so every accepted order is confirmed within bounded time.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use bazaar_order::OrderConfig;
use bazaar_platform::auth::Role;
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::ServeConfig;
use common::{Answer, Order, Shop, Subject};
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

/// How long a shopper keeps retrying a refused request (following `Retry-After`) before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// What one shopper saw: the final answer, how long it took to be served, the refusals on the way.
struct Served {
    answer: Answer,
    took: Duration,
    refusals: Vec<String>,
}

/// Sends `request(i)` for every shopper at once; each retries a 503 after its `Retry-After` (at most
/// 2 s, to keep the test short) until answered `ok`, as a well-behaved client would. Every refusal must be
/// a 503 with `Retry-After` and a problem document, never anything else.
async fn all_at_once<F, Fut>(ok: StatusCode, what: &str, request: F) -> Vec<Served>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Answer>,
{
    let request = &request;
    let shoppers = (0..SHOPPERS).map(|i| async move {
        let started = Instant::now();
        let mut refusals = Vec::new();
        loop {
            let answer = request(i).await;
            if expected_or_shed(&answer, ok, what) || started.elapsed() > PATIENCE {
                return Served {
                    answer,
                    took: started.elapsed(),
                    refusals,
                };
            }
            refusals.push(
                answer.body["detail"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
            let retry_after = answer
                .headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            tokio::time::sleep(Duration::from_secs(retry_after.min(2))).await;
        }
    });
    futures::future::join_all(shoppers).await
}

/// Every shopper was served within the test's patience; prints what it took.
fn all_served(served: &[Served], ok: StatusCode, what: &str) -> Duration {
    let mut refusals: BTreeMap<&str, usize> = BTreeMap::new();
    for shopper in served {
        for detail in &shopper.refusals {
            *refusals.entry(detail.as_str()).or_default() += 1;
        }
    }
    for shopper in served {
        assert_eq!(
            shopper.answer.status, ok,
            "{what}: a shopper was not served within {PATIENCE:?}: {}; refusals: {refusals:?}",
            shopper.answer.body
        );
    }
    let first_time = served.iter().filter(|s| s.refusals.is_empty()).count();
    let slowest = served.iter().map(|s| s.took).max().unwrap_or_default();
    eprintln!(
        "{what}: {first_time} of {} served at the first attempt, all within {slowest:?}; refusals: \
         {refusals:?}",
        served.len()
    );
    slowest
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
        Order::config(),
    )
    .await;
    let served = all_at_once(StatusCode::OK, "add to cart", |i| {
        let shop = &shop;
        async move {
            shop.post(
                "/api/cart/lines",
                Some(&shopper(shop, i)),
                &[],
                json!({"sku": "TR-42-BLK", "quantity": 1}),
            )
            .await
        }
    })
    .await;
    all_served(&served, StatusCode::OK, "cart additions");
    shop.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_checkouts_from_carts_never_answer_500_and_all_confirm() {
    let shop = open(&EVERYTHING, Order::config()).await;
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
    // A retry after 503 carries the same Idempotency-Key, so it never makes a second order.
    let served = all_at_once(StatusCode::ACCEPTED, "checkout", |i| {
        let shop = &shop;
        async move {
            let key = format!("cart-checkout-{i}");
            shop.post(
                "/api/checkout",
                Some(&shopper(shop, i)),
                &[("idempotency-key", key.as_str())],
                checkout_body(None),
            )
            .await
        }
    })
    .await;
    let slowest = all_served(&served, StatusCode::ACCEPTED, "checkouts from carts");
    let accepted = served.len();
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
            ..Order::config()
        },
    )
    .await;
    stock(&shop, "RR-42", 10_000).await;
    // One order through the saga first, so that every consumer has joined its group (seconds on tansu)
    // and what follows measures the saga at work, not its start.
    let warm_up = shop
        .post(
            "/api/checkout",
            Some(&shop.token("early-bird", &[Role::Customer])),
            &[("idempotency-key", "warm-up")],
            checkout_body(Some(json!([{"sku": "RR-42", "quantity": 1}]))),
        )
        .await;
    assert_eq!(warm_up.status, StatusCode::ACCEPTED, "{}", warm_up.body);
    saga_drains(&shop).await;

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
            let (mut accepted, mut held_back, mut refused) = (0_usize, 0_usize, 0_usize);
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
                    // Backpressure from the backlog; other refusals (a pool or the catalog overloaded
                    // by the tests running beside this one) are 503 with Retry-After as well.
                    let detail = answer.body["detail"].as_str().unwrap_or_default();
                    if detail.contains("waiting for confirmation") {
                        held_back += 1;
                    }
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            (accepted, held_back, refused)
        }
    });
    let started = Instant::now();
    let results = futures::future::join_all(clients).await;
    let posting = started.elapsed();
    let accepted: usize = results.iter().map(|(a, _, _)| a).sum();
    let held_back: usize = results.iter().map(|(_, h, _)| h).sum();
    let refused: usize = results.iter().map(|(_, _, r)| r).sum();
    let drained = saga_drains(&shop).await;
    done.store(true, Ordering::SeqCst);
    watcher.await.expect("watcher");

    assert!(
        held_back > 0,
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
        vec![("confirmed".to_owned(), accepted as i64 + 1)],
        "every accepted order (and the warm-up's) is confirmed"
    );
    // The guarantee is the bound on the backlog, asserted exactly above: confirmation time is then at
    // most about the bound over the saga's throughput. This ceiling only catches a runaway; alone on the
    // CI machine the longest is a few seconds (docs/benchmarks.md), with other suites competing for the
    // two cores it has been seen at 35 s.
    assert!(
        longest < Duration::from_secs(60),
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
    assert_eq!(
        shed,
        Some(held_back),
        "every refusal for the backlog is counted"
    );
    eprintln!(
        "{accepted} accepted and {refused} refused ({held_back} for the backlog) in {posting:?}; backlog \
         peaked at {highest}; drained \
         {drained:?} after posting ended; longest placed-to-confirmed {longest:?}"
    );
    shop.close().await;
}
