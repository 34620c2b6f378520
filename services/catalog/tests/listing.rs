//! What a shopfront's filter UI relies on, over the example shop (see `bazaar_catalog::seed`) in real
//! PostgreSQL: attribute filters on the product listing, combined with category, search, price and sort,
//! and the facet values with their counts.

mod common;

use axum::http::{StatusCode, header};
use common::{Rig, json_of, slugs};
use serde_json::{Value, json};

async fn problem_fields(rig: &Rig, uri: &str) -> Vec<String> {
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
    let problem = json_of(response).await;
    problem["errors"]
        .as_array()
        .expect("field errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field").to_owned())
        .collect()
}

#[tokio::test]
async fn attribute_filters_match_variant_options_and_product_attributes() {
    let rig = Rig::seeded().await;
    let list = |query: &str| {
        let uri = format!("/api/catalog/products?{query}");
        let rig = &rig;
        async move { slugs(&rig.get_json(&uri).await) }
    };
    // A variant option: only the trail runner comes in blue.
    assert_eq!(list("attributes=color:blue").await, ["trail-runner"]);
    // Several values of one attribute: any of them.
    assert_eq!(
        list("attributes=size:43%7CL&sort=title").await,
        ["merino-tee", "summit-boot", "trail-runner"]
    );
    // Several attributes: all of them.
    assert_eq!(
        list("attributes=size:42;color:black&sort=title").await,
        ["trail-runner"]
    );
    assert!(list("attributes=size:44").await.is_empty());
    // A product attribute, with a space in its value.
    assert_eq!(
        list("attributes=upper:recycled%20mesh").await,
        ["trail-runner"]
    );
    // With category, search, featured, price bounds and sorts.
    assert_eq!(
        list("category=footwear&attributes=size:42&sort=title").await,
        ["road-racer", "summit-boot", "trail-runner"]
    );
    assert_eq!(list("q=trail&attributes=size:M").await, ["trail-socks"]);
    assert_eq!(
        list("featured=true&attributes=size:M").await,
        ["merino-tee"]
    );
    assert_eq!(
        list("attributes=size:42&currency=USD&maxPrice=150&sort=price_desc").await,
        ["road-racer", "trail-runner"]
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn a_filtered_listing_pages_by_cursor_in_every_sort() {
    let rig = Rig::seeded().await;
    for listing in [
        "attributes=size:42%7CM&sort=price_asc&currency=USD",
        "attributes=size:42%7CM&sort=title",
        "attributes=size:42%7CM&sort=newest",
        "attributes=size:42%7CM",
    ] {
        let whole = slugs(
            &rig.get_json(&format!("/api/catalog/products?{listing}&limit=100"))
                .await,
        );
        assert_eq!(whole.len(), 6, "{listing}: {whole:?}");
        let mut walked = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut uri = format!("/api/catalog/products?{listing}&limit=2");
            if let Some(cursor) = &cursor {
                uri.push_str(&format!("&cursor={cursor}"));
            }
            let page = rig.get_json(&uri).await;
            walked.extend(slugs(&page));
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(walked, whole, "{listing}");
    }
    rig.cleanup().await;
}

/// `{name: {value: count}}` of a facets answer.
fn counts(facets: &Value) -> Value {
    let mut out = serde_json::Map::new();
    for attribute in facets["attributes"].as_array().expect("attributes") {
        let mut values = serde_json::Map::new();
        for value in attribute["values"].as_array().expect("values") {
            values.insert(
                value["value"].as_str().expect("value").to_owned(),
                value["count"].clone(),
            );
        }
        out.insert(
            attribute["name"].as_str().expect("name").to_owned(),
            Value::Object(values),
        );
    }
    Value::Object(out)
}

#[tokio::test]
async fn facets_count_products_per_value_under_the_other_filters() {
    let rig = Rig::seeded().await;
    let footwear = rig.get_json("/api/catalog/facets?category=footwear").await;
    assert_eq!(footwear["total"], 3);
    assert_eq!(
        counts(&footwear),
        json!({
            "color": {"black": 1, "blue": 1},
            "drop": {"6 mm": 1},
            "size": {"42": 3, "43": 2},
            "upper": {"recycled mesh": 1},
        })
    );
    // Picking a size narrows the other attributes' counts but not the sizes' own, so the UI can offer
    // the other sizes with what picking them would give.
    let size_43 = rig
        .get_json("/api/catalog/facets?category=footwear&attributes=size:43")
        .await;
    assert_eq!(size_43["total"], 2);
    assert_eq!(counts(&size_43)["size"], json!({"42": 3, "43": 2}));
    assert_eq!(counts(&size_43)["color"], json!({"black": 1, "blue": 1}));
    let blue = rig
        .get_json("/api/catalog/facets?category=footwear&attributes=color:blue")
        .await;
    assert_eq!(blue["total"], 1);
    assert_eq!(counts(&blue)["size"], json!({"42": 1, "43": 1}));
    assert_eq!(counts(&blue)["color"], json!({"black": 1, "blue": 1}));
    // Search and price narrow the base.
    let merino = rig.get_json("/api/catalog/facets?q=merino").await;
    assert_eq!(merino["total"], 2);
    assert_eq!(counts(&merino), json!({"size": {"L": 1, "M": 2, "S": 1}}));
    let cheap = rig
        .get_json("/api/catalog/facets?currency=USD&maxPrice=20")
        .await;
    assert_eq!(cheap["total"], 1);
    assert_eq!(counts(&cheap), json!({"size": {"M": 1}}));
    // The total is what the listing shows.
    let listed = rig
        .get_json("/api/catalog/products?category=footwear&attributes=size:43&limit=100")
        .await;
    assert_eq!(slugs(&listed).len(), 2);
    rig.cleanup().await;
}

#[tokio::test]
async fn bad_attribute_filters_are_422_problems_on_attributes() {
    let rig = Rig::seeded().await;
    let long = "x".repeat(2001);
    for bad in [
        "color".to_owned(),
        ":black".to_owned(),
        "color:".to_owned(),
        "color:black;color:blue".to_owned(),
        "color:black%7C%7Cblue".to_owned(),
        (0..11)
            .map(|i| format!("a{i}:x"))
            .collect::<Vec<_>>()
            .join(";"),
        format!("color:{long}"),
    ] {
        for path in ["/api/catalog/products", "/api/catalog/facets"] {
            assert_eq!(
                problem_fields(&rig, &format!("{path}?attributes={bad}")).await,
                ["attributes"],
                "{path} with {bad:.40}"
            );
        }
    }
    // The facets take the listing's filters, not its paging.
    let response = rig.get("/api/catalog/facets?limit=5").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        problem_fields(&rig, "/api/catalog/facets?category=Shoes!&minPrice=3").await,
        ["category", "currency"]
    );
    rig.cleanup().await;
}

#[tokio::test]
async fn an_updated_product_is_filtered_and_priced_by_what_it_is_now() {
    let rig = Rig::seeded().await;
    let mut shop = bazaar_catalog::seed::shop("shop");
    let mut socks = shop
        .products
        .drain(..)
        .find(|p| p.slug == "trail-socks")
        .expect("socks");
    socks
        .attributes
        .insert("material".into(), "merino wool".into());
    socks.variants[0].options.insert("size".into(), "L".into());
    socks.variants[0].prices = vec![
        bazaar_contracts::Money::parse("17.00", bazaar_contracts::Currency::USD).expect("money"),
    ];
    let mut tx = rig.pool.begin().await.expect("begin");
    bazaar_catalog::write::upsert_product(&mut tx, &rig.outbox, &socks)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let wool = rig
        .get_json("/api/catalog/products?attributes=material:merino%20wool&currency=USD")
        .await;
    assert_eq!(slugs(&wool), ["trail-socks"]);
    assert_eq!(wool["items"][0]["price"]["amount"], "17.00");
    assert_eq!(
        wool["items"][0]["pricesFrom"],
        json!([{"amount": "17.00", "currency": "USD"}]),
        "the EUR price is gone"
    );
    let m = rig
        .get_json("/api/catalog/products?attributes=size:M&sort=title")
        .await;
    assert_eq!(slugs(&m), ["merino-tee", "rain-shell"], "size M is gone");
    let euro = rig
        .get_json("/api/catalog/products?currency=EUR&sort=price_asc")
        .await;
    assert!(!slugs(&euro).contains(&"trail-socks".to_owned()));
    rig.cleanup().await;
}

#[tokio::test]
async fn the_rating_sort_pages_by_cursor_and_bad_rating_filters_are_422() {
    use bazaar_contracts::review::{RatingSummaryChanged, StarHistogram};
    let rig = Rig::seeded().await;
    let mut conn = rig.pool.acquire().await.expect("connection");
    for (slug, counts) in [
        ("road-racer", [0, 0, 0, 0, 2]),
        ("merino-tee", [0, 0, 0, 1, 1]),
        ("summit-boot", [0, 0, 0, 0, 1]),
        ("trail-socks", [0, 0, 1, 0, 0]),
    ] {
        let summary = RatingSummaryChanged::new(slug, StarHistogram::from_counts(counts));
        assert!(
            bazaar_catalog::ratings::record(&mut conn, &summary)
                .await
                .expect("recorded")
        );
    }
    drop(conn);
    let whole = slugs(
        &rig.get_json("/api/catalog/products?sort=rating&limit=100")
            .await,
    );
    // 5.0 with two reviews before 5.0 with one; unrated products last, newest first among them.
    assert_eq!(
        whole[..4],
        ["road-racer", "summit-boot", "merino-tee", "trail-socks"]
    );
    assert_eq!(whole.len(), 6);
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let mut uri = "/api/catalog/products?sort=rating&limit=2".to_owned();
        if let Some(cursor) = &cursor {
            uri.push_str(&format!("&cursor={cursor}"));
        }
        let page = rig.get_json(&uri).await;
        walked.extend(slugs(&page));
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(walked, whole);
    let facets = rig.get_json("/api/catalog/facets?minRating=4.5").await;
    assert_eq!(facets["total"], 3);
    for bad in ["minRating=0", "minRating=5.5", "minRating=good"] {
        assert_eq!(
            problem_fields(&rig, &format!("/api/catalog/products?{bad}")).await,
            ["minRating"],
            "{bad}"
        );
    }
    rig.cleanup().await;
}
