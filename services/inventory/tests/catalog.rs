//! Stores declared in the catalog become stock locations: a warehouse, or a retail store that ships from
//! store, serves online orders while active; a deleted Store stops serving them but keeps its stock.
//! Products tell inventory which SKUs the catalog sells: stock for any other SKU is kept with a warning.

mod common;

use bazaar_contracts::catalog::{
    Change, ProductDeleted, ProductLifecycle, ProductUpserted, StoreDeleted, StoreKind,
    StoreUpserted, VariantSummary,
};
use bazaar_contracts::{DomainEvent, Envelope, Topic};
use bazaar_testkit::wait_for;
use common::{PATIENCE, Shop};
use serde_json::{Value, json};

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

fn product(name: &str, skus: &[&str], removed: &[&str]) -> ProductUpserted {
    ProductUpserted {
        namespace: "shop".into(),
        name: name.into(),
        change: Change::Created,
        slug: name.into(),
        title: name.into(),
        lifecycle: ProductLifecycle::Active,
        variants: skus
            .iter()
            .map(|sku| VariantSummary {
                sku: sku.parse().expect("sku"),
                prices: Vec::new(),
                weight_grams: None,
            })
            .collect(),
        removed_skus: removed.iter().map(|s| s.parse().expect("sku")).collect(),
    }
}

/// Sets stock through the API and returns the answer's status and body.
async fn set_stock(shop: &Shop, sku: &str, on_hand: i64) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .put(shop.url(&format!("/api/inventory/stock/{sku}/shop/depot")))
        .bearer_auth(shop.ops())
        .json(&json!({"onHand": on_hand, "reason": "stock count"}))
        .send()
        .await
        .expect("answer");
    let status = answer.status().as_u16();
    (status, answer.json().await.expect("json"))
}

#[tokio::test]
async fn stock_for_a_sku_the_catalog_does_not_sell_is_kept_with_a_warning() {
    let shop = Shop::start().await;
    announce(&shop, &store("depot", StoreKind::Warehouse, false)).await;
    announce(&shop, &product("boot", &["BOOT-42", "BOOT-43"], &[])).await;
    wait_for(PATIENCE, "the boot's SKUs", || async {
        let known: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_skus")
            .fetch_one(&shop.pool)
            .await
            .ok()?;
        (known == 2).then_some(())
    })
    .await
    .expect("projected");

    // A SKU the catalog sells: stocked, nothing to say.
    let (status, sold) = set_stock(&shop, "BOOT-42", 3).await;
    assert_eq!(status, 200, "{sold}");
    assert!(sold.get("warnings").is_none(), "{sold}");

    // One it does not sell (a typo, or goods ahead of their Product): recorded, and the caller told.
    let (status, unknown) = set_stock(&shop, "BOTO-42", 5).await;
    assert_eq!(status, 200, "{unknown}");
    assert_eq!(unknown["onHand"], 5);
    let warning = unknown["warnings"][0].as_str().expect("a warning");
    assert!(warning.contains("does not sell BOTO-42"), "{warning}");
    assert_eq!(shop.level("BOTO-42", "shop/depot").await, (5, 0));

    // A SKU the Product dropped (and a deleted Product's SKUs) warn again.
    announce(&shop, &product("boot", &["BOOT-42"], &["BOOT-43"])).await;
    announce(
        &shop,
        &ProductDeleted {
            namespace: "shop".into(),
            name: "boot".into(),
            slug: "boot".into(),
            skus: vec!["BOOT-42".parse().expect("sku")],
        },
    )
    .await;
    wait_for(PATIENCE, "the boot's deletion", || async {
        let known: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_skus")
            .fetch_one(&shop.pool)
            .await
            .ok()?;
        (known == 0).then_some(())
    })
    .await
    .expect("projected");
    let (_, dropped) = set_stock(&shop, "BOOT-42", 4).await;
    assert!(dropped["warnings"][0].is_string(), "{dropped}");
    shop.stop().await;
}
