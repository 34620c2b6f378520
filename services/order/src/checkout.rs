//! Checkout (`POST /api/checkout`): turns the cart (or the lines given) into an order priced by the
//! catalog, never by the client, and starts the saga with `order.placed`. An `Idempotency-Key` makes every
//! retry with the same body answer with the one order the key places, even while the first attempt is
//! still running (see [`idempotency`]); the same key with a different body is refused.
//!
//! In-store pickup is the shipping method `pickup` with a `pickupStore`: the catalog's quote for the
//! shopper's address offers pickup (free) at the Stores it lists, and the order is refused with 422 unless
//! the store named is one of them (unknown stores, warehouses and stores without pickup are not).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use bazaar_contracts::money;
use bazaar_contracts::order::{OrderId, OrderLine, OrderPlaced, ShippingAddress};
use bazaar_contracts::quote::{Destination, LineStatus, Quote, QuoteLineRequest, QuoteRequest};
use bazaar_platform::auth::CurrentUser;
use bazaar_platform::{ApiJson, FieldError, Problem};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::pool::PoolConnection;
use sqlx::{Connection, PgConnection, Postgres};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::cart::{self, store as carts};
use crate::error::OrderError;
use crate::idempotency::{self, Attempt, Claim};
use crate::orders::{self, OrderView, store};
use crate::state::OrderState;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The shipping method code of in-store pickup, as the catalog's quote names it.
pub const PICKUP: &str = "pickup";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(checkout))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineInput {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckoutRequest {
    /// What to buy; when absent, the shopper's cart is checked out (and emptied).
    #[serde(default)]
    pub lines: Option<Vec<LineInput>>,
    /// ISO 4217 code for explicit lines; a cart keeps its own currency.
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub coupon_code: Option<String>,
    pub shipping_address: ShippingAddress,
    /// Code of a shipping method offered for the address (see the cart's `shippingOptions`); `pickup` for
    /// in-store pickup, with `pickupStore`.
    pub shipping_method: String,
    /// For in-store pickup: the Store (`namespace/name`) to collect from, one of the `pickupStores` of the
    /// `pickup` shipping option offered for `shippingAddress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, example = "shop/downtown")]
    pub pickup_store: Option<String>,
    /// The payment provider's token for the shopper's instrument.
    pub payment_token: String,
    /// Where to send order updates; defaults to the account's email.
    #[serde(default)]
    pub email: Option<String>,
}

/// Places an order. Answers 202: the order is accepted and the saga runs; follow it at
/// `/api/orders/{id}/events`.
#[utoipa::path(post, path = "/api/checkout", tag = "checkout", request_body = CheckoutRequest,
    params(("Idempotency-Key" = String, Header, description = "Unique per intended order; retries reuse it")),
    responses((status = 202, body = OrderView), (status = 400, body = Problem), (status = 401, body = Problem),
              (status = 409, description = "A checkout with this Idempotency-Key is still being processed; retry with the same key (see `Retry-After`)", body = Problem),
              (status = 422, body = Problem),
              (status = 503, description = "Too many orders waiting for confirmation, or overloaded; see `Retry-After`",
               body = Problem)))]
async fn checkout(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    ApiJson(request): ApiJson<CheckoutRequest>,
) -> Result<(StatusCode, HeaderMap, ApiJson<OrderView>), OrderError> {
    let key = idempotency_key(&headers)?;
    let email = validate(&request, &user)?;
    let request_hash = Sha256::digest(serde_json::to_vec(&request).unwrap_or_default()).to_vec();

    // Backpressure: a new order joins the saga's backlog only while it is under the bound. Checked before
    // anything costly (a connection, the catalog), so that refusing stays cheap however many clients
    // insist; a retry of an accepted checkout is refused too while the backlog is full, and answered with
    // its order once it is not (the slot is given back then).
    let slot = state.admission.admit()?;
    loop {
        let attempt = match idempotency::claim(
            &state.db,
            &user.id,
            &key,
            &request_hash,
            idempotency::RETRY_WAIT,
        )
        .await?
        {
            Claim::Placed(order_id) => {
                let mut conn = state.db.acquire().await?;
                return accepted(&mut conn, order_id).await;
            }
            Claim::Mine(attempt) => attempt,
        };
        let placing = Placing {
            state: &state,
            user: &user,
            headers: &headers,
            request: &request,
            email: &email,
            attempt: &attempt,
        };
        match placing.place().await {
            Ok(Some(mut conn)) => {
                slot.placed();
                state.metrics.placed();
                tracing::info!(order_id = %attempt.order_id, "order placed");
                return accepted(&mut conn, attempt.order_id).await;
            }
            // Another attempt took the key over (this one was presumed dead): answer with its order.
            Ok(None) => continue,
            Err(error) => {
                // The key is given up, and with it whatever the catalog reserved for the order. Only while
                // the claim is still this attempt's: one that took it over places the same order id.
                match idempotency::abandon(&state.db, &attempt).await {
                    Ok(true) => {
                        let authorization = crate::catalog::authorization(&headers);
                        if let Err(release) =
                            state.catalog.release(attempt.order_id, authorization).await
                        {
                            tracing::warn!(%release, order_id = %attempt.order_id,
                                "a failed checkout's promotion uses stay reserved until the reservation expires");
                        }
                    }
                    Ok(false) => {}
                    Err(abandon) => {
                        tracing::warn!(%abandon, "a failed checkout's key stays claimed until it is stale");
                    }
                }
                return Err(error);
            }
        }
    }
}

