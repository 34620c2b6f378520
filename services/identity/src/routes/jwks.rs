use axum::Json;
use axum::extract::State;
use bazaar_platform::auth::JwkSet;

use super::AppState;
use crate::error::Result;

/// The public keys that verify access tokens (RFC 7517 JWK Set): the key signing now and retired keys
/// whose tokens may still be valid. Every component fetches this to verify tokens.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "identity",
    responses(
        (status = 200, description = "JWK Set of Ed25519 keys (kty OKP, crv Ed25519, alg EdDSA, use sig, kid)",
         content_type = "application/json"),
    )
)]
pub async fn jwks(State(state): State<AppState>) -> Result<Json<JwkSet>> {
    Ok(Json(state.keys.jwks().await?))
}
