//! Reviews and ratings, as shoppers and staff use them over HTTP, with products and purchases learned from
//! real catalog and order events.

mod common;

use bazaar_contracts::catalog::ProductLifecycle;
use bazaar_contracts::order::OrderId;
use bazaar_platform::auth::Role;
use bazaar_review::{Moderation, ReviewConfig};
use bazaar_testkit::wait_for;
use common::{Harness, PATIENCE, Review, Subject, delivered, placed, review};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MUG: &str = "/api/reviews/products/camp-mug";

fn titles(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["title"].as_str().expect("title"))
        .collect()
}

#[tokio::test]
async fn a_shopper_reviews_a_product_once_edits_it_and_the_summary_follows() {
    let shop = Harness::start(Review::config()).await;
    shop.product(
        "camp-mug",
        ProductLifecycle::Active,
        &[("MUG-1", "12.00"), ("MUG-2", "14.00")],
    )
    .await;
    let ada = shop.shopper("ada");
    let bob = shop.shopper("bob");

    let guest = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            None,
            Some(review(5, "Great")),
        )
        .await;
    assert_eq!(
        guest.status,
        StatusCode::UNAUTHORIZED,
        "only signed-in shoppers review"
    );

    let mut first = review(5, "Keeps coffee hot");
    first["sku"] = json!("MUG-2");
    first["authorName"] = json!("Ada L.");
    let written = shop
        .call(Method::PUT, &format!("{MUG}/mine"), Some(&ada), Some(first))
        .await;
    assert_eq!(written.status, StatusCode::CREATED, "{}", written.body);
    assert_eq!(
        written.body["status"], "published",
        "visible at once by default"
    );
    assert_eq!(written.body["sku"], "MUG-2");
    assert_eq!(written.body["authorName"], "Ada L.");
    let id = written.body["id"].as_str().expect("id").to_owned();

    let edited = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&ada),
            Some(review(3, "Chips easily")),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK, "the same review, edited");
    assert_eq!(edited.body["id"], id.as_str());
    assert_eq!(edited.body["rating"], 3);
    let bobs = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&bob),
            Some(review(4, "Solid")),
        )
        .await;
    assert_eq!(bobs.status, StatusCode::CREATED);

    let summary = shop.get(&format!("{MUG}/summary"), None).await;
    assert_eq!(summary.status, StatusCode::OK);
    assert_eq!(summary.body["count"], 2, "{}", summary.body);
    assert_eq!(summary.body["average"], 3.5);
    assert_eq!(
        summary.body["histogram"],
        json!({"1": 0, "2": 0, "3": 1, "4": 1, "5": 0}),
        "the edit moved Ada's review from 5 to 3 stars"
    );

    let page = shop.get(MUG, None).await;
    assert_eq!(
        titles(&page.body),
        ["Solid", "Chips easily"],
        "newest first"
    );
    assert!(
        page.body["items"][0].get("reportCount").is_none(),
        "staff fields stay private"
    );

    let wrong_variant = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&bob),
            Some(json!({"rating": 4, "title": "x", "sku": "OTHER-1"})),
        )
        .await;
    assert_eq!(wrong_variant.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = shop
        .call(
            Method::PUT,
            "/api/reviews/products/no-such-thing/mine",
            Some(&bob),
            Some(review(4, "x")),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let deleted = shop
        .call(Method::DELETE, &format!("{MUG}/mine"), Some(&bob), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let summary = shop.get(&format!("{MUG}/summary"), None).await;
    assert_eq!(summary.body["count"], 1);
    assert_eq!(summary.body["average"], 3.0);
    shop.stop().await;
}

#[tokio::test]
async fn a_review_is_a_verified_purchase_once_an_order_containing_the_product_is_delivered() {
    let shop = Harness::start(Review::config()).await;
    shop.product(
        "camp-mug",
        ProductLifecycle::Active,
        &[("MUG-1", "12.00"), ("MUG-2", "14.00")],
    )
    .await;
    let ada = shop.shopper("ada");
    let bob = shop.shopper("bob");
    let adas_order = OrderId::new();
    let bobs_order = OrderId::new();
    shop.publish(&placed(adas_order, "ada", "MUG-1")).await;
    shop.publish(&placed(bobs_order, "bob", "MUG-2")).await;
    for (token, title) in [(&ada, "Ada's"), (&bob, "Bob's")] {
        let written = shop
            .call(
                Method::PUT,
                &format!("{MUG}/mine"),
                Some(token),
                Some(review(4, title)),
            )
            .await;
        assert_eq!(written.status, StatusCode::CREATED);
        assert_eq!(
            written.body["verifiedPurchase"], false,
            "nothing delivered yet"
        );
    }

    shop.publish(&delivered(adas_order, "ada")).await;
    let page = wait_for(PATIENCE, "Ada's review verified", || async {
        let page = shop.get(MUG, None).await.body;
        let ada = page["items"]
            .as_array()?
            .iter()
            .find(|r| r["title"] == "Ada's")?
            .clone();
        (ada["verifiedPurchase"] == true).then_some(page)
    })
    .await
    .expect("verified from the delivery event");
    let bobs = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|r| r["title"] == "Bob's")
        .expect("Bob's review");
    assert_eq!(bobs["verifiedPurchase"], false, "placed but not delivered");
    shop.stop().await;
}

#[tokio::test]
async fn held_reviews_wait_for_staff_who_publish_or_hide_them_with_a_reason_and_every_decision_is_audited()
 {
    let shop = Harness::start(ReviewConfig {
        moderation: Moderation::Hold,
        ..Review::config()
    })
    .await;
    shop.product("camp-mug", ProductLifecycle::Active, &[("MUG-1", "12.00")])
        .await;
    let ada = shop.shopper("ada");
    let merchandiser = shop.token("mia", &[Role::Merchandiser]);
    let ops = shop.token("oscar", &[Role::Ops]);
    let admin = shop.token("root", &[Role::Admin]);

    let written = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&ada),
            Some(review(2, "Leaks")),
        )
        .await;
    assert_eq!(written.body["status"], "pending", "held by the setting");
    let id = written.body["id"].as_str().expect("id").to_owned();
    assert!(
        titles(&shop.get(MUG, None).await.body).is_empty(),
        "not listed while held"
    );
    assert_eq!(
        shop.get(&format!("{MUG}/summary"), None).await.body["count"],
        0
    );

    let queue = shop
        .get("/api/reviews/moderation", Some(&merchandiser))
        .await;
    assert_eq!(titles(&queue.body), ["Leaks"]);
    let by_shopper = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{id}/publish"),
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(by_shopper.status, StatusCode::FORBIDDEN);

    let published = shop
        .call_with(
            Method::POST,
            &format!("/api/reviews/{id}/publish"),
            Some(&merchandiser),
            &[("x-request-id", "req-publish-1")],
            None,
        )
        .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert_eq!(titles(&shop.get(MUG, None).await.body), ["Leaks"]);
    assert_eq!(
        shop.get(&format!("{MUG}/summary"), None).await.body["count"],
        1
    );

    let refused = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{id}/hide"),
            Some(&ops),
            Some(json!({"reason": "   "})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reason is required"
    );
    let hidden = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{id}/hide"),
            Some(&ops),
            Some(json!({"reason": "Personal data in the text"})),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::OK);
    assert_eq!(hidden.body["hiddenReason"], "Personal data in the text");
    assert!(titles(&shop.get(MUG, None).await.body).is_empty());
    assert_eq!(
        shop.get(&format!("{MUG}/summary"), None).await.body["count"],
        0
    );
    let mine = shop.get(&format!("{MUG}/mine"), Some(&ada)).await;
    assert_eq!(mine.body["status"], "hidden");
    assert_eq!(
        mine.body["hiddenReason"], "Personal data in the text",
        "the author learns why"
    );

    let not_admin = shop.get("/api/review/audit", Some(&ops)).await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);
    let trail = shop
        .get(&format!("/api/review/audit?resourceId={id}"), Some(&admin))
        .await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.body);
    let entries: Vec<(&str, &str, &str)> = trail.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["outcome"].as_str().expect("outcome"),
                e["actor"].as_str().expect("actor"),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("review.hide", "succeeded", "oscar"),
            ("review.hide", "refused", "oscar"),
            ("review.publish", "succeeded", "mia"),
        ],
        "newest first; the shopper's forbidden attempt is not a staff action"
    );
    let items = trail.body["items"].as_array().expect("items");
    assert_eq!(items[0]["before"], json!({"status": "published"}));
    assert_eq!(
        items[0]["after"],
        json!({"status": "hidden", "reason": "Personal data in the text"})
    );
    assert!(
        items[1]["detail"]
            .as_str()
            .expect("detail")
            .contains("reason")
    );
    assert_eq!(items[2]["requestId"], "req-publish-1");
    assert_eq!(items[2]["before"], json!({"status": "pending"}));

    for method in [Method::PUT, Method::DELETE, Method::PATCH, Method::POST] {
        let changed = shop
            .call(method, "/api/review/audit", Some(&admin), Some(json!({})))
            .await;
        assert_eq!(
            changed.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "the trail cannot be changed"
        );
    }
    shop.stop().await;
}

