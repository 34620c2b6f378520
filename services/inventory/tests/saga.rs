//! Inventory's part in the order saga, driven the way production drives it: order events published to
//! Kafka, consumed by the running component, answered through its outbox.

mod common;

use std::time::Duration;

use bazaar_contracts::order::OrderId;
use bazaar_inventory::Settings;
use bazaar_platform::component::ComponentSpec;
use bazaar_testkit::wait_for;
use common::{PATIENCE, Shop, cancelled, confirmed, placed};
use serde_json::json;

#[tokio::test]
async fn an_order_that_one_location_can_serve_is_reserved_there_whole() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.location("shop/west", 2).await;
    // East (preferred) lacks the sandals; west has both, so the order ships from west alone.
    shop.stock("BOOT-42", "shop/east", 10).await;
    shop.stock("BOOT-42", "shop/west", 3).await;
    shop.stock("SANDAL-40", "shop/west", 2).await;

    let order = OrderId::new();
    shop.publish(&placed(order, &[("BOOT-42", 2), ("SANDAL-40", 1)]))
        .await;
    let reserved = shop
        .wait_event(&order.to_string(), "inventory.reserved")
        .await;

    assert_eq!(
        reserved["allocations"],
        json!([
            {"sku": "BOOT-42", "location": "shop/west", "quantity": 2},
            {"sku": "SANDAL-40", "location": "shop/west", "quantity": 1},
        ])
    );
    assert!(reserved["expiresAt"].as_str().is_some());
    assert_eq!(shop.level("BOOT-42", "shop/west").await, (3, 2));
    assert_eq!(shop.level("SANDAL-40", "shop/west").await, (2, 1));
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (10, 0));
    assert_eq!(shop.reservation_state(order).await.as_deref(), Some("held"));
    shop.stop().await;
}

#[tokio::test]
async fn an_order_no_single_location_can_serve_is_split_by_priority_then_most_available() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.location("shop/west", 1).await;
    shop.location("shop/far", 5).await;
    shop.stock("BOOT-42", "shop/east", 2).await;
    shop.stock("BOOT-42", "shop/west", 3).await;
    shop.stock("BOOT-42", "shop/far", 4).await;

    let order = OrderId::new();
    shop.publish(&placed(order, &[("BOOT-42", 7)])).await;
    let reserved = shop
        .wait_event(&order.to_string(), "inventory.reserved")
        .await;

    // Priority 1 first, west (3) before east (2) for having more, then far for the rest.
    assert_eq!(
        reserved["allocations"],
        json!([
            {"sku": "BOOT-42", "location": "shop/east", "quantity": 2},
            {"sku": "BOOT-42", "location": "shop/far", "quantity": 2},
            {"sku": "BOOT-42", "location": "shop/west", "quantity": 3},
        ])
    );
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (2, 2));
    assert_eq!(shop.level("BOOT-42", "shop/west").await, (3, 3));
    assert_eq!(shop.level("BOOT-42", "shop/far").await, (4, 2));
    shop.stop().await;
}

#[tokio::test]
async fn an_order_with_any_short_line_reserves_nothing_and_names_every_shortage() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 5).await;
    shop.stock("SANDAL-40", "shop/east", 1).await;

    let order = OrderId::new();
    shop.publish(&placed(
        order,
        &[("BOOT-42", 2), ("SANDAL-40", 3), ("GHOST-1", 1)],
    ))
    .await;
    let rejected = shop
        .wait_event(&order.to_string(), "inventory.rejected")
        .await;

    assert_eq!(
        rejected["shortages"],
        json!([
            {"sku": "GHOST-1", "requested": 1, "available": 0},
            {"sku": "SANDAL-40", "requested": 3, "available": 1},
        ])
    );
    // All or nothing: the boots that were there are not held either.
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (5, 0));
    assert_eq!(shop.level("SANDAL-40", "shop/east").await, (1, 0));
    assert_eq!(shop.reservation_state(order).await, None);
    shop.stop().await;
}

#[tokio::test]
async fn confirmation_commits_lowering_on_hand_and_releasing_the_hold() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 5).await;
    let order = OrderId::new();
    let items = [("BOOT-42", 2)];

    shop.publish(&placed(order, &items)).await;
    shop.wait_event(&order.to_string(), "inventory.reserved")
        .await;
    shop.publish(&confirmed(order, &items)).await;
    let committed = shop
        .wait_event(&order.to_string(), "inventory.committed")
        .await;

    assert_eq!(committed, json!({"orderId": order.to_string()}));
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (3, 0));
    assert_eq!(
        shop.reservation_state(order).await.as_deref(),
        Some("committed")
    );
    shop.stop().await;
}

#[tokio::test]
async fn cancellation_before_confirmation_releases_the_hold() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 5).await;
    let order = OrderId::new();
    let items = [("BOOT-42", 2)];

    shop.publish(&placed(order, &items)).await;
    shop.wait_event(&order.to_string(), "inventory.reserved")
        .await;
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (5, 2));
    shop.publish(&cancelled(order, &items, false)).await;
    let released = shop
        .wait_event(&order.to_string(), "inventory.released")
        .await;

    assert_eq!(released["reason"], "order_cancelled");
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (5, 0));
    assert_eq!(
        shop.reservation_state(order).await.as_deref(),
        Some("released")
    );
    shop.stop().await;
}

