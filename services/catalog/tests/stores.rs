//! The store locator: stores near a place the shopper types (a city, a postcode, a store's name or street),
//! and near the shopper's own position when the browser gives it. No geocoder is involved (see
//! docs/architecture.md, "Store locator without a geocoder").

mod common;

use axum::http::{StatusCode, header};
use bazaar_catalog::model::{GeoPoint, StoreKind};
use bazaar_catalog::{seed, write};
use common::{Rig, json_of};
use serde_json::Value;

/// The example shop plus a retail store in Oakland with a postcode, and one that is closed for good.
async fn rig() -> Rig {
    let rig = Rig::seeded().await;
    let shop = seed::shop("shop");
    let downtown = shop
        .stores
        .iter()
        .find(|s| s.name == "downtown")
        .expect("downtown");
    let mut oakland = downtown.clone();
    oakland.name = "lake-merritt".into();
    oakland.display_name = "Bazaar Lake Merritt".into();
    oakland.address.lines = vec!["3300 Lakeshore Ave".into()];
    oakland.address.city = "Oakland".into();
    oakland.address.postal_code = Some("94610".into());
    oakland.location = GeoPoint {
        lat: 37.8104,
        lon: -122.2440,
    };
    let mut closed = oakland.clone();
    closed.name = "old-oakland".into();
    closed.display_name = "Bazaar Old Oakland".into();
    closed.active = false;
    let mut tx = rig.pool.begin().await.expect("begin");
    for store in [&oakland, &closed] {
        write::upsert_store(&mut tx, &rig.outbox, store)
            .await
            .expect("store");
    }
    tx.commit().await.expect("commit");
    assert_eq!(oakland.kind, StoreKind::Retail);
    rig
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["name"].as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn stores_are_found_by_city_postcode_name_or_street_without_coordinates() {
    let rig = rig().await;
    let search = |q: &str| {
        let uri = format!("/api/catalog/stores?q={q}");
        let rig = &rig;
        async move { rig.get_json(&uri).await }
    };
    // A city: every active retail store there, by name (the warehouse and the closed store are not
    // places shoppers go).
    let oakland = search("oakland").await;
    assert_eq!(names(&oakland), ["lake-merritt"]);
    assert!(
        oakland["items"][0].get("distanceKm").is_none(),
        "no point, no distance"
    );
    assert_eq!(
        names(&search("San%20Francisco").await),
        ["downtown", "mission"]
    );
    // A postcode, or its beginning.
    assert_eq!(names(&search("94610").await), ["lake-merritt"]);
    assert_eq!(names(&search("946").await), ["lake-merritt"]);
    // A store's name or street; every word must match somewhere, in any case.
    assert_eq!(names(&search("MISSION").await), ["mission"]);
    assert_eq!(names(&search("market%20st").await), ["downtown"]);
    assert_eq!(
        names(&search("market%20oakland").await),
        Vec::<String>::new()
    );
    // Wildcards are plain text.
    assert!(names(&search("%25").await).is_empty());
    assert!(names(&search("_").await).is_empty());
    rig.cleanup().await;
}

#[tokio::test]
async fn a_place_search_with_the_shoppers_position_comes_nearest_first_with_distances() {
    let rig = rig().await;
    // From Civic Center, San Francisco: every store matching "bazaar", nearest first.
    let near = rig
        .get_json("/api/catalog/stores?q=bazaar&lat=37.7793&lon=-122.4193&radiusKm=50")
        .await;
    assert_eq!(names(&near), ["mission", "downtown", "lake-merritt"]);
    let km = near["items"][2]["distanceKm"].as_f64().expect("km");
    assert!((14.0..16.0).contains(&km), "{km}");
    // The radius still applies.
    let close = rig
        .get_json("/api/catalog/stores?q=bazaar&lat=37.7793&lon=-122.4193&radiusKm=5")
        .await;
    assert_eq!(names(&close), ["mission", "downtown"]);
    rig.cleanup().await;
}

#[tokio::test]
async fn a_locator_query_needs_a_place_or_a_point_and_says_what_is_wrong() {
    let rig = rig().await;
    for (uri, fields) in [
        ("/api/catalog/stores", vec!["q", "lat", "lon"]),
        ("/api/catalog/stores?q=%20%20", vec!["q", "lat", "lon"]),
        ("/api/catalog/stores?lat=37.7", vec!["lon"]),
        ("/api/catalog/stores?q=oakland&lon=-122.2", vec!["lat"]),
    ] {
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
        let got: Vec<&str> = problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().expect("field"))
            .collect();
        assert_eq!(got, fields, "GET {uri}: {problem}");
    }
    let long = "a".repeat(101);
    let response = rig.get(&format!("/api/catalog/stores?q={long}")).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    rig.cleanup().await;
}
