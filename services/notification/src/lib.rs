//! The notification component: renders and sends email and SMS for order, payment, shipping, stock and account events.
//!
//! Its schema's migrations live in `migrations/notification/`; it exposes its routes and background tasks through
//! [`COMPONENT`] and touches no other component's schema.

use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running};
use sqlx::migrate::Migrator;
use utoipa_axum::router::OpenApiRouter;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/notification");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "notification",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

async fn start(_context: Context) -> Result<Running, BoxError> {
    Ok(Running::new(OpenApiRouter::new()))
}
