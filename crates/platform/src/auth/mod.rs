//! Access-token authentication, the same in every component.
//!
//! Identity issues short-lived JWTs signed with EdDSA (Ed25519) and publishes the public keys as a
//! JWKS at `/.well-known/jwks.json`. Every component verifies `Authorization: Bearer <JWT>` against
//! those keys with a [`Verifier`], and handlers see the caller as a [`CurrentUser`]:
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use axum::{Extension, Router, routing::get};
//! use bazaar_platform::Problem;
//! use bazaar_platform::auth::{AuthConfig, CurrentUser, Role, Verifier};
//!
//! // Authentication required; ops (or admin) only.
//! async fn refund(user: CurrentUser) -> Result<&'static str, Problem> {
//!     user.require(Role::Ops)?;
//!     Ok("refunded")
//! }
//!
//! // Guests welcome: `None` without an `Authorization` header, 401 for a bad token.
//! async fn cart(user: Option<CurrentUser>) -> String {
//!     user.map_or_else(|| "guest".to_owned(), |user| user.id)
//! }
//!
//! # async fn wire(config: AuthConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Arc::new(Verifier::from_config(&config).await?);
//! let app: Router = Router::new()
//!     .route("/refunds", get(refund))
//!     .route("/cart", get(cart))
//!     .layer(Extension(verifier));
//! # let _ = app;
//! # Ok(())
//! # }
//! ```
//!
//! Key rotation: identity publishes the new key next to the old one and starts signing with it; a
//! token whose `kid` a component does not know yet makes that component refetch the JWKS (at most
//! once per [`JWKS_REFETCH_INTERVAL`]). The old key keeps verifying while it stays in the JWKS, so
//! identity drops it only after the last token it signed has expired.
//!
//! [`TokenSigner`] generates and holds signing keys (identity's side); [`TestIssuer`] wraps one for
//! tests and dev tooling.

mod claims;
mod config;
mod error;
mod extract;
mod signing;
mod verifier;

pub use claims::{Claims, ParseRoleError, Role};
pub use config::{AuthConfig, DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_LEEWAY_SECS};
pub use error::AuthError;
pub use extract::CurrentUser;
/// The JWKS types of `jsonwebtoken`, re-exported so that callers need not depend on it.
pub use jsonwebtoken::jwk::{Jwk, JwkSet};
pub use signing::{TestIssuer, TokenSigner};
pub use verifier::{JWKS_REFETCH_INTERVAL, Verifier};
