//! The cart as a shopper uses it: guest carts, signing in, prices and promotions from the catalog, coupons,
//! price changes and unavailable products made visible, and bad input refused without side effects.

mod common;

use bazaar_platform::auth::Role;
use common::{Shop, amount, eventually};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn shop() -> Shop {
    Shop::open(&[&bazaar_catalog::COMPONENT, &bazaar_order::COMPONENT]).await
}

/// Starts a guest cart and returns its token.
async fn guest_cart(shop: &Shop) -> String {
    let created = shop.post("/api/cart", None, &[], json!({})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["cartToken"]
        .as_str()
        .expect("a guest cart token")
        .to_owned()
}

#[tokio::test]
async fn a_guest_cart_shows_current_prices_automatic_promotions_shipping_and_totals() {
    let shop = shop().await;
    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];

    let added = shop
        .post(
            "/api/cart/lines",
            None,
            &token,
            json!({"sku": "TR-42-BLK", "quantity": 1}),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "RR-42", "quantity": 2}),
    )
    .await;

    let view = shop
        .get("/api/cart?country=US&region=CA", None, &token)
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.body);
    let body = &view.body;
    assert_eq!(body["lines"].as_array().expect("lines").len(), 2);
    let runner = &body["lines"][0];
    assert_eq!(runner["sku"], "TR-42-BLK");
    assert_eq!(amount(&runner["unitPrice"]), "129.00");
    assert_eq!(
        amount(&runner["discount"]),
        "25.80",
        "summer sale: 20% off the summer collection"
    );
    assert_eq!(amount(&body["subtotal"]), "427.00");
    assert_eq!(amount(&body["discount"]), "25.80");
    assert_eq!(body["shipping"]["code"], "standard");
    assert_eq!(
        amount(&body["shippingTotal"]),
        "0.00",
        "standard shipping is free over 50.00"
    );
    assert_eq!(amount(&body["total"]), "401.20");
    assert_eq!(body["readyForCheckout"], true);
    shop.close().await;
}

#[tokio::test]
async fn quantities_change_and_lines_go_away_on_request() {
    let shop = shop().await;
    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "TS-M", "quantity": 1}),
    )
    .await;
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "TS-M", "quantity": 2}),
    )
    .await;

    let view = shop.get("/api/cart", None, &token).await;
    assert_eq!(
        view.body["lines"][0]["quantity"], 3,
        "adding the same SKU adds up"
    );
    assert_eq!(
        amount(&view.body["discount"]),
        "15.00",
        "socks: buy 2 get 1 free"
    );

    let changed = shop
        .call(
            Method::PUT,
            "/api/cart/lines/TS-M",
            None,
            &token,
            Some(json!({"quantity": 1})),
        )
        .await;
    assert_eq!(changed.body["lines"][0]["quantity"], 1);
    let removed = shop
        .call(Method::DELETE, "/api/cart/lines/TS-M", None, &token, None)
        .await;
    assert_eq!(removed.status, StatusCode::OK);
    assert_eq!(removed.body["lines"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        removed.body["readyForCheckout"], false,
        "an empty cart cannot check out"
    );
    shop.close().await;
}

#[tokio::test]
async fn a_coupon_applies_when_its_rules_hold_and_is_refused_with_the_reason_otherwise() {
    let shop = shop().await;
    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "TS-M", "quantity": 1}),
    )
    .await;

    let too_small = shop
        .call(
            Method::PUT,
            "/api/cart/coupon",
            None,
            &token,
            Some(json!({"code": "WELCOME10"})),
        )
        .await;
    assert_eq!(
        too_small.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        too_small.body
    );
    assert_eq!(too_small.body["errors"][0]["field"], "code");
    let unknown = shop
        .call(
            Method::PUT,
            "/api/cart/coupon",
            None,
            &token,
            Some(json!({"code": "NOPE"})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let still = shop.get("/api/cart", None, &token).await;
    assert!(
        still.body.get("coupon").is_none(),
        "a refused coupon is not kept: {}",
        still.body
    );

    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "RR-42", "quantity": 1}),
    )
    .await;
    let applied = shop
        .call(
            Method::PUT,
            "/api/cart/coupon",
            None,
            &token,
            Some(json!({"code": "welcome10"})),
        )
        .await;
    assert_eq!(applied.status, StatusCode::OK, "{}", applied.body);
    assert_eq!(applied.body["coupon"]["applied"], true);
    assert_eq!(amount(&applied.body["discount"]), "10.00");

    let removed = shop
        .call(Method::DELETE, "/api/cart/coupon", None, &token, None)
        .await;
    assert_eq!(amount(&removed.body["discount"]), "0.00");
    shop.close().await;
}

