//! The catalog HTTP API under `/api/catalog`, one module per endpoint family. Reads carry a strong `ETag`
//! and `Cache-Control`, answer `304 Not Modified` to a matching `If-None-Match`, and come from the
//! in-process cache when they can. Bad input is a 4xx problem+json naming each field; an exhausted pool or
//! an unreachable database is 503 with `Retry-After`.
//!
//! - [`products`]: `GET /products` (filters, attribute filters, search, keyset pages) and `GET /products/{slug}`.
//! - [`facets`]: `GET /facets`, attribute values with product counts for the listing's filters.
//! - [`categories`]: `GET /categories`, the tree with counts.
//! - [`stores`]: `GET /stores` near a point.
//! - [`shipping`]: `GET /shipping-options` for a destination and subtotal.
//! - [`promotions`]: `GET /promotions`, the running automatic ones.
//! - [`coupons`]: `GET /coupons/{code}`.
//! - [`quote`]: `POST /quote`, the priced cart.
//! - [`staff`]: `GET /staff/products`, every product with the resource it came from (ops, merchandiser).
//! - [`reservations`]: `PUT`/`DELETE /redemptions/{orderId}`, a checkout's priced cart with its promotions'
//!   uses reserved, and giving them back.
//!
//! This module holds what they share: the state, the cached-read helper and the parsers of currencies,
//! amounts and destinations.

pub mod categories;
pub mod coupons;
pub mod facets;
pub mod products;
pub mod promotions;
pub mod quote;
pub mod reservations;
pub mod shipping;
pub mod staff;
pub mod stores;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bazaar_contracts::{Currency, Money};
use bazaar_platform::{FieldError, Problem};
use serde::Serialize;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cache::{Cached, ResponseCache, etag_of, matches_if_none_match};
use crate::model::{Promotion, normalize_code};
use crate::pricing::{Destination, Usage};
use crate::read::{self, Reference};
use crate::redemptions;

/// What the caching headers say about catalog reads.
pub const CACHE_CONTROL: &str = "public, max-age=30, stale-while-revalidate=30";

/// Shared by the handlers.
#[derive(Clone)]
pub struct CatalogState {
    pub db: PgPool,
    pub cache: Arc<ResponseCache>,
}

impl CatalogState {
    pub fn new(db: PgPool) -> Self {
        Self {
            db,
            cache: Arc::new(ResponseCache::default()),
        }
    }
}

/// The catalog's routes with their OpenAPI description.
pub fn router(state: CatalogState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(products::list_products))
        .routes(routes!(products::get_product))
        .routes(routes!(facets::list_facets))
        .routes(routes!(staff::staff_products))
        .routes(routes!(categories::list_categories))
        .routes(routes!(stores::list_stores))
        .routes(routes!(shipping::shipping_options))
        .routes(routes!(promotions::list_promotions))
        .routes(routes!(coupons::check_coupon))
        .routes(routes!(quote::quote))
        .routes(routes!(reservations::reserve, reservations::release))
        .with_state(state)
}

fn fail_on(errors: Vec<FieldError>) -> Result<(), Problem> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// Answers a read from the cache or by computing it, with ETag, Cache-Control and 304 handling.
async fn cached_json<T, F>(
    state: &CatalogState,
    headers: &HeaderMap,
    uri: &Uri,
    compute: F,
) -> Result<Response, Problem>
where
    T: Serialize,
    F: Future<Output = Result<T, Problem>>,
{
    let key = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let (cached, hit) = match state.cache.get(&key) {
        Some(cached) => (cached, true),
        None => {
            let generation = state.cache.generation();
            let value = compute.await?;
            let body = serde_json::to_vec(&value).map_err(|e| Problem::internal(&e))?;
            let cached = Arc::new(Cached {
                etag: etag_of(&body),
                body: body.into(),
            });
            state.cache.put(key, generation, cached.clone());
            (cached, false)
        }
    };
    let mut response_headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&cached.etag) {
        response_headers.insert(header::ETAG, etag);
    }
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response_headers.insert(
        "x-cache",
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| matches_if_none_match(inm, &cached.etag));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((StatusCode::OK, response_headers, cached.body.clone()).into_response())
}

/// Promotions, fulfillment policies and stores, from the cache or the database.
async fn reference(state: &CatalogState) -> Result<Arc<Reference>, Problem> {
    if let Some(reference) = state.cache.reference() {
        return Ok(reference);
    }
    let generation = state.cache.generation();
    let reference = Arc::new(read::load_reference(&state.db).await?);
    state.cache.put_reference(generation, reference.clone());
    Ok(reference)
}

fn parse_currency(value: &str, name: &str, errors: &mut Vec<FieldError>) -> Option<Currency> {
    let currency = bazaar_contracts::money::currency(&value.trim().to_ascii_uppercase());
    match currency {
        Ok(c) => Some(c),
        Err(_) => {
            errors.push(FieldError::new(
                name,
                format!("`{value}` is not an ISO 4217 currency code such as USD"),
            ));
            None
        }
    }
}

fn parse_amount(
    value: &str,
    name: &str,
    currency: Option<Currency>,
    errors: &mut Vec<FieldError>,
) -> Option<Money> {
    let currency = currency?;
    match Money::parse(value.trim(), currency) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.push(FieldError::new(name, e.to_string()));
            None
        }
    }
}

fn parse_destination(
    country: Option<&str>,
    region: Option<&str>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Destination> {
    let country = country
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let ok_country = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
    if !ok_country {
        errors.push(FieldError::new(
            format!("{prefix}country"),
            "expected an ISO 3166-1 alpha-2 country code such as US",
        ));
    }
    let region = region
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if region
        .as_ref()
        .is_some_and(|r| r.len() > 10 || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        errors.push(FieldError::new(
            format!("{prefix}region"),
            "expected a region code such as CA or US-CA",
        ));
    }
    ok_country.then_some(Destination { country, region })
}

/// Redemptions of the promotions a quote considers (the automatic ones and the coupon's) that have usage
/// limits, in total and by `customer`. Read fresh for every quote: the answer is never cached.
async fn usage_for_quote(
    state: &CatalogState,
    promotions: &[Promotion],
    coupon_code: Option<&str>,
    customer: Option<&str>,
) -> Result<BTreeMap<String, Usage>, Problem> {
    let limited = limited_promotions(promotions, coupon_code);
    redemptions::usage_for(&state.db, &limited, customer)
        .await
        .map_err(Problem::from)
}

/// The promotions a quote considers (the automatic ones and the coupon's) that have usage limits.
fn limited_promotions(promotions: &[Promotion], coupon_code: Option<&str>) -> Vec<String> {
    let coupon = coupon_code.map(normalize_code);
    promotions
        .iter()
        .filter(|p| p.limits.total_uses.is_some() || p.limits.per_customer.is_some())
        .filter(|p| p.is_automatic() || (coupon.is_some() && p.normalized_code() == coupon))
        .map(Promotion::key)
        .collect()
}
