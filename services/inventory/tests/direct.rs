//! Guarantees under concurrency, shown by calling the saga handler and the expiry sweep directly, many at a
//! time, against real PostgreSQL: no oversell, no negative stock, no deadlock, no release of sold stock.

mod common;

use std::time::Duration;

use bazaar_contracts::order::OrderId;
use bazaar_inventory::Settings;
use bazaar_inventory::metrics::ReservationOutcome;
use bazaar_inventory::service::{Reservation, lock_reservation};
use bazaar_testkit::wait_for;
use common::{Direct, InventoryComponent, PATIENCE, Subject, confirmed, placed};

#[tokio::test]
async fn twenty_concurrent_orders_for_the_last_five_units_sell_exactly_five() {
    let shop = Direct::start(InventoryComponent::config().settings()).await;
    // The last five units, split over two locations; a second SKU in every order makes each transaction
    // lock several rows, in whichever order the lines come.
    shop.stock("LAST-1", "shop/east", 1, 3).await;
    shop.stock("LAST-1", "shop/west", 2, 2).await;
    shop.stock("PLENTY-1", "shop/east", 1, 1000).await;
    shop.stock("PLENTY-1", "shop/west", 2, 1000).await;

    let orders: Vec<OrderId> = (0..20).map(|_| OrderId::new()).collect();
    let deliveries = orders.iter().enumerate().map(|(i, &order)| {
        let lines = if i % 2 == 0 {
            vec![("LAST-1", 1), ("PLENTY-1", 1)]
        } else {
            vec![("PLENTY-1", 1), ("LAST-1", 1)]
        };
        let shop = &shop;
        async move { shop.deliver(&placed(order, &lines)).await }
    });
    futures::future::join_all(deliveries).await;

    let mut reserved = 0;
    let mut rejected = 0;
    for order in &orders {
        let events = shop.events(&order.to_string()).await;
        assert_eq!(events.len(), 1, "exactly one answer per order: {events:?}");
        match events[0].0.as_str() {
            "inventory.reserved" => reserved += 1,
            "inventory.rejected" => rejected += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((reserved, rejected), (5, 15));
    assert_eq!(shop.level("LAST-1", "shop/east").await, (3, 3));
    assert_eq!(shop.level("LAST-1", "shop/west").await, (2, 2));
    // Rejected orders hold nothing of the SKU they could have had.
    let plenty_held =
        shop.level("PLENTY-1", "shop/east").await.1 + shop.level("PLENTY-1", "shop/west").await.1;
    assert_eq!(plenty_held, 5);
    let negative: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM stock WHERE on_hand < 0 OR reserved < 0 OR reserved > on_hand",
    )
    .fetch_one(&shop.pool)
    .await
    .expect("count");
    assert_eq!(negative, 0);
    let metrics = shop.inventory.metrics();
    assert_eq!(metrics.count(ReservationOutcome::Reserved), 5);
    assert_eq!(metrics.count(ReservationOutcome::Rejected), 15);
    shop.env.cleanup().await;
}

#[tokio::test]
async fn reservations_commits_cancellations_sweeps_and_ops_changes_racing_keep_stock_consistent() {
    // Every hold expires at once, so the sweeps race the confirmations and cancellations for the same
    // reservations, while new orders and ops adjustments lock the same rows in whatever order they come.
    let shop = Direct::start(Settings {
        reservation_ttl: Duration::from_millis(1),
        expiry_interval: Duration::from_millis(50),
    })
    .await;
    for (location, priority) in [("shop/east", 1), ("shop/west", 2)] {
        shop.stock("ALPHA-1", location, priority, 50).await;
        shop.stock("BETA-1", location, priority, 50).await;
    }
    let early: Vec<OrderId> = (0..10).map(|_| OrderId::new()).collect();
    for order in &early {
        shop.deliver(&placed(*order, &[("ALPHA-1", 3), ("BETA-1", 2)]))
            .await;
    }

    let mut work: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>> =
        Vec::new();
    for (i, order) in early.iter().enumerate() {
        let items = [("ALPHA-1", 3), ("BETA-1", 2)];
        let shop = &shop;
        if i % 2 == 0 {
            work.push(Box::pin(async move {
                shop.deliver(&confirmed(*order, &items)).await
            }));
        } else {
            work.push(Box::pin(async move {
                shop.deliver(&common::cancelled(*order, &items, false))
                    .await
            }));
        }
    }
    for i in 0..20 {
        let lines = if i % 2 == 0 {
            vec![("BETA-1", 4), ("ALPHA-1", 4)]
        } else {
            vec![("ALPHA-1", 4), ("BETA-1", 4)]
        };
        let shop = &shop;
        work.push(Box::pin(async move {
            shop.deliver(&placed(OrderId::new(), &lines)).await
        }));
    }
    for _ in 0..3 {
        let shop = &shop;
        work.push(Box::pin(async move {
            shop.inventory
                .expire_due(&shop.pool, 100)
                .await
                .expect("sweep");
        }));
    }
    for (sku, location) in [("ALPHA-1", "shop/west"), ("BETA-1", "shop/east")] {
        let shop = &shop;
        work.push(Box::pin(async move {
            let sku: bazaar_contracts::Sku = sku.parse().expect("sku");
            let location =
                bazaar_inventory::model::LocationName::parse(location).expect("location");
            let mut tx = shop.pool.begin().await.expect("begin");
            let change = bazaar_inventory::service::StockChange {
                sku: &sku,
                reason: "found in the back",
                actor: "ops-1",
            };
            shop.inventory
                .adjust_on_hand(&mut tx, &change, &location, 5)
                .await
                .expect("adjusted");
            tx.commit().await.expect("commit");
        }));
    }
    futures::future::join_all(work).await;

    // Conservation, per SKU and location: on hand = counted + adjusted - committed, and reserved = what
    // the held reservations hold.
    let rows: Vec<(String, String, i32, i32, i64, i64)> = sqlx::query_as(
        "SELECT s.sku, s.location, s.on_hand, s.reserved,
                COALESCE(sum(l.quantity) FILTER (WHERE r.state = 'committed'), 0)::bigint,
                COALESCE(sum(l.quantity) FILTER (WHERE r.state = 'held'), 0)::bigint
         FROM stock s
         LEFT JOIN reservation_lines l ON l.sku = s.sku AND l.location = s.location
         LEFT JOIN reservations r ON r.order_id = l.order_id
         GROUP BY s.sku, s.location ORDER BY s.sku, s.location",
    )
    .fetch_all(&shop.pool)
    .await
    .expect("stock");
    for (sku, location, on_hand, reserved, committed, held) in rows {
        let adjusted = i64::from(matches!(
            (sku.as_str(), location.as_str()),
            ("ALPHA-1", "shop/west") | ("BETA-1", "shop/east")
        )) * 5;
        assert_eq!(
            i64::from(on_hand),
            50 + adjusted - committed,
            "{sku} at {location}"
        );
        assert_eq!(i64::from(reserved), held, "{sku} at {location}");
    }
    // Every early order ended one way, and announced it once.
    for order in &early {
        let types: Vec<String> = shop
            .events(&order.to_string())
            .await
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        assert!(
            types.len() <= 3 && types[0] == "inventory.reserved",
            "{types:?}"
        );
    }
    shop.env.cleanup().await;
}

#[tokio::test]
async fn expiry_releases_a_held_reservation_but_never_a_committed_one() {
    let shop = Direct::start(Settings {
        reservation_ttl: Duration::from_millis(100),
        expiry_interval: Duration::from_millis(50),
    })
    .await;
    shop.stock("BOOT-42", "shop/east", 1, 10).await;
    let kept = OrderId::new();
    let abandoned = OrderId::new();
    shop.deliver(&placed(kept, &[("BOOT-42", 2)])).await;
    shop.deliver(&placed(abandoned, &[("BOOT-42", 3)])).await;
    shop.deliver(&confirmed(kept, &[("BOOT-42", 2)])).await;
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (8, 3));

    let expired = wait_for(PATIENCE, "the abandoned reservation to expire", || async {
        match shop.inventory.expire_due(&shop.pool, 100).await {
            Ok(0) | Err(_) => None,
            Ok(count) => Some(count),
        }
    })
    .await
    .expect("expired");
    assert_eq!(expired, 1);
    // Long past its own time to live, the committed one stays sold.
    assert_eq!(
        shop.inventory
            .expire_due(&shop.pool, 100)
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (8, 0));
    let kept_events: Vec<String> = shop
        .events(&kept.to_string())
        .await
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(kept_events, ["inventory.reserved", "inventory.committed"]);
    let abandoned_events = shop.events(&abandoned.to_string()).await;
    assert_eq!(abandoned_events.len(), 2);
    assert_eq!(abandoned_events[1].0, "inventory.released");
    assert_eq!(abandoned_events[1].1["reason"], "expired");
    assert_eq!(
        shop.inventory.metrics().count(ReservationOutcome::Expired),
        1
    );
    shop.env.cleanup().await;
}

