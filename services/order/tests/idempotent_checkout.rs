//! Retries of one checkout (one `Idempotency-Key`) are answered with one order, however they race: a
//! client that retries after a timeout while its first request is still running is told about the order
//! that request places, never that its cart is empty.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bazaar_platform::auth::Role;
use common::Shop;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn shop() -> Shop {
    Shop::open(&[&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT]).await
}

fn cart_checkout() -> Value {
    json!({
        "shippingAddress": {"name": "Rita Retry", "line1": "1 Market St", "city": "San Francisco",
                            "region": "CA", "postalCode": "94105", "country": "US"},
        "shippingMethod": "standard",
        "paymentToken": "tok_visa",
    })
}

#[tokio::test]
async fn sixteen_concurrent_retries_of_a_cart_checkout_all_name_the_one_order_it_placed() {
    let shop = shop().await;
    let rita = shop.token("rita", &[Role::Customer]);
    // Retries arrive a few milliseconds apart, so that some come while the first attempt commits (after
    // it priced the cart, before its order is visible): the window where a retry used to find the cart
    // already emptied. Several rounds, each a new checkout with its own key.
    for round in 0..5 {
        let added = shop
            .post(
                "/api/cart/lines",
                Some(&rita),
                &[],
                json!({"sku": "RR-42", "quantity": 1}),
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
        let key = format!("rita-once-{round}");
        let attempts = (0..16u64).map(|n| {
            let key = key.clone();
            let rita = rita.clone();
            let shop = &shop;
            async move {
                tokio::time::sleep(Duration::from_millis(n * 3)).await;
                shop.post(
                    "/api/checkout",
                    Some(&rita),
                    &[("idempotency-key", key.as_str())],
                    cart_checkout(),
                )
                .await
            }
        });
        let answers = futures::future::join_all(attempts).await;

        let mut orders = BTreeSet::new();
        for answer in &answers {
            assert_eq!(
                answer.status,
                StatusCode::ACCEPTED,
                "every retry is told about the order (round {round}): {}",
                answer.body
            );
            orders.insert(answer.body["id"].as_str().unwrap_or("?").to_owned());
        }
        assert_eq!(orders.len(), 1, "one order for one key: {orders:?}");
        let cart = shop.get("/api/cart", Some(&rita), &[]).await;
        assert_eq!(
            cart.body["lines"].as_array().map(Vec::len),
            Some(0),
            "the cart was checked out: {}",
            cart.body
        );
    }
    let mine = shop.get("/api/orders", Some(&rita), &[]).await;
    assert_eq!(
        mine.body["items"].as_array().map(Vec::len),
        Some(5),
        "one order per key: {}",
        mine.body
    );

    // The same key with another body is misuse, whether or not the first attempt has finished.
    let mut other = cart_checkout();
    other["shippingMethod"] = json!("express");
    let misuse = shop
        .post(
            "/api/checkout",
            Some(&rita),
            &[("idempotency-key", "rita-once-0")],
            other,
        )
        .await;
    assert_eq!(
        misuse.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        misuse.body
    );
    assert!(
        misuse.body["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("idempotency-key-reused")),
        "{}",
        misuse.body
    );
    shop.close().await;
}

#[tokio::test]
async fn a_retry_after_a_failed_attempt_runs_again_instead_of_repeating_the_failure_forever() {
    let shop = shop().await;
    let rita = shop.token("rita", &[Role::Customer]);
    // The cart is empty: the attempt fails, and its key is not used up by the failure.
    let empty = shop
        .post(
            "/api/checkout",
            Some(&rita),
            &[("idempotency-key", "rita-later")],
            cart_checkout(),
        )
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    shop.post(
        "/api/cart/lines",
        Some(&rita),
        &[],
        json!({"sku": "RR-42", "quantity": 1}),
    )
    .await;
    let placed = shop
        .post(
            "/api/checkout",
            Some(&rita),
            &[("idempotency-key", "rita-later")],
            cart_checkout(),
        )
        .await;
    assert_eq!(placed.status, StatusCode::ACCEPTED, "{}", placed.body);
    shop.close().await;
}

#[tokio::test]
async fn a_claim_left_by_a_process_that_died_mid_checkout_is_taken_over_by_the_retry() {
    use sha2::{Digest, Sha256};

    let shop = shop().await;
    let rita = shop.token("rita", &[Role::Customer]);
    shop.post(
        "/api/cart/lines",
        Some(&rita),
        &[],
        json!({"sku": "RR-42", "quantity": 1}),
    )
    .await;
    // What a process that claimed the key and then died leaves behind: a claim a minute old, no order.
    let body = cart_checkout();
    let request: bazaar_order::checkout::CheckoutRequest =
        serde_json::from_value(body.clone()).expect("a checkout request");
    let hash = Sha256::digest(serde_json::to_vec(&request).expect("json")).to_vec();
    let orphan = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO checkout_keys (user_id, idempotency_key, request_hash, order_id, attempt, started_at)
         VALUES ('rita', 'rita-crashed', $1, $2, $3, now() - interval '1 minute')",
    )
    .bind(&hash)
    .bind(orphan)
    .bind(uuid::Uuid::now_v7())
    .execute(&shop.pool("order"))
    .await
    .expect("an orphaned claim");

    let retried = shop
        .post(
            "/api/checkout",
            Some(&rita),
            &[("idempotency-key", "rita-crashed")],
            body,
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.body);
    assert_eq!(
        retried.body["id"],
        orphan.to_string(),
        "the retry places the order the dead attempt meant to place"
    );
    shop.close().await;
}
