//! The whole loop in a running catalog (real HTTP, PostgreSQL and Kafka): a change written through the
//! write module is published by the outbox relay, and the catalog's own consumer drops the cached answer,
//! so the next read shows the change long before the cache entry would have expired.

use std::time::Duration;

use bazaar_catalog::{COMPONENT, seed, write};
use bazaar_platform::auth::AuthConfig;
use bazaar_platform::runtime::{ServeConfig, spawn};
use bazaar_testkit::{TestEnv, wait_for};

const PATIENCE: Duration = Duration::from_secs(45);

#[tokio::test]
async fn a_catalog_event_invalidates_the_cache_of_a_running_catalog() {
    let env = TestEnv::start().await.expect("infrastructure");
    let config = ServeConfig::local(
        &env.database_url,
        &env.kafka_brokers,
        &env.id,
        AuthConfig::default(),
    );
    let running = spawn(&[&COMPONENT], config).await.expect("catalog running");
    let pool = env.pool(&env.schema("catalog")).await.expect("pool");
    let outbox = write::outbox();
    let mut tx = pool.begin().await.expect("begin");
    let shop = seed::shop("shop");
    seed::load(&mut tx, &outbox, &shop).await.expect("seed");
    tx.commit().await.expect("commit");

    // Once this process's consumer has seen every seed event, nothing else will invalidate the cache.
    wait_for(
        PATIENCE,
        "the cache consumer to see the seed events",
        || async {
            let seen: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM inbox WHERE starts_with(consumer, 'catalog-cache-')",
            )
            .fetch_one(&pool)
            .await
            .ok()?;
            (seen == 16).then_some(())
        },
    )
    .await
    .expect("seed events consumed");

    let client = reqwest::Client::new();
    let url = format!("{}/api/catalog/products/trail-runner", running.base_url);
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

    wait_for(PATIENCE, "the renamed product to be served", || async {
        (read().await.1 == "Trail Runner GTX").then_some(())
    })
    .await
    .expect("cache invalidated by the event");

    pool.close().await;
    running.stop().await.expect("clean stop");
    env.cleanup().await;
}
