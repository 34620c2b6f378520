//! `/api/wishlist`: a signed-in shopper's saved variants, one wishlist per shopper.
//!
//! - Each item keeps the list prices of its SKU when it was saved; the view compares them with the
//!   current prices learned from catalog events (`priceDropped`), and says when the product was archived
//!   or removed, or the variant dropped (`productStatus`, `variantRemoved`). From inventory's
//!   availability events it shows an item out of stock (`outOfStock`), and back in stock (`backInStock`)
//!   when its SKU was out of stock while saved and is available again.
//! - Moving between cart and wishlist goes through order's public cart API with the shopper's own token.
//!   The item is put in its destination first and taken out of its source after, so a failure halfway
//!   leaves it in both (the answer says so, 503), never in neither; repeating the move finishes it.
//! - A share link (`PUT /api/wishlist/share`) is an unguessable token that opens a read-only view
//!   (`GET /api/wishlists/shared/{token}`) without signing in; `DELETE /api/wishlist/share` revokes it.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_contracts::money::{self, Money};
use bazaar_platform::auth::CurrentUser;
use bazaar_platform::telemetry::{TRACEPARENT, current_traceparent};
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// Most items one wishlist holds.
pub const MAX_ITEMS: i64 = 200;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(view_wishlist))
        .routes(routes!(add_item, remove_item))
        .routes(routes!(move_to_cart))
        .routes(routes!(move_from_cart))
        .routes(routes!(share, unshare))
        .routes(routes!(view_shared))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ViewParams {
    /// ISO 4217 code of the prices shown (default USD).
    pub currency: Option<String>,
}

/// One saved variant as shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishlistItem {
    pub sku: String,
    pub product_slug: String,
    pub product_title: String,
    /// `active`, `archived` (no longer sold), `removed` (gone from the catalog) or `draft`.
    pub product_status: String,
    /// The product no longer has this variant.
    pub variant_removed: bool,
    /// Whether it can be bought now: an active product's current variant with a price in this currency,
    /// not out of stock.
    pub available: bool,
    /// The list price when it was saved, in the requested currency.
    pub saved_price: Option<Money>,
    /// The list price now.
    pub current_price: Option<Money>,
    /// The price now is lower than when it was saved.
    pub price_dropped: bool,
    /// Inventory last announced the SKU out of stock (false while nothing was heard of its stock).
    pub out_of_stock: bool,
    /// The SKU was out of stock while saved (or when saved) and is in stock again.
    pub back_in_stock: bool,
    pub added_at: DateTime<Utc>,
}

/// A wishlist: the owner's, or a shared read-only one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WishlistView {
    pub items: Vec<WishlistItem>,
    /// For the owner: the token of the share link (`/api/wishlists/shared/{token}`), if shared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share_token: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
struct ItemRow {
    sku: String,
    product_slug: String,
    product_title: String,
    product_status: String,
    variant_removed: bool,
    prices: serde_json::Value,
    saved_prices: serde_json::Value,
    /// The last availability inventory announced; None if none.
    in_stock: Option<bool>,
    was_out_of_stock: bool,
    added_at: DateTime<Utc>,
}

fn price_in(prices: &serde_json::Value, currency: money::Currency) -> Option<Money> {
    prices
        .get(currency.code())
        .and_then(serde_json::Value::as_i64)
        .map(|minor| Money::from_minor(minor, currency))
}

impl ItemRow {
    fn view(self, currency: money::Currency) -> WishlistItem {
        let saved_price = price_in(&self.saved_prices, currency);
        let current_price = price_in(&self.prices, currency);
        let price_dropped = matches!((saved_price, current_price),
            (Some(saved), Some(now)) if now.minor() < saved.minor());
        let out_of_stock = self.in_stock == Some(false);
        WishlistItem {
            available: self.product_status == "active"
                && !self.variant_removed
                && current_price.is_some()
                && !out_of_stock,
            out_of_stock,
            back_in_stock: self.was_out_of_stock && self.in_stock == Some(true),
            sku: self.sku,
            product_slug: self.product_slug,
            product_title: self.product_title,
            product_status: self.product_status,
            variant_removed: self.variant_removed,
            saved_price,
            current_price,
            price_dropped,
            added_at: self.added_at,
        }
    }
}

