//! The staff view of the catalog: every product whatever its lifecycle, with the Product resource it was
//! reconciled from, for the ops console's read-only catalog (merchandising itself stays in kubectl).

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bazaar_catalog::routes;
use bazaar_platform::auth::{Role, TestIssuer};
use bazaar_platform::metrics::Metrics;
use common::{Rig, json_of};
use tower::ServiceExt;

/// The rig's catalog behind a verifier that trusts `issuer`.
fn trusting(rig: &Rig, issuer: &TestIssuer) -> Router {
    let (router, _openapi) = routes::router(rig.state.clone()).split_for_parts();
    bazaar_testkit::http::scaffold_with(
        router,
        64 * 1024,
        Metrics::new(),
        Arc::new(issuer.verifier()),
    )
}

async fn get(app: &Router, uri: &str, token: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut request = Request::get(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    (status, json_of(response).await)
}

#[tokio::test]
async fn staff_see_every_product_with_the_resource_it_came_from() {
    let rig = Rig::seeded().await;
    let mut shop = bazaar_catalog::seed::shop("shop");
    let mut boot = shop
        .products
        .drain(..)
        .find(|p| p.slug == "summit-boot")
        .expect("boot");
    boot.source_generation = Some(4);
    let mut tx = rig.pool.begin().await.expect("begin");
    bazaar_catalog::write::upsert_product(&mut tx, &rig.outbox, &boot)
        .await
        .expect("update");
    tx.commit().await.expect("commit");
    let issuer = TestIssuer::new();
    let app = trusting(&rig, &issuer);
    let ops = issuer.issue("ops-1", &[Role::Ops], std::time::Duration::from_secs(300));
    let (status, page) = get(&app, "/api/catalog/staff/products?limit=100", Some(&ops)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().expect("items");
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["source"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(
        names,
        [
            "merino-tee",
            "rain-shell",
            "road-racer",
            "summit-boot",
            "trail-runner",
            "trail-socks",
            "winter-parka"
        ],
        "drafts too, by namespace and name"
    );
    let boot = &items[3];
    assert_eq!(
        boot["source"],
        serde_json::json!({
            "apiVersion": "bazaar.dev/v1alpha1",
            "kind": "Product",
            "namespace": "shop",
            "name": "summit-boot",
            "generation": 4,
        })
    );
    assert_eq!(boot["slug"], "summit-boot");
    assert_eq!(boot["lifecycle"], "Active");
    assert_eq!(boot["skus"], serde_json::json!(["SB-42", "SB-43"]));
    assert!(boot["projectedAt"].as_str().is_some(), "{boot}");
    assert_eq!(items[6]["lifecycle"], "Draft");
    assert!(
        items[6]["source"].get("generation").is_none(),
        "the seed is not a resource"
    );

    // Paging, and a lifecycle filter.
    let (_, first) = get(&app, "/api/catalog/staff/products?limit=4", Some(&ops)).await;
    let cursor = first["nextCursor"].as_str().expect("cursor");
    let (_, second) = get(
        &app,
        &format!("/api/catalog/staff/products?limit=4&cursor={cursor}"),
        Some(&ops),
    )
    .await;
    assert_eq!(second["items"][0]["source"]["name"], "trail-runner");
    assert!(second.get("nextCursor").is_none());
    let (_, drafts) = get(
        &app,
        "/api/catalog/staff/products?lifecycle=Draft",
        Some(&ops),
    )
    .await;
    assert_eq!(drafts["items"].as_array().expect("items").len(), 1);

    // Staff only.
    let (status, _) = get(&app, "/api/catalog/staff/products", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let shopper = issuer.issue(
        "s-1",
        &[Role::Customer],
        std::time::Duration::from_secs(300),
    );
    let (status, _) = get(&app, "/api/catalog/staff/products", Some(&shopper)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let merchandiser = issuer.issue(
        "m-1",
        &[Role::Merchandiser],
        std::time::Duration::from_secs(300),
    );
    let (status, _) = get(&app, "/api/catalog/staff/products", Some(&merchandiser)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, problem) = get(
        &app,
        "/api/catalog/staff/products?lifecycle=Gone&limit=0&cursor=x",
        Some(&ops),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    rig.cleanup().await;
}