/// One attempt at placing the order its [`Attempt`] names.
struct Placing<'a> {
    state: &'a AppState,
    user: &'a CurrentUser,
    headers: &'a HeaderMap,
    request: &'a CheckoutRequest,
    email: &'a str,
    attempt: &'a Attempt,
}

impl Placing<'_> {
    /// Prices the lines (or the cart), records the order with `order.placed` and completes the claim, in
    /// one transaction. Answers the connection that committed it (once the order exists, waiting for
    /// another connection could answer 503 for an order that exists), or `None` when the claim was taken
    /// over by another attempt before this one could complete it.
    async fn place(&self) -> Result<Option<PoolConnection<Postgres>>, OrderError> {
        let Placing {
            state,
            user,
            headers,
            request,
            email,
            attempt,
        } = *self;
        let mut conn = state.db.acquire().await?;
        let (cart, lines, currency) = match &request.lines {
            Some(lines) => {
                let lines = lines
                    .iter()
                    .map(|l| {
                        Ok(QuoteLineRequest {
                            sku: l.sku.parse().map_err(|e: money::InvalidSku| {
                                OrderError::field("lines", e.to_string())
                            })?,
                            quantity: u32::try_from(cart::checked_quantity(l.quantity)?)
                                .unwrap_or(1),
                        })
                    })
                    .collect::<Result<Vec<_>, OrderError>>()?;
                let currency = request
                    .currency
                    .clone()
                    .unwrap_or_else(|| state.config.default_currency.clone());
                (None, lines, currency)
            }
            None => {
                let cart = carts::find(
                    &mut conn,
                    &carts::CartOwner::Shopper {
                        user_id: user.id.clone(),
                    },
                )
                .await?
                .ok_or_else(|| {
                    OrderError::field("lines", "the cart is empty; add items or send lines")
                })?;
                let lines = carts::lines(&mut conn, cart.id)
                    .await?
                    .into_iter()
                    .filter_map(|row| {
                        Some(QuoteLineRequest {
                            sku: row.sku.parse().ok()?,
                            quantity: u32::try_from(row.quantity).ok()?,
                        })
                    })
                    .collect::<Vec<_>>();
                if lines.is_empty() {
                    return Err(OrderError::field(
                        "lines",
                        "the cart is empty; add items or send lines",
                    ));
                }
                let currency = cart.currency.clone();
                (Some(cart), lines, currency)
            }
        };
        // Pricing calls the catalog: never while holding a connection.
        drop(conn);

        let address = &request.shipping_address;
        // Priced with the uses of its promotions reserved for this order: limits hold exactly.
        let quote = state
            .catalog
            .reserve(
                attempt.order_id,
                &QuoteRequest {
                    currency: currency.clone(),
                    lines,
                    coupon_code: request
                        .coupon_code
                        .clone()
                        .or_else(|| cart.as_ref().and_then(|c| c.coupon_code.clone())),
                    destination: Some(Destination {
                        country: address.country.clone(),
                        region: address.region.clone(),
                    }),
                    shipping_method: Some(request.shipping_method.clone()),
                },
                crate::catalog::authorization(headers),
            )
            .await?;
        check_quote(&quote, request)?;
        let tax =
            state
                .config
                .tax_rates
                .tax(quote.total, &address.country, address.region.as_deref())?;

        let order_id = OrderId(attempt.order_id);
        let mut conn = state.db.acquire().await?;
        let mut tx = conn.begin().await?;
        if !idempotency::complete(&mut tx, attempt).await? {
            tx.rollback().await?;
            return Ok(None);
        }
        let number = insert_order(&mut tx, order_id, &user.id, email, request, &quote, tax).await?;
        let placed = placed_event(order_id, number, &user.id, email, request, &quote, tax)?;
        state.outbox.enqueue(&mut tx, &placed).await?;
        if let Some(cart) = &cart {
            carts::clear(&mut tx, cart.id).await?;
        }
        tx.commit().await?;
        Ok(Some(conn))
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<String, OrderError> {
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if key.is_empty() || key.len() > 255 {
        return Err(OrderError::Invalid(
            "Send an Idempotency-Key header (1 to 255 characters, e.g. a UUID) with every checkout.".into(),
        ));
    }
    Ok(key.to_owned())
}

/// Field checks that need no database; returns the email to notify.
fn validate(request: &CheckoutRequest, user: &CurrentUser) -> Result<String, OrderError> {
    let mut errors = Vec::new();
    let mut need = |field: &str, ok: bool, message: &str| {
        if !ok {
            errors.push(FieldError::new(field, message));
        }
    };
    let address = &request.shipping_address;
    let filled = |s: &str, max: usize| !s.trim().is_empty() && s.len() <= max;
    need(
        "shippingAddress.name",
        filled(&address.name, 200),
        "is required (at most 200 characters)",
    );
    need(
        "shippingAddress.line1",
        filled(&address.line1, 200),
        "is required (at most 200 characters)",
    );
    need(
        "shippingAddress.city",
        filled(&address.city, 100),
        "is required (at most 100 characters)",
    );
    need(
        "shippingAddress.postalCode",
        filled(&address.postal_code, 20),
        "is required (at most 20 characters)",
    );
    need(
        "shippingAddress.country",
        address.country.len() == 2 && address.country.chars().all(|c| c.is_ascii_uppercase()),
        "must be an ISO 3166-1 alpha-2 code such as US",
    );
    need(
        "shippingMethod",
        filled(&request.shipping_method, 64),
        "is required",
    );
    let pickup = request.shipping_method == PICKUP;
    need(
        "pickupStore",
        !pickup || request.pickup_store.is_some(),
        "is required for in-store pickup: name one of the pickup option's pickupStores",
    );
    need(
        "pickupStore",
        pickup || request.pickup_store.is_none(),
        "is only for in-store pickup (shippingMethod pickup)",
    );
    need(
        "pickupStore",
        request
            .pickup_store
            .as_deref()
            .is_none_or(|store| filled(store, 200)),
        "must name a store as namespace/name",
    );
    need(
        "paymentToken",
        filled(&request.payment_token, 200),
        "is required",
    );
    if let Some(lines) = &request.lines {
        need(
            "lines",
            !lines.is_empty() && lines.len() <= 50,
            "must hold 1 to 50 lines",
        );
        for (i, line) in lines.iter().enumerate() {
            need(
                &format!("lines[{i}].quantity"),
                (1..=100).contains(&line.quantity),
                "must be from 1 to 100",
            );
            need(
                &format!("lines[{i}].sku"),
                line.sku.parse::<bazaar_contracts::Sku>().is_ok(),
                "is not a SKU",
            );
        }
        let mut skus: Vec<&str> = lines.iter().map(|l| l.sku.as_str()).collect();
        skus.sort_unstable();
        need(
            "lines",
            skus.windows(2).all(|w| w[0] != w[1]),
            "lists a SKU twice; combine the quantities",
        );
    }
    if let Some(currency) = &request.currency {
        need(
            "currency",
            money::currency(currency).is_ok(),
            "is not an ISO 4217 code",
        );
    }
    let email = request
        .email
        .clone()
        .or_else(|| user.claims.email.clone())
        .unwrap_or_default();
    need(
        "email",
        email.contains('@') && email.len() <= 254,
        "is required: where order updates go",
    );
    if errors.is_empty() {
        Ok(email)
    } else {
        Err(OrderError::Fields(errors))
    }
}

/// What the catalog said that forbids the order.
fn check_quote(quote: &Quote, request: &CheckoutRequest) -> Result<(), OrderError> {
    let mut errors: Vec<FieldError> = quote
        .lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.status != LineStatus::Available)
        .map(|(i, line)| {
            FieldError::new(
                format!("lines[{i}].sku"),
                format!("{} cannot be bought: {:?}", line.sku, line.status).to_lowercase(),
            )
        })
        .collect();
    if let Some(coupon) = quote.coupon.as_ref().filter(|c| !c.applied) {
        errors.push(FieldError::new(
            "couponCode",
            coupon
                .reason
                .clone()
                .unwrap_or_else(|| "does not apply".into()),
        ));
    }
    if quote.shipping.as_ref().map(|s| s.code.as_str()) != Some(request.shipping_method.as_str()) {
        let offered: Vec<&str> = quote
            .shipping_options
            .iter()
            .map(|o| o.code.as_str())
            .collect();
        errors.push(FieldError::new(
            "shippingMethod",
            format!(
                "not offered for this address; offered: {}",
                offered.join(", ")
            ),
        ));
    } else if let (Some(store), Some(pickup)) = (&request.pickup_store, &quote.shipping)
        && !pickup.pickup_stores.contains(store)
    {
        errors.push(FieldError::new(
            "pickupStore",
            format!(
                "{store} is not a store where this order can be picked up (no such store, or it offers \
                 no pickup for this address); choose one of: {}",
                pickup.pickup_stores.join(", ")
            ),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(OrderError::Fields(errors))
    }
}

async fn insert_order(
    tx: &mut PgConnection,
    order_id: OrderId,
    user_id: &str,
    email: &str,
    request: &CheckoutRequest,
    quote: &Quote,
    tax: bazaar_contracts::Money,
) -> Result<String, OrderError> {
    let total = quote.total.checked_add(tax)?;
    let number: String = sqlx::query_scalar(
        "INSERT INTO orders (id, number, user_id, email, state, currency, subtotal_minor, discount_minor,
                             shipping_minor, total_minor, shipping_address, shipping_method, coupon_code,
                             payment_token, tax_minor, pickup_store)
         VALUES ($1, 'BZ-' || nextval('order_numbers'), $2, $3, 'placed', $4, $5, $6, $7, $8, $9, $10, $11, $12,
                 $13, $14)
         RETURNING number",
    )
    .bind(order_id.0)
    .bind(user_id)
    .bind(email)
    .bind(&quote.currency)
    .bind(quote.subtotal.minor())
    .bind(quote.discount.minor())
    .bind(quote.shipping_total.minor())
    .bind(total.minor())
    .bind(sqlx::types::Json(&request.shipping_address))
    .bind(&request.shipping_method)
    .bind(quote.coupon.as_ref().filter(|c| c.applied).map(|c| c.code.clone()))
    .bind(&request.payment_token)
    .bind(tax.minor())
    .bind(&request.pickup_store)
    .fetch_one(&mut *tx)
    .await?;
    for line in &quote.lines {
        let unit = line
            .unit_price
            .ok_or_else(|| OrderError::Invalid(format!("{} has no price", line.sku)))?;
        sqlx::query(
            "INSERT INTO order_lines (order_id, sku, title, quantity, unit_price_minor, line_total_minor)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(order_id.0)
        .bind(line.sku.as_str())
        .bind(&line.title)
        .bind(i32::try_from(line.quantity).unwrap_or(i32::MAX))
        .bind(unit.minor())
        .bind(line.total.minor())
        .execute(&mut *tx)
        .await?;
    }
    store::record_transition(tx, order_id.0, None, OrderState::Placed, "checkout").await?;
    Ok(number)
}

fn placed_event(
    order_id: OrderId,
    number: String,
    user_id: &str,
    email: &str,
    request: &CheckoutRequest,
    quote: &Quote,
    tax: bazaar_contracts::Money,
) -> Result<OrderPlaced, OrderError> {
    let lines = quote
        .lines
        .iter()
        .map(|line| {
            Ok(OrderLine {
                sku: line.sku.clone(),
                quantity: line.quantity,
                unit_price: line
                    .unit_price
                    .ok_or_else(|| OrderError::Invalid(format!("{} has no price", line.sku)))?,
                line_total: line.total,
            })
        })
        .collect::<Result<Vec<_>, OrderError>>()?;
    Ok(OrderPlaced {
        order_id,
        order_number: number,
        customer: bazaar_contracts::order::Customer {
            user_id: Some(user_id.to_owned()),
            email: email.to_owned(),
        },
        lines,
        subtotal: quote.subtotal,
        discount: quote.discount,
        shipping: quote.shipping_total,
        tax: (!tax.is_zero()).then_some(tax),
        total: quote.total.checked_add(tax)?,
        shipping_address: request.shipping_address.clone(),
        shipping_method: request.shipping_method.clone(),
        placed_at: chrono::Utc::now(),
        promotions: quote
            .promotions
            .iter()
            .map(|p| p.promotion.clone())
            .collect(),
    })
}

async fn accepted(
    conn: &mut PgConnection,
    order_id: Uuid,
) -> Result<(StatusCode, HeaderMap, ApiJson<OrderView>), OrderError> {
    let order = store::load(conn, order_id)
        .await?
        .ok_or(OrderError::NotFound("No such order."))?;
    let view = orders::view(conn, &order).await?;
    let mut headers = HeaderMap::new();
    if let Ok(location) = HeaderValue::from_str(&format!("/api/orders/{order_id}")) {
        headers.insert(header::LOCATION, location);
    }
    Ok((StatusCode::ACCEPTED, headers, ApiJson(view)))
}
