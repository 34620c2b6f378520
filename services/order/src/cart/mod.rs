//! The cart (`/api/cart`): a guest cart reached with an opaque `X-Cart-Token`, or the signed-in shopper's
//! cart; it merges the guest cart on sign-in. Every view is priced by the catalog, so it shows current
//! prices, promotions, estimated shipping and totals, and flags lines that can no longer be bought. Its
//! currency can be changed (`PATCH /api/cart`): the lines stay and are priced again in the new currency.

pub mod store;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bazaar_contracts::Sku;
use bazaar_contracts::money::{self, Money};
use bazaar_contracts::quote::{
    AppliedPromotion, CouponResult, Destination, LineStatus, Quote, QuoteLineRequest, QuoteRequest,
    ShippingOption,
};
use bazaar_platform::auth::CurrentUser;
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::catalog::authorization;
use crate::error::OrderError;
use store::{CartLineRow, CartOwner, CartRow};

/// Header carrying a guest cart's token.
pub const CART_TOKEN: &str = "x-cart-token";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_cart, view_cart, change_cart))
        .routes(routes!(add_line))
        .routes(routes!(change_line, remove_line))
        .routes(routes!(apply_coupon, remove_coupon))
        .routes(routes!(merge_cart))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCart {
    /// ISO 4217 code; the configured default when absent.
    pub currency: Option<String>,
}

/// What to change about a cart.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CartChange {
    /// ISO 4217 code to price the cart in from now on, e.g. `EUR`.
    #[schema(pattern = "^[A-Z]{3}$", example = "EUR")]
    pub currency: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewLine {
    #[schema(value_type = Sku)]
    pub sku: String,
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineChange {
    #[schema(minimum = 1, maximum = 100)]
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CouponBody {
    pub code: String,
}

/// Where to estimate shipping to.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct ViewParams {
    /// ISO 3166-1 alpha-2 country.
    pub country: Option<String>,
    pub region: Option<String>,
    /// Shipping method code to price.
    pub shipping_method: Option<String>,
}

/// One cart line as priced now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartLineView {
    pub sku: Sku,
    pub quantity: u32,
    pub title: String,
    /// `available`, or why the line cannot be bought now; such lines stay in the cart, flagged.
    pub status: LineStatus,
    pub unit_price: Option<Money>,
    /// The unit price when the line was added, when it differs from today's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_when_added: Option<Money>,
    pub price_changed: bool,
    pub subtotal: Money,
    pub discount: Money,
    pub total: Money,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartView {
    pub id: uuid::Uuid,
    /// Only when a guest cart was just created: keep it and send it as `X-Cart-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cart_token: Option<String>,
    pub currency: String,
    pub lines: Vec<CartLineView>,
    pub promotions: Vec<AppliedPromotion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coupon: Option<CouponResult>,
    pub shipping_options: Vec<ShippingOption>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping: Option<ShippingOption>,
    pub subtotal: Money,
    pub discount: Money,
    pub shipping_total: Money,
    /// Estimated sales tax for the destination asked about (zero without one); included in `total`.
    pub tax: Money,
    pub total: Money,
    /// True when every line can be bought.
    pub ready_for_checkout: bool,
}

/// Starts a guest cart (answering its token once), or returns the signed-in shopper's cart.
#[utoipa::path(post, path = "/api/cart", tag = "cart", request_body = NewCart,
    responses((status = 201, body = CartView), (status = 422, body = Problem)))]
async fn create_cart(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewCart>,
) -> Result<(StatusCode, ApiJson<CartView>), OrderError> {
    let currency = match body.currency {
        Some(code) => checked_currency(&code)?,
        None => state.config.default_currency.clone(),
    };
    let (cart, token) = match user {
        Some(user) => {
            let mut conn = state.db.acquire().await?;
            (
                store::shopper_cart(&mut conn, &user.id, &currency).await?,
                None,
            )
        }
        None => {
            let (cart, token) = store::create_guest(&state.db, &currency).await?;
            (cart, Some(token))
        }
    };
    let mut view = price(
        &state,
        &cart,
        &ViewParams::default(),
        authorization(&headers),
    )
    .await?;
    view.cart_token = token;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// The cart priced now, with estimated shipping when a destination is given.
#[utoipa::path(get, path = "/api/cart", tag = "cart", params(ViewParams),
    responses((status = 200, body = CartView), (status = 404, body = Problem)))]
