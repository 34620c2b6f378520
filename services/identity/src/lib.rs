//! The identity component: users, password login, JWT issuing with a JWKS endpoint, refresh tokens, roles, addresses.
//!
//! Its schema's migrations live in `migrations/identity/`; it exposes its routes and background tasks through
//! [`COMPONENT`] and touches no other component's schema.

use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running};
use sqlx::migrate::Migrator;
use utoipa_axum::router::OpenApiRouter;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/identity");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "identity",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

async fn start(_context: Context) -> Result<Running, BoxError> {
    Ok(Running::new(OpenApiRouter::new()))
}
