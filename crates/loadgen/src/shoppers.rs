//! Mixed shopper traffic on goose: each goose user is one prepared shopper, who repeats rounds of its
//! journey (every step as often as its weight in the mix, in random order, a think time between two
//! steps) until the test plan ramps it down or its iterations are done.

use std::sync::Arc;
use std::time::Instant;

use goose::metrics::GooseRequestMetric;
use goose::prelude::*;
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

use crate::options::{Mix, Step, ThinkTime};
use crate::setup::{Catalog, Shopper};

/// What every user reads: the catalog and the prepared shoppers.
pub struct Shared {
    pub catalog: Catalog,
    pub shoppers: Vec<Shopper>,
    /// The shoppers' password, for signing in again.
    pub password: String,
    /// Currencies shoppers switch between; the first is the cart's.
    pub currencies: Vec<String>,
    /// Where carts are priced and orders shipped: country and region.
    pub destination: (String, String),
}

/// Refresh the access token once it is this old (identity issues 15-minute tokens by default).
const TOKEN_REFRESH_AFTER_SECS: u64 = 600;

/// One user's state between steps.
#[derive(Clone)]
struct ShopperState {
    email: String,
    access_token: String,
    refresh_token: String,
    token_at: Instant,
    currency: String,
    cart_lines: usize,
    last_order: Option<String>,
}

/// The shopper scenario: on start the user takes its prepared shopper; then the mix.
pub fn scenario(shared: Arc<Shared>, mix: &Mix, think: ThinkTime) -> Result<Scenario, GooseError> {
    let mut scenario = Scenario::new("shopper")
        .set_wait_time(think.min, think.max)?
        .register_transaction(
            transaction(shared.clone(), None)
                .set_name("take a shopper")
                .set_on_start(),
        );
    for (step, weight) in mix.steps() {
        scenario = scenario.register_transaction(
            transaction(shared.clone(), Some(step))
                .set_name(step.key())
                .set_weight(weight)?,
        );
    }
    Ok(scenario)
}

fn transaction(shared: Arc<Shared>, step: Option<Step>) -> Transaction {
    Transaction::new(Arc::new(move |user: &mut GooseUser| {
        let shared = shared.clone();
        Box::pin(async move {
            match step {
                None => take_shopper(&shared, user),
                Some(step) => run_step(step, &shared, user).await,
            }
        })
    }))
}

fn take_shopper(shared: &Shared, user: &mut GooseUser) -> TransactionResult {
    if shared.shoppers.is_empty() {
        return Err("no prepared shopper".into());
    }
    let shopper = &shared.shoppers[user.weighted_users_index % shared.shoppers.len()];
    user.set_session_data(ShopperState {
        email: shopper.email.clone(),
        access_token: shopper.session.access_token.clone(),
        refresh_token: shopper.session.refresh_token.clone(),
        token_at: Instant::now(),
        currency: shared
            .currencies
            .first()
            .cloned()
            .unwrap_or_else(|| "USD".into()),
        cart_lines: 0,
        last_order: None,
    });
    Ok(())
}

fn state(user: &GooseUser) -> Result<ShopperState, Box<TransactionError>> {
    user.get_session_data::<ShopperState>()
        .cloned()
        .ok_or_else(|| "the user has no shopper".into())
}

fn update(user: &mut GooseUser, change: impl FnOnce(&mut ShopperState)) {
    if let Some(state) = user.get_session_data_mut::<ShopperState>() {
        change(state);
    }
}

/// Sends one request, recorded under `name`; an answer other than 2xx fails the step.
async fn send(
    user: &mut GooseUser,
    method: GooseMethod,
    path: &str,
    name: &str,
    token: Option<&str>,
    body: Option<Value>,
    idempotency_key: Option<String>,
) -> Result<Value, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&method, path)?;
    if let Some(token) = token {
        builder = builder.bearer_auth(token);
    }
    if let Some(key) = idempotency_key {
        builder = builder.header("idempotency-key", key);
    }
    if let Some(body) = &body {
        builder = builder.json(body);
    }
    let request = GooseRequest::builder()
        .method(method)
        .path(path)
        .name(name)
        .set_request_builder(builder)
        .build();
    let goose = user.request(request).await?;
    let mut metric: GooseRequestMetric = goose.request;
    let response = match goose.response {
        Ok(response) => response,
        Err(error) => return Err(format!("{name}: {error}").into()),
    };
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        let tag = format!("{name}: {status}");
        user.set_failure(&tag, &mut metric, None, Some(&body))?;
        return Err(tag.into());
    }
    Ok(response.json::<Value>().await.unwrap_or(Value::Null))
}

