//! `POST /api/catalog/quote`: the priced cart.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bazaar_contracts::Sku;
use bazaar_platform::auth::CurrentUser;
use bazaar_platform::{ApiJson, FieldError, Problem};
use chrono::Utc;
use serde::Deserialize;
use utoipa::ToSchema;

use super::{CatalogState, fail_on, parse_currency, parse_destination, reference, usage_for_quote};
use crate::model::Product;
use crate::pricing::{self, LineRequest, PricingData, Quote, QuoteRequest, Usage};
use crate::read::{self, Reference};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteLineBody {
    pub sku: String,
    /// 1 to 1000.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationBody {
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
}

/// What to price.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteBody {
    /// ISO 4217 code, e.g. USD.
    pub currency: String,
    /// 1 to 100 lines.
    pub lines: Vec<QuoteLineBody>,
    #[serde(default)]
    pub coupon_code: Option<String>,
    #[serde(default)]
    pub destination: Option<DestinationBody>,
    /// A shipping option code; the cheapest delivery option when absent.
    #[serde(default)]
    pub shipping_method: Option<String>,
}

/// The request to price.
fn quote_request(body: &QuoteBody) -> Result<QuoteRequest, Problem> {
    let mut errors = Vec::new();
    let currency = parse_currency(&body.currency, "currency", &mut errors);
    if body.lines.is_empty() {
        errors.push(FieldError::new("lines", "needs at least one line"));
    }
    if body.lines.len() > 100 {
        errors.push(FieldError::new("lines", "at most 100 lines"));
    }
    let mut lines = Vec::with_capacity(body.lines.len());
    for (i, line) in body.lines.iter().enumerate() {
        let sku = match line.sku.parse::<Sku>() {
            Ok(sku) => Some(sku),
            Err(e) => {
                errors.push(FieldError::new(format!("lines[{i}].sku"), e.to_string()));
                None
            }
        };
        let quantity = match u32::try_from(line.quantity) {
            Ok(q) if (1..=1000).contains(&q) => Some(q),
            _ => {
                errors.push(FieldError::new(
                    format!("lines[{i}].quantity"),
                    "expected a whole number from 1 to 1000",
                ));
                None
            }
        };
        if let (Some(sku), Some(quantity)) = (sku, quantity) {
            lines.push(LineRequest { sku, quantity });
        }
    }
    let coupon_code = body
        .coupon_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if coupon_code.as_ref().is_some_and(|c| c.len() > 64) {
        errors.push(FieldError::new("couponCode", "at most 64 characters"));
    }
    let destination = body.destination.as_ref().and_then(|d| {
        parse_destination(
            Some(&d.country),
            d.region.as_deref(),
            "destination.",
            &mut errors,
        )
    });
    let shipping_method = body
        .shipping_method
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    if shipping_method.is_some() && body.destination.is_none() {
        errors.push(FieldError::new(
            "destination",
            "needed to choose a shipping method",
        ));
    }
    fail_on(errors)?;
    let Some(currency) = currency else {
        return Err(Problem::bad_request("currency is required"));
    };
    Ok(QuoteRequest {
        currency,
        lines,
        coupon_code,
        destination,
        shipping_method,
    })
}

/// A cart to price with what the catalog knows of it, read before any usage is.
pub(super) struct Cart {
    pub request: QuoteRequest,
    pub reference: Arc<Reference>,
    products: Vec<Product>,
}

impl Cart {
    pub async fn read(state: &CatalogState, body: &QuoteBody) -> Result<Self, Problem> {
        let request = quote_request(body)?;
        let reference = reference(state).await?;
        let skus: Vec<String> = request
            .lines
            .iter()
            .map(|l| l.sku.as_str().to_owned())
            .collect();
        let products = read::products_for_skus(&state.db, &skus).await?;
        Ok(Self {
            request,
            reference,
            products,
        })
    }

    /// The quote, given the usage of the limited promotions.
    pub fn price(&self, usage: &BTreeMap<String, Usage>) -> Result<Quote, Problem> {
        let data = PricingData {
            products: &self.products,
            promotions: &self.reference.promotions,
            fulfillments: &self.reference.fulfillments,
            stores: &self.reference.stores,
            usage,
        };
        pricing::quote(&self.request, &data, Utc::now()).map_err(|e| {
            Problem::validation(vec![FieldError::new(
                "lines",
                format!("{e}; order fewer or cheaper items"),
            )])
        })
    }
}

/// Prices a cart: list prices, promotions (automatic and one coupon), shipping and total. Unavailable
/// SKUs are flagged, not dropped. Deterministic for the same catalog and time.
#[utoipa::path(
    post,
    path = "/api/catalog/quote",
    request_body = QuoteBody,
    responses(
        (status = 200, description = "The priced cart", body = Quote),
        (status = 422, description = "Invalid lines, currency or destination", body = Problem),
    ),
    tag = "catalog"
)]
pub async fn quote(
    State(state): State<CatalogState>,
    shopper: Option<CurrentUser>,
    ApiJson(body): ApiJson<QuoteBody>,
) -> Result<Response, Problem> {
    let cart = Cart::read(&state, &body).await?;
    // Per-customer limits are checked for the signed-in shopper only: naming a customer in the body
    // would let anyone probe whether someone else has used a promotion.
    let customer_id = shopper.map(|user| user.id);
    let usage = usage_for_quote(
        &state,
        &cart.reference.promotions,
        cart.request.coupon_code.as_deref(),
        customer_id.as_deref(),
    )
    .await?;
    let quote = cart.price(&usage)?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        ApiJson(quote),
    )
        .into_response())
}
