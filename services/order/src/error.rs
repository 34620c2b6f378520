//! The order component's one error type, and how each case reads to a client. Every handler returns
//! `Result<_, OrderError>` and uses `?`; [`From<OrderError> for Problem`](Problem) is the one conversion to
//! problem+json, and it hands database errors to platform's [`Problem::from_db`] (an outage or an
//! exhausted pool is 503 with `Retry-After`) and builds field errors with [`FieldError::new`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_platform::auth::AuthError;
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
    /// Not signed in, or signed in without the role the action needs (401/403 from platform's auth).
    #[error(transparent)]
    Auth(#[from] AuthError),
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
    /// An answer platform code has shaped already, sent as it is: a full checkout backlog (503 with
    /// `Retry-After`, counted as shed), or a refused staff action whose problem was written to the audit
    /// log (so the log and the answer say the same).
    #[error("{0}")]
    Answer(Problem),
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
            OrderError::Auth(auth) => Problem::from(auth),
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
            OrderError::Answer(problem) => problem,
        }
    }
}

impl From<Problem> for OrderError {
    fn from(problem: Problem) -> Self {
        OrderError::Answer(problem)
    }
}

impl IntoResponse for OrderError {
    fn into_response(self) -> Response {
        match self {
            // Platform's own answer, with its `WWW-Authenticate` challenge.
            OrderError::Auth(auth) => auth.into_response(),
            other => Problem::from(other).into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header;

    use super::*;

    async fn answer(error: OrderError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        (
            status,
            retry_after,
            serde_json::from_slice(&body).expect("problem json"),
        )
    }

    #[tokio::test]
    async fn a_database_outage_is_503_with_retry_after_never_500() {
        for outage in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
        ] {
            let (status, retry_after, _) = answer(OrderError::Database(outage)).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
            assert!(retry_after.is_some(), "a 503 says when to retry");
        }
    }

    #[tokio::test]
    async fn a_field_error_is_422_naming_the_field() {
        let (status, _, body) = answer(OrderError::field("limit", "must be from 1 to 100")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["errors"][0]["field"], "limit");
        assert_eq!(body["errors"][0]["message"], "must be from 1 to 100");
    }

    #[tokio::test]
    async fn a_missing_role_is_403_and_a_missing_token_401() {
        let (status, _, _) =
            answer(AuthError::Forbidden(bazaar_platform::auth::Role::Ops).into()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let response = OrderError::from(AuthError::MissingToken).into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
