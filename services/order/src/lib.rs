//! The order component: carts (`/api/cart`), checkout (`/api/checkout`), orders (`/api/orders`), and the
//! order saga it orchestrates over Kafka (see [`saga`]).
//!
//! Its schema's migrations live in `migrations/order/`; prices come from the catalog's quote API; it
//! touches no other component's schema.

pub mod admission;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod config;
pub mod error;
pub mod idempotency;
pub mod lifecycle;
pub mod metrics;
pub mod orders;
pub mod saga;
pub mod state;
pub mod tax;

use bazaar_contracts::Topic;
use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running, Task};
use bazaar_platform::kafka::{Consumer, Outbox};
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use utoipa_axum::router::OpenApiRouter;

pub use config::OrderConfig;

use admission::Admission;
use catalog::CatalogClient;
use metrics::OrderMetrics;
use orders::live::LiveUpdates;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/order");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "order",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

/// What every handler of this component shares.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub catalog: CatalogClient,
    pub outbox: Outbox,
    pub config: OrderConfig,
    pub metrics: OrderMetrics,
    pub live: LiveUpdates,
    pub admission: Admission,
}

async fn start(context: Context) -> Result<Running, BoxError> {
    let config: OrderConfig = context.settings.get()?;
    let catalog = CatalogClient::new(config.catalog_url.as_deref().unwrap_or(&context.local_url))?;
    let metrics = OrderMetrics::register(context.metrics.registry())?;
    let live = LiveUpdates::new();
    let admission = Admission::new(
        config.checkout_max_pending,
        config.checkout_backlog_refresh(),
        context.metrics.registry(),
    )?;
    let state = AppState {
        db: context.db.clone(),
        catalog,
        outbox: context.outbox.clone(),
        config: config.clone(),
        metrics: metrics.clone(),
        live: live.clone(),
        admission: admission.clone(),
    };
    let router = OpenApiRouter::new()
        .merge(cart::routes())
        .merge(checkout::routes())
        .merge(orders::routes())
        .with_state(state)
        .merge(bazaar_platform::audit::router("order", context.db.clone()));
    let saga = Consumer::new(
        "order-saga",
        &[Topic::INVENTORY, Topic::PAYMENT],
        saga::Saga {
            outbox: context.outbox.clone(),
            config,
            metrics: metrics.clone(),
        },
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    Ok(Running::new(router)
        .with_task(Task::new("order-saga", saga.run(context.shutdown.clone())))
        .with_task(Task::new(
            "order-status",
            live.listen(context.db.clone(), context.shutdown.clone()),
        ))
        .with_task(Task::new(
            "checkout-admission",
            admission.watch(context.db.clone(), context.shutdown.clone()),
        ))
        .with_task(Task::new(
            "order-metrics",
            metrics.refresh(context.db.clone(), context.shutdown.clone()),
        )))
}
