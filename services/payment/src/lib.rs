//! The payment component: payment attempts against a provider interface, refunds, idempotency.
//!
//! - [`provider::PaymentProvider`] is what Bazaar asks of a provider; [`simulated::SimulatedProvider`] is
//!   the built-in one (test tokens decide outcomes; latency and failure rate for fault drills).
//! - [`saga::PaymentSaga`] is the component's part in the order saga: it records, in the inbox transaction,
//!   an authorization on `payment.requested`, a capture on `order.confirmed`, a void or refund on
//!   `order.cancelled`; [`worker::Worker`] makes those provider calls outside any transaction, each at most
//!   once per order, voids authorizations whose outcome was unknown, and hands work that keeps failing to
//!   ops (`payment.attention_needed`).
//! - `/api/payments` shows payments and every provider call to ops and admins; `/api/payments/attention`
//!   lists the work that needs them and retries it.
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
pub mod worker;

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
    let config: PaymentConfig = context.settings.get()?;
    // The simulated provider stands for an external service with storage of its own, so its ledger has a
    // pool of its own too (the worker holds no connection of the component's pool while it calls).
    let provider = Arc::new(simulated::SimulatedProvider::new(
        bazaar_platform::db::companion_pool(&context.db, 2),
        config.simulated_latency(),
        config.simulated_failure_rate,
    ));
    let wake = Arc::new(tokio::sync::Notify::new());
    let worker = worker::Worker {
        provider,
        outbox: context.outbox.clone(),
        metrics: metrics::PaymentMetrics::register(&context.metrics),
        pool: context.db.clone(),
        provider_timeout: config.provider_timeout(),
        retry_backoff: config.retry_backoff(),
        max_tries: config.max_tries,
        wake: wake.clone(),
    };
    let saga = saga::PaymentSaga {
        outbox: context.outbox.clone(),
        wake,
    };
    let consumer = Consumer::new(
        CONSUMER,
        &[Topic::ORDER],
        saga,
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    Ok(Running::new(api::router(context.db.clone()))
        .with_task(Task::new(
            "payment-saga",
            consumer.run(context.shutdown.clone()),
        ))
        .with_task(Task::new(
            "payment-worker",
            worker.run(context.shutdown.clone().cancelled_owned()),
        )))
}
