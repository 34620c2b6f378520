//! Wishlists: saved variants with price drops and what became of their products (learned from catalog
//! events), a read-only share link, and moves between the cart (order's real cart API) and the wishlist.

mod common;

use bazaar_contracts::catalog::ProductLifecycle;
use bazaar_testkit::wait_for;
use common::{Harness, PATIENCE, Review, Subject, deleted, product};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn item<'a>(wishlist: &'a Value, sku: &str) -> &'a Value {
    wishlist["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["sku"] == sku)
        .unwrap_or_else(|| panic!("{sku} in {wishlist}"))
}

#[tokio::test]
async fn a_wishlist_shows_price_drops_and_archived_or_removed_products_and_can_be_shared_read_only()
{
    let shop = Harness::start(Review::config()).await;
    shop.product(
        "camp-mug",
        ProductLifecycle::Active,
        &[("MUG-1", "12.00"), ("MUG-2", "14.00")],
    )
    .await;
    shop.product("trail-hat", ProductLifecycle::Active, &[("HAT-1", "30.00")])
        .await;
    shop.product(
        "old-tent",
        ProductLifecycle::Active,
        &[("TENT-1", "200.00")],
    )
    .await;
    let ada = shop.shopper("ada");

    let unknown = shop
        .call(Method::PUT, "/api/wishlist/items/NOPE-1", Some(&ada), None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    for sku in ["MUG-1", "MUG-2", "HAT-1", "TENT-1", "MUG-1"] {
        let saved = shop
            .call(
                Method::PUT,
                &format!("/api/wishlist/items/{sku}"),
                Some(&ada),
                None,
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    }
    let wishlist = shop.get("/api/wishlist", Some(&ada)).await.body;
    assert_eq!(
        wishlist["items"].as_array().expect("items").len(),
        4,
        "saving twice keeps one"
    );
    assert_eq!(item(&wishlist, "MUG-1")["priceDropped"], false);
    assert_eq!(
        item(&wishlist, "MUG-1")["savedPrice"],
        json!({"amount": "12.00", "currency": "USD"})
    );

    // The catalog lowers the mug's price, drops a variant, archives the hat and deletes the tent.
    shop.publish(&product(
        "camp-mug",
        ProductLifecycle::Active,
        &[("MUG-1", "9.50")],
        &["MUG-2"],
    ))
    .await;
    shop.publish(&product(
        "trail-hat",
        ProductLifecycle::Archived,
        &[("HAT-1", "30.00")],
        &[],
    ))
    .await;
    shop.publish(&deleted("old-tent", &["TENT-1"])).await;
    shop.wait_product("old-tent", "removed").await;
    shop.wait_product("trail-hat", "archived").await;
    let wishlist = wait_for(PATIENCE, "the price drop", || async {
        let wishlist = shop.get("/api/wishlist", Some(&ada)).await.body;
        (item(&wishlist, "MUG-1")["priceDropped"] == true).then_some(wishlist)
    })
    .await
    .expect("price drop seen");
    let mug = item(&wishlist, "MUG-1");
    assert_eq!(
        mug["currentPrice"],
        json!({"amount": "9.50", "currency": "USD"})
    );
    assert_eq!(mug["available"], true);
    let dropped_variant = item(&wishlist, "MUG-2");
    assert_eq!(dropped_variant["variantRemoved"], true);
    assert_eq!(dropped_variant["available"], false);
    assert_eq!(item(&wishlist, "HAT-1")["productStatus"], "archived");
    assert_eq!(item(&wishlist, "HAT-1")["available"], false);
    assert_eq!(item(&wishlist, "TENT-1")["productStatus"], "removed");

    let link = shop
        .call(Method::PUT, "/api/wishlist/share", Some(&ada), None)
        .await;
    assert_eq!(link.status, StatusCode::OK);
    let path = link.body["path"].as_str().expect("path").to_owned();
    let again = shop
        .call(Method::PUT, "/api/wishlist/share", Some(&ada), None)
        .await;
    assert_eq!(again.body["path"], path.as_str(), "one link until revoked");
    let shared = shop.get(&path, None).await;
    assert_eq!(shared.status, StatusCode::OK, "no sign-in needed");
    assert_eq!(shared.body["items"].as_array().expect("items").len(), 4);
    assert!(shared.body.get("shareToken").is_none());
    let token = link.body["token"].as_str().expect("token");
    for (method, path) in [
        (Method::PUT, format!("/api/wishlists/shared/{token}")),
        (Method::DELETE, format!("/api/wishlists/shared/{token}")),
    ] {
        let write = shop.call(method, &path, None, None).await;
        assert_eq!(write.status, StatusCode::METHOD_NOT_ALLOWED, "read-only");
    }
    let someone_else = shop.get("/api/wishlist", Some(&shop.shopper("bob"))).await;
    assert_eq!(
        someone_else.body["items"],
        json!([]),
        "a wishlist is its owner's"
    );

    let removed = shop
        .call(
            Method::DELETE,
            "/api/wishlist/items/HAT-1",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let revoked = shop
        .call(Method::DELETE, "/api/wishlist/share", Some(&ada), None)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(
        shop.get(&path, None).await.status,
        StatusCode::NOT_FOUND,
        "revoked at once"
    );
    shop.stop().await;
}

#[tokio::test]
async fn an_item_moves_between_the_real_cart_and_the_wishlist() {
    let shop = Harness::start_with(
        &[
            &bazaar_catalog::COMPONENT,
            &bazaar_order::COMPONENT,
            &bazaar_review::COMPONENT,
        ],
        Review::config(),
    )
    .await;
    let catalog = shop
        .env
        .pool(&shop.env.schema("catalog"))
        .await
        .expect("pool");
    let mut tx = catalog.begin().await.expect("begin");
    bazaar_catalog::seed::load(
        &mut tx,
        &bazaar_catalog::write::outbox(),
        &bazaar_catalog::seed::shop("shop"),
    )
    .await
    .expect("seed");
    tx.commit().await.expect("commit");
    shop.wait_product("trail-runner", "active").await;
    let ada = shop.shopper("ada");
    let cart_skus = |cart: &Value| -> Vec<String> {
        cart["lines"]
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .map(|l| l["sku"].as_str().unwrap_or("?").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };

    let added = shop
        .call(
            Method::POST,
            "/api/cart/lines",
            Some(&ada),
            Some(json!({"sku": "TR-42-BLK", "quantity": 1})),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);

    let to_wishlist = shop
        .call(
            Method::POST,
            "/api/wishlist/items/TR-42-BLK/from-cart",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(
        to_wishlist.status,
        StatusCode::NO_CONTENT,
        "{}",
        to_wishlist.body
    );
    let cart = shop.get("/api/cart", Some(&ada)).await;
    assert!(
        cart_skus(&cart.body).is_empty(),
        "out of the cart: {}",
        cart.body
    );
    let wishlist = shop.get("/api/wishlist", Some(&ada)).await.body;
    assert_eq!(item(&wishlist, "TR-42-BLK")["productSlug"], "trail-runner");

    let to_cart = shop
        .call(
            Method::POST,
            "/api/wishlist/items/TR-42-BLK/to-cart",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(to_cart.status, StatusCode::NO_CONTENT, "{}", to_cart.body);
    let cart = shop.get("/api/cart", Some(&ada)).await;
    assert_eq!(cart_skus(&cart.body), ["TR-42-BLK"]);
    let wishlist = shop.get("/api/wishlist", Some(&ada)).await.body;
    assert_eq!(wishlist["items"], json!([]), "off the wishlist");

    let not_saved = shop
        .call(
            Method::POST,
            "/api/wishlist/items/TR-42-BLK/to-cart",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(not_saved.status, StatusCode::NOT_FOUND);
    let not_in_cart = shop
        .call(
            Method::POST,
            "/api/wishlist/items/TR-43-BLK/from-cart",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(
        not_in_cart.status,
        StatusCode::NOT_FOUND,
        "the cart's 404 is passed on"
    );
    shop.stop().await;
}
