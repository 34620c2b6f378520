//! `GET /api/catalog/shipping-options`: options for a destination and cart subtotal.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bazaar_contracts::Money;
use bazaar_platform::{ApiQuery, FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    CatalogState, cached_json, fail_on, parse_amount, parse_currency, parse_destination, reference,
};
use crate::pricing::{self, ShippingOption};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct ShippingQuery {
    /// Destination country, ISO 3166-1 alpha-2 (e.g. US).
    country: Option<String>,
    /// Destination region (e.g. CA or US-CA).
    region: Option<String>,
    /// ISO 4217 currency of the rates.
    currency: Option<String>,
    /// The cart's merchandise total after discounts (decimal string); decides free-over. Default 0.
    subtotal: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptions {
    pub currency: String,
    pub options: Vec<ShippingOption>,
}

/// Shipping options for a destination and cart subtotal (free-over applied).
#[utoipa::path(
    get,
    path = "/api/catalog/shipping-options",
    params(ShippingQuery),
    responses(
        (status = 200, description = "Options, cheapest first", body = ShippingOptions),
        (status = 422, description = "Invalid destination, currency or subtotal", body = Problem),
    ),
    tag = "catalog"
)]
pub async fn shipping_options(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<ShippingQuery>,
) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let destination = parse_destination(
        query.country.as_deref(),
        query.region.as_deref(),
        "",
        &mut errors,
    );
    let currency = match query.currency.as_deref() {
        Some(c) => parse_currency(c, "currency", &mut errors),
        None => {
            errors.push(FieldError::new("currency", "required, e.g. USD"));
            None
        }
    };
    let subtotal = match query.subtotal.as_deref() {
        Some(s) => parse_amount(s, "subtotal", currency, &mut errors),
        None => currency.map(Money::zero),
    };
    fail_on(errors)?;
    let (Some(destination), Some(currency), Some(subtotal)) = (destination, currency, subtotal)
    else {
        return Err(Problem::bad_request("country and currency are required"));
    };
    cached_json(&state, &headers, &uri, async {
        let reference = reference(&state).await?;
        Ok(ShippingOptions {
            currency: currency.code().to_owned(),
            options: pricing::shipping_options_for(
                &reference.fulfillments,
                &reference.stores,
                &destination,
                subtotal,
            ),
        })
    })
    .await
}
