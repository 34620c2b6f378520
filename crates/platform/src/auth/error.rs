use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::errors::ErrorKind;

use super::Role;
use crate::Problem;

/// Why a request is not authenticated or not allowed, or why keys could not be loaded.
///
/// The messages of token problems are written for API clients and go into the response as is;
/// none of them repeats anything taken from the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` header: none at all, or one with another scheme such as Basic.
    #[error("This endpoint needs an access token: send `Authorization: Bearer <token>`.")]
    MissingToken,
    /// The bearer token is not a JWT this platform could have issued; the text says how.
    #[error("The access token is malformed: {0}.")]
    Malformed(&'static str),
    /// The token is signed with something else than EdDSA (HMAC, RSA, ...).
    #[error("The access token must be signed with EdDSA.")]
    UnsupportedAlgorithm,
    /// The token's `kid` names no key this service knows, even after refetching the JWKS.
    #[error("The access token was signed with a key this service does not know.")]
    UnknownKey,
    /// The token's `exp` has passed.
    #[error("The access token has expired; obtain a new one.")]
    Expired,
    /// The token's `nbf` is still in the future.
    #[error("The access token is not valid yet.")]
    NotYetValid,
    /// The signature does not match the token's content and key.
    #[error("The access token's signature is invalid.")]
    InvalidSignature,
    /// The token's `iss` is not the configured issuer.
    #[error("The access token was not issued by this platform's identity service.")]
    WrongIssuer,
    /// The token's `aud` is not the configured audience.
    #[error("The access token is meant for another audience.")]
    WrongAudience,
    /// The service was started without a JWKS URL or file, so it cannot accept any token.
    #[error("This service has no keys to verify access tokens with; none is accepted.")]
    NotConfigured,
    /// The caller is authenticated but lacks the role.
    #[error("This action needs the `{0}` role.")]
    Forbidden(Role),
    /// The verification keys could not be loaded from the JWKS file or URL.
    #[error("could not load the token verification keys: {0}")]
    KeySource(String),
    /// A signing key could not be generated, read, written or used.
    #[error("signing key problem: {0}")]
    KeyMaterial(String),
    /// The router has no `Extension(Arc<Verifier>)`: a wiring bug in the server, not the client.
    #[error("no token verifier on this router; add `axum::Extension(Arc<Verifier>)`")]
    VerifierMissing,
}

impl AuthError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::KeySource(_) | Self::KeyMaterial(_) | Self::VerifierMissing => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 `WWW-Authenticate` challenge telling the client what to fix, if any.
    fn challenge(&self) -> Option<HeaderValue> {
        let error = match self {
            // RFC 6750 §3.1: no error code when the client sent no bearer credentials at all.
            Self::MissingToken => return Some(HeaderValue::from_static("Bearer")),
            Self::Forbidden(_) => "insufficient_scope",
            _ if self.status() == StatusCode::UNAUTHORIZED => "invalid_token",
            _ => return None,
        };
        let description = quotable(&self.to_string());
        HeaderValue::from_str(&format!(
            r#"Bearer error="{error}", error_description="{description}""#
        ))
        .ok()
    }
}

/// Keeps only the characters RFC 6750 allows in `error_description`, so the header is always
/// valid even if a message changes.
fn quotable(text: &str) -> String {
    text.chars()
        .filter(|&c| matches!(c, ' '..='~') && c != '"' && c != '\\')
        .collect()
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        match error.status() {
            StatusCode::FORBIDDEN => Problem::forbidden(error.to_string()),
            StatusCode::UNAUTHORIZED => Problem::unauthorized(error.to_string()),
            _ => Problem::internal(&error),
        }
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let challenge = self.challenge();
        let mut response = Problem::from(self).into_response();
        if let Some(challenge) = challenge {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// Translates a `jsonwebtoken` failure into the client-facing reason.
pub(super) fn from_jwt(error: &jsonwebtoken::errors::Error) -> AuthError {
    match error.kind() {
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidSignature => AuthError::InvalidSignature,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            AuthError::UnsupportedAlgorithm
        }
        ErrorKind::MissingRequiredClaim(_) => {
            AuthError::Malformed("one of the claims exp, iss, aud, sub is missing")
        }
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => {
            AuthError::Malformed("its claims do not match the Bazaar token format")
        }
        _ => AuthError::Malformed("it is not a signed JWT"),
    }
}