#[tokio::test]
async fn shoppers_vote_reviews_helpful_and_report_them_and_pages_follow_a_cursor() {
    let shop = Harness::start(Review::config()).await;
    shop.product("camp-mug", ProductLifecycle::Active, &[("MUG-1", "12.00")])
        .await;
    let mut ids = Vec::new();
    for (who, stars) in [("ann", 5), ("ben", 4), ("cat", 1)] {
        let written = shop
            .call(
                Method::PUT,
                &format!("{MUG}/mine"),
                Some(&shop.shopper(who)),
                Some(review(stars, &format!("{who} says"))),
            )
            .await;
        ids.push(written.body["id"].as_str().expect("id").to_owned());
    }
    let (ann, ben) = (&ids[0], &ids[1]);
    for voter in ["v1", "v2"] {
        let vote = shop
            .call(
                Method::PUT,
                &format!("/api/reviews/{ben}/helpful"),
                Some(&shop.shopper(voter)),
                None,
            )
            .await;
        assert_eq!(vote.status, StatusCode::OK);
    }
    let again = shop
        .call(
            Method::PUT,
            &format!("/api/reviews/{ben}/helpful"),
            Some(&shop.shopper("v1")),
            None,
        )
        .await;
    assert_eq!(again.body["helpfulCount"], 2, "one vote per shopper");
    let own = shop
        .call(
            Method::PUT,
            &format!("/api/reviews/{ann}/helpful"),
            Some(&shop.shopper("ann")),
            None,
        )
        .await;
    assert_eq!(
        own.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not one's own"
    );
    shop.call(
        Method::PUT,
        &format!("/api/reviews/{ann}/helpful"),
        Some(&shop.shopper("v1")),
        None,
    )
    .await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("{MUG}?sort=helpful&limit=1&cursor={c}"),
            None => format!("{MUG}?sort=helpful&limit=1"),
        };
        let page = shop.get(&path, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(titles(&page.body).into_iter().map(str::to_owned));
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["ben says", "ann says", "cat says"],
        "most helpful first, then newest"
    );
    let five_stars = shop.get(&format!("{MUG}?rating=5"), None).await;
    assert_eq!(titles(&five_stars.body), ["ann says"]);
    let bad_cursor = shop.get(&format!("{MUG}?cursor=nonsense"), None).await;
    assert_eq!(bad_cursor.status, StatusCode::UNPROCESSABLE_ENTITY);

    let reason = json!({"reason": "Not about the mug"});
    let report = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{}/reports", ids[2]),
            Some(&shop.shopper("v1")),
            Some(reason.clone()),
        )
        .await;
    assert_eq!(report.body["newReport"], true);
    let repeat = shop
        .call(
            Method::POST,
            &format!("/api/reviews/{}/reports", ids[2]),
            Some(&shop.shopper("v1")),
            Some(reason),
        )
        .await;
    assert_eq!(repeat.body["newReport"], false, "one report per shopper");
    let queue = shop
        .get(
            "/api/reviews/moderation?queue=reported",
            Some(&shop.token("mia", &[Role::Merchandiser])),
        )
        .await;
    assert_eq!(titles(&queue.body), ["cat says"]);
    assert_eq!(queue.body["items"][0]["reportCount"], 1);
    assert_eq!(
        titles(&shop.get(MUG, None).await.body).len(),
        3,
        "a report alone hides nothing"
    );
    shop.stop().await;
}

