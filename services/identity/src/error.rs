//! The one error type of the identity component, answered as problem+json.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bazaar_platform::auth::AuthError;
use bazaar_platform::kafka::OutboxError;
use bazaar_platform::overload::Overloaded;
use bazaar_platform::{FieldError, Problem};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Input that parsed but broke a rule; each field says which and how to fix it.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    /// Unknown e-mail address or wrong password: deliberately one answer, so that nobody can learn
    /// which addresses have accounts.
    #[error("The e-mail address or the password is wrong.")]
    InvalidCredentials,
    #[error("The refresh token is not valid (unknown, expired, used or revoked); sign in again.")]
    InvalidRefreshToken,
    #[error("An account with this e-mail address exists already; sign in instead.")]
    EmailTaken,
    #[error("Too many attempts; retry after {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Password hashing is saturated: 503 with `Retry-After`.
    #[error(transparent)]
    Overloaded(#[from] Overloaded),
    /// A server-side failure (hashing, key material); the text goes to the log only.
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

impl IdentityError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

impl From<IdentityError> for Problem {
    fn from(error: IdentityError) -> Self {
        let detail = error.to_string();
        match error {
            IdentityError::Validation(errors) => Problem::validation(errors),
            IdentityError::InvalidCredentials => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid-credentials", detail)
            }
            IdentityError::InvalidRefreshToken => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid-refresh-token", detail)
            }
            IdentityError::EmailTaken => Problem::new(StatusCode::CONFLICT, "email-taken", detail),
            IdentityError::RateLimited { retry_after_secs } => {
                Problem::too_many_requests(retry_after_secs)
            }
            IdentityError::NotFound(_) => Problem::not_found(detail),
            IdentityError::Conflict(_) => Problem::conflict(detail),
            IdentityError::Auth(auth) => Problem::from(auth),
            IdentityError::Overloaded(overloaded) => Problem::from(overloaded),
            // The platform's one conversion: an outage or an exhausted pool is 503 with Retry-After.
            IdentityError::Db(db) => Problem::from_db(&db),
            IdentityError::Outbox(outbox) => Problem::from(outbox),
            IdentityError::Internal(_) => Problem::internal(&error),
        }
    }
}

impl IntoResponse for IdentityError {
    fn into_response(self) -> Response {
        match self {
            // The platform's answer carries the `WWW-Authenticate` challenge.
            IdentityError::Auth(auth) => auth.into_response(),
            other => Problem::from(other).into_response(),
        }
    }
}
