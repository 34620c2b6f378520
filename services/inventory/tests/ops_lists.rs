//! What the ops console lists (issue 14): stock per SKU and location, paged by cursor and filtered by SKU
//! prefix and location, and the SKUs at or below their low-stock threshold. Staff only.

mod common;

use bazaar_platform::auth::Role;
use common::Shop;
use serde_json::{Value, json};

async fn get(shop: &Shop, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = shop.http.get(shop.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("get");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// (sku, location, onHand, reserved, available) of a page.
fn rows(page: &Value) -> Vec<(String, String, i64, i64, i64)> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|row| {
            (
                row["sku"].as_str().expect("sku").to_owned(),
                row["location"].as_str().expect("location").to_owned(),
                row["onHand"].as_i64().expect("onHand"),
                row["reserved"].as_i64().expect("reserved"),
                row["available"].as_i64().expect("available"),
            )
        })
        .collect()
}

fn row(sku: &str, location: &str, on_hand: i64) -> (String, String, i64, i64, i64) {
    (sku.to_owned(), location.to_owned(), on_hand, 0, on_hand)
}

#[tokio::test]
async fn ops_list_stock_per_sku_and_location_by_cursor_filtered_by_sku_prefix_and_location() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.location("shop/west", 2).await;
    shop.stock("BOOT-42", "shop/east", 4).await;
    shop.stock("BOOT-42", "shop/west", 0).await;
    shop.stock("BOOT-43", "shop/west", 7).await;
    shop.stock("CAP-1", "shop/east", 3).await;
    let ops = shop.ops();

    let (status, first) = get(&shop, "/api/inventory/stock?limit=2", Some(&ops)).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        rows(&first),
        [
            row("BOOT-42", "shop/east", 4),
            row("BOOT-42", "shop/west", 0)
        ],
        "ordered by SKU, then location"
    );
    assert_eq!(first["items"][0]["canShip"], true);
    let cursor = first["nextCursor"].as_str().expect("a next page");
    let (_, second) = get(
        &shop,
        &format!("/api/inventory/stock?limit=2&cursor={cursor}"),
        Some(&ops),
    )
    .await;
    assert_eq!(
        rows(&second),
        [row("BOOT-43", "shop/west", 7), row("CAP-1", "shop/east", 3)]
    );
    assert!(
        second["nextCursor"].is_null(),
        "no cursor when nothing follows"
    );

    let (_, boots) = get(&shop, "/api/inventory/stock?skuPrefix=BOOT", Some(&ops)).await;
    assert_eq!(rows(&boots).len(), 3);
    assert!(boots["nextCursor"].is_null());
    let (_, east) = get(&shop, "/api/inventory/stock?location=shop/east", Some(&ops)).await;
    assert_eq!(
        rows(&east),
        [row("BOOT-42", "shop/east", 4), row("CAP-1", "shop/east", 3)]
    );
    let (_, both) = get(
        &shop,
        "/api/inventory/stock?skuPrefix=BOOT-4&location=shop/west",
        Some(&ops),
    )
    .await;
    assert_eq!(
        rows(&both),
        [
            row("BOOT-42", "shop/west", 0),
            row("BOOT-43", "shop/west", 7)
        ]
    );
    let (_, literal) = get(&shop, "/api/inventory/stock?skuPrefix=BOOT_", Some(&ops)).await;
    assert!(
        rows(&literal).is_empty(),
        "the prefix is literal, not a LIKE pattern"
    );

    for bad in [
        "/api/inventory/stock?limit=0",
        "/api/inventory/stock?limit=501",
        "/api/inventory/stock?cursor=nonsense",
        "/api/inventory/stock?location=Not%20A%20Store",
        "/api/inventory/stock?skuPrefix=%25",
    ] {
        let (status, problem) = get(&shop, bad, Some(&ops)).await;
        assert_eq!(status, 422, "{bad}: {problem}");
    }
    let (status, _) = get(&shop, "/api/inventory/stock?page=2", Some(&ops)).await;
    assert_eq!(status, 400, "unknown parameters are refused");

    let (status, _) = get(&shop, "/api/inventory/stock", None).await;
    assert_eq!(status, 401);
    let customer = shop.token(&[Role::Customer]);
    let (status, _) = get(&shop, "/api/inventory/stock", Some(&customer)).await;
    assert_eq!(status, 403);
    let admin = shop.token(&[Role::Admin]);
    let (status, _) = get(&shop, "/api/inventory/stock", Some(&admin)).await;
    assert_eq!(status, 200);
    shop.stop().await;
}

#[tokio::test]
async fn the_low_stock_list_shows_skus_at_or_below_their_threshold_over_all_locations() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.location("shop/west", 2).await;
    shop.stock("BOOT-42", "shop/east", 2).await;
    shop.stock("BOOT-42", "shop/west", 1).await;
    shop.threshold("BOOT-42", 3).await; // 3 available: at the threshold, low
    shop.stock("CAP-1", "shop/east", 10).await;
    shop.threshold("CAP-1", 3).await; // well stocked
    shop.stock("MUG-1", "shop/east", 0).await;
    shop.threshold("MUG-1", 0).await; // sold out
    shop.stock("TENT-1", "shop/east", 0).await; // no threshold: never listed
    let ops = shop.ops();

    let (status, page) = get(&shop, "/api/inventory/low-stock", Some(&ops)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["items"],
        json!([
            {"sku": "BOOT-42", "available": 3, "threshold": 3},
            {"sku": "MUG-1", "available": 0, "threshold": 0},
        ])
    );
    assert!(page["nextCursor"].is_null());

    let (_, first) = get(&shop, "/api/inventory/low-stock?limit=1", Some(&ops)).await;
    assert_eq!(first["items"][0]["sku"], "BOOT-42");
    let cursor = first["nextCursor"].as_str().expect("a next page");
    let (_, second) = get(
        &shop,
        &format!("/api/inventory/low-stock?limit=1&cursor={cursor}"),
        Some(&ops),
    )
    .await;
    assert_eq!(second["items"][0]["sku"], "MUG-1");

    shop.stock("BOOT-42", "shop/east", 5).await;
    let (_, restocked) = get(&shop, "/api/inventory/low-stock", Some(&ops)).await;
    assert_eq!(
        restocked["items"],
        json!([{"sku": "MUG-1", "available": 0, "threshold": 0}]),
        "a SKU above its threshold again leaves the list"
    );

    let (status, _) = get(&shop, "/api/inventory/low-stock?limit=0", Some(&ops)).await;
    assert_eq!(status, 422);
    let customer = shop.token(&[Role::Customer]);
    let (status, _) = get(&shop, "/api/inventory/low-stock", Some(&customer)).await;
    assert_eq!(status, 403);
    shop.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_ops_lists_as_staff_only() {
    let shop = Shop::start().await;
    let response = shop
        .http
        .get(shop.url("/api/inventory/openapi.json"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.expect("json");
    for path in ["/api/inventory/stock", "/api/inventory/low-stock"] {
        let get = &document["paths"][path]["get"];
        assert!(get.is_object(), "{path} documented");
        for status in ["200", "401", "403", "422"] {
            assert!(
                get["responses"][status].is_object(),
                "{path} answers {status}"
            );
        }
        assert!(
            get["security"].is_array(),
            "{path} says it needs a bearer token"
        );
    }
    shop.stop().await;
}