async fn view_cart(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiQuery(params): ApiQuery<ViewParams>,
) -> Result<ApiJson<CartView>, OrderError> {
    let cart = existing_cart(&state, user.as_ref(), &headers).await?;
    Ok(ApiJson(
        price(&state, &cart, &params, authorization(&headers)).await?,
    ))
}

/// Changes the cart's currency: its lines, quantities and coupon stay, and every line is priced again in
/// the new currency (a line without a price in it stays, flagged `no_price_in_currency`). Asking for the
/// currency the cart has already changes nothing, so a retry answers the same.
#[utoipa::path(patch, path = "/api/cart", tag = "cart", request_body = CartChange,
    responses((status = 200, body = CartView), (status = 401, body = Problem), (status = 404, body = Problem),
              (status = 422, body = Problem)))]
async fn change_cart(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CartChange>,
) -> Result<ApiJson<CartView>, OrderError> {
    let currency = checked_currency(&body.currency)?;
    let cart = existing_cart(&state, user.as_ref(), &headers).await?;
    let mut conn = state.db.acquire().await?;
    let rows = store::lines(&mut conn, cart.id).await?;
    // Pricing calls the catalog: never while holding a connection.
    drop(conn);
    let (cart, rows) = if cart.currency == currency {
        (cart, rows)
    } else {
        // Today's prices in the new currency become the prices "when added", so that a later change of
        // price is flagged against them, not against a price in the old currency.
        let mut repriced = cart;
        repriced.currency.clone_from(&currency);
        let quote = if rows.is_empty() {
            empty_quote(money::currency(&currency)?)
        } else {
            quote_cart(
                &state,
                &repriced,
                &rows,
                &ViewParams::default(),
                authorization(&headers),
            )
            .await?
        };
        let prices: Vec<(String, Option<i64>)> = quote
            .lines
            .iter()
            .map(|line| {
                (
                    line.sku.as_str().to_owned(),
                    line.unit_price.map(Money::minor),
                )
            })
            .collect();
        let mut conn = state.db.acquire().await?;
        store::change_currency(&mut conn, repriced.id, &currency, &prices).await?;
        // Read on the connection that made the change: once it is made, no second acquisition can fail
        // the answer.
        let rows = store::lines(&mut conn, repriced.id).await?;
        (repriced, rows)
    };
    Ok(ApiJson(
        price_lines(
            &state,
            &cart,
            rows,
            &ViewParams::default(),
            authorization(&headers),
        )
        .await?,
    ))
}

/// Adds units of a SKU (to an existing line if there is one).
#[utoipa::path(post, path = "/api/cart/lines", tag = "cart", request_body = NewLine,
    responses((status = 200, body = CartView), (status = 422, body = Problem)))]
async fn add_line(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewLine>,
) -> Result<ApiJson<CartView>, OrderError> {
    let sku = checked_sku(&body.sku)?;
    let quantity = checked_quantity(body.quantity)?;
    let cart = existing_cart(&state, user.as_ref(), &headers).await?;
    let quote = state
        .catalog
        .quote(
            &QuoteRequest {
                currency: cart.currency.clone(),
                lines: vec![QuoteLineRequest {
                    sku: sku.clone(),
                    quantity: 1,
                }],
                coupon_code: None,
                destination: None,
                shipping_method: None,
            },
            authorization(&headers),
        )
        .await?;
    let line = quote.lines.first();
    if line.map(|l| l.status) != Some(LineStatus::Available) {
        return Err(OrderError::field(
            "sku",
            format!("{sku} is not for sale in {}", cart.currency),
        ));
    }
    let price = line.and_then(|l| l.unit_price).map(Money::minor);
    let mut conn = state.db.acquire().await?;
    store::add_line(&mut conn, cart.id, sku.as_str(), quantity, price).await?;
    let rows = store::lines(&mut conn, cart.id).await?;
    // Pricing calls the catalog: never while holding a connection.
    drop(conn);
    Ok(ApiJson(
        price_lines(
            &state,
            &cart,
            rows,
            &ViewParams::default(),
            authorization(&headers),
        )
        .await?,
    ))
}

