//! The orders API as the ops console and the storefront use it: staff list every shopper's orders by
//! state, newest first, a page at a time, with what a packing list needs; shoppers still see only their
//! own. A shopper may collect an order in a store that offers pickup, for no shipping charge.

mod common;

use bazaar_platform::auth::Role;
use common::{Shop, amount};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn shop() -> Shop {
    Shop::open(&[&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT]).await
}

fn address() -> Value {
    json!({"name": "Sam Shopper", "line1": "1 Market St", "city": "San Francisco",
           "region": "CA", "postalCode": "94105", "country": "US"})
}

/// `shopper` checks out one RR-42 with `shipping` (extra checkout fields); returns the answer.
async fn checkout(shop: &Shop, shopper: &str, key: &str, shipping: Value) -> common::Answer {
    let token = shop.token(shopper, &[Role::Customer]);
    let mut body = json!({
        "lines": [{"sku": "RR-42", "quantity": 1}],
        "currency": "USD",
        "shippingAddress": address(),
        "shippingMethod": "standard",
        "paymentToken": "tok_visa",
    });
    for (field, value) in shipping.as_object().cloned().unwrap_or_default() {
        body[field] = value;
    }
    shop.post(
        "/api/checkout",
        Some(&token),
        &[("idempotency-key", key)],
        body,
    )
    .await
}

async fn place(shop: &Shop, shopper: &str, key: &str) -> String {
    let placed = checkout(shop, shopper, key, json!({})).await;
    assert_eq!(placed.status, StatusCode::ACCEPTED, "{}", placed.body);
    placed.body["id"].as_str().expect("id").to_owned()
}

fn numbers(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["id"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[tokio::test]
async fn staff_list_every_shoppers_orders_by_state_newest_first_a_page_at_a_time() {
    let shop = shop().await;
    let first = place(&shop, "sam", "list-1").await;
    let second = place(&shop, "sam", "list-2").await;
    let third = place(&shop, "ann", "list-3").await;
    // Cancelled before any payment: the ops console must still see it.
    let sam = shop.token("sam", &[Role::Customer]);
    let cancelled = shop
        .post(
            &format!("/api/orders/{first}/cancel"),
            Some(&sam),
            &[],
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.body);
    let ops = shop.token("olga-ops", &[Role::Ops]);

    let page = shop
        .get("/api/orders?all=true&limit=2", Some(&ops), &[])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(numbers(&page.body), [third.as_str(), second.as_str()]);
    let packing = &page.body["items"][1];
    assert_eq!(packing["lines"][0]["sku"], "RR-42", "lines to pack");
    assert_eq!(packing["shippingAddress"]["line1"], "1 Market St");
    assert_eq!(packing["shippingMethod"], "standard");
    assert!(packing["total"]["amount"].is_string(), "totals: {packing}");
    assert_eq!(packing["email"], "sam@example.test");
    let cursor = page.body["nextCursor"].as_str().expect("a next page");
    let rest = shop
        .get(
            &format!("/api/orders?all=true&limit=2&cursor={cursor}"),
            Some(&ops),
            &[],
        )
        .await;
    assert_eq!(numbers(&rest.body), [first.as_str()]);
    assert!(rest.body.get("nextCursor").is_none(), "{}", rest.body);

    let by_state = shop
        .get("/api/orders?all=true&state=cancelled", Some(&ops), &[])
        .await;
    assert_eq!(numbers(&by_state.body), [first.as_str()]);
    assert_eq!(
        by_state.body["items"][0]["cancelReason"],
        "requested_by_customer"
    );
    let either = shop
        .get(
            "/api/orders?all=true&state=placed,cancelled",
            Some(&ops),
            &[],
        )
        .await;
    assert_eq!(
        numbers(&either.body),
        [third.as_str(), second.as_str(), first.as_str()]
    );
    let admin = shop.token("ada-admin", &[Role::Admin]);
    let all = shop.get("/api/orders?all=true", Some(&admin), &[]).await;
    assert_eq!(numbers(&all.body).len(), 3, "admins are staff too");

    // Without `all`, staff see their own orders like anyone; shoppers only ever see theirs.
    let own = shop.get("/api/orders", Some(&ops), &[]).await;
    assert!(numbers(&own.body).is_empty());
    let mine = shop.get("/api/orders", Some(&sam), &[]).await;
    assert_eq!(numbers(&mine.body), [second.as_str(), first.as_str()]);
    let mine_cancelled = shop
        .get("/api/orders?state=cancelled", Some(&sam), &[])
        .await;
    assert_eq!(numbers(&mine_cancelled.body), [first.as_str()]);
    let forbidden = shop.get("/api/orders?all=true", Some(&sam), &[]).await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.body
    );

    for (query, field) in [
        ("all=true&state=lost", "state"),
        ("all=true&state=placed,", "state"),
        ("all=true&limit=101", "limit"),
        ("all=true&limit=0", "limit"),
    ] {
        let refused = shop
            .get(&format!("/api/orders?{query}"), Some(&ops), &[])
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            refused.body
        );
        assert_eq!(refused.body["errors"][0]["field"], field, "{query}");
    }
    shop.close().await;
}