#[tokio::test]
async fn a_price_change_after_adding_is_shown_and_an_archived_product_is_flagged_not_dropped() {
    let shop = shop().await;
    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "RR-42", "quantity": 1}),
    )
    .await;
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "RS-M", "quantity": 1}),
    )
    .await;

    // The merchandiser lowers one price and archives the other product.
    let catalog = shop.pool("catalog");
    let mut tx = catalog.begin().await.expect("begin");
    let mut merchandise = bazaar_catalog::seed::shop("shop");
    for product in &mut merchandise.products {
        if product.name == "road-racer" {
            product.variants[0].prices = vec![
                bazaar_contracts::Money::parse("139.00", bazaar_contracts::Currency::USD)
                    .expect("usd"),
            ];
        }
        if product.name == "rain-shell" {
            product.lifecycle = bazaar_catalog::model::ProductLifecycle::Archived;
        }
    }
    bazaar_catalog::seed::load(&mut tx, &bazaar_catalog::write::outbox(), &merchandise)
        .await
        .expect("update");
    tx.commit().await.expect("commit");

    let view = eventually("the cart to show the new price", || async {
        let view = shop.get("/api/cart", None, &token).await;
        (view.body["lines"][0]["priceChanged"] == true).then_some(view)
    })
    .await;
    let racer = &view.body["lines"][0];
    assert_eq!(amount(&racer["unitPrice"]), "139.00");
    assert_eq!(amount(&racer["priceWhenAdded"]), "149.00");
    let shell = &view.body["lines"][1];
    assert_eq!(
        shell["sku"], "RS-M",
        "the archived product stays in the cart"
    );
    assert_eq!(shell["status"], "not_for_sale");
    assert_eq!(view.body["readyForCheckout"], false);
    assert_eq!(
        amount(&view.body["subtotal"]),
        "139.00",
        "only what can be bought counts"
    );
    shop.close().await;
}

#[tokio::test]
async fn a_guest_cart_merges_into_the_shoppers_cart_on_sign_in() {
    let shop = shop().await;
    let alice = shop.token("alice", &[Role::Customer]);
    shop.post("/api/cart", Some(&alice), &[], json!({})).await;
    shop.post(
        "/api/cart/lines",
        Some(&alice),
        &[],
        json!({"sku": "TS-M", "quantity": 1}),
    )
    .await;

    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "TS-M", "quantity": 2}),
    )
    .await;
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "RR-42", "quantity": 1}),
    )
    .await;

    let merged = shop
        .post("/api/cart/merge", Some(&alice), &token, json!({}))
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    let lines = merged.body["lines"].as_array().expect("lines");
    let quantity_of = |sku: &str| {
        lines
            .iter()
            .find(|l| l["sku"] == sku)
            .map(|l| l["quantity"].clone())
    };
    assert_eq!(quantity_of("TS-M"), Some(json!(3)));
    assert_eq!(quantity_of("RR-42"), Some(json!(1)));

    let gone = shop.get("/api/cart", None, &token).await;
    assert_eq!(
        gone.status,
        StatusCode::NOT_FOUND,
        "the guest cart is used up"
    );
    let mine = shop.get("/api/cart", Some(&alice), &[]).await;
    assert_eq!(mine.body["lines"].as_array().map(Vec::len), Some(2));
    shop.close().await;
}

