use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use super::{AuthError, Claims, Role, Verifier};

/// The caller of a request, proven by a verified access token.
///
/// As an extractor it answers 401 (problem+json with a `WWW-Authenticate` challenge) when the
/// token is missing or invalid; as `Option<CurrentUser>` a request without `Authorization` header
/// is a guest (`None`) while a bad token is still a 401. Both need the server's
/// `axum::Extension(Arc<Verifier>)`; without it they answer 500.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    /// The user id (`sub` claim).
    pub id: String,
    /// The roles granted by identity.
    pub roles: Vec<Role>,
    /// Everything the token said.
    pub claims: Claims,
}

impl CurrentUser {
    /// Whether the user holds `role`; admins hold every role.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&Role::Admin) || self.roles.contains(&role)
    }

    /// `Ok` if the user holds `role` (see [`has_role`](Self::has_role)), else
    /// [`AuthError::Forbidden`], which answers 403.
    pub fn require(&self, role: Role) -> Result<(), AuthError> {
        if self.has_role(role) {
            Ok(())
        } else {
            Err(AuthError::Forbidden(role))
        }
    }
}

impl From<Claims> for CurrentUser {
    fn from(claims: Claims) -> Self {
        Self {
            id: claims.sub.clone(),
            roles: claims.roles.clone(),
            claims,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        authenticate(parts).await
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for CurrentUser {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match authenticate(parts).await {
            Ok(user) => Ok(Some(user)),
            Err(AuthError::MissingToken) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

async fn authenticate(parts: &mut Parts) -> Result<CurrentUser, AuthError> {
    // A middleware or an earlier extractor of the same request has verified the token already.
    if let Some(user) = parts.extensions.get::<CurrentUser>() {
        return Ok(user.clone());
    }
    // Checked before the header so that a router without verifier fails on every request,
    // guests' included, and is noticed at once.
    let verifier = parts
        .extensions
        .get::<Arc<Verifier>>()
        .cloned()
        .ok_or(AuthError::VerifierMissing)?;
    let token = bearer_token(&parts.headers)?;
    let claims = verifier.verify(token).await.inspect_err(|error| {
        tracing::debug!(%error, "access token rejected");
    })?;
    let user = CurrentUser::from(claims);
    parts.extensions.insert(user.clone());
    Ok(user)
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive
/// (RFC 9110 §11.1); any other scheme counts as no token.
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(AuthError::MissingToken);
    };
    let value = value
        .to_str()
        .map_err(|_| AuthError::Malformed("the Authorization header is not ASCII"))?
        .trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    match token.trim() {
        "" => Err(AuthError::Malformed("the bearer token is empty")),
        token => Ok(token),
    }
}