#[tokio::test]
async fn a_shopper_collects_in_a_store_that_offers_pickup_and_pays_no_shipping() {
    let shop = shop().await;
    // The cart's shipping options name the stores pickup is offered at for the address.
    let sam = shop.token("sam", &[Role::Customer]);
    shop.post(
        "/api/cart/lines",
        Some(&sam),
        &[],
        json!({"sku": "RR-42", "quantity": 1}),
    )
    .await;
    let cart = shop
        .get("/api/cart?country=US&region=CA", Some(&sam), &[])
        .await;
    let pickup = cart.body["shippingOptions"]
        .as_array()
        .expect("options")
        .iter()
        .find(|o| o["code"] == "pickup")
        .cloned()
        .expect("pickup is offered in the US");
    assert_eq!(
        pickup["pickupStores"],
        json!(["shop/downtown", "shop/mission"])
    );

    let placed = checkout(
        &shop,
        "sam",
        "pickup-1",
        json!({"shippingMethod": "pickup", "pickupStore": "shop/mission"}),
    )
    .await;
    assert_eq!(placed.status, StatusCode::ACCEPTED, "{}", placed.body);
    let order = &placed.body;
    assert_eq!(order["shippingMethod"], "pickup");
    assert_eq!(order["pickupStore"], "shop/mission");
    assert_eq!(amount(&order["shipping"]), "0.00", "no shipping charge");
    let id = order["id"].as_str().expect("id");
    let seen = shop
        .get(&format!("/api/orders/{id}"), Some(&sam), &[])
        .await;
    assert_eq!(seen.body["pickupStore"], "shop/mission");
    let ops = shop.token("olga-ops", &[Role::Ops]);
    let to_pack = shop.get("/api/orders?all=true", Some(&ops), &[]).await;
    assert_eq!(to_pack.body["items"][0]["pickupStore"], "shop/mission");

    // Refused with 422 naming pickupStore, and no order made: an unknown store, a warehouse (no pickup),
    // pickup without a store, and a store with a shipping method.
    for (key, shipping, says) in [
        (
            "pickup-2",
            json!({"shippingMethod": "pickup", "pickupStore": "shop/nowhere"}),
            "shop/nowhere is not a store where this order can be picked up",
        ),
        (
            "pickup-3",
            json!({"shippingMethod": "pickup", "pickupStore": "shop/oakland-warehouse"}),
            "choose one of: shop/downtown, shop/mission",
        ),
        (
            "pickup-4",
            json!({"shippingMethod": "pickup"}),
            "is required for in-store pickup",
        ),
        (
            "pickup-5",
            json!({"shippingMethod": "standard", "pickupStore": "shop/mission"}),
            "is only for in-store pickup",
        ),
    ] {
        let refused = checkout(&shop, "sam", key, shipping).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{key}: {}",
            refused.body
        );
        let error = &refused.body["errors"][0];
        assert_eq!(error["field"], "pickupStore", "{key}: {}", refused.body);
        assert!(
            error["message"].as_str().unwrap_or_default().contains(says),
            "{key}: {error}"
        );
    }
    let orders = shop.get("/api/orders", Some(&sam), &[]).await;
    assert_eq!(numbers(&orders.body).len(), 1, "refusals place no order");
    shop.close().await;
}

#[tokio::test]
async fn the_openapi_document_describes_the_staff_list_pickup_the_currency_change_and_payment_failures()
 {
    let shop = shop().await;
    let doc = shop.get("/api/order/openapi.json", None, &[]).await;
    assert_eq!(doc.status, StatusCode::OK);
    let doc = &doc.body;
    let list = &doc["paths"]["/api/orders"]["get"];
    let params: Vec<&str> = list["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for name in ["all", "state", "limit", "cursor"] {
        assert!(
            params.contains(&name),
            "GET /api/orders documents {name}: {params:?}"
        );
    }
    assert!(
        list["responses"]["403"].is_object(),
        "403 for all=true without a staff role"
    );
    assert!(
        doc["paths"]["/api/cart"]["patch"]["requestBody"].is_object(),
        "PATCH /api/cart is documented"
    );
    let schemas = &doc["components"]["schemas"];
    assert!(schemas["CartChange"]["properties"]["currency"].is_object());
    assert!(schemas["CheckoutRequest"]["properties"]["pickupStore"].is_object());
    for field in ["pickupStore", "paymentFailure", "email"] {
        assert!(
            schemas["OrderView"]["properties"][field].is_object(),
            "OrderView documents {field}"
        );
    }
    assert!(schemas["ShippingOption"]["properties"]["pickupStores"].is_object());
    // Fields an answer may leave out are not required, or every answer without them breaks the document.
    let required = |schema: &str| -> Vec<String> {
        schemas[schema]["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect()
    };
    assert!(!required("ShippingOption").contains(&"pickupStores".to_owned()));
    for optional in ["pickupStore", "paymentFailure"] {
        assert!(
            !required("OrderView").contains(&optional.to_owned()),
            "{optional}"
        );
    }
    shop.close().await;
}
