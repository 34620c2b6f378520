//! Promotion usage limits hold exactly, however many checkouts race for the last uses: each checkout
//! reserves its promotions' uses in the catalog when it is priced, and a cancelled order gives them back.

mod common;

use bazaar_catalog::model::{Discount, Limits, Promotion, Schedule, Targets};
use bazaar_contracts::Money;
use bazaar_platform::auth::Role;
use common::{Shop, amount, eventually};
use reqwest::StatusCode;
use serde_json::json;

/// A coupon worth 5.00 that three orders may use, in the shop's catalog.
async fn last_three(shop: &Shop) {
    let usd = bazaar_contracts::money::currency("USD").expect("USD");
    let promotion = Promotion {
        namespace: "shop".into(),
        name: "last-three".into(),
        title: Some("5 off, for the first three orders".into()),
        code: Some("LAST3".into()),
        discount: Discount::Amount(vec![Money::parse("5.00", usd).expect("amount")]),
        applies_to: Targets::default(),
        minimum_subtotal: Vec::new(),
        schedule: Schedule::default(),
        limits: Limits {
            total_uses: Some(3),
            per_customer: None,
        },
        priority: 0,
        stackable: true,
    };
    let pool = shop.pool("catalog");
    let mut tx = pool.begin().await.expect("begin");
    bazaar_catalog::write::upsert_promotion(&mut tx, &bazaar_catalog::write::outbox(), &promotion)
        .await
        .expect("promotion");
    tx.commit().await.expect("commit");
}

async fn checkout(shop: &Shop, shopper: &str) -> common::Answer {
    let token = shop.token(shopper, &[Role::Customer]);
    shop.post(
        "/api/checkout",
        Some(&token),
        &[("idempotency-key", shopper)],
        json!({
            "lines": [{"sku": "RR-42", "quantity": 1}],
            "currency": "USD",
            "couponCode": "LAST3",
            "shippingAddress": {"name": "Lucky", "line1": "1 Market St", "city": "San Francisco",
                                "region": "CA", "postalCode": "94105", "country": "US"},
            "shippingMethod": "standard",
            "paymentToken": "tok_visa",
        }),
    )
    .await
}

#[tokio::test]
async fn twenty_concurrent_checkouts_for_a_coupon_three_orders_may_use_place_exactly_three() {
    let shop = Shop::open(&[&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT]).await;
    last_three(&shop).await;

    let shoppers: Vec<String> = (0..20).map(|n| format!("shopper-{n}")).collect();
    let answers =
        futures::future::join_all(shoppers.iter().map(|shopper| checkout(&shop, shopper))).await;

    let mut placed = Vec::new();
    for (shopper, answer) in shoppers.iter().zip(&answers) {
        match answer.status {
            StatusCode::ACCEPTED => {
                assert_eq!(amount(&answer.body["discount"]), "5.00", "{}", answer.body);
                placed.push((
                    shopper.clone(),
                    answer.body["id"].as_str().unwrap_or("?").to_owned(),
                ));
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                assert_eq!(
                    answer.body["errors"][0]["field"], "couponCode",
                    "{}",
                    answer.body
                );
                assert_eq!(
                    answer.body["errors"][0]["message"], "This code has been used up.",
                    "{}",
                    answer.body
                );
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!(
        placed.len(),
        3,
        "exactly three orders got the coupon: {placed:?}"
    );

    // A cancelled order gives its use back: the next checkout may have it.
    let (shopper, order) = &placed[0];
    let token = shop.token(shopper, &[Role::Customer]);
    let cancelled = shop
        .post(
            &format!("/api/orders/{order}/cancel"),
            Some(&token),
            &[],
            json!({}),
        )
        .await;
    assert!(cancelled.status.is_success(), "{}", cancelled.body);
    let mut n = 0;
    eventually("the cancelled order's use to be given back", || {
        n += 1;
        let shopper = format!("late-{n}");
        let shop = &shop;
        async move { (checkout(shop, &shopper).await.status == StatusCode::ACCEPTED).then_some(()) }
    })
    .await;
    let late = checkout(&shop, "too-late").await;
    assert_eq!(
        late.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        late.body
    );
    shop.close().await;
}
