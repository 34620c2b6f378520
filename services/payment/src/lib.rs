//! The payment component: payment attempts against a provider interface, refunds, idempotency.
//!
//! - [`provider::PaymentProvider`] is what Bazaar asks of a provider; [`simulated::SimulatedProvider`] is
//!   the built-in one (test tokens decide outcomes; latency and failure rate for fault drills).
//! - [`saga::PaymentSaga`] is the component's part in the order saga: authorize on `payment.requested`,
//!   capture on `order.confirmed`, void or refund on `order.cancelled`, each at most once per order.
//! - `/api/payments` shows payments and every provider call to ops and admins.
//!
//! Its schema's migrations live in `migrations/payment/`; it exposes its routes and background tasks through
//! [`COMPONENT`] and touches no other component's schema.

pub mod api;
pub mod config;
pub mod metrics;
pub mod model;
pub mod provider;
pub mod saga;
pub mod simulated;

use std::sync::Arc;

use bazaar_contracts::Topic;
use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running, Task};
use bazaar_platform::kafka::Consumer;
use sqlx::migrate::Migrator;

pub use config::PaymentConfig;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/payment");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "payment",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

/// The name of the payment component's consumer (and, with the deployment prefix, its group).
pub const CONSUMER: &str = "payment";

async fn start(context: Context) -> Result<Running, BoxError> {
    let config: PaymentConfig = context.settings.get();
    // The simulated provider stands for an external service with storage of its own. It is called inside
    // the saga's transactions, so its ledger has a pool of its own too: taking a second connection of
    // the component's pool while the transaction holds one would deadlock that pool under load.
    let provider = Arc::new(simulated::SimulatedProvider::new(
        bazaar_platform::db::companion_pool(&context.db, 2),
        config.simulated_latency(),
        config.simulated_failure_rate,
    ));
    let saga = saga::PaymentSaga {
        provider,
        outbox: context.outbox.clone(),
        metrics: metrics::PaymentMetrics::register(&context.metrics),
        pool: context.db.clone(),
        provider_timeout: config.provider_timeout(),
    };
    let consumer = Consumer::new(
        CONSUMER,
        &[Topic::ORDER],
        saga,
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    Ok(
        Running::new(api::router(context.db.clone())).with_task(Task::new(
            "payment-saga",
            consumer.run(context.shutdown.clone()),
        )),
    )
}
