//! The whole loop in a running catalog (real HTTP, PostgreSQL and Kafka): a change written through the
//! write module is published by the outbox relay, and the catalog's own consumer drops the cached answer,
//! so the next read shows the change long before the cache entry would have expired.

mod common;

use bazaar_catalog::{seed, write};
use bazaar_testkit::{Subject, eventually};
use common::Catalog;

#[tokio::test]
async fn a_catalog_event_invalidates_the_cache_of_a_running_catalog() {
    let running = Catalog::start(Catalog::config()).await;
    let pool = &running.db;
    let outbox = write::outbox();
    let mut tx = pool.begin().await.expect("begin");
    let shop = seed::shop("shop");
    seed::load(&mut tx, &outbox, &shop).await.expect("seed");
    tx.commit().await.expect("commit");

    // Once this process's consumer has seen every seed event, nothing else will invalidate the cache.
    eventually("the cache consumer to see the seed events", || async {
        let seen: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM inbox WHERE starts_with(consumer, 'catalog-cache-')",
        )
        .fetch_one(pool)
        .await
        .ok()?;
        (seen == 16).then_some(())
    })
    .await;

    let client = reqwest::Client::new();
    let url = running.url("/api/catalog/products/trail-runner");
    let read = || async {
        let response = client.get(&url).send().await.expect("GET");
        let cache = response.headers()["x-cache"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let body: serde_json::Value = response.json().await.expect("json");
        (cache, body["title"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(read().await.1, "Trail Runner");
    assert_eq!(read().await, ("hit".to_owned(), "Trail Runner".to_owned()));

    let mut renamed = shop.products[0].clone();
    renamed.title = "Trail Runner GTX".into();
    let mut tx = pool.begin().await.expect("begin");
    write::upsert_product(&mut tx, &outbox, &renamed)
        .await
        .expect("rename");
    tx.commit().await.expect("commit");

    eventually("the renamed product to be served", || async {
        (read().await.1 == "Trail Runner GTX").then_some(())
    })
    .await;

    running.stop().await;
}
