//! The catalog prices everything the order component sells: carts are quoted by `POST /api/catalog/quote`
//! and checkouts by `PUT /api/catalog/redemptions/{orderId}` (which also reserves the uses of the
//! promotions applied), so prices and promotions are never taken from a client.

use std::time::Duration;

use bazaar_contracts::quote::{Quote, QuoteRequest};
use bazaar_platform::telemetry::{TRACEPARENT, current_traceparent};
use uuid::Uuid;

use crate::error::OrderError;

#[derive(Clone)]
pub struct CatalogClient {
    base_url: String,
    quote_url: String,
    http: reqwest::Client,
}

impl CatalogClient {
    pub fn new(base_url: &str) -> Result<Self, OrderError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| OrderError::CatalogUnavailable(e.to_string()))?;
        let base_url = base_url.trim_end_matches('/').to_owned();
        Ok(Self {
            quote_url: format!("{base_url}/api/catalog/quote"),
            base_url,
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
        let call = self.http.post(&self.quote_url).json(request);
        self.priced(call, authorization).await
    }

    /// Prices a checkout's `request` and reserves a use of each promotion it applies for `order_id`
    /// (`PUT /api/catalog/redemptions/{orderId}`), so that usage limits hold however many checkouts are in
    /// flight. The reservation becomes a redemption when the catalog reads the order's `order.placed`;
    /// [`release`](Self::release) gives it back if the order is not placed.
    pub async fn reserve(
        &self,
        order_id: Uuid,
        request: &QuoteRequest,
        authorization: Option<&str>,
    ) -> Result<Quote, OrderError> {
        let call = self
            .http
            .put(format!(
                "{}/api/catalog/redemptions/{order_id}",
                self.base_url
            ))
            .json(request);
        self.priced(call, authorization).await
    }

    /// Gives back what [`reserve`](Self::reserve) reserved for `order_id`.
    pub async fn release(
        &self,
        order_id: Uuid,
        authorization: Option<&str>,
    ) -> Result<(), OrderError> {
        let mut call = self.http.delete(format!(
            "{}/api/catalog/redemptions/{order_id}",
            self.base_url
        ));
        if let Some(authorization) = authorization {
            call = call.header(reqwest::header::AUTHORIZATION, authorization);
        }
        let response = call
            .send()
            .await
            .map_err(|e| OrderError::CatalogUnavailable(e.to_string()))?;
        match response.status() {
            status if status.is_success() => Ok(()),
            status => Err(OrderError::CatalogUnavailable(format!(
                "{status} releasing a reservation"
            ))),
        }
    }

    async fn priced(
        &self,
        mut call: reqwest::RequestBuilder,
        authorization: Option<&str>,
    ) -> Result<Quote, OrderError> {
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

impl CatalogClient {
    /// Why `code` cannot be used whatever the cart holds (no promotion has it, it has expired or is not
    /// valid yet, it is used up), in the words the quote uses; `None` when it may apply. For carts with no
    /// lines to quote: with lines, the quote judges the code against them.
    pub async fn coupon_refusal(&self, code: &str) -> Result<Option<String>, OrderError> {
        let mut url = reqwest::Url::parse(&format!("{}/api/catalog/coupons", self.base_url))
            .map_err(|e| OrderError::CatalogUnavailable(e.to_string()))?;
        url.path_segments_mut()
            .map_err(|()| {
                OrderError::CatalogUnavailable("the catalog URL cannot have paths".into())
            })?
            .push(code);
        let mut call = self.http.get(url);
        if let Some(traceparent) = current_traceparent() {
            call = call.header(TRACEPARENT, traceparent);
        }
        let response = call
            .send()
            .await
            .map_err(|e| OrderError::CatalogUnavailable(e.to_string()))?;
        let status = response.status();
        if status.is_server_error() {
            return Err(OrderError::CatalogUnavailable(format!(
                "{status} checking a coupon"
            )));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| OrderError::CatalogUnavailable(format!("unreadable coupon check: {e}")))?;
        let refusal = |field: &str| {
            body[field]
                .as_str()
                .unwrap_or("this code cannot be used")
                .to_owned()
        };
        Ok(match status {
            reqwest::StatusCode::NOT_FOUND => Some(refusal("detail")),
            s if s.is_success() && body["valid"] == false => Some(refusal("message")),
            s if s.is_success() => None,
            _ => return Err(OrderError::CatalogRejected(refusal("detail"))),
        })
    }
}

/// The raw `Authorization` header of a request, to forward to the catalog.
pub fn authorization(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
}