fn checked_currency(code: Option<&str>) -> Result<money::Currency, Problem> {
    money::currency(code.unwrap_or("USD")).map_err(|e| {
        Problem::validation(vec![FieldError {
            field: "currency".to_owned(),
            message: e.to_string(),
        }])
    })
}

async fn items_of(conn: &mut PgConnection, owner: &str) -> Result<Vec<ItemRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT i.sku, v.product_slug, p.title AS product_title, p.status AS product_status,
                v.removed AS variant_removed, v.prices, i.saved_prices, s.in_stock, i.was_out_of_stock,
                i.added_at
         FROM wishlist_items i JOIN variants v ON v.sku = i.sku JOIN products p ON p.slug = v.product_slug
         LEFT JOIN stock s ON s.sku = i.sku
         WHERE i.owner = $1 ORDER BY i.added_at DESC, i.sku",
    )
    .bind(owner)
    .fetch_all(&mut *conn)
    .await
}

async fn owner_view(
    conn: &mut PgConnection,
    owner: &str,
    currency: money::Currency,
) -> Result<WishlistView, sqlx::Error> {
    let share_token: Option<String> =
        sqlx::query_scalar("SELECT share_token FROM wishlists WHERE owner = $1")
            .bind(owner)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    let items = items_of(conn, owner).await?;
    Ok(WishlistView {
        items: items.into_iter().map(|row| row.view(currency)).collect(),
        share_token,
    })
}

