//! The catalog prices everything the order component sells: carts and checkouts are quoted by
//! `POST /api/catalog/quote`, so prices and promotions are never taken from a client.

use std::time::Duration;

use bazaar_contracts::quote::{Quote, QuoteRequest};
use bazaar_platform::telemetry::{TRACEPARENT, current_traceparent};

use crate::error::OrderError;

#[derive(Clone)]
pub struct CatalogClient {
    quote_url: String,
    http: reqwest::Client,
}

impl CatalogClient {
    pub fn new(base_url: &str) -> Result<Self, OrderError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| OrderError::CatalogUnavailable(e.to_string()))?;
        Ok(Self {
            quote_url: format!("{}/api/catalog/quote", base_url.trim_end_matches('/')),
            http,
        })
    }

    /// Prices `request`. `authorization` is the shopper's own `Authorization` header, forwarded so that the
    /// catalog applies per-customer promotion limits to the shopper it can verify, and to nobody else.
    pub async fn quote(
        &self,
        request: &QuoteRequest,
        authorization: Option<&str>,
    ) -> Result<Quote, OrderError> {
        let mut call = self.http.post(&self.quote_url).json(request);
        if let Some(authorization) = authorization {
            call = call.header(reqwest::header::AUTHORIZATION, authorization);
        }
        if let Some(traceparent) = current_traceparent() {
            call = call.header(TRACEPARENT, traceparent);
        }
        let response = call
            .send()
            .await
            .map_err(|e| OrderError::CatalogUnavailable(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return response
                .json::<Quote>()
                .await
                .map_err(|e| OrderError::CatalogUnavailable(format!("unreadable quote: {e}")));
        }
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let mut detail = body["detail"]
            .as_str()
            .unwrap_or("the catalog refused to price this request")
            .to_owned();
        if let Some(errors) = body["errors"].as_array() {
            let fields: Vec<String> = errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["field"].as_str().unwrap_or("?"),
                        e["message"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            if !fields.is_empty() {
                detail = format!("{detail} ({})", fields.join("; "));
            }
        }
        if status.is_client_error() {
            Err(OrderError::CatalogRejected(detail))
        } else {
            Err(OrderError::CatalogUnavailable(format!(
                "{status}: {detail}"
            )))
        }
    }
}

/// The raw `Authorization` header of a request, to forward to the catalog.
pub fn authorization(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}
