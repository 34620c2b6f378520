//! Stores declared in the catalog become stock locations: a warehouse, or a retail store that ships from
//! store, serves online orders while active; a deleted Store stops serving them but keeps its stock.

mod common;

use bazaar_contracts::catalog::{Change, StoreDeleted, StoreKind, StoreUpserted};
use bazaar_contracts::{DomainEvent, Envelope, Topic};
use bazaar_testkit::wait_for;
use common::{PATIENCE, Shop};

fn store(name: &str, kind: StoreKind, ship_from_store: bool) -> StoreUpserted {
    StoreUpserted {
        namespace: "shop".into(),
        name: name.into(),
        change: Change::Created,
        display_name: name.into(),
        kind,
        active: true,
        pickup: false,
        ship_from_store,
    }
}

async fn announce<E: DomainEvent>(shop: &Shop, event: &E) {
    let envelope = Envelope::wrap("/bazaar/catalog", event).expect("envelope");
    shop.publish_to(Topic::CATALOG, &envelope, &event.key())
        .await;
}

async fn location(shop: &Shop, name: &str) -> Option<(bool, i32, String)> {
    sqlx::query_as("SELECT can_ship, priority, source FROM locations WHERE name = $1")
        .bind(name)
        .fetch_optional(&shop.pool)
        .await
        .expect("location")
}

#[tokio::test]
async fn catalog_stores_become_locations_that_ship_when_they_should() {
    let shop = Shop::start().await;
    announce(&shop, &store("depot", StoreKind::Warehouse, false)).await;
    announce(&shop, &store("downtown", StoreKind::Retail, false)).await;
    announce(&shop, &store("mall", StoreKind::Retail, true)).await;
    announce(
        &shop,
        &StoreDeleted {
            namespace: "shop".into(),
            name: "mall".into(),
        },
    )
    .await;

    wait_for(PATIENCE, "the mall's deletion", || async {
        location(&shop, "shop/mall")
            .await
            .filter(|(can_ship, _, _)| !can_ship)
    })
    .await
    .expect("projected");
    assert_eq!(
        location(&shop, "shop/depot").await,
        Some((true, 100, "catalog".into()))
    );
    assert_eq!(
        location(&shop, "shop/downtown").await,
        Some((false, 100, "catalog".into()))
    );
    // Ops may then stock it and tune its priority.
    shop.stock("BOOT-42", "shop/depot", 3).await;
    assert_eq!(shop.level("BOOT-42", "shop/depot").await, (3, 0));
    shop.stop().await;
}