#[tokio::test]
async fn bad_cart_input_is_a_clear_4xx_and_changes_nothing() {
    let shop = shop().await;
    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];
    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "TS-M", "quantity": 1}),
    )
    .await;

    let cases = [
        (
            json!({"sku": "not a sku", "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sku",
        ),
        (
            json!({"sku": "TS-M", "quantity": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            json!({"sku": "TS-M", "quantity": 100000}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "quantity",
        ),
        (
            json!({"sku": "NO-SUCH-SKU", "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sku",
        ),
        (
            json!({"sku": "WP-M", "quantity": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "sku",
        ),
    ];
    for (body, status, field) in cases {
        let answer = shop
            .post("/api/cart/lines", None, &token, body.clone())
            .await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
        assert_eq!(answer.headers["content-type"], "application/problem+json");
        assert_eq!(
            answer.body["errors"][0]["field"], field,
            "{body}: {}",
            answer.body
        );
    }
    let malformed = shop
        .http
        .post(format!("{}/api/cart/lines", shop.running.base_url))
        .header("x-cart-token", &cart)
        .header("content-type", "application/json")
        .body("{\"sku\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    let nobody = shop.get("/api/cart", None, &[]).await;
    assert_eq!(nobody.status, StatusCode::UNAUTHORIZED);
    let stranger = shop
        .get("/api/cart", None, &[("x-cart-token", "made-up")])
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);
    let forged = shop.get("/api/cart", Some("not.a.jwt"), &[]).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let view = shop.get("/api/cart", None, &token).await;
    let lines = view.body["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "nothing was added: {}", view.body);
    assert_eq!(lines[0]["quantity"], 1);
    shop.close().await;
}

#[tokio::test]
async fn a_coupon_that_does_not_exist_is_refused_on_an_empty_cart_as_on_any_other() {
    let shop = shop().await;
    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];
    let apply = |code: &'static str| {
        shop.call(
            Method::PUT,
            "/api/cart/coupon",
            None,
            &token,
            Some(json!({ "code": code })),
        )
    };

    let on_empty = apply("NOPE").await;
    assert_eq!(
        on_empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        on_empty.body
    );
    let still = shop.get("/api/cart", None, &token).await;
    assert!(
        still.body.get("coupon").is_none(),
        "a refused coupon is not kept: {}",
        still.body
    );

    shop.post(
        "/api/cart/lines",
        None,
        &token,
        json!({"sku": "RR-42", "quantity": 1}),
    )
    .await;
    let on_full = apply("NOPE").await;
    assert_eq!(on_full.status, StatusCode::UNPROCESSABLE_ENTITY);
    for part in ["type", "detail", "errors"] {
        assert_eq!(
            on_empty.body[part], on_full.body[part],
            "the same refusal on any cart"
        );
    }
    assert_eq!(on_full.body["errors"][0]["field"], "code");
    assert_eq!(
        on_full.body["errors"][0]["message"],
        "NOPE cannot be used: No promotion has this code."
    );

    // A code that exists but depends on the cart (a minimum subtotal) is kept on an empty cart, and judged
    // against the lines once there are some.
    shop.call(Method::DELETE, "/api/cart/lines/RR-42", None, &token, None)
        .await;
    let pending = apply("WELCOME10").await;
    assert_eq!(pending.status, StatusCode::OK, "{}", pending.body);
    shop.close().await;
}

#[tokio::test]
async fn a_carts_currency_changes_in_place_and_every_line_is_priced_again_in_the_new_one() {
    let shop = shop().await;
    let cart = guest_cart(&shop).await;
    let token = [("x-cart-token", cart.as_str())];
    for (sku, quantity) in [("RR-42", 2), ("RS-M", 1)] {
        let added = shop
            .post(
                "/api/cart/lines",
                None,
                &token,
                json!({"sku": sku, "quantity": quantity}),
            )
            .await;
        assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    }

    let euros = shop
        .call(
            Method::PATCH,
            "/api/cart",
            None,
            &token,
            Some(json!({"currency": "EUR"})),
        )
        .await;
    assert_eq!(euros.status, StatusCode::OK, "{}", euros.body);
    let body = &euros.body;
    assert_eq!(body["currency"], "EUR");
    let lines = body["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 2, "the same cart keeps its lines: {body}");
    assert_eq!(lines[0]["sku"], "RR-42");
    assert_eq!(lines[0]["quantity"], 2);
    assert_eq!(lines[0]["unitPrice"]["currency"], "EUR");
    assert_eq!(amount(&lines[0]["unitPrice"]), "139.00");
    assert_eq!(
        lines[0]["priceChanged"], false,
        "the new currency's price is the price when added"
    );
    assert_eq!(lines[1]["sku"], "RS-M");
    assert_eq!(
        lines[1]["status"], "no_price_in_currency",
        "a line without a euro price stays, flagged"
    );
    assert_eq!(amount(&body["subtotal"]), "278.00");
    assert_eq!(body["total"]["currency"], "EUR");
    assert_eq!(body["readyForCheckout"], false);

    // A retry of the change answers the same and changes nothing; the cart stays in euros.
    let again = shop
        .call(
            Method::PATCH,
            "/api/cart",
            None,
            &token,
            Some(json!({"currency": "EUR"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body, euros.body);
    let viewed = shop.get("/api/cart", None, &token).await;
    assert_eq!(viewed.body["currency"], "EUR");
    assert_eq!(viewed.body["lines"].as_array().map(Vec::len), Some(2));

    // And back: every line can be bought again, at the dollar prices.
    let dollars = shop
        .call(
            Method::PATCH,
            "/api/cart",
            None,
            &token,
            Some(json!({"currency": "USD"})),
        )
        .await;
    assert_eq!(dollars.status, StatusCode::OK, "{}", dollars.body);
    assert_eq!(amount(&dollars.body["lines"][1]["unitPrice"]), "220.00");
    assert_eq!(dollars.body["lines"][1]["priceChanged"], false);
    assert_eq!(dollars.body["readyForCheckout"], true);

    // A signed-in shopper's cart changes the same way; a currency that is not ISO 4217 is refused.
    let sam = shop.token("sam-currency", &[Role::Customer]);
    shop.post(
        "/api/cart/lines",
        Some(&sam),
        &[],
        json!({"sku": "TR-42-BLK", "quantity": 1}),
    )
    .await;
    let changed = shop
        .call(
            Method::PATCH,
            "/api/cart",
            Some(&sam),
            &[],
            Some(json!({"currency": "EUR"})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(amount(&changed.body["lines"][0]["unitPrice"]), "119.00");
    let refused = shop
        .call(
            Method::PATCH,
            "/api/cart",
            Some(&sam),
            &[],
            Some(json!({"currency": "EURO"})),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["errors"][0]["field"], "currency");
    let unchanged = shop.get("/api/cart", Some(&sam), &[]).await;
    assert_eq!(unchanged.body["currency"], "EUR");
    shop.close().await;
}