/// Sets a line's quantity.
#[utoipa::path(put, path = "/api/cart/lines/{sku}", tag = "cart", request_body = LineChange,
    params(("sku" = inline(Sku), Path)),
    responses((status = 200, body = CartView), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn change_line(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiPath(sku): ApiPath<String>,
    ApiJson(body): ApiJson<LineChange>,
) -> Result<ApiJson<CartView>, OrderError> {
    let sku = checked_sku(&sku)?;
    let quantity = checked_quantity(body.quantity)?;
    let cart = existing_cart(&state, user.as_ref(), &headers).await?;
    let mut conn = state.db.acquire().await?;
    if !store::set_quantity(&mut conn, cart.id, sku.as_str(), quantity).await? {
        return Err(OrderError::NotFound("That SKU is not in the cart."));
    }
    let rows = store::lines(&mut conn, cart.id).await?;
    drop(conn);
    Ok(ApiJson(
        price_lines(
            &state,
            &cart,
            rows,
            &ViewParams::default(),
            authorization(&headers),
        )
        .await?,
    ))
}

/// Removes a line.
#[utoipa::path(delete, path = "/api/cart/lines/{sku}", tag = "cart", params(("sku" = inline(Sku), Path)),
    responses((status = 200, body = CartView), (status = 404, body = Problem)))]
async fn remove_line(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiPath(sku): ApiPath<String>,
) -> Result<ApiJson<CartView>, OrderError> {
    let sku = checked_sku(&sku)?;
    let cart = existing_cart(&state, user.as_ref(), &headers).await?;
    let mut conn = state.db.acquire().await?;
    if !store::remove_line(&mut conn, cart.id, sku.as_str()).await? {
        return Err(OrderError::NotFound("That SKU is not in the cart."));
    }
    let rows = store::lines(&mut conn, cart.id).await?;
    drop(conn);
    Ok(ApiJson(
        price_lines(
            &state,
            &cart,
            rows,
            &ViewParams::default(),
            authorization(&headers),
        )
        .await?,
    ))
}

/// Applies a coupon code; one the catalog does not accept for this cart is refused with the reason. On an
/// empty cart only what needs no lines is judged (the code exists, is running, is not used up); the rest
/// (minimum subtotal, what it applies to) once there are lines, and again at checkout.
#[utoipa::path(put, path = "/api/cart/coupon", tag = "cart", request_body = CouponBody,
    responses((status = 200, body = CartView), (status = 422, body = Problem)))]
async fn apply_coupon(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CouponBody>,
) -> Result<ApiJson<CartView>, OrderError> {
    let code = body.code.trim().to_owned();
    if code.is_empty() || code.len() > 64 {
        return Err(OrderError::field(
            "code",
            "a coupon code has 1 to 64 characters",
        ));
    }
    let mut cart = existing_cart(&state, user.as_ref(), &headers).await?;
    cart.coupon_code = Some(code.clone());
    let mut conn = state.db.acquire().await?;
    let rows = store::lines(&mut conn, cart.id).await?;
    drop(conn);
    let refusal = if rows.is_empty() {
        // Nothing to quote: the catalog still tells a code that cannot be used on any cart.
        state.catalog.coupon_refusal(&code).await?
    } else {
        None
    };
    let view = price_lines(
        &state,
        &cart,
        rows,
        &ViewParams::default(),
        authorization(&headers),
    )
    .await?;
    let refusal = refusal.or_else(|| {
        view.coupon.as_ref().filter(|c| !c.applied).map(|coupon| {
            coupon
                .reason
                .clone()
                .unwrap_or_else(|| "it does not apply".to_owned())
        })
    });
    if let Some(reason) = refusal {
        return Err(OrderError::field(
            "code",
            format!("{code} cannot be used: {reason}"),
        ));
    }
    let mut conn = state.db.acquire().await?;
    store::set_coupon(&mut conn, cart.id, Some(&code)).await?;
    Ok(ApiJson(view))
}

