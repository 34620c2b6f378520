//! The payment component: payment attempts against a provider interface, refunds, idempotency.
//!
//! Its schema's migrations live in `migrations/payment/`; it exposes its routes and background tasks through
//! [`COMPONENT`] and touches no other component's schema.

use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running};
use sqlx::migrate::Migrator;
use utoipa_axum::router::OpenApiRouter;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/payment");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "payment",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

async fn start(_context: Context) -> Result<Running, BoxError> {
    Ok(Running::new(OpenApiRouter::new()))
}
