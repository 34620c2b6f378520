//! `/api/inventory` over real HTTP: who may do what, the audit trail, and bad input answered with a clear
//! problem+json and no side effect.

mod common;

use bazaar_platform::auth::Role;
use common::Shop;
use serde_json::{Value, json};

async fn body(response: reqwest::Response) -> Value {
    response.json().await.expect("json body")
}

#[tokio::test]
async fn availability_is_public_and_counts_only_what_can_ship() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.location("shop/showroom", 9).await;
    shop.stock("BOOT-42", "shop/east", 4).await;
    shop.stock("BOOT-42", "shop/showroom", 7).await;
    // The showroom stops shipping online orders.
    let response = shop
        .http
        .put(shop.url("/api/inventory/locations/shop/showroom"))
        .bearer_auth(shop.ops())
        .json(&json!({"canShip": false, "priority": 9}))
        .send()
        .await
        .expect("put");
    assert_eq!(response.status(), 200);

    let response = shop
        .http
        .get(shop.url("/api/inventory/availability/BOOT-42"))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status(), 200);
    assert_eq!(
        body(response).await,
        json!({"sku": "BOOT-42", "available": 4, "inStock": true})
    );
    let unknown = shop
        .http
        .get(shop.url("/api/inventory/availability/NEVER-STOCKED"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        body(unknown).await,
        json!({"sku": "NEVER-STOCKED", "available": 0, "inStock": false})
    );
    shop.stop().await;
}

