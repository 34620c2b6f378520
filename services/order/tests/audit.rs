//! Ops' warehouse steps and cancellations on a shopper's behalf leave one audit entry each, written with
//! the change, refusals included; the trail is listed for admins at /api/order/audit and cannot be
//! changed.

mod common;

use bazaar_platform::auth::Role;
use common::Shop;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// An order of `user` already confirmed (as the saga leaves it), written straight into the order schema.
async fn confirmed_order(shop: &Shop, user: &str, number: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO orders (id, number, user_id, email, state, currency, subtotal_minor, discount_minor,
                             shipping_minor, total_minor, shipping_address, shipping_method, payment_token)
         VALUES ($1, $2, $3, $4, 'confirmed', 'USD', 1200, 0, 0, 1200, $5, 'standard', 'tok_visa')",
    )
    .bind(id)
    .bind(number)
    .bind(user)
    .bind(format!("{user}@example.test"))
    .bind(json!({"name": "Ada", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
                 "postalCode": "94105", "country": "US"}))
    .execute(&shop.pool("order"))
    .await
    .expect("order inserted");
    id
}

/// Ops' `step` on order `id`, with a request id naming the step.
async fn staff(
    shop: &Shop,
    ops: &str,
    step: &str,
    id: Uuid,
    body: Option<Value>,
) -> common::Answer {
    shop.call(
        Method::POST,
        &format!("/api/orders/{id}/{step}"),
        Some(ops),
        &[("x-request-id", &format!("req-{step}"))],
        body,
    )
    .await
}

fn entries(trail: &Value) -> Vec<(String, String, String)> {
    trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["resourceId"].as_str().expect("resource").to_owned(),
                e["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_staff_step_is_audited_once_with_the_change_and_a_refused_one_records_why() {
    let shop = Shop::open(&[&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT]).await;
    let ops = shop.token("oscar", &[Role::Ops]);
    let admin = shop.token("root", &[Role::Admin]);
    let shopper = shop.token("ada", &[Role::Customer]);
    let shipped = confirmed_order(&shop, "ada", "BZ-900001").await;
    let cancelled_for_her = confirmed_order(&shop, "ada", "BZ-900002").await;
    let her_own = confirmed_order(&shop, "ada", "BZ-900003").await;
    assert_eq!(
        staff(&shop, &ops, "pack", shipped, None).await.status,
        StatusCode::OK
    );
    let early = staff(&shop, &ops, "deliver", shipped, None).await;
    assert_eq!(
        early.status,
        StatusCode::CONFLICT,
        "not shipped yet: {}",
        early.body
    );
    let ship = json!({"carrier": "UPS", "trackingNumber": "1Z999"});
    assert_eq!(
        staff(&shop, &ops, "ship", shipped, Some(ship)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        staff(&shop, &ops, "deliver", shipped, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        staff(&shop, &ops, "cancel", cancelled_for_her, None)
            .await
            .status,
        StatusCode::OK
    );
    let own = shop
        .post(
            &format!("/api/orders/{her_own}/cancel"),
            Some(&shopper),
            &[],
            json!({}),
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.body);
    let not_staff = shop
        .post(
            &format!("/api/orders/{shipped}/pack"),
            Some(&shopper),
            &[],
            json!({}),
        )
        .await;
    assert_eq!(not_staff.status, StatusCode::FORBIDDEN);

    let trail = shop.get("/api/order/audit", Some(&admin), &[]).await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.body);
    let (s, c) = (shipped.to_string(), cancelled_for_her.to_string());
    let expected: Vec<(String, String, String)> = [
        ("order.cancel", &c, "succeeded"),
        ("order.deliver", &s, "succeeded"),
        ("order.ship", &s, "succeeded"),
        ("order.deliver", &s, "refused"),
        ("order.pack", &s, "succeeded"),
    ]
    .iter()
    .map(|(a, r, o)| ((*a).to_owned(), (*r).clone(), (*o).to_owned()))
    .collect();
    assert_eq!(
        entries(&trail.body),
        expected,
        "newest first; a shopper cancelling her own order and a forbidden attempt are not staff actions"
    );
    let items = trail.body["items"].as_array().expect("items");
    assert_eq!(items[2]["before"], json!({"state": "packed"}));
    assert_eq!(
        items[2]["after"],
        json!({"state": "shipped", "carrier": "UPS", "trackingNumber": "1Z999"})
    );
    assert_eq!(items[2]["actor"], "oscar");
    assert_eq!(items[2]["requestId"], "req-ship");
    assert_eq!(items[0]["after"]["reason"], "requested_by_staff");
    assert!(
        items[3]["detail"]
            .as_str()
            .expect("why")
            .contains("cannot be delivered"),
        "{}",
        items[3]
    );

    let filtered = shop
        .get(
            "/api/order/audit?action=order.deliver&outcome=refused",
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(entries(&filtered.body).len(), 1);
    assert_eq!(
        shop.get("/api/order/audit", Some(&ops), &[]).await.status,
        StatusCode::FORBIDDEN,
        "admins only"
    );
    let tamper = sqlx::query("UPDATE audit_log SET actor = 'nobody'")
        .execute(&shop.pool("order"))
        .await;
    assert!(tamper.is_err(), "append-only even for SQL");
    shop.close().await;
}
