//! The catalog HTTP API over the example shop (see `bazaar_catalog::seed`), against real PostgreSQL: what a
//! shopfront and the order component can rely on.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bazaar_catalog::model::{Discount, Promotion, Schedule};
use bazaar_catalog::{seed, write};
use chrono::Utc;
use common::{Rig, json_of, slugs};
use serde_json::json;

/// A category's path and count, with its children's.
type CategoryLine = (String, i64, Vec<(String, i64)>);

async fn problem(rig: &Rig, uri: &str) -> serde_json::Value {
    let response = rig.get(uri).await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "GET {uri}"
    );
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    json_of(response).await
}

fn error_fields(problem: &serde_json::Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .expect("field errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn products_filter_by_category_with_subcategories_featured_and_price_range() {
    let rig = Rig::seeded().await;
    let all = rig.get_json("/api/catalog/products?sort=title").await;
    assert_eq!(
        slugs(&all),
        [
            "merino-tee",
            "rain-shell",
            "road-racer",
            "summit-boot",
            "trail-runner",
            "trail-socks"
        ],
        "drafts (winter-parka) are not public"
    );
    let footwear = rig
        .get_json("/api/catalog/products?category=footwear&sort=title")
        .await;
    assert_eq!(
        slugs(&footwear),
        ["road-racer", "summit-boot", "trail-runner"]
    );
    let running = rig
        .get_json("/api/catalog/products?category=footwear/running&sort=title")
        .await;
    assert_eq!(slugs(&running), ["road-racer", "trail-runner"]);
    let featured = rig
        .get_json("/api/catalog/products?featured=true&sort=title")
        .await;
    assert_eq!(slugs(&featured), ["merino-tee", "trail-runner"]);

    let priced = rig
        .get_json("/api/catalog/products?currency=USD&minPrice=100&maxPrice=150.00&sort=price_asc")
        .await;
    assert_eq!(slugs(&priced), ["trail-runner", "road-racer"]);
    assert_eq!(
        priced["items"][0]["price"],
        json!({"amount": "129.00", "currency": "USD"})
    );
    // The rain shell has no EUR price, so it is not in a EUR price listing.
    let euro = rig
        .get_json("/api/catalog/products?currency=EUR&sort=price_desc")
        .await;
    assert_eq!(
        slugs(&euro),
        [
            "summit-boot",
            "road-racer",
            "trail-runner",
            "merino-tee",
            "trail-socks"
        ]
    );
    let summary = &all["items"][0];
    assert_eq!(summary["brand"], "Fjellwear");
    assert_eq!(
        summary["pricesFrom"],
        json!([{"amount": "42.00", "currency": "EUR"}, {"amount": "45.00", "currency": "USD"}])
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn full_text_search_ranks_title_matches_first_and_understands_word_forms() {
    let rig = Rig::seeded().await;
    let merino = rig.get_json("/api/catalog/products?q=merino").await;
    assert_eq!(slugs(&merino), ["merino-tee", "trail-socks"]);
    // English stemming: "boots" finds "boot", "waterproofing" finds "waterproof".
    let boots = rig.get_json("/api/catalog/products?q=boots").await;
    assert_eq!(slugs(&boots), ["summit-boot"]);
    let waterproof = rig
        .get_json("/api/catalog/products?q=waterproofing&sort=title")
        .await;
    assert_eq!(slugs(&waterproof), ["rain-shell", "summit-boot"]);
    let excluded = rig.get_json("/api/catalog/products?q=trail%20-socks").await;
    assert_eq!(slugs(&excluded), ["trail-runner"]);
    let nothing = rig.get_json("/api/catalog/products?q=kayak").await;
    assert!(slugs(&nothing).is_empty());
    rig.cleanup().await;
}

#[tokio::test]
async fn sorting_by_price_title_and_newest() {
    let rig = Rig::seeded().await;
    let cheap_first = rig
        .get_json("/api/catalog/products?currency=USD&sort=price_asc")
        .await;
    assert_eq!(
        slugs(&cheap_first),
        [
            "trail-socks",
            "merino-tee",
            "trail-runner",
            "road-racer",
            "summit-boot",
            "rain-shell"
        ]
    );
    let dear_first = rig
        .get_json("/api/catalog/products?currency=USD&sort=price_desc")
        .await;
    let mut reversed = slugs(&cheap_first);
    reversed.reverse();
    assert_eq!(slugs(&dear_first), reversed);
    // The seed loads products in order within one transaction: newest breaks ties by id (UUIDv7).
    let newest = rig.get_json("/api/catalog/products?sort=newest").await;
    assert_eq!(
        slugs(&newest),
        [
            "trail-socks",
            "rain-shell",
            "merino-tee",
            "summit-boot",
            "road-racer",
            "trail-runner"
        ]
    );
    // Relevance without a search: featured first, then newest.
    let default = rig.get_json("/api/catalog/products").await;
    assert_eq!(
        slugs(&default)[..2],
        ["merino-tee".to_owned(), "trail-runner".to_owned()]
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn cursor_pagination_walks_every_sort_without_duplicates_or_gaps() {
    let rig = Rig::seeded().await;
    for listing in [
        "sort=relevance",
        "sort=newest",
        "sort=title",
        "sort=price_asc&currency=USD",
        "sort=price_desc&currency=EUR",
        "q=running&sort=relevance",
        "category=footwear&sort=title",
    ] {
        let whole = slugs(
            &rig.get_json(&format!("/api/catalog/products?{listing}&limit=100"))
                .await,
        );
        assert!(!whole.is_empty(), "{listing}");
        for limit in [1, 2, 4] {
            let mut walked = Vec::new();
            let mut cursor: Option<String> = None;
            for _ in 0..20 {
                let mut uri = format!("/api/catalog/products?{listing}&limit={limit}");
                if let Some(cursor) = &cursor {
                    uri.push_str(&format!("&cursor={cursor}"));
                }
                let page = rig.get_json(&uri).await;
                let items = slugs(&page);
                assert!(items.len() <= limit, "{listing}: page too long");
                walked.extend(items);
                match page["nextCursor"].as_str() {
                    Some(next) => cursor = Some(next.to_owned()),
                    None => break,
                }
            }
            assert_eq!(walked, whole, "{listing} in pages of {limit}");
        }
    }
    rig.cleanup().await;
}

#[tokio::test]
async fn bad_list_parameters_are_422_problems_naming_each_field() {
    let rig = Rig::seeded().await;
    let p = problem(
        &rig,
        "/api/catalog/products?sort=cheapest&limit=0&featured=yes&category=Shoes!",
    )
    .await;
    assert_eq!(
        error_fields(&p),
        ["category", "featured", "sort", "limit"],
        "{p}"
    );
    let p = problem(&rig, "/api/catalog/products?minPrice=10").await;
    assert_eq!(error_fields(&p), ["currency"]);
    let p = problem(
        &rig,
        "/api/catalog/products?currency=USD&minPrice=10.001&maxPrice=abc",
    )
    .await;
    assert_eq!(error_fields(&p), ["minPrice", "maxPrice"]);
    let p = problem(&rig, "/api/catalog/products?currency=ABC").await;
    assert_eq!(error_fields(&p), ["currency"]);
    let p = problem(&rig, "/api/catalog/products?cursor=garbage").await;
    assert_eq!(error_fields(&p), ["cursor"]);
    // A cursor from a title listing does not continue a price listing.
    let page = rig
        .get_json("/api/catalog/products?sort=title&limit=1")
        .await;
    let cursor = page["nextCursor"].as_str().expect("cursor");
    let p = problem(
        &rig,
        &format!("/api/catalog/products?sort=price_asc&currency=USD&cursor={cursor}"),
    )
    .await;
    assert_eq!(error_fields(&p), ["cursor"]);
    rig.cleanup().await;
}

#[tokio::test]
async fn a_misspelt_query_parameter_is_a_400_naming_it_not_silently_page_one() {
    let rig = Rig::seeded().await;
    for uri in [
        "/api/catalog/products?after=abc",
        "/api/catalog/products/trail-runner?curency=USD",
        "/api/catalog/stores?latitude=37.7",
        "/api/catalog/shipping-options?country=US&zip=94105",
    ] {
        let response = rig.get(uri).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "GET {uri}");
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/problem+json"
        );
        let problem = json_of(response).await;
        let unknown = uri
            .rsplit(['?', '&'])
            .next()
            .and_then(|pair| pair.split('=').next())
            .expect("a parameter");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|detail| detail.contains(unknown)),
            "GET {uri}: the answer names `{unknown}`: {problem}"
        );
    }
    rig.cleanup().await;
}

#[tokio::test]
async fn a_product_page_shows_variants_with_prices_after_automatic_promotions() {
    let rig = Rig::seeded().await;
    let product = rig.get_json("/api/catalog/products/trail-runner").await;
    assert_eq!(product["title"], "Trail Runner");
    assert_eq!(product["options"]["size"], json!(["42", "43"]));
    assert_eq!(product["options"]["color"], json!(["black", "blue"]));
    let first = &product["variants"][0];
    assert_eq!(first["sku"], "TR-42-BLK");
    // The summer sale (20% off the summer collection) is automatic.
    assert_eq!(
        first["prices"],
        json!([
            {"list": {"amount": "119.00", "currency": "EUR"}, "effective": {"amount": "95.20", "currency": "EUR"},
             "promotions": ["shop/summer-sale"]},
            {"list": {"amount": "129.00", "currency": "USD"}, "effective": {"amount": "103.20", "currency": "USD"},
             "promotions": ["shop/summer-sale"]}
        ])
    );
    // Not in the summer collection: list price, and the compare-at price is shown.
    let racer = rig
        .get_json("/api/catalog/products/road-racer?currency=USD")
        .await;
    assert_eq!(
        racer["variants"][0]["prices"],
        json!([{"list": {"amount": "149.00", "currency": "USD"},
                "compareAt": {"amount": "179.00", "currency": "USD"},
                "effective": {"amount": "149.00", "currency": "USD"}, "promotions": []}])
    );
    // Coupons and buy-X-get-Y do not change a single unit's shown price.
    let socks = rig.get_json("/api/catalog/products/trail-socks").await;
    assert_eq!(
        socks["variants"][0]["prices"][1]["effective"]["amount"],
        "15.00"
    );
    for hidden in ["winter-parka", "no-such-thing"] {
        let response = rig.get(&format!("/api/catalog/products/{hidden}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{hidden}");
    }
    let bad = rig
        .get("/api/catalog/products/trail-runner?currency=dollars")
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    rig.cleanup().await;
}

#[tokio::test]
async fn categories_come_as_a_tree_with_counts_including_subcategories() {
    let rig = Rig::seeded().await;
    let tree = rig.get_json("/api/catalog/categories").await;
    let summary: Vec<CategoryLine> = tree
        .as_array()
        .expect("roots")
        .iter()
        .map(|node| {
            (
                node["path"].as_str().expect("path").to_owned(),
                node["productCount"].as_i64().expect("count"),
                node["children"]
                    .as_array()
                    .expect("children")
                    .iter()
                    .map(|c| {
                        (
                            c["path"].as_str().expect("path").to_owned(),
                            c["productCount"].as_i64().expect("count"),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let s = |x: &str| x.to_owned();
    assert_eq!(
        summary,
        [
            (s("accessories"), 1, vec![(s("accessories/socks"), 1)]),
            (
                s("apparel"),
                2,
                vec![(s("apparel/outerwear"), 1), (s("apparel/tops"), 1)]
            ),
            (
                s("footwear"),
                3,
                vec![(s("footwear/hiking"), 1), (s("footwear/running"), 2)]
            ),
        ],
        "the draft parka is not counted"
    );
    assert_eq!(tree[2]["name"], "Footwear");
    rig.cleanup().await;
}

#[tokio::test]
async fn stores_near_a_point_are_sorted_by_distance_within_the_radius() {
    let rig = Rig::seeded().await;
    // Civic Center, San Francisco: Mission is ~1.8 km away, Downtown ~2.7 km; the Oakland warehouse is
    // not a store shoppers visit.
    let near = rig
        .get_json("/api/catalog/stores?lat=37.7793&lon=-122.4193&radiusKm=10")
        .await;
    let items = near["items"].as_array().expect("items");
    let names: Vec<&str> = items
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["mission", "downtown"]);
    let first = items[0]["distanceKm"].as_f64().expect("km");
    let second = items[1]["distanceKm"].as_f64().expect("km");
    assert!((1.5..1.9).contains(&first), "{first}");
    assert!((2.5..3.5).contains(&second), "{second}");
    assert_eq!(items[0]["id"], "shop/mission");
    assert_eq!(items[0]["openingHours"][0]["opens"], "10:00");

    let tight = rig
        .get_json("/api/catalog/stores?lat=37.7793&lon=-122.4193&radiusKm=2")
        .await;
    assert_eq!(tight["items"].as_array().expect("items").len(), 1);
    let far = rig
        .get_json("/api/catalog/stores?lat=40.7128&lon=-74.0060")
        .await;
    assert!(far["items"].as_array().expect("items").is_empty());

    let p = problem(&rig, "/api/catalog/stores?lat=95&radiusKm=-1").await;
    assert_eq!(error_fields(&p), ["lat", "lon", "radiusKm"]);
    rig.cleanup().await;
}

#[tokio::test]
async fn shipping_options_depend_on_destination_currency_and_subtotal() {
    let rig = Rig::seeded().await;
    let small = rig
        .get_json("/api/catalog/shipping-options?country=US&region=CA&currency=USD&subtotal=30.00")
        .await;
    let options: Vec<(String, String)> = small["options"]
        .as_array()
        .expect("options")
        .iter()
        .map(|o| {
            (
                o["code"].as_str().expect("code").to_owned(),
                o["price"]["amount"].as_str().expect("price").to_owned(),
            )
        })
        .collect();
    let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(
        options,
        [
            pair("pickup", "0.00"),
            pair("standard", "4.99"),
            pair("express", "14.99")
        ]
    );
    assert_eq!(small["options"][1]["deliveryDaysMin"], 3);

    let large = rig
        .get_json("/api/catalog/shipping-options?country=US&currency=USD&subtotal=50.00")
        .await;
    assert_eq!(large["options"][1]["code"], "standard");
    assert_eq!(large["options"][1]["price"]["amount"], "0.00");
    assert_eq!(large["options"][1]["freeBecause"], "free-over");

    let europe = rig
        .get_json("/api/catalog/shipping-options?country=de&currency=EUR&subtotal=20")
        .await;
    assert_eq!(europe["options"].as_array().expect("options").len(), 1);
    assert_eq!(europe["options"][0]["price"]["amount"], "9.90");
    let nowhere = rig
        .get_json("/api/catalog/shipping-options?country=JP&currency=USD")
        .await;
    assert!(nowhere["options"].as_array().expect("options").is_empty());

    let p = problem(&rig, "/api/catalog/shipping-options?country=USA&subtotal=1").await;
    assert_eq!(error_fields(&p), ["country", "currency"]);
    rig.cleanup().await;
}

#[tokio::test]
async fn running_automatic_promotions_are_listed_and_coupons_checked() {
    let rig = Rig::seeded().await;
    let mut expired = Promotion {
        namespace: "shop".into(),
        name: "spring".into(),
        title: None,
        code: Some("SPRING5".into()),
        discount: Discount::Percentage(5),
        applies_to: Default::default(),
        minimum_subtotal: vec![],
        schedule: Schedule {
            starts_at: Some(Utc::now() - chrono::Duration::days(30)),
            ends_at: Some(Utc::now() - chrono::Duration::days(1)),
        },
        limits: Default::default(),
        priority: 0,
        stackable: false,
    };
    let mut tx = rig.pool.begin().await.expect("begin");
    write::upsert_promotion(&mut tx, &rig.outbox, &expired)
        .await
        .expect("expired coupon");
    expired.name = "old-auto".into();
    expired.code = None;
    write::upsert_promotion(&mut tx, &rig.outbox, &expired)
        .await
        .expect("expired automatic");
    tx.commit().await.expect("commit");

    let promotions = rig.get_json("/api/catalog/promotions").await;
    let ids: Vec<&str> = promotions["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["shop/summer-sale", "shop/socks-3-for-2"]);
    assert_eq!(promotions["items"][0]["percentage"], 20);

    let valid = rig.get_json("/api/catalog/coupons/welcome10").await;
    assert_eq!(valid["code"], "WELCOME10");
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["promotion"]["minimumSubtotal"][0]["amount"], "50.00");
    let old = rig.get_json("/api/catalog/coupons/SPRING5").await;
    assert_eq!(
        (old["valid"].clone(), old["status"].clone()),
        (json!(false), json!("expired"))
    );
    let unknown = rig.get("/api/catalog/coupons/NOPE").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn a_quote_prices_lines_applies_promotions_and_shipping_and_flags_unavailable_skus() {
    let rig = Rig::seeded().await;
    let response = rig
        .post_json(
            "/api/catalog/quote",
            &json!({
                "currency": "USD",
                "lines": [
                    {"sku": "TR-42-BLK", "quantity": 1},
                    {"sku": "TS-M", "quantity": 3},
                    {"sku": "GHOST-1", "quantity": 1},
                    {"sku": "WP-M", "quantity": 1}
                ],
                "couponCode": "welcome10",
                "destination": {"country": "US", "region": "CA"}
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let quote = json_of(response).await;

    // The answer honours the quote contract the order component reads.
    let contract: bazaar_contracts::quote::Quote =
        serde_json::from_value(quote.clone()).expect("matches the quote contract");
    assert_eq!(contract.lines.len(), 4, "unavailable lines are kept");

    let amount = |v: &serde_json::Value| v["amount"].as_str().expect("amount").to_owned();
    assert_eq!(amount(&quote["subtotal"]), "174.00");
    // 20% off the shoe (25.80), one sock of three free (15.00), 10.00 off what is left, spread
    // 7.75 / 2.25 by share (103.20 : 30.00).
    let shoe = &quote["lines"][0];
    assert_eq!(amount(&shoe["unitPrice"]), "129.00");
    let shoe_discounts: Vec<(String, String)> = shoe["discounts"]
        .as_array()
        .expect("discounts")
        .iter()
        .map(|d| {
            (
                d["promotion"].as_str().expect("p").to_owned(),
                amount(&d["amount"]),
            )
        })
        .collect();
    assert_eq!(
        shoe_discounts,
        [
            ("shop/summer-sale".to_owned(), "25.80".to_owned()),
            ("shop/welcome-10".to_owned(), "7.75".to_owned())
        ]
    );
    assert_eq!(amount(&shoe["total"]), "95.45");
    assert_eq!(amount(&quote["lines"][1]["discount"]), "17.25");
    assert_eq!(quote["lines"][2]["status"], "unknown_sku");
    assert_eq!(quote["lines"][3]["status"], "not_for_sale");
    assert_eq!(amount(&quote["discount"]), "50.80");
    assert_eq!(quote["coupon"]["applied"], true);
    // 123.20 of merchandise ships free (standard is free over 50.00).
    assert_eq!(quote["shipping"]["code"], "standard");
    assert_eq!(amount(&quote["shippingTotal"]), "0.00");
    assert_eq!(amount(&quote["total"]), "123.20");

    // The contract's own request type is accepted as is.
    let request = bazaar_contracts::quote::QuoteRequest {
        currency: "EUR".into(),
        lines: vec![bazaar_contracts::quote::QuoteLineRequest {
            sku: "SB-42".parse().expect("sku"),
            quantity: 2,
        }],
        coupon_code: Some("NOPE".into()),
        destination: Some(bazaar_contracts::quote::Destination {
            country: "DE".into(),
            region: None,
        }),
        shipping_method: Some("standard".into()),
    };
    let response = rig
        .post_json(
            "/api/catalog/quote",
            &serde_json::to_value(&request).expect("json"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let quote = json_of(response).await;
    assert_eq!(amount(&quote["subtotal"]), "358.00");
    assert_eq!(quote["coupon"]["applied"], false);
    assert_eq!(quote["coupon"]["status"], "unknown");
    assert_eq!(
        amount(&quote["shippingTotal"]),
        "0.00",
        "free over 150.00 EUR"
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn a_bad_quote_request_is_a_4xx_problem_never_a_5xx() {
    let rig = Rig::seeded().await;
    let response = rig
        .post_json(
            "/api/catalog/quote",
            &json!({
                "currency": "XX",
                "lines": [{"sku": "TR-42-BLK", "quantity": 0}, {"sku": "bad sku", "quantity": 1}],
                "destination": {"country": "United States"}
            }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let p = json_of(response).await;
    assert_eq!(
        error_fields(&p),
        [
            "currency",
            "lines[0].quantity",
            "lines[1].sku",
            "destination.country"
        ]
    );
    let response = rig
        .post_json(
            "/api/catalog/quote",
            &json!({"currency": "USD", "lines": []}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = rig
        .send(
            Request::post("/api/catalog/quote")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"currency\": "))
                .expect("request"),
        )
        .await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let wrong_types = rig
        .post_json(
            "/api/catalog/quote",
            &json!({"currency": "USD", "lines": [{"sku": 5, "quantity": "two"}]}),
        )
        .await;
    assert_eq!(wrong_types.status(), StatusCode::UNPROCESSABLE_ENTITY);
    rig.cleanup().await;
}

#[tokio::test]
async fn reads_carry_an_etag_and_answer_304_until_the_catalog_changes() {
    let rig = Rig::seeded().await;
    let uri = "/api/catalog/products/trail-runner";
    let first = rig.get(uri).await;
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["x-cache"], "miss");
    assert!(
        first.headers()[header::CACHE_CONTROL]
            .to_str()
            .expect("ascii")
            .contains("max-age")
    );
    let etag = first.headers()[header::ETAG].clone();

    let again = rig.get(uri).await;
    assert_eq!(again.headers()["x-cache"], "hit");
    assert_eq!(again.headers()[header::ETAG], etag);

    let conditional = rig
        .send(
            Request::get(uri)
                .header(header::IF_NONE_MATCH, etag.clone())
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(conditional.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(conditional.headers()[header::ETAG], etag);
    assert!(json_of(conditional).await.is_null(), "a 304 has no body");

    // A change, then the invalidation its event brings (here called directly; the consumer test drives
    // it through Kafka): the same request now gets a new representation.
    let mut product = seed::shop("shop").products.remove(0);
    product.title = "Trail Runner GTX".into();
    let mut tx = rig.pool.begin().await.expect("begin");
    write::upsert_product(&mut tx, &rig.outbox, &product)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    rig.state.cache.invalidate();
    let changed = rig
        .send(
            Request::get(uri)
                .header(header::IF_NONE_MATCH, etag.clone())
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers()[header::ETAG], etag);
    assert_eq!(json_of(changed).await["title"], "Trail Runner GTX");
    rig.cleanup().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let rig = Rig::empty().await;
    let (_, openapi) = bazaar_catalog::routes::router(rig.state.clone()).split_for_parts();
    let document = serde_json::to_value(&openapi).expect("json");
    let paths: BTreeSet<&str> = document["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/api/catalog/products",
        "/api/catalog/products/{slug}",
        "/api/catalog/categories",
        "/api/catalog/stores",
        "/api/catalog/shipping-options",
        "/api/catalog/promotions",
        "/api/catalog/coupons/{code}",
        "/api/catalog/quote",
    ] {
        assert!(paths.contains(path), "{path} missing from {paths:?}");
    }
    assert!(document["components"]["schemas"]["Quote"].is_object());
    rig.cleanup().await;
}
