//! `review.rating_summary.changed`: every review change that alters a product's rating summary announces
//! the whole new summary through the review component's outbox, in the change's transaction, and the
//! relay publishes it to `bazaar.review`; changes that leave the summary as it was announce nothing.

mod common;

use std::time::Duration;

use bazaar_contracts::catalog::ProductLifecycle;
use bazaar_contracts::review::RatingSummaryChanged;
use bazaar_contracts::{DomainEvent, Envelope, Topic};
use bazaar_platform::auth::Role;
use bazaar_review::{Moderation, ReviewConfig};
use bazaar_testkit::outbox;
use common::{Harness, Review, Subject, review};
use rdkafka::Message;
use rdkafka::consumer::{Consumer, StreamConsumer};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MUG: &str = "/api/reviews/products/camp-mug";
const CHANGED: &str = "review.rating_summary.changed";

/// The summaries announced for `slug`, oldest first: (count, histogram 1..5).
async fn announced(shop: &Harness, slug: &str) -> Vec<(u64, [u64; 5])> {
    outbox::events(&shop.db, slug)
        .await
        .into_iter()
        .map(|(event_type, data)| {
            assert_eq!(event_type, CHANGED);
            let stars = |n: &str| data["histogram"][n].as_u64().expect("star count");
            (
                data["count"].as_u64().expect("count"),
                [stars("1"), stars("2"), stars("3"), stars("4"), stars("5")],
            )
        })
        .collect()
}

async fn write(shop: &Harness, token: &str, body: Value) -> Value {
    let answer = shop
        .call(Method::PUT, &format!("{MUG}/mine"), Some(token), Some(body))
        .await;
    assert!(answer.status.is_success(), "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn every_change_of_a_products_published_reviews_announces_its_new_summary() {
    let shop = Harness::start(Review::config()).await;
    shop.product("camp-mug", ProductLifecycle::Active, &[("MUG-1", "12.00")])
        .await;
    let ada = shop.shopper("ada");
    let bob = shop.shopper("bob");
    let ops = shop.token("oscar", &[Role::Ops]);

    write(&shop, &ada, review(5, "Keeps coffee hot")).await;
    assert_eq!(announced(&shop, "camp-mug").await, [(1, [0, 0, 0, 0, 1])]);

    let mut retitled = review(5, "Keeps coffee very hot");
    retitled["body"] = json!("Edited, same stars.");
    write(&shop, &ada, retitled).await;
    assert_eq!(
        announced(&shop, "camp-mug").await.len(),
        1,
        "an edit that keeps the stars changes no summary"
    );

    write(&shop, &ada, review(3, "Chips easily")).await;
    let bobs = write(&shop, &bob, review(4, "Fine")).await;
    let id = bobs["id"].as_str().expect("id");

    let hidden = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{id}/hide"),
            Some(&ops),
            Some(json!({"reason": "Off topic"})),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK, "{}", hidden.body);
    let refused = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{id}/hide"),
            Some(&ops),
            Some(json!({"reason": ""})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let shown = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{id}/publish"),
            Some(&ops),
            None,
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);

    let deleted = shop
        .call(Method::DELETE, &format!("{MUG}/mine"), Some(&ada), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    assert_eq!(
        announced(&shop, "camp-mug").await,
        [
            (1, [0, 0, 0, 0, 1]), // Ada writes 5 stars
            (1, [0, 0, 1, 0, 0]), // Ada changes to 3
            (2, [0, 0, 1, 1, 0]), // Bob writes 4
            (1, [0, 0, 1, 0, 0]), // staff hide Bob's (the refused attempt announces nothing)
            (2, [0, 0, 1, 1, 0]), // staff show it again
            (1, [0, 0, 0, 1, 0]), // Ada deletes hers
        ]
    );
    let last = outbox::events(&shop.db, "camp-mug")
        .await
        .pop()
        .expect("an event")
        .1;
    assert_eq!(last["productSlug"], "camp-mug");
    assert_eq!(last["average"], 4.0);
    let summary = shop.get(&format!("{MUG}/summary"), None).await;
    assert_eq!(
        summary.body["histogram"], last["histogram"],
        "the event and the API agree"
    );

    // The relay publishes them to bazaar.review, keyed by the product, in order.
    let consumer: StreamConsumer = shop
        .env
        .consumer_config("summary-reader")
        .create()
        .expect("consumer");
    consumer
        .subscribe(&[&shop.kafka.topic(Topic::REVIEW.name())])
        .expect("subscribe");
    let mut counts = Vec::new();
    while counts.len() < 6 {
        let message = tokio::time::timeout(Duration::from_secs(60), consumer.recv())
            .await
            .expect("the summaries reach the broker")
            .expect("a message");
        assert_eq!(message.key(), Some("camp-mug".as_bytes()));
        let envelope = Envelope::from_json(message.payload().expect("payload")).expect("event");
        let event: RatingSummaryChanged = envelope.decode().expect("the contract");
        assert_eq!(event.key(), "camp-mug");
        counts.push(event.count);
    }
    assert_eq!(counts, [1, 1, 2, 1, 2, 1]);
    shop.stop().await;
}

#[tokio::test]
async fn a_held_review_changes_no_summary_until_staff_publish_it() {
    let shop = Harness::start(ReviewConfig {
        moderation: Moderation::Hold,
        ..Review::config()
    })
    .await;
    shop.product("camp-mug", ProductLifecycle::Active, &[("MUG-1", "12.00")])
        .await;
    let ada = shop.shopper("ada");
    let merchandiser = shop.token("mia", &[Role::Merchandiser]);

    let written = write(&shop, &ada, review(2, "Leaks")).await;
    assert_eq!(written["status"], "pending");
    assert!(
        announced(&shop, "camp-mug").await.is_empty(),
        "a held review is not in the summary"
    );
    let id = written["id"].as_str().expect("id");
    let published = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{id}/publish"),
            Some(&merchandiser),
            None,
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert_eq!(announced(&shop, "camp-mug").await, [(1, [0, 1, 0, 0, 0])]);
    shop.stop().await;
}