/// The shopper's access token, refreshed first when it is getting old.
async fn token(user: &mut GooseUser) -> Result<String, Box<TransactionError>> {
    let current = state(user)?;
    if current.token_at.elapsed().as_secs() < TOKEN_REFRESH_AFTER_SECS {
        return Ok(current.access_token);
    }
    let answer = send(
        user,
        GooseMethod::Post,
        "/api/auth/refresh",
        "refresh token",
        None,
        Some(json!({"refreshToken": current.refresh_token})),
        None,
    )
    .await?;
    let session = crate::api::session(&answer).map_err(|e| e.to_string())?;
    let access = session.access_token.clone();
    update(user, |s| {
        s.access_token = session.access_token;
        s.refresh_token = session.refresh_token;
        s.token_at = Instant::now();
    });
    Ok(access)
}

fn pick<'a>(items: &'a [String], what: &str) -> Result<&'a str, Box<TransactionError>> {
    items
        .choose(&mut rand::rng())
        .map(String::as_str)
        .ok_or_else(|| format!("no {what} to pick from").into())
}

async fn run_step(step: Step, shared: &Shared, user: &mut GooseUser) -> TransactionResult {
    let (country, region) = &shared.destination;
    match step {
        Step::Home => {
            let currency = state(user)?.currency;
            let path = format!("/api/catalog/products?currency={currency}");
            send(user, GooseMethod::Get, &path, "home", None, None, None).await?;
        }
        Step::SetCurrency => {
            let currency = pick(&shared.currencies, "currency")?.to_owned();
            update(user, |s| s.currency = currency.clone());
            let path = format!("/api/catalog/products?currency={currency}");
            send(
                user,
                GooseMethod::Get,
                &path,
                "set currency",
                None,
                None,
                None,
            )
            .await?;
        }
        Step::BrowseProduct => {
            let currency = state(user)?.currency;
            let slug = pick(&shared.catalog.slugs, "product")?;
            let path = format!("/api/catalog/products/{slug}?currency={currency}");
            send(
                user,
                GooseMethod::Get,
                &path,
                "browse product",
                None,
                None,
                None,
            )
            .await?;
        }
        Step::Search => {
            let currency = state(user)?.currency;
            let word = pick(&shared.catalog.words, "search word")?;
            let path = format!("/api/catalog/products?q={word}&currency={currency}");
            send(user, GooseMethod::Get, &path, "search", None, None, None).await?;
        }
        Step::AddToCart => add_to_cart(shared, user).await?,
        Step::ViewCart => {
            let token = token(user).await?;
            let path = format!("/api/cart?country={country}&region={region}");
            send(
                user,
                GooseMethod::Get,
                &path,
                "view cart",
                Some(&token),
                None,
                None,
            )
            .await?;
        }
        Step::Checkout => {
            if state(user)?.cart_lines == 0 {
                add_to_cart(shared, user).await?;
            }
            let token = token(user).await?;
            let shopper = state(user)?;
            let body = json!({
                "shippingAddress": {"name": "Load Shopper", "line1": "1 Market St", "city": "San Francisco",
                                    "region": region, "postalCode": "94105", "country": country},
                "shippingMethod": "standard",
                "paymentToken": "tok_visa",
                "email": shopper.email,
            });
            let key = uuid::Uuid::new_v4().to_string();
            let order = send(
                user,
                GooseMethod::Post,
                "/api/checkout",
                "checkout",
                Some(&token),
                Some(body),
                Some(key),
            )
            .await?;
            let id = order["id"].as_str().map(str::to_owned);
            update(user, |s| {
                s.cart_lines = 0;
                if id.is_some() {
                    s.last_order = id;
                }
            });
        }
        Step::SignIn => {
            let shopper = state(user)?;
            let body = json!({"email": shopper.email, "password": shared.password});
            let answer = send(
                user,
                GooseMethod::Post,
                "/api/auth/login",
                "sign in",
                None,
                Some(body),
                None,
            )
            .await?;
            let session = crate::api::session(&answer).map_err(|e| e.to_string())?;
            update(user, |s| {
                s.access_token = session.access_token;
                s.refresh_token = session.refresh_token;
                s.token_at = Instant::now();
            });
        }
        Step::TrackOrder => {
            let token = token(user).await?;
            send(
                user,
                GooseMethod::Get,
                "/api/orders?limit=10",
                "my orders",
                Some(&token),
                None,
                None,
            )
            .await?;
            if let Some(order) = state(user)?.last_order {
                let path = format!("/api/orders/{order}");
                send(
                    user,
                    GooseMethod::Get,
                    &path,
                    "track order",
                    Some(&token),
                    None,
                    None,
                )
                .await?;
            }
        }
    }
    Ok(())
}

async fn add_to_cart(shared: &Shared, user: &mut GooseUser) -> TransactionResult {
    let token = token(user).await?;
    let sku = pick(&shared.catalog.skus, "stocked variant")?;
    let quantity = rand::rng().random_range(1..=3);
    let body = json!({"sku": sku, "quantity": quantity});
    send(
        user,
        GooseMethod::Post,
        "/api/cart/lines",
        "add to cart",
        Some(&token),
        Some(body),
        None,
    )
    .await?;
    update(user, |s| s.cart_lines += 1);
    Ok(())
}
