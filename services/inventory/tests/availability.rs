//! `inventory.availability_changed`: a SKU going out of stock or coming back in stock (units available at
//! a location that ships online orders) is announced once per crossing, through the outbox in the
//! transaction of the change that crossed zero, whatever it was: stock set or adjusted by ops, a
//! reservation, its release or expiry, a location that stops or starts shipping.

mod common;

use std::time::Duration;

use bazaar_contracts::order::OrderId;
use bazaar_inventory::Settings;
use bazaar_platform::component::ComponentSpec;
use bazaar_testkit::outbox;
use common::{Shop, cancelled, placed};
use serde_json::json;

const CHANGED: &str = "inventory.availability_changed";

/// (inStock, available) of every availability change announced for `sku`, oldest first.
async fn announced(shop: &Shop, sku: &str) -> Vec<(bool, u64)> {
    outbox::events(&shop.pool, sku)
        .await
        .into_iter()
        .filter(|(event_type, _)| event_type == CHANGED)
        .map(|(_, data)| {
            (
                data["inStock"].as_bool().expect("inStock"),
                data["available"].as_u64().expect("available"),
            )
        })
        .collect()
}

/// Waits until `count` availability changes were announced for `sku`; returns them.
async fn wait_announced(shop: &Shop, sku: &str, count: usize) -> Vec<(bool, u64)> {
    bazaar_testkit::eventually(
        &format!("{count} availability changes of {sku}"),
        || async {
            let changes = announced(shop, sku).await;
            (changes.len() >= count).then_some(changes)
        },
    )
    .await
}

#[tokio::test]
async fn ops_changes_announce_only_the_crossings_of_zero() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.location("shop/west", 2).await;

    shop.stock("BOOT-42", "shop/east", 0).await;
    assert!(
        announced(&shop, "BOOT-42").await.is_empty(),
        "never in stock: nothing to announce"
    );
    shop.stock("BOOT-42", "shop/east", 2).await;
    shop.stock("BOOT-42", "shop/west", 3).await;
    shop.stock("BOOT-42", "shop/east", 0).await;
    assert_eq!(
        announced(&shop, "BOOT-42").await,
        [(true, 2)],
        "more, or less but not none, is no crossing"
    );
    let removed = shop
        .http
        .post(shop.url("/api/inventory/stock/BOOT-42/shop/west/adjustments"))
        .bearer_auth(shop.ops())
        .json(&json!({"delta": -3, "reason": "damaged"}))
        .send()
        .await
        .expect("adjust");
    assert_eq!(removed.status(), 200);
    assert_eq!(announced(&shop, "BOOT-42").await, [(true, 2), (false, 0)]);

    let data = outbox::events(&shop.pool, "BOOT-42")
        .await
        .into_iter()
        .rev()
        .find(|(event_type, _)| event_type == CHANGED)
        .expect("announced")
        .1;
    assert_eq!(data["sku"], "BOOT-42");
    assert!(data["changedAt"].as_str().is_some());
    shop.stop().await;
}

#[tokio::test]
async fn a_location_that_stops_shipping_takes_its_units_out_of_availability() {
    let shop = Shop::start().await;
    shop.location("shop/showroom", 1).await;
    shop.stock("LAMP-1", "shop/showroom", 4).await;
    let ship = |can_ship: bool| {
        shop.http
            .put(shop.url("/api/inventory/locations/shop/showroom"))
            .bearer_auth(shop.ops())
            .json(&json!({"canShip": can_ship, "priority": 1}))
            .send()
    };
    assert_eq!(ship(false).await.expect("put").status(), 200);
    assert_eq!(ship(true).await.expect("put").status(), 200);
    assert_eq!(
        announced(&shop, "LAMP-1").await,
        [(true, 4), (false, 0), (true, 4)]
    );
    shop.stop().await;
}

#[tokio::test]
async fn a_reservation_that_takes_the_last_units_and_its_release_are_crossings() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 2).await;

    let order = OrderId::new();
    shop.publish(&placed(order, &[("BOOT-42", 2)])).await;
    assert_eq!(
        wait_announced(&shop, "BOOT-42", 2).await,
        [(true, 2), (false, 0)]
    );
    shop.publish(&cancelled(order, &[("BOOT-42", 2)], false))
        .await;
    assert_eq!(
        wait_announced(&shop, "BOOT-42", 3).await,
        [(true, 2), (false, 0), (true, 2)]
    );
    shop.stop().await;
}

/// Inventory with a one-second reservation time to live, swept every 50 ms.
static SHORT_HOLDS: ComponentSpec = ComponentSpec {
    name: "inventory",
    migrations: &bazaar_inventory::MIGRATIONS,
    start: |context| {
        Box::pin(bazaar_inventory::start_with(
            context,
            Settings {
                reservation_ttl: Duration::from_secs(1),
                expiry_interval: Duration::from_millis(50),
            },
        ))
    },
};

#[tokio::test]
async fn an_expired_reservation_brings_the_sku_back_in_stock() {
    let shop = Shop::start_component(&SHORT_HOLDS).await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 1).await;
    shop.publish(&placed(OrderId::new(), &[("BOOT-42", 1)]))
        .await;
    assert_eq!(
        wait_announced(&shop, "BOOT-42", 3).await,
        [(true, 1), (false, 0), (true, 1)]
    );
    shop.stop().await;
}
