//! The HTTP API: `/api/auth` (sessions, passwords, keys), `/api/users` (profile, addresses, roles) and
//! `/.well-known/jwks.json`.

mod addresses;
mod auth;
mod jwks;
mod users;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use bazaar_platform::auth::{AuthError, CurrentUser};
use bazaar_platform::kafka::Outbox;
use sqlx::PgPool;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::IdentityConfig;
use crate::error::{IdentityError, Result};
use crate::keys::KeyRing;
use crate::model::UserId;
use crate::passwords::Passwords;
use crate::ratelimit::{RateLimiter, client_ip};
use crate::sessions::Issuer;

/// What every handler may use.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub outbox: Outbox,
    pub config: Arc<IdentityConfig>,
    pub keys: Arc<KeyRing>,
    pub passwords: Passwords,
    pub limiter: RateLimiter,
    pub issuer: Arc<Issuer>,
}

pub fn router(state: AppState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::rotate_keys))
        .routes(routes!(jwks::jwks))
        .routes(routes!(users::me, users::update_me))
        .routes(routes!(users::find_by_email))
        .routes(routes!(users::roles))
        .routes(routes!(users::grant_role, users::revoke_role))
        .routes(routes!(addresses::list, addresses::create))
        .routes(routes!(
            addresses::get,
            addresses::replace,
            addresses::delete
        ))
        .with_state(state.clone())
        .merge(bazaar_platform::audit::router("identity", state.db))
}

/// The address rate limits count against (see [`client_ip`]); `unknown` when the server was not given
/// connection info, in which case all such requests share one allowance.
pub struct Client(pub String);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> std::result::Result<Self, Self::Rejection> {
        let connect_info = parts.extensions.get::<ConnectInfo<SocketAddr>>();
        let ip: Option<IpAddr> =
            client_ip(connect_info, &parts.headers, &state.config.trusted_proxies);
        Ok(Client(
            ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        ))
    }
}

/// The signed-in user's id.
fn user_id(user: &CurrentUser) -> Result<UserId> {
    user.id
        .parse()
        .map_err(|_| IdentityError::Auth(AuthError::Malformed("its subject is not a user id")))
}

/// The value of a check that passed; `Checks::finish` returned `Ok`, so it is there.
fn checked<T>(value: Option<T>) -> Result<T> {
    value.ok_or_else(|| IdentityError::Internal("validated value missing".to_owned()))
}
