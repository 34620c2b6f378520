//! Back in stock (issue 15): the wishlist learns each SKU's availability from inventory's
//! `inventory.availability_changed` events on the real broker, and shows an item out of stock, and back
//! in stock once a SKU that was out of stock while saved is available again.

mod common;

use bazaar_contracts::catalog::ProductLifecycle;
use bazaar_contracts::inventory::AvailabilityChanged;
use bazaar_testkit::eventually;
use chrono::{Duration, Utc};
use common::{Harness, Review, Subject};
use reqwest::{Method, StatusCode};
use serde_json::Value;

fn availability(sku: &str, available: u32, seconds_ago: i64) -> AvailabilityChanged {
    AvailabilityChanged {
        sku: sku.parse().expect("sku"),
        in_stock: available > 0,
        available,
        changed_at: Utc::now() - Duration::seconds(seconds_ago),
    }
}

/// (outOfStock, backInStock) of `sku` in `wishlist`.
fn flags(wishlist: &Value, sku: &str) -> (bool, bool) {
    let item = wishlist["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["sku"] == sku)
        .unwrap_or_else(|| panic!("{sku} in {wishlist}"));
    (
        item["outOfStock"].as_bool().expect("outOfStock"),
        item["backInStock"].as_bool().expect("backInStock"),
    )
}

/// Waits until the wishlist of `token` shows `sku` with these flags.
async fn wait_flags(shop: &Harness, token: &str, sku: &str, expected: (bool, bool)) {
    eventually(&format!("{sku} shown as {expected:?}"), || async {
        let wishlist = shop
            .call(Method::GET, "/api/wishlist", Some(token), None)
            .await;
        (flags(&wishlist.body, sku) == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_saved_item_that_runs_out_and_comes_back_is_flagged_back_in_stock() {
    let shop = Harness::start(Review::config()).await;
    shop.product(
        "camp-mug",
        ProductLifecycle::Active,
        &[("MUG-1", "12.00"), ("MUG-2", "14.00")],
    )
    .await;
    let ada = shop.shopper("ada");
    for sku in ["MUG-1", "MUG-2"] {
        let saved = shop
            .call(
                Method::PUT,
                &format!("/api/wishlist/items/{sku}"),
                Some(&ada),
                None,
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }
    let wishlist = shop
        .call(Method::GET, "/api/wishlist", Some(&ada), None)
        .await;
    assert_eq!(
        flags(&wishlist.body, "MUG-1"),
        (false, false),
        "nothing heard of its stock: no flag"
    );

    shop.publish(&availability("MUG-1", 0, 30)).await;
    wait_flags(&shop, &ada, "MUG-1", (true, false)).await;
    let wishlist = shop
        .call(Method::GET, "/api/wishlist", Some(&ada), None)
        .await;
    let mug = &wishlist.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["sku"] == "MUG-1")
        .expect("MUG-1")
        .clone();
    assert_eq!(mug["available"], false, "out of stock cannot be bought");

    shop.publish(&availability("MUG-1", 3, 20)).await;
    wait_flags(&shop, &ada, "MUG-1", (false, true)).await;
    assert_eq!(
        flags(
            &shop
                .call(Method::GET, "/api/wishlist", Some(&ada), None)
                .await
                .body,
            "MUG-2"
        ),
        (false, false),
        "other SKUs unaffected"
    );

    // An announcement older than the one projected (a redelivery out of order) changes nothing.
    let stale = shop.publish(&availability("MUG-1", 0, 25)).await;
    shop.wait_handled_envelope(&stale).await;
    wait_flags(&shop, &ada, "MUG-1", (false, true)).await;

    // Saved while out of stock, then back: flagged too; the shared read-only view shows the same.
    shop.product("trail-hat", ProductLifecycle::Active, &[("HAT-1", "30.00")])
        .await;
    let sold_out = shop.publish(&availability("HAT-1", 0, 10)).await;
    shop.wait_handled_envelope(&sold_out).await;
    let saved = shop
        .call(Method::PUT, "/api/wishlist/items/HAT-1", Some(&ada), None)
        .await;
    assert_eq!(saved.status, StatusCode::OK);
    wait_flags(&shop, &ada, "HAT-1", (true, false)).await;
    shop.publish(&availability("HAT-1", 1, 5)).await;
    wait_flags(&shop, &ada, "HAT-1", (false, true)).await;
    let shared = shop
        .call(Method::PUT, "/api/wishlist/share", Some(&ada), None)
        .await;
    let token = shared.body["token"].as_str().expect("share token");
    let view = shop
        .call(
            Method::GET,
            &format!("/api/wishlists/shared/{token}"),
            None,
            None,
        )
        .await;
    assert_eq!(flags(&view.body, "HAT-1"), (false, true));
    shop.stop().await;
}