#[tokio::test]
async fn cancellation_after_confirmation_with_restock_puts_the_units_back_once() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 5).await;
    let order = OrderId::new();
    let items = [("BOOT-42", 2)];

    shop.publish(&placed(order, &items)).await;
    shop.publish(&confirmed(order, &items)).await;
    shop.wait_event(&order.to_string(), "inventory.committed")
        .await;
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (3, 0));
    shop.publish(&cancelled(order, &items, true)).await;
    // A second cancellation (another event, not a redelivery) must not restock twice.
    shop.publish(&cancelled(order, &items, true)).await;
    let released = shop
        .wait_event(&order.to_string(), "inventory.released")
        .await;
    assert_eq!(released["reason"], "restocked");

    let key = order.to_string();
    wait_for(PATIENCE, "both cancellations handled", || async {
        let handled: i64 =
            sqlx::query_scalar("SELECT count(*) FROM inbox WHERE event_type = 'order.cancelled'")
                .fetch_one(&shop.pool)
                .await
                .ok()?;
        (handled == 2).then_some(())
    })
    .await
    .expect("handled");
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (5, 0));
    let types: Vec<String> = shop
        .events(&key)
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(
        types,
        [
            "inventory.reserved",
            "inventory.committed",
            "inventory.released"
        ]
    );
    assert_eq!(
        shop.reservation_state(order).await.as_deref(),
        Some("restocked")
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
async fn a_reservation_never_confirmed_expires_and_its_units_return() {
    let shop = Shop::start_component(&SHORT_HOLDS).await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 5).await;
    let order = OrderId::new();

    shop.publish(&placed(order, &[("BOOT-42", 2)])).await;
    let reserved = shop
        .wait_event(&order.to_string(), "inventory.reserved")
        .await;
    let released = shop
        .wait_event(&order.to_string(), "inventory.released")
        .await;

    assert_eq!(released["reason"], "expired");
    assert!(reserved["expiresAt"].as_str().is_some());
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (5, 0));
    assert_eq!(
        shop.reservation_state(order).await.as_deref(),
        Some("expired")
    );
    let metrics = shop
        .http
        .get(shop.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("bazaar_inventory_reservations_expired_total 1"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"bazaar_inventory_reservations_total{outcome="reserved"} 1"#));
    shop.stop().await;
}

#[tokio::test]
async fn a_redelivered_order_placed_reserves_once() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 5).await;
    let order = OrderId::new();

    let envelope = shop.publish(&placed(order, &[("BOOT-42", 2)])).await;
    shop.publish_envelope(&envelope, &order.to_string()).await;
    // The order service publishing the order again (a new event) is answered once too.
    shop.publish(&placed(order, &[("BOOT-42", 2)])).await;

    wait_for(PATIENCE, "three deliveries handled", || async {
        let text = shop
            .http
            .get(shop.url("/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        let counted = |outcome: &str| {
            text.lines().any(|line| {
                line.starts_with("bazaar_kafka_consumed_total")
                    && line.contains(&format!("outcome=\"{outcome}\""))
                    && line.contains("inventory-orders")
            })
        };
        (counted("duplicate") && processed(&text) == 2).then_some(())
    })
    .await
    .expect("all delivered");

    assert_eq!(shop.level("BOOT-42", "shop/east").await, (5, 2));
    let types: Vec<String> = shop
        .events(&order.to_string())
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(types, ["inventory.reserved"]);
    shop.stop().await;
}

fn processed(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| {
            line.starts_with("bazaar_kafka_consumed_total")
                && line.contains("inventory-orders")
                && line.contains("outcome=\"processed\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn low_stock_is_signalled_once_per_crossing_of_the_threshold() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.location("shop/west", 2).await;
    shop.stock("BOOT-42", "shop/east", 6).await;
    shop.stock("BOOT-42", "shop/west", 4).await;
    shop.threshold("BOOT-42", 3).await;
    let low_signals = || async {
        let mut events = shop.events("BOOT-42").await;
        // The SKU's availability changes are keyed by it too (tests/availability.rs).
        events.retain(|(event_type, _)| event_type == "inventory.stock_low");
        events
    };
    assert!(low_signals().await.is_empty(), "10 > 3: no signal");

    // 10 -> 3 available: crossing, one signal.
    let first = OrderId::new();
    shop.publish(&placed(first, &[("BOOT-42", 7)])).await;
    shop.wait_event(&first.to_string(), "inventory.reserved")
        .await;
    // 3 -> 1: still below, no second signal.
    let second = OrderId::new();
    shop.publish(&placed(second, &[("BOOT-42", 2)])).await;
    shop.wait_event(&second.to_string(), "inventory.reserved")
        .await;
    // Back above (release 7 -> 8 available), then down again (-> 2): a second crossing.
    shop.publish(&cancelled(first, &[("BOOT-42", 7)], false))
        .await;
    shop.wait_event(&first.to_string(), "inventory.released")
        .await;
    let third = OrderId::new();
    shop.publish(&placed(third, &[("BOOT-42", 6)])).await;
    shop.wait_event(&third.to_string(), "inventory.reserved")
        .await;

    let signals = low_signals().await;
    assert_eq!(
        signals,
        vec![
            (
                "inventory.stock_low".to_owned(),
                json!({"sku": "BOOT-42", "available": 3, "threshold": 3})
            ),
            (
                "inventory.stock_low".to_owned(),
                json!({"sku": "BOOT-42", "available": 2, "threshold": 3})
            ),
        ]
    );
    shop.stop().await;
}
