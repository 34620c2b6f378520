//! Ratings in the listing, from the review component's events over the real broker: a running catalog
//! (HTTP, PostgreSQL, Kafka) keeps each product's last rating summary (`review.rating_summary.changed`),
//! sorts by it (`sort=rating`) and filters on it (`minRating`), and drops its cached pages when one arrives.

use std::time::Duration;

use bazaar_catalog::{COMPONENT, seed, write};
use bazaar_contracts::review::{RatingSummaryChanged, StarHistogram};
use bazaar_contracts::{DomainEvent, Envelope};
use bazaar_platform::auth::AuthConfig;
use bazaar_platform::kafka::Kafka;
use bazaar_platform::runtime::{ServeConfig, spawn};
use bazaar_testkit::{TestEnv, wait_for};
use chrono::{TimeDelta, Utc};
use rdkafka::producer::FutureRecord;

const PATIENCE: Duration = Duration::from_secs(45);

async fn publish(kafka: &Kafka, event: &RatingSummaryChanged) {
    let envelope = Envelope::wrap("/bazaar/review", event).expect("wrap");
    let topic = kafka.topic(RatingSummaryChanged::TOPIC.name());
    kafka
        .producer()
        .send(
            FutureRecord::to(&topic)
                .key(&event.product_slug)
                .payload(&envelope.to_json()),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("the broker took the event");
}

fn summary(slug: &str, counts: [u32; 5], minutes_ago: i64) -> RatingSummaryChanged {
    let mut event = RatingSummaryChanged::new(slug, StarHistogram::from_counts(counts));
    event.changed_at = Utc::now() - TimeDelta::minutes(minutes_ago);
    event
}

#[tokio::test]
async fn rating_summaries_from_review_events_sort_and_filter_the_listing() {
    let env = TestEnv::start().await.expect("infrastructure");
    let config = ServeConfig::local(
        &env.database_url,
        &env.kafka_brokers,
        &env.id,
        AuthConfig::default(),
    );
    let kafka = Kafka::connect(&config.kafka, "catalog-ratings-test").expect("producer");
    let running = spawn(&[&COMPONENT], config).await.expect("catalog running");
    let pool = env.pool(&env.schema("catalog")).await.expect("pool");
    let mut tx = pool.begin().await.expect("begin");
    seed::load(&mut tx, &write::outbox(), &seed::shop("shop"))
        .await
        .expect("seed");
    tx.commit().await.expect("commit");

    let client = reqwest::Client::new();
    let list = |query: &'static str| {
        let url = format!("{}/api/catalog/products?{query}", running.base_url);
        let client = client.clone();
        async move {
            let page: serde_json::Value = client
                .get(&url)
                .send()
                .await
                .expect("GET")
                .json()
                .await
                .expect("json");
            page
        }
    };
    let slugs = |page: &serde_json::Value| -> Vec<String> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["slug"].as_str().expect("slug").to_owned())
            .collect()
    };
    // Read (and cache) the rating listing before any review: no product has a rating.
    let before = list("sort=rating&limit=2").await;
    assert!(before["items"][0].get("rating").is_none(), "{before}");

    publish(&kafka, &summary("road-racer", [0, 0, 0, 0, 2], 5)).await;
    publish(&kafka, &summary("trail-socks", [0, 0, 1, 0, 0], 5)).await;
    publish(&kafka, &summary("merino-tee", [0, 0, 0, 1, 1], 5)).await;
    wait_for(PATIENCE, "the rating order to be served", || async {
        let page = list("sort=rating&limit=3").await;
        (slugs(&page) == ["road-racer", "merino-tee", "trail-socks"]).then_some(page)
    })
    .await
    .expect("ratings consumed and the cached page dropped");
    let page = list("sort=rating&limit=1").await;
    assert_eq!(
        page["items"][0]["rating"],
        serde_json::json!({"average": 5.0, "count": 2})
    );
    let good = list("minRating=4&sort=title").await;
    assert_eq!(slugs(&good), ["merino-tee", "road-racer"]);

    // A summary older than the one held changes nothing (events of a product may arrive late); a newer
    // one replaces it.
    publish(&kafka, &summary("road-racer", [2, 0, 0, 0, 0], 30)).await;
    publish(&kafka, &summary("trail-socks", [0, 0, 0, 0, 1], 1)).await;
    wait_for(PATIENCE, "the newer socks summary to be served", || async {
        let page = list("sort=rating&limit=2").await;
        (slugs(&page) == ["road-racer", "trail-socks"]).then_some(())
    })
    .await
    .expect("newer summary applied, older ignored");
    let held: f64 =
        sqlx::query_scalar("SELECT average FROM product_ratings WHERE slug = 'road-racer'")
            .fetch_one(&pool)
            .await
            .expect("rating");
    assert_eq!(held, 5.0);

    pool.close().await;
    running.stop().await.expect("clean stop");
    env.cleanup().await;
}