#[tokio::test]
async fn stock_changes_need_the_ops_role_and_are_audited() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    let put = |token: Option<String>| {
        let request = shop
            .http
            .put(shop.url("/api/inventory/stock/BOOT-42/shop/east"))
            .json(&json!({"onHand": 5, "reason": "count"}));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };

    let anonymous = put(None).send().await.expect("put");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let customer = put(Some(shop.token(&[Role::Customer])))
        .send()
        .await
        .expect("put");
    assert_eq!(customer.status(), 403);
    let audit = shop
        .http
        .get(shop.url("/api/inventory/adjustments?sku=BOOT-42"))
        .bearer_auth(shop.token(&[Role::Customer]))
        .send()
        .await
        .expect("get");
    assert_eq!(audit.status(), 403);
    assert_eq!(shop.level("BOOT-42", "shop/east").await, (0, 0));

    // Ops set 5, then remove 2 damaged; an admin adds 10 delivered.
    let ops = shop.issuer.issue(
        "ops-alice",
        &[Role::Ops],
        std::time::Duration::from_secs(60),
    );
    let admin = shop.issuer.issue(
        "admin-bob",
        &[Role::Admin],
        std::time::Duration::from_secs(60),
    );
    let set = shop
        .http
        .put(shop.url("/api/inventory/stock/BOOT-42/shop/east"))
        .bearer_auth(&ops)
        .json(&json!({"onHand": 5, "reason": "cycle count"}))
        .send()
        .await
        .expect("put");
    assert_eq!(set.status(), 200);
    let damaged = shop
        .http
        .post(shop.url("/api/inventory/stock/BOOT-42/shop/east/adjustments"))
        .bearer_auth(&ops)
        .json(&json!({"delta": -2, "reason": "damaged in transit"}))
        .send()
        .await
        .expect("post");
    assert_eq!(damaged.status(), 200);
    let mut damaged = body(damaged).await;
    // No catalog runs here, so inventory knows no Product selling BOOT-42: kept, with a warning.
    let warnings = damaged
        .as_object_mut()
        .and_then(|answer| answer.remove("warnings"))
        .expect("a warning");
    assert!(
        warnings[0]
            .as_str()
            .is_some_and(|w| w.contains("does not sell BOOT-42")),
        "{warnings}"
    );
    assert_eq!(
        damaged,
        json!({"location": "shop/east", "onHand": 3, "reserved": 0, "available": 3, "canShip": true})
    );
    let delivered = shop
        .http
        .post(shop.url("/api/inventory/stock/BOOT-42/shop/east/adjustments"))
        .bearer_auth(&admin)
        .json(&json!({"delta": 10, "reason": "supplier delivery"}))
        .send()
        .await
        .expect("post");
    assert_eq!(delivered.status(), 200);
    shop.threshold("BOOT-42", 4).await;

    let trail = body(
        shop.http
            .get(shop.url("/api/inventory/adjustments?sku=BOOT-42"))
            .bearer_auth(&ops)
            .send()
            .await
            .expect("get"),
    )
    .await;
    let summary: Vec<Value> = trail
        .as_array()
        .expect("array")
        .iter()
        .map(|a| {
            assert!(a["occurredAt"].as_str().is_some());
            json!([
                a["kind"],
                a["location"],
                a["before"],
                a["after"],
                a["reason"],
                a["actor"]
            ])
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            json!(["threshold", null, null, 4, "reorder point", "ops-user-1"]),
            json!([
                "adjust",
                "shop/east",
                3,
                13,
                "supplier delivery",
                "admin-bob"
            ]),
            json!([
                "adjust",
                "shop/east",
                5,
                3,
                "damaged in transit",
                "ops-alice"
            ]),
            json!(["set", "shop/east", 0, 5, "cycle count", "ops-alice"]),
        ]
    );
    let stock = body(
        shop.http
            .get(shop.url("/api/inventory/stock/BOOT-42"))
            .bearer_auth(&ops)
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(stock["available"], 13);
    assert_eq!(stock["lowStockThreshold"], 4);
    shop.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_and_changes_nothing() {
    let shop = Shop::start().await;
    shop.location("shop/east", 1).await;
    shop.stock("BOOT-42", "shop/east", 5).await;
    let ops = shop.ops();
    let audit_rows = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM adjustments")
            .fetch_one(&shop.pool)
            .await
            .expect("count")
    };
    let before = audit_rows().await;

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            shop.http
                .put(shop.url("/api/inventory/stock/bad%20sku/shop/east"))
                .json(&json!({"onHand": 1, "reason": "x"})),
            422,
            "sku",
        ),
        (
            shop.http
                .put(shop.url("/api/inventory/stock/BOOT-42/shop/east"))
                .json(&json!({"onHand": -3, "reason": "x"})),
            422,
            "onHand",
        ),
        (
            shop.http
                .put(shop.url("/api/inventory/stock/BOOT-42/shop/east"))
                .json(&json!({"onHand": 3, "reason": "  "})),
            422,
            "reason",
        ),
        (
            shop.http
                .put(shop.url("/api/inventory/stock/BOOT-42/elsewhere/depot"))
                .json(&json!({"onHand": 3, "reason": "x"})),
            422,
            "location",
        ),
        (
            shop.http
                .put(shop.url("/api/inventory/stock/BOOT-42/Shop/East"))
                .json(&json!({"onHand": 3, "reason": "x"})),
            422,
            "location",
        ),
        (
            shop.http
                .post(shop.url("/api/inventory/stock/BOOT-42/shop/east/adjustments"))
                .json(&json!({"delta": 0, "reason": "x"})),
            422,
            "delta",
        ),
        (
            shop.http
                .post(shop.url("/api/inventory/stock/BOOT-42/shop/east/adjustments"))
                .json(&json!({"delta": -6, "reason": "more than there is"})),
            409,
            "",
        ),
        (
            shop.http
                .put(shop.url("/api/inventory/thresholds/BOOT-42"))
                .json(&json!({"threshold": -1, "reason": "x"})),
            422,
            "threshold",
        ),
        (
            shop.http
                .put(shop.url("/api/inventory/stock/BOOT-42/shop/east"))
                .header("content-type", "application/json")
                .body("{\"onHand\": 3,"),
            400,
            "",
        ),
        (
            shop.http
                .put(shop.url("/api/inventory/stock/BOOT-42/shop/east"))
                .json(&json!({"onHand": "many", "reason": "x"})),
            422,
            "",
        ),
        (
            shop.http
                .get(shop.url("/api/inventory/availability/-leading-dash")),
            422,
            "sku",
        ),
        (
            shop.http
                .get(shop.url("/api/inventory/reservations/not-a-uuid")),
            400,
            "",
        ),
        (
            shop.http
                .get(shop.url("/api/inventory/adjustments?sku=BOOT-42&limit=0")),
            422,
            "limit",
        ),
    ];
    for (request, status, field) in cases {
        let response = request.bearer_auth(&ops).send().await.expect("sent");
        let got = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem = body(response).await;
        assert_eq!(got, status, "{problem}");
        assert!(problem["detail"].as_str().is_some(), "{problem}");
        if !field.is_empty() {
            assert_eq!(problem["errors"][0]["field"], field, "{problem}");
        }
    }

    // Reserved units cannot be set away either.
    sqlx::query("UPDATE stock SET reserved = 4 WHERE sku = 'BOOT-42'")
        .execute(&shop.pool)
        .await
        .expect("hold");
    let below_reserved = shop
        .http
        .put(shop.url("/api/inventory/stock/BOOT-42/shop/east"))
        .bearer_auth(&ops)
        .json(&json!({"onHand": 3, "reason": "recount"}))
        .send()
        .await
        .expect("put");
    assert_eq!(below_reserved.status(), 409);
    assert!(
        body(below_reserved).await["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("reserved")
    );

    assert_eq!(shop.level("BOOT-42", "shop/east").await, (5, 4));
    assert_eq!(audit_rows().await, before);
    let locations: i64 = sqlx::query_scalar("SELECT count(*) FROM locations")
        .fetch_one(&shop.pool)
        .await
        .expect("count");
    assert_eq!(locations, 1);
    shop.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let shop = Shop::start().await;
    let document = body(
        shop.http
            .get(shop.url("/api/inventory/openapi.json"))
            .send()
            .await
            .expect("get"),
    )
    .await;
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/api/inventory/availability/{sku}",
        "/api/inventory/stock/{sku}",
        "/api/inventory/stock/{sku}/{namespace}/{name}",
        "/api/inventory/stock/{sku}/{namespace}/{name}/adjustments",
        "/api/inventory/thresholds/{sku}",
        "/api/inventory/adjustments",
        "/api/inventory/locations",
        "/api/inventory/locations/{namespace}/{name}",
        "/api/inventory/reservations/{order_id}",
    ] {
        assert!(paths.contains_key(path), "{path} missing from {paths:?}");
    }
    shop.stop().await;
}
