//! The order component's one error type, and how each case reads to a client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_platform::{FieldError, Problem};

use crate::state::IllegalTransition;

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("{0}")]
    Invalid(String),
    #[error("invalid fields")]
    Fields(Vec<FieldError>),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("the Idempotency-Key was already used for a different checkout")]
    IdempotencyKeyReused,
    #[error("a checkout with this Idempotency-Key is still in progress")]
    CheckoutInProgress,
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error("the catalog could not be reached: {0}")]
    CatalogUnavailable(String),
    #[error("the catalog refused the quote: {0}")]
    CatalogRejected(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("event error: {0}")]
    Outbox(#[from] bazaar_platform::kafka::OutboxError),
    #[error("money error: {0}")]
    Money(#[from] bazaar_contracts::MoneyError),
}

impl OrderError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Fields(vec![FieldError::new(field, message)])
    }
}

impl From<OrderError> for Problem {
    fn from(error: OrderError) -> Self {
        match error {
            OrderError::Invalid(detail) => Problem::bad_request(detail),
            OrderError::Fields(errors) => Problem::validation(errors),
            OrderError::NotFound(what) => Problem::not_found(what),
            OrderError::Unauthorized(detail) => Problem::unauthorized(detail),
            OrderError::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "This Idempotency-Key was used for a different checkout; use a new key for a new order.",
            ),
            OrderError::CheckoutInProgress => {
                let mut problem = Problem::new(
                    StatusCode::CONFLICT,
                    "checkout-in-progress",
                    "A checkout with this Idempotency-Key is still being processed; retry with the same key to get its order.",
                );
                problem.retry_after_secs = Some(1);
                problem
            }
            OrderError::IllegalTransition(t) => Problem::conflict(t.to_string()),
            OrderError::CatalogUnavailable(_) => {
                tracing::warn!(%error, "catalog unavailable");
                Problem::unavailable("Prices cannot be checked right now; please retry shortly.")
            }
            OrderError::CatalogRejected(detail) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "quote-rejected", detail)
            }
            // The platform's one conversion: an outage or an exhausted pool is 503 with Retry-After.
            OrderError::Database(db) => Problem::from_db(&db),
            OrderError::Outbox(outbox) => Problem::from(outbox),
            OrderError::Money(_) => Problem::internal(&error),
        }
    }
}

impl IntoResponse for OrderError {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}
