//! The write module, against real PostgreSQL: what the operator relies on when it projects resources.
//! Upserts are idempotent and announce only real changes; a SKU belongs to one product; conflicts are
//! refused with a message a person can act on; deletes remove the projection and announce it.

mod common;

use bazaar_catalog::model::{Product, ProductLifecycle};
use bazaar_catalog::seed;
use bazaar_catalog::write::{self, Applied, Removed, WriteError};
use bazaar_contracts::catalog::{Change, ProductDeleted, ProductUpserted};
use bazaar_contracts::{Currency, Envelope, Money};
use common::Rig;

fn trail_runner() -> Product {
    seed::shop("shop")
        .products
        .into_iter()
        .find(|p| p.name == "trail-runner")
        .expect("trail-runner")
}

async fn upsert(rig: &Rig, product: &Product) -> Result<Applied, WriteError> {
    let mut tx = rig.pool.begin().await.expect("begin");
    let applied = write::upsert_product(&mut tx, &rig.outbox, product).await;
    if applied.is_ok() {
        tx.commit().await.expect("commit");
    }
    applied
}

async fn last_event(rig: &Rig) -> Envelope {
    let payload: serde_json::Value =
        sqlx::query_scalar("SELECT payload FROM outbox ORDER BY seq DESC LIMIT 1")
            .fetch_one(&rig.pool)
            .await
            .expect("an event");
    Envelope::from_json(payload.to_string().as_bytes()).expect("cloudevent")
}

#[tokio::test]
async fn an_upsert_is_idempotent_and_only_a_real_change_emits_an_event() {
    let rig = Rig::empty().await;
    let mut product = trail_runner();

    assert_eq!(
        upsert(&rig, &product).await.expect("create"),
        Applied::Created
    );
    assert_eq!(
        rig.events().await,
        [(
            "catalog.product.upserted".to_owned(),
            "product/shop/trail-runner".to_owned()
        )]
    );
    let created: ProductUpserted = last_event(&rig).await.decode().expect("payload");
    assert_eq!(created.change, Change::Created);
    assert_eq!(created.variants.len(), 3);

    assert_eq!(
        upsert(&rig, &product).await.expect("again"),
        Applied::Unchanged
    );
    assert_eq!(rig.events().await.len(), 1, "no event for no change");

    product.title = "Trail Runner 2".into();
    product.variants.pop();
    assert_eq!(
        upsert(&rig, &product).await.expect("update"),
        Applied::Updated
    );
    assert_eq!(rig.events().await.len(), 2);
    let updated: ProductUpserted = last_event(&rig).await.decode().expect("payload");
    assert_eq!(updated.change, Change::Updated);
    assert_eq!(updated.removed_skus, ["TR-42-BLU".parse().expect("sku")]);

    let mut conn = rig.pool.acquire().await.expect("conn");
    let stored = write::load_product(&mut conn, "shop", "trail-runner")
        .await
        .expect("load")
        .expect("present");
    assert_eq!(stored, product);
    // On the connection this test holds already: a second one from the same pool could wait forever.
    let variants: i64 = sqlx::query_scalar("SELECT count(*) FROM variants")
        .fetch_one(&mut *conn)
        .await
        .expect("count");
    assert_eq!(variants, 2, "the removed variant is gone");
    drop(conn);
    rig.cleanup().await;
}

