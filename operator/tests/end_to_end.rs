//! What a merchandiser applies is what a shopper sees: the example shop in `crds/examples/` goes through
//! the operator's reconcile code into PostgreSQL and comes back through the catalog's HTTP API with its
//! promotions applied; deleting a resource takes it out of the shop.

use std::path::PathBuf;
use std::time::Duration;

use bazaar_operator::offline::{Manifests, project_all};
use bazaar_operator::projection::{CatalogProjection, Kind, ObjectKey, PostgresCatalog};
use bazaar_platform::auth::AuthConfig;
use bazaar_platform::runtime::{ServeConfig, spawn};
use bazaar_testkit::{TestEnv, wait_for};
use serde_json::{Value, json};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crds/examples")
}

#[tokio::test]
async fn the_example_shop_is_sold_through_the_catalog_api_with_its_promotions_and_a_deleted_product_leaves_it()
 {
    let env = TestEnv::start().await.expect("infrastructure");
    let config = ServeConfig::local(
        &env.database_url,
        &env.kafka_brokers,
        &env.id,
        AuthConfig::default(),
    );
    let catalog = spawn(&[&bazaar_catalog::COMPONENT], config)
        .await
        .expect("catalog");
    let pool = bazaar_platform::db::pool(
        "catalog",
        &env.database_url,
        &format!("{}_catalog", env.id),
        3,
    )
    .expect("pool");
    let projection = PostgresCatalog::new(pool);

    let manifests = Manifests::read_dir(&examples()).expect("examples parse");
    let results = project_all(&manifests, &projection).await;
    assert!(!results.is_empty());
    for (key, result) in &results {
        assert!(result.is_ok(), "{key}: {result:?}");
    }

    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        let base = catalog.base_url.clone();
        async move {
            let response = http
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("request");
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, runner) = get("/api/catalog/products/trail-runner".into()).await;
    assert_eq!(status, 200, "{runner}");
    assert_eq!(runner["title"], "Trail Runner");

    // From the example Promotions: buy two bottles get one free, free shipping over 75, and a summer
    // coupon whose season is over.
    let quote = http
        .post(format!("{}/api/catalog/quote", catalog.base_url))
        .json(&json!({
            "currency": "USD",
            "lines": [{"sku": "TR-42-BLK", "quantity": 1}, {"sku": "SB-750", "quantity": 3}],
            "couponCode": "SUMMER20",
            "destination": {"country": "US", "region": "CA"}
        }))
        .send()
        .await
        .expect("quote");
    assert_eq!(quote.status(), 200);
    let quote: Value = quote.json().await.expect("quote json");
    let discounts: Vec<(String, String)> = quote["promotions"]
        .as_array()
        .expect("promotions")
        .iter()
        .map(|p| {
            (
                p["promotion"].as_str().unwrap_or("").to_owned(),
                p["amount"]["amount"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert!(
        discounts.contains(&("shop/bottle-three-for-two".to_owned(), "29.00".to_owned())),
        "{discounts:?}"
    );
    assert_eq!(
        quote["coupon"]["applied"], false,
        "SUMMER20 ended on 1 September"
    );
    assert_eq!(quote["coupon"]["status"], "expired");
    assert_eq!(quote["subtotal"]["amount"], "216.00");
    assert_eq!(quote["discount"]["amount"], "29.00");
    assert_eq!(
        quote["shippingTotal"]["amount"], "0.00",
        "free shipping over 75"
    );

    let removed = projection
        .remove(&ObjectKey {
            kind: Kind::Product,
            namespace: "shop".into(),
            name: "steel-bottle".into(),
        })
        .await;
    assert!(removed.is_ok(), "{removed:?}");
    wait_for(
        Duration::from_secs(60),
        "the deleted product to leave the shop",
        || async {
            (get("/api/catalog/products/steel-bottle".into()).await.0 == 404).then_some(())
        },
    )
    .await
    .expect("gone");
    let (_, listing) = get("/api/catalog/products?limit=50".into()).await;
    let slugs: Vec<&str> = listing["items"]
        .as_array()
        .map(|items| items.iter().filter_map(|p| p["slug"].as_str()).collect())
        .unwrap_or_default();
    assert!(!slugs.contains(&"steel-bottle"), "{slugs:?}");
    assert!(slugs.contains(&"trail-runner"), "{slugs:?}");

    catalog.stop().await.expect("stop");
    env.cleanup().await;
}