/// The caller's wishlist, newest first, with price drops and what became of each product.
#[utoipa::path(get, path = "/api/wishlist", tag = "wishlist", params(ViewParams),
    responses(
        (status = 200, description = "The caller's wishlist (empty if none yet)", body = WishlistView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown currency", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn view_wishlist(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<ViewParams>,
) -> Result<ApiJson<WishlistView>, Problem> {
    let currency = checked_currency(params.currency.as_deref())?;
    let mut conn = state.db.acquire().await?;
    Ok(ApiJson(owner_view(&mut conn, &user.id, currency).await?))
}

/// Saves `sku` for `owner` (repeating changes nothing); `Ok(false)` if the SKU is unknown.
async fn save(conn: &mut PgConnection, owner: &str, sku: &str) -> Result<(), Problem> {
    let prices: Option<serde_json::Value> = sqlx::query_scalar(
        "SELECT v.prices FROM variants v JOIN products p ON p.slug = v.product_slug
         WHERE v.sku = $1 AND NOT v.removed AND p.status = 'active'",
    )
    .bind(sku)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(prices) = prices else {
        return Err(Problem::not_found(format!("{sku} is not for sale.")));
    };
    sqlx::query("INSERT INTO wishlists (owner) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(owner)
        .execute(&mut *conn)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM wishlist_items WHERE owner = $1")
        .bind(owner)
        .fetch_one(&mut *conn)
        .await?;
    if count >= MAX_ITEMS {
        return Err(Problem::conflict(format!(
            "A wishlist holds at most {MAX_ITEMS} items; remove some first."
        )));
    }
    sqlx::query(
        "INSERT INTO wishlist_items (owner, sku, saved_prices, was_out_of_stock)
         VALUES ($1, $2, $3, EXISTS (SELECT 1 FROM stock WHERE sku = $2 AND NOT in_stock))
         ON CONFLICT DO NOTHING",
    )
    .bind(owner)
    .bind(sku)
    .bind(prices)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn unsave(conn: &mut PgConnection, owner: &str, sku: &str) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("DELETE FROM wishlist_items WHERE owner = $1 AND sku = $2")
            .bind(owner)
            .bind(sku)
            .execute(&mut *conn)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Saves a variant to the caller's wishlist with its current prices (repeating changes nothing).
#[utoipa::path(put, path = "/api/wishlist/items/{sku}", tag = "wishlist",
    params(("sku" = String, Path, description = "The variant's SKU"), ViewParams),
    responses(
        (status = 200, description = "The wishlist with the item", body = WishlistView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such SKU for sale", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The wishlist is full", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn add_item(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(sku): ApiPath<String>,
    ApiQuery(params): ApiQuery<ViewParams>,
) -> Result<ApiJson<WishlistView>, Problem> {
    let currency = checked_currency(params.currency.as_deref())?;
    state.limiter.hit(&user.id).await?;
    let mut tx = state.db.begin().await?;
    save(&mut tx, &user.id, &sku).await?;
    let view = owner_view(&mut tx, &user.id, currency).await?;
    tx.commit().await?;
    Ok(ApiJson(view))
}

/// Removes a variant from the caller's wishlist.
#[utoipa::path(delete, path = "/api/wishlist/items/{sku}", tag = "wishlist",
    params(("sku" = String, Path, description = "The variant's SKU")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the wishlist", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn remove_item(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(sku): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    state.limiter.hit(&user.id).await?;
    let mut conn = state.db.acquire().await?;
    if unsave(&mut conn, &user.id, &sku).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found("That SKU is not in your wishlist."))
    }
}

/// Moves a variant from the wishlist into the caller's cart (one unit): added to the cart through order's
/// cart API first, then taken off the wishlist.
#[utoipa::path(post, path = "/api/wishlist/items/{sku}/to-cart", tag = "wishlist",
    params(("sku" = String, Path, description = "The variant's SKU")),
    responses(
        (status = 204, description = "In the cart, off the wishlist"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not in the wishlist", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The cart refused it (e.g. no longer for sale)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The cart is unavailable; the item stays in the wishlist", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn move_to_cart(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiPath(sku): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    state.limiter.hit(&user.id).await?;
    let saved: Option<bool> =
        sqlx::query_scalar("SELECT true FROM wishlist_items WHERE owner = $1 AND sku = $2")
            .bind(&user.id)
            .bind(&sku)
            .fetch_optional(&state.db)
            .await?;
    if saved.is_none() {
        return Err(Problem::not_found("That SKU is not in your wishlist."));
    }
    // No connection is held while the cart is called.
    state
        .cart
        .call(
            reqwest::Method::POST,
            "/api/cart/lines",
            &headers,
            Some(serde_json::json!({"sku": sku, "quantity": 1})),
        )
        .await?;
    let mut conn = state.db.acquire().await?;
    unsave(&mut conn, &user.id, &sku).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Moves a variant from the caller's cart to the wishlist: saved first, then the cart line is removed
/// through order's cart API.
#[utoipa::path(post, path = "/api/wishlist/items/{sku}/from-cart", tag = "wishlist",
    params(("sku" = String, Path, description = "The variant's SKU")),
    responses(
        (status = 204, description = "On the wishlist, out of the cart"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such SKU for sale, or not in the cart", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The wishlist is full", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The cart is unavailable; the item is on the wishlist and still in the cart", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn move_from_cart(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiPath(sku): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    state.limiter.hit(&user.id).await?;
    {
        let mut tx = state.db.begin().await?;
        save(&mut tx, &user.id, &sku).await?;
        tx.commit().await?;
    }
    state
        .cart
        .call(
            reqwest::Method::DELETE,
            &format!("/api/cart/lines/{sku}"),
            &headers,
            None,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A share link's token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShareLink {
    pub token: String,
    /// Where the read-only view is: `/api/wishlists/shared/{token}`.
    pub path: String,
}

fn new_share_token() -> Result<String, Problem> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes).map_err(|e| Problem::internal(&e))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Shares the caller's wishlist read-only: returns its link, making one if there is none.
#[utoipa::path(put, path = "/api/wishlist/share", tag = "wishlist",
    responses(
        (status = 200, description = "The share link", body = ShareLink),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn share(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<ShareLink>, Problem> {
    let candidate = new_share_token()?;
    let token: String = sqlx::query_scalar(
        "INSERT INTO wishlists (owner, share_token) VALUES ($1, $2)
         ON CONFLICT (owner) DO UPDATE SET share_token = COALESCE(wishlists.share_token, EXCLUDED.share_token)
         RETURNING share_token",
    )
    .bind(&user.id)
    .bind(&candidate)
    .fetch_one(&state.db)
    .await?;
    Ok(ApiJson(ShareLink {
        path: format!("/api/wishlists/shared/{token}"),
        token,
    }))
}

/// Revokes the share link; the old one stops working at once.
#[utoipa::path(delete, path = "/api/wishlist/share", tag = "wishlist",
    responses(
        (status = 204, description = "Not shared any more"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn unshare(State(state): State<AppState>, user: CurrentUser) -> Result<StatusCode, Problem> {
    sqlx::query("UPDATE wishlists SET share_token = NULL WHERE owner = $1")
        .bind(&user.id)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A shared wishlist, read-only, for anyone with the link.
#[utoipa::path(get, path = "/api/wishlists/shared/{token}", tag = "wishlist",
    params(("token" = String, Path, description = "The share token"), ViewParams),
    responses(
        (status = 200, description = "The shared wishlist", body = WishlistView),
        (status = 404, description = "No wishlist is shared with this token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown currency", body = Problem, content_type = "application/problem+json"),
    ))]
async fn view_shared(
    State(state): State<AppState>,
    ApiPath(token): ApiPath<String>,
    ApiQuery(params): ApiQuery<ViewParams>,
) -> Result<ApiJson<WishlistView>, Problem> {
    let currency = checked_currency(params.currency.as_deref())?;
    let mut conn = state.db.acquire().await?;
    let owner: Option<String> =
        sqlx::query_scalar("SELECT owner FROM wishlists WHERE share_token = $1")
            .bind(&token)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(owner) = owner else {
        return Err(Problem::not_found("No wishlist is shared with this link."));
    };
    let items = items_of(&mut conn, &owner).await?;
    Ok(ApiJson(WishlistView {
        items: items.into_iter().map(|row| row.view(currency)).collect(),
        share_token: None,
    }))
}

/// Order's cart API, called with the shopper's own `Authorization` header.
#[derive(Clone)]
pub struct CartClient {
    base_url: String,
    http: reqwest::Client,
}

impl CartClient {
    pub fn new(base_url: &str) -> Result<Self, reqwest::Error> {
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
        })
    }

    /// Calls the cart; a 4xx answer is passed on as it came (status and detail), anything else that is not
    /// a success is 503 with `Retry-After`.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &HeaderMap,
        body: Option<serde_json::Value>,
    ) -> Result<(), Problem> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(authorization) = headers.get(header::AUTHORIZATION) {
            request = request.header(reqwest::header::AUTHORIZATION, authorization.as_bytes());
        }
        if let Some(traceparent) = current_traceparent() {
            request = request.header(TRACEPARENT, traceparent);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let unavailable = |detail: String| {
            let mut problem = Problem::unavailable(format!(
                "The cart could not be reached ({detail}); nothing was lost, try the move again."
            ));
            problem.retry_after_secs = Some(2);
            problem
        };
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let answer: BTreeMap<String, serde_json::Value> = response.json().await.unwrap_or_default();
        let detail = answer
            .get("detail")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("the cart refused the change")
            .to_owned();
        if status.is_client_error() {
            let status =
                StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
            Err(Problem::new(
                status,
                "cart-refused",
                format!("The cart refused: {detail}"),
            ))
        } else {
            Err(unavailable(format!("{status}: {detail}")))
        }
    }
}