#[tokio::test]
async fn a_sku_owned_by_another_product_is_refused_with_the_owner_named() {
    let rig = Rig::empty().await;
    upsert(&rig, &trail_runner()).await.expect("first owner");

    let mut copycat = trail_runner();
    copycat.name = "trail-runner-copy".into();
    copycat.slug = "trail-runner-copy".into();
    let error = upsert(&rig, &copycat).await.expect_err("SKU taken");
    match &error {
        WriteError::SkuOwnedByOtherProduct { sku, owner } => {
            assert_eq!(sku.as_str(), "TR-42-BLK");
            assert_eq!(owner, "shop/trail-runner");
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(!error.is_transient());
    let message = error.to_string();
    assert!(
        message.contains("SKU TR-42-BLK already belongs to Product shop/trail-runner"),
        "{message}"
    );
    assert_eq!(
        rig.events().await.len(),
        1,
        "nothing announced for a refusal"
    );

    // Once the owner lets go of the SKU, the other product may take it.
    let mut owner = trail_runner();
    owner.variants.retain(|v| v.sku.as_str() != "TR-42-BLK");
    upsert(&rig, &owner).await.expect("owner drops the SKU");
    copycat.variants.retain(|v| v.sku.as_str() == "TR-42-BLK");
    assert_eq!(
        upsert(&rig, &copycat).await.expect("now free"),
        Applied::Created
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn conflicting_slugs_coupon_codes_and_unknown_stores_are_refused_clearly() {
    let rig = Rig::seeded().await;
    let shop = seed::shop("shop");
    let mut conn = rig.pool.begin().await.expect("begin");

    let mut same_slug = shop.products[1].clone();
    same_slug.namespace = "other".into();
    same_slug.slug = "trail-runner".into();
    same_slug.variants[0].sku = "OTHER-1".parse().expect("sku");
    let error = write::upsert_product(&mut conn, &rig.outbox, &same_slug)
        .await
        .expect_err("slug taken");
    assert!(
        matches!(&error, WriteError::SlugTaken { owner, .. } if owner == "shop/trail-runner"),
        "{error}"
    );

    let mut same_code = shop.promotions[2].clone();
    same_code.name = "welcome-again".into();
    same_code.code = Some("welcome10".into());
    let error = write::upsert_promotion(&mut conn, &rig.outbox, &same_code)
        .await
        .expect_err("code taken");
    assert!(error.to_string().contains("WELCOME10"), "{error}");
    assert!(error.to_string().contains("shop/welcome-10"), "{error}");

    let mut nowhere = shop.fulfillments[0].clone();
    nowhere.source_stores.push("atlantis".into());
    let error = write::upsert_fulfillment(&mut conn, &rig.outbox, &nowhere)
        .await
        .expect_err("unknown store");
    assert!(error.to_string().contains("Store shop/atlantis"), "{error}");

    let mut invalid = trail_runner();
    invalid.variants[0].prices = vec![Money::parse("1.00", Currency::USD).expect("usd")];
    invalid.variants[0].compare_at_prices = vec![Money::parse("1.00", Currency::EUR).expect("eur")];
    invalid.category = "Shoes & Boots".into();
    let error = write::upsert_product(&mut conn, &rig.outbox, &invalid)
        .await
        .expect_err("invalid");
    assert!(error.is_permanent());
    let message = error.to_string();
    assert!(
        message.starts_with("Product shop/trail-runner is invalid: "),
        "{message}"
    );
    assert!(message.contains("category"), "{message}");
    assert!(
        message.contains("variants[0].compareAtPrices[0]"),
        "{message}"
    );
    drop(conn);
    rig.cleanup().await;
}

#[tokio::test]
async fn a_delete_removes_the_projection_and_announces_it_once() {
    let rig = Rig::seeded().await;
    let before = rig.events().await.len();
    let mut tx = rig.pool.begin().await.expect("begin");
    let removed = write::delete_product(&mut tx, &rig.outbox, "shop", "trail-runner")
        .await
        .expect("delete");
    tx.commit().await.expect("commit");
    assert_eq!(removed, Removed::Deleted);

    let leftovers: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM products WHERE name = 'trail-runner')
              + (SELECT count(*) FROM variants WHERE sku LIKE 'TR-%')
              + (SELECT count(*) FROM variant_prices WHERE sku LIKE 'TR-%')",
    )
    .fetch_one(&rig.pool)
    .await
    .expect("count");
    assert_eq!(leftovers, 0);
    let events = rig.events().await;
    assert_eq!(events.len(), before + 1);
    assert_eq!(events[before].0, "catalog.product.deleted");
    let deleted: ProductDeleted = last_event(&rig).await.decode().expect("payload");
    assert_eq!(deleted.slug, "trail-runner");
    assert_eq!(
        deleted.skus.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        ["TR-42-BLK", "TR-42-BLU", "TR-43-BLK"]
    );

    // Deleting again finds nothing and says so, without an event.
    let mut tx = rig.pool.begin().await.expect("begin");
    let again = write::delete_product(&mut tx, &rig.outbox, "shop", "trail-runner")
        .await
        .expect("delete again");
    tx.commit().await.expect("commit");
    assert_eq!(again, Removed::Absent);
    assert_eq!(rig.events().await.len(), before + 1);

    // The other kinds delete the same way.
    let mut tx = rig.pool.begin().await.expect("begin");
    for (kind, name) in [
        ("fulfillment", "europe"),
        ("promotion", "welcome-10"),
        ("store", "mission"),
    ] {
        let removed = match kind {
            "fulfillment" => write::delete_fulfillment(&mut tx, &rig.outbox, "shop", name).await,
            "promotion" => write::delete_promotion(&mut tx, &rig.outbox, "shop", name).await,
            _ => write::delete_store(&mut tx, &rig.outbox, "shop", name).await,
        };
        assert_eq!(removed.expect("delete"), Removed::Deleted, "{kind}");
    }
    tx.commit().await.expect("commit");
    let types: Vec<String> = rig.events().await[before + 1..]
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    assert_eq!(
        types,
        [
            "catalog.fulfillment.deleted",
            "catalog.promotion.deleted",
            "catalog.store.deleted"
        ]
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn loading_the_example_shop_twice_changes_nothing_the_second_time() {
    let rig = Rig::seeded().await;
    let events = rig.events().await.len();
    assert_eq!(events, 3 + 7 + 2 + 4);
    let mut tx = rig.pool.begin().await.expect("begin");
    let report = seed::load(&mut tx, &rig.outbox, &seed::shop("shop"))
        .await
        .expect("reload");
    tx.commit().await.expect("commit");
    assert_eq!(
        (report.created, report.updated, report.unchanged),
        (0, 0, 16)
    );
    assert_eq!(rig.events().await.len(), events);

    // A lifecycle change is a change.
    let mut parka = seed::shop("shop").products.pop().expect("parka");
    parka.lifecycle = ProductLifecycle::Active;
    let mut tx = rig.pool.begin().await.expect("begin");
    assert_eq!(
        write::upsert_product(&mut tx, &rig.outbox, &parka)
            .await
            .expect("activate"),
        Applied::Updated
    );
    tx.commit().await.expect("commit");
    rig.cleanup().await;
}
