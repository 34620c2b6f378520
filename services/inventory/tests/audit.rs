//! Stock set and adjusted and locations changed by ops are audited once each, with the change and the
//! request id, refusals included; admins list them at /api/inventory/audit.

mod common;

use bazaar_platform::auth::Role;
use common::Shop;
use serde_json::{Value, json};

async fn send(shop: &Shop, method: reqwest::Method, path: &str, body: Value) -> u16 {
    shop.http
        .request(method, shop.url(path))
        .bearer_auth(shop.ops())
        .header("x-request-id", "req-inventory")
        .json(&body)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn stock_and_location_changes_are_audited_with_before_and_after_and_a_refusal_records_why() {
    let shop = Shop::start().await;
    let put = reqwest::Method::PUT;
    let post = reqwest::Method::POST;
    assert_eq!(
        send(
            &shop,
            put.clone(),
            "/api/inventory/locations/shop/depot",
            json!({"canShip": true, "priority": 5})
        )
        .await,
        200
    );
    assert_eq!(
        send(
            &shop,
            put.clone(),
            "/api/inventory/locations/shop/depot",
            json!({"canShip": false, "priority": 7})
        )
        .await,
        200
    );
    let stock = "/api/inventory/stock/MUG-1/shop/depot";
    assert_eq!(
        send(&shop, put, stock, json!({"onHand": 10, "reason": "count"})).await,
        200
    );
    let adjust = format!("{stock}/adjustments");
    assert_eq!(
        send(
            &shop,
            post.clone(),
            &adjust,
            json!({"delta": -3, "reason": "broken"})
        )
        .await,
        200
    );
    assert_eq!(
        send(
            &shop,
            post,
            &adjust,
            json!({"delta": -50, "reason": "lost"})
        )
        .await,
        409,
        "cannot go below zero"
    );

    let admin = shop.token(&[Role::Admin]);
    let trail: Value = shop
        .http
        .get(shop.url("/api/inventory/audit"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("trail")
        .json()
        .await
        .expect("json");
    let entries: Vec<(&str, &str, &str)> = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["resourceId"].as_str().expect("resource"),
                e["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("stock.adjust", "MUG-1@shop/depot", "refused"),
            ("stock.adjust", "MUG-1@shop/depot", "succeeded"),
            ("stock.set", "MUG-1@shop/depot", "succeeded"),
            ("location.put", "shop/depot", "succeeded"),
            ("location.put", "shop/depot", "succeeded"),
        ]
    );
    let items = trail["items"].as_array().expect("items");
    assert!(
        items[0]["detail"]
            .as_str()
            .expect("why")
            .contains("below zero")
    );
    assert_eq!(items[1]["before"], json!({"onHand": 10}));
    assert_eq!(items[1]["after"], json!({"onHand": 7, "reason": "broken"}));
    assert_eq!(items[2]["before"], json!({"onHand": 0}));
    assert_eq!(items[3]["before"]["priority"], 5);
    assert_eq!(items[3]["after"]["canShip"], false);
    assert_eq!(
        items[4]["before"],
        Value::Null,
        "a new location had nothing before"
    );
    assert!(items.iter().all(|e| e["requestId"] == "req-inventory"));
    assert!(items.iter().all(|e| e["actor"] == "ops-user-1"));
    let tamper = sqlx::query("UPDATE audit_log SET outcome = 'succeeded'")
        .execute(&shop.pool)
        .await;
    assert!(tamper.is_err(), "append-only");
    shop.stop().await;
}

/// (action, resource, outcome) of the inventory trail, newest first.
async fn trail(shop: &Shop) -> Vec<(String, String, String)> {
    let admin = shop.token(&[Role::Admin]);
    let page: Value = shop
        .http
        .get(shop.url("/api/inventory/audit"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            let text = |field: &str| e[field].as_str().unwrap_or_default().to_owned();
            (text("action"), text("resourceId"), text("outcome"))
        })
        .collect()
}

#[tokio::test]
async fn every_refused_stock_or_location_change_and_every_threshold_change_is_audited_once() {
    let shop = Shop::start().await;
    let put = reqwest::Method::PUT;
    let post = reqwest::Method::POST;
    let stock = "/api/inventory/stock/MUG-1/shop/depot";
    // The location is not registered yet: set and adjust are refused.
    assert_eq!(
        send(
            &shop,
            put.clone(),
            stock,
            json!({"onHand": 1, "reason": "count"})
        )
        .await,
        422
    );
    let adjust = format!("{stock}/adjustments");
    assert_eq!(
        send(&shop, post, &adjust, json!({"delta": 1, "reason": "found"})).await,
        422
    );
    assert_eq!(
        send(
            &shop,
            put.clone(),
            "/api/inventory/locations/shop/depot",
            json!({"canShip": true, "priority": -1})
        )
        .await,
        422
    );
    assert_eq!(
        send(
            &shop,
            put.clone(),
            "/api/inventory/thresholds/MUG-1",
            json!({"threshold": 4, "reason": "reorder point"})
        )
        .await,
        204
    );
    assert_eq!(
        send(
            &shop,
            put,
            "/api/inventory/thresholds/MUG-1",
            json!({"threshold": -4, "reason": "oops"})
        )
        .await,
        422
    );
    let strings = |rows: &[(&str, &str, &str)]| -> Vec<(String, String, String)> {
        rows.iter()
            .map(|(a, r, o)| (a.to_string(), r.to_string(), o.to_string()))
            .collect()
    };
    assert_eq!(
        trail(&shop).await,
        strings(&[
            ("threshold.set", "MUG-1", "refused"),
            ("threshold.set", "MUG-1", "succeeded"),
            ("location.put", "shop/depot", "refused"),
            ("stock.adjust", "MUG-1@shop/depot", "refused"),
            ("stock.set", "MUG-1@shop/depot", "refused"),
        ]),
        "one row per attempt, newest first"
    );
    let admin = shop.token(&[Role::Admin]);
    let page: Value = shop
        .http
        .get(shop.url("/api/inventory/audit?action=threshold.set"))
        .bearer_auth(admin)
        .send()
        .await
        .expect("audit")
        .json()
        .await
        .expect("json");
    let set = &page["items"][1];
    assert_eq!(set["before"], json!({"threshold": null}));
    assert_eq!(
        set["after"],
        json!({"threshold": 4, "reason": "reorder point"})
    );
    assert_eq!(set["requestId"], "req-inventory");
    let unchanged: i64 = sqlx::query_scalar("SELECT count(*) FROM stock")
        .fetch_one(&shop.pool)
        .await
        .expect("count");
    assert_eq!(unchanged, 0, "refusals change nothing");
    shop.stop().await;
}
