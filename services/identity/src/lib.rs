//! The identity component: users, password login, JWT issuing with a JWKS endpoint, refresh tokens, roles, addresses.
//!
//! Its schema's migrations live in `migrations/identity/`; it exposes its routes and background tasks through
//! [`COMPONENT`] and touches no other component's schema.
//!
//! Modules: [`model`] (validated values), [`passwords`] (Argon2id), [`keys`] (signing keys, JWKS),
//! [`sessions`] (access and refresh tokens), [`ratelimit`], [`users`] and [`addresses`] (storage), and
//! `routes` (the HTTP API).

pub mod addresses;
pub mod admin;
pub mod config;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod model;
pub mod passwords;
pub mod ratelimit;
mod routes;
pub mod sessions;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running, Task};
use bazaar_platform::overload::Gate;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

pub use config::IdentityConfig;
pub use error::IdentityError;

use crate::keys::KeyRing;
use crate::passwords::Passwords;
use crate::ratelimit::RateLimiter;
use crate::routes::AppState;
use crate::sessions::Issuer;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/identity");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "identity",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

/// Reads [`IdentityConfig`] from the context's settings; missing settings stop the start.
async fn start(context: Context) -> Result<Running, BoxError> {
    let config = context.settings.get::<IdentityConfig>()?;
    start_with(context, config).await
}

/// Starts the component with explicit settings, whatever the context's settings say (tests, tools).
pub async fn start_with(context: Context, config: IdentityConfig) -> Result<Running, BoxError> {
    let hashing = Gate::new(&passwords::GATE, config.hashing_limits(), &context.metrics);
    let passwords =
        Passwords::new(config.argon2_memory_kib, config.argon2_iterations, hashing).await?;
    let keys = Arc::new(KeyRing::new(context.db.clone(), &config));
    let limiter = RateLimiter::new(context.db.clone(), config.rate_limit_window());
    let issuer = Arc::new(Issuer {
        issuer: config.issuer.clone(),
        audience: config.audience.clone(),
        access_ttl: config.access_token_ttl(),
        refresh_ttl: config.refresh_token_ttl(),
        metrics: metrics::IdentityMetrics::register(context.metrics.registry()),
    });
    let state = AppState {
        db: context.db.clone(),
        outbox: context.outbox.clone(),
        config: Arc::new(config),
        keys: keys.clone(),
        passwords,
        limiter: limiter.clone(),
        issuer,
    };
    let router: OpenApiRouter = routes::router(state).layer(axum::middleware::from_fn_with_state(
        keys,
        keys::own_verifier,
    ));
    let housekeeping = housekeeping(context.db.clone(), limiter, context.shutdown.clone());
    Ok(Running::new(router).with_task(Task::new("identity-housekeeping", housekeeping)))
}

/// Deletes rate-limit counters and refresh tokens that can no longer matter.
async fn housekeeping(db: sqlx::PgPool, limiter: RateLimiter, shutdown: CancellationToken) {
    const EVERY: Duration = Duration::from_secs(300);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        if let Err(error) = limiter.prune().await {
            tracing::warn!(%error, "pruning rate-limit counters failed");
        }
        if let Err(error) = sessions::prune(&db).await {
            tracing::warn!(%error, "pruning expired refresh tokens failed");
        }
    }
}