#[tokio::test]
async fn a_sweep_racing_a_commit_skips_the_reservation_being_committed() {
    let shop = Direct::start(Settings {
        reservation_ttl: Duration::from_millis(1),
        expiry_interval: Duration::from_millis(50),
    })
    .await;
    shop.stock("BOOT-42", "shop/east", 1, 10).await;
    let order = OrderId::new();
    shop.deliver(&placed(order, &[("BOOT-42", 4)])).await;
    tokio::time::sleep(Duration::from_millis(20)).await; // past the 1 ms time to live

    // The confirmation takes the reservation's lock and commits it, but its transaction is still open...
    // It stands for another process (the saga's consumer, another replica), so it has a connection of
    // its own rather than one of the pool the sweep uses.
    let other_process = bazaar_platform::db::companion_pool(&shop.pool, 1);
    let mut confirming = other_process.begin().await.expect("begin");
    let Some(Reservation::Held(held)) = lock_reservation(&mut confirming, order.0)
        .await
        .expect("locked")
    else {
        panic!("reservation not held");
    };
    held.commit(&shop.inventory, &mut confirming)
        .await
        .expect("committed");
    // ...when the sweep runs: it must not wait for, nor release, that reservation.
    let swept = tokio::time::timeout(
        Duration::from_secs(5),
        shop.inventory.expire_due(&shop.pool, 100),
    )
    .await
    .expect("the sweep does not block on the locked reservation")
    .expect("sweep");
    assert_eq!(swept, 0);
    confirming.commit().await.expect("commit");
    assert_eq!(
        shop.inventory
            .expire_due(&shop.pool, 100)
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (6, 0));

    // And the database itself refuses to take a committed reservation back to released.
    let refused = sqlx::query("UPDATE reservations SET state = 'released' WHERE order_id = $1")
        .bind(order.0)
        .execute(&shop.pool)
        .await
        .expect_err("illegal transition refused");
    assert!(
        refused
            .to_string()
            .contains("cannot go from committed to released"),
        "{refused}"
    );
    shop.env.cleanup().await;
}

#[tokio::test]
async fn the_schema_refuses_oversold_or_negative_stock() {
    let shop = Direct::start(InventoryComponent::config().settings()).await;
    shop.stock("BOOT-42", "shop/east", 1, 2).await;
    for statement in [
        "UPDATE stock SET reserved = 3",
        "UPDATE stock SET on_hand = -1",
        "UPDATE stock SET reserved = -1",
    ] {
        let error = sqlx::query(statement)
            .execute(&shop.pool)
            .await
            .expect_err("refused");
        assert!(
            error.to_string().contains("violates check constraint"),
            "{error}"
        );
    }
    shop.env.cleanup().await;
}