/// Removes the coupon code.
#[utoipa::path(delete, path = "/api/cart/coupon", tag = "cart",
    responses((status = 200, body = CartView)))]
async fn remove_coupon(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    headers: HeaderMap,
) -> Result<ApiJson<CartView>, OrderError> {
    let mut cart = existing_cart(&state, user.as_ref(), &headers).await?;
    let mut conn = state.db.acquire().await?;
    store::set_coupon(&mut conn, cart.id, None).await?;
    let rows = store::lines(&mut conn, cart.id).await?;
    drop(conn);
    cart.coupon_code = None;
    Ok(ApiJson(
        price_lines(
            &state,
            &cart,
            rows,
            &ViewParams::default(),
            authorization(&headers),
        )
        .await?,
    ))
}

/// Moves the guest cart named by `X-Cart-Token` into the signed-in shopper's cart.
#[utoipa::path(post, path = "/api/cart/merge", tag = "cart",
    responses((status = 200, body = CartView), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn merge_cart(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
) -> Result<ApiJson<CartView>, OrderError> {
    let token = cart_token(&headers).ok_or(OrderError::Invalid(
        "Send the guest cart's token in X-Cart-Token to merge it.".to_owned(),
    ))?;
    let mut tx = state.db.begin().await?;
    let guest = store::find(&mut tx, &CartOwner::Guest { token })
        .await?
        .ok_or(OrderError::NotFound("No guest cart has that token."))?;
    let mine = store::shopper_cart(&mut tx, &user.id, &guest.currency).await?;
    store::merge(&mut tx, &guest, &mine).await?;
    let merged = store::find(
        &mut tx,
        &CartOwner::Shopper {
            user_id: user.id.clone(),
        },
    )
    .await?
    .ok_or(OrderError::NotFound("No cart."))?;
    let rows = store::lines(&mut tx, merged.id).await?;
    tx.commit().await?;
    Ok(ApiJson(
        price_lines(
            &state,
            &merged,
            rows,
            &ViewParams::default(),
            authorization(&headers),
        )
        .await?,
    ))
}

fn cart_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CART_TOKEN)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// The cart this request speaks of: the shopper's when signed in, else the guest cart of the token.
pub async fn existing_cart(
    state: &AppState,
    user: Option<&CurrentUser>,
    headers: &HeaderMap,
) -> Result<CartRow, OrderError> {
    let owner = match (user, cart_token(headers)) {
        (Some(user), _) => CartOwner::Shopper {
            user_id: user.id.clone(),
        },
        (None, Some(token)) => CartOwner::Guest { token },
        (None, None) => {
            return Err(OrderError::Unauthorized(
                "Sign in, or send a guest cart's token in X-Cart-Token.",
            ));
        }
    };
    let mut conn = state.db.acquire().await?;
    match (&owner, store::find(&mut conn, &owner).await?) {
        (_, Some(cart)) => Ok(cart),
        (CartOwner::Shopper { user_id }, None) => {
            store::shopper_cart(&mut conn, user_id, &state.config.default_currency).await
        }
        (CartOwner::Guest { .. }, None) => Err(OrderError::NotFound("No cart has that token.")),
    }
}

/// Prices `cart` through the catalog and shapes the answer for the shopper.
pub async fn price(
    state: &AppState,
    cart: &CartRow,
    params: &ViewParams,
    shopper_authorization: Option<&str>,
) -> Result<CartView, OrderError> {
    let mut conn = state.db.acquire().await?;
    let rows = store::lines(&mut conn, cart.id).await?;
    drop(conn);
    price_lines(state, cart, rows, params, shopper_authorization).await
}