#[tokio::test]
async fn text_is_limited_and_kept_as_plain_text_and_writes_are_rate_limited() {
    let shop = Harness::start(ReviewConfig {
        rate_limit: 3,
        ..Review::config()
    })
    .await;
    shop.product("camp-mug", ProductLifecycle::Active, &[("MUG-1", "12.00")])
        .await;
    let ada = shop.shopper("ada");
    let long = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&ada),
            Some(review(4, &"x".repeat(121))),
        )
        .await;
    assert_eq!(long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(long.body["errors"][0]["field"], "title");
    let stars = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&ada),
            Some(review(6, "Too good")),
        )
        .await;
    assert_eq!(stars.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(stars.body["errors"][0]["field"], "rating");

    let markup =
        json!({"rating": 4, "title": "<b>Bold</b> claim", "body": "<script>alert(1)</script>"});
    let written = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&ada),
            Some(markup),
        )
        .await;
    assert_eq!(written.status, StatusCode::CREATED);
    let listed = shop.get(MUG, None).await;
    assert_eq!(
        listed.body["items"][0]["title"], "<b>Bold</b> claim",
        "stored and served as text"
    );
    assert_eq!(listed.body["items"][0]["body"], "<script>alert(1)</script>");

    for _ in 0..2 {
        let ok = shop
            .call(
                Method::PUT,
                &format!("{MUG}/mine"),
                Some(&ada),
                Some(review(4, "Again")),
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK);
    }
    let limited = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&ada),
            Some(review(4, "Once more")),
        )
        .await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
    let other = shop
        .call(
            Method::PUT,
            &format!("{MUG}/mine"),
            Some(&shop.shopper("bob")),
            Some(review(4, "Mine")),
        )
        .await;
    assert_eq!(other.status, StatusCode::CREATED, "limits are per shopper");
    shop.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let shop = Harness::start(Review::config()).await;
    let doc = shop.get("/api/review/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    let paths = doc.body["paths"].as_object().expect("paths");
    for (path, methods) in [
        ("/api/reviews/products/{slug}", &["get"][..]),
        ("/api/reviews/products/{slug}/summary", &["get"]),
        (
            "/api/reviews/products/{slug}/mine",
            &["get", "put", "delete"],
        ),
        ("/api/reviews/{id}/helpful", &["put", "delete"]),
        ("/api/reviews/{id}/reports", &["post"]),
        ("/api/reviews/moderation", &["get"]),
        ("/api/reviews/{id}/hide", &["post"]),
        ("/api/reviews/{id}/publish", &["post"]),
        ("/api/wishlist", &["get"]),
        ("/api/wishlist/items/{sku}", &["put", "delete"]),
        ("/api/wishlist/items/{sku}/to-cart", &["post"]),
        ("/api/wishlist/items/{sku}/from-cart", &["post"]),
        ("/api/wishlist/share", &["put", "delete"]),
        ("/api/wishlists/shared/{token}", &["get"]),
        ("/api/review/audit", &["get"]),
    ] {
        for method in methods {
            assert!(
                paths.get(path).and_then(|p| p.get(*method)).is_some(),
                "{method} {path} is not in the document: {:?}",
                paths.keys().collect::<Vec<_>>()
            );
        }
    }
    assert_eq!(paths.len(), 15, "every route is listed above");
    shop.stop().await;
}