/// Prices `cart` with its lines `rows` as read by the caller, who must hold no connection: pricing calls
/// the catalog over HTTP. A handler that changed the cart reads the lines on the connection it changed
/// them with, so that once the change is made no second acquisition can fail the answer.
pub async fn price_lines(
    state: &AppState,
    cart: &CartRow,
    rows: Vec<CartLineRow>,
    params: &ViewParams,
    shopper_authorization: Option<&str>,
) -> Result<CartView, OrderError> {
    let currency = money::currency(&cart.currency)?;
    let quote = if rows.is_empty() {
        empty_quote(currency)
    } else {
        quote_cart(state, cart, &rows, params, shopper_authorization).await?
    };
    let lines = quote
        .lines
        .iter()
        .zip(&rows)
        .map(|(line, row)| {
            let then = row
                .added_price_minor
                .map(|m| Money::from_minor(m, currency));
            let changed = matches!((then, line.unit_price), (Some(a), Some(b)) if a != b);
            CartLineView {
                sku: line.sku.clone(),
                quantity: line.quantity,
                title: line.title.clone(),
                status: line.status,
                unit_price: line.unit_price,
                price_when_added: then.filter(|_| changed),
                price_changed: changed,
                subtotal: line.subtotal,
                discount: line.discount,
                total: line.total,
            }
        })
        .collect::<Vec<_>>();
    let ready = !lines.is_empty() && lines.iter().all(|l| l.status == LineStatus::Available);
    let tax = match &params.country {
        Some(country) => {
            state
                .config
                .tax_rates
                .tax(quote.total, country, params.region.as_deref())?
        }
        None => Money::zero(currency),
    };
    Ok(CartView {
        id: cart.id,
        cart_token: None,
        currency: cart.currency.clone(),
        lines,
        promotions: quote.promotions,
        coupon: quote.coupon,
        shipping_options: quote.shipping_options,
        shipping: quote.shipping,
        subtotal: quote.subtotal,
        discount: quote.discount,
        shipping_total: quote.shipping_total,
        tax,
        total: quote.total.checked_add(tax)?,
        ready_for_checkout: ready,
    })
}

/// What an empty cart costs; the catalog is not asked.
fn empty_quote(currency: money::Currency) -> Quote {
    let zero = Money::zero(currency);
    Quote {
        currency: currency.code().to_owned(),
        lines: Vec::new(),
        promotions: Vec::new(),
        coupon: None,
        shipping_options: Vec::new(),
        shipping: None,
        subtotal: zero,
        discount: zero,
        shipping_total: zero,
        total: zero,
    }
}

async fn quote_cart(
    state: &AppState,
    cart: &CartRow,
    rows: &[CartLineRow],
    params: &ViewParams,
    shopper_authorization: Option<&str>,
) -> Result<Quote, OrderError> {
    let lines = rows
        .iter()
        .filter_map(|row| {
            let sku = row.sku.parse().ok()?;
            Some(QuoteLineRequest {
                sku,
                quantity: u32::try_from(row.quantity).ok()?,
            })
        })
        .collect();
    state
        .catalog
        .quote(
            &QuoteRequest {
                currency: cart.currency.clone(),
                lines,
                coupon_code: cart.coupon_code.clone(),
                destination: params.country.as_ref().map(|country| Destination {
                    country: country.clone(),
                    region: params.region.clone(),
                }),
                shipping_method: params.shipping_method.clone(),
            },
            shopper_authorization,
        )
        .await
}

fn checked_sku(value: &str) -> Result<Sku, OrderError> {
    value
        .parse()
        .map_err(|e: bazaar_contracts::money::InvalidSku| OrderError::field("sku", e.to_string()))
}

/// Quantities per line: 1 to 100.
pub fn checked_quantity(value: i64) -> Result<i32, OrderError> {
    match i32::try_from(value) {
        Ok(q @ 1..=100) => Ok(q),
        _ => Err(OrderError::field(
            "quantity",
            "must be a whole number from 1 to 100",
        )),
    }
}

fn checked_currency(code: &str) -> Result<String, OrderError> {
    money::currency(code)
        .map(|c| c.code().to_owned())
        .map_err(|e| OrderError::field("currency", e.to_string()))
}
