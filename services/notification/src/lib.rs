//! The notification component: renders and sends email and SMS for order, payment, shipping, stock and account events.
//!
//! - Templates (MiniJinja, embedded from `templates/`) for order placed, confirmed, cancelled, packed,
//!   shipped and delivered, refunds, low stock (to ops) and welcome (on `user.registered`).
//! - Transports: `log` (default) and SMTP (lettre); see [`NotificationConfig`].
//! - At most one message per event, recipient and template, even under redelivery and across a crash
//!   between sending and recording (recorded before sending, sent apart from the event's transaction: see
//!   [`send`] for exactly what is guaranteed); the log, with each message's state, is served to admins at
//!   `/api/notifications/deliveries`.
//!
//! Its schema's migrations live in `migrations/notification/`; it exposes its routes and background tasks through
//! [`COMPONENT`] and touches no other component's schema.

pub mod api;
pub mod config;
pub mod notify;
pub mod send;
pub mod templates;
pub mod transport;

use bazaar_contracts::Topic;
use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running, Task};
use bazaar_platform::kafka::Consumer;
use prometheus::{IntCounterVec, Opts};
use sqlx::migrate::Migrator;

pub use config::NotificationConfig;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/notification");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "notification",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

async fn start(context: Context) -> Result<Running, BoxError> {
    let config: NotificationConfig = context.settings.get()?;
    let templates = templates::Templates::load()?;
    let transport: std::sync::Arc<dyn transport::Transport> =
        transport::from_config(&config)?.into();
    let sent = IntCounterVec::new(
        Opts::new(
            "bazaar_notifications_total",
            "Notifications by template and outcome (sent; retried, failed: the transport did not take \
             it; unknown: interrupted mid-send, not resent; duplicate: recorded before)",
        ),
        &["template", "outcome"],
    )?;
    if let Err(error) = context.metrics.registry().register(Box::new(sent.clone())) {
        tracing::warn!(%error, "notification metric not registered");
    }
    tracing::info!(transport = transport.name(), "notifications configured");
    let notifier = notify::Notifier::new(templates, transport, config.ops_emails.clone(), sent);
    let sender = notifier.sender(
        context.db.clone(),
        config.max_attempts,
        config.retry_backoff(),
        config.send_lease(),
    );
    // Order events and the rest apart, so that a refund waiting for its order's contact never holds up
    // the order topic.
    let orders = Consumer::new(
        "notification-orders",
        &[Topic::ORDER],
        notifier.clone(),
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let others = Consumer::new(
        "notification-events",
        &[Topic::PAYMENT, Topic::INVENTORY, Topic::IDENTITY],
        notifier,
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    Ok(Running::new(api::router(context.db.clone()))
        .with_task(Task::new(
            "notification-orders",
            orders.run(context.shutdown.clone()),
        ))
        .with_task(Task::new(
            "notification-events",
            others.run(context.shutdown.clone()),
        ))
        .with_task(Task::new(
            "notification-sender",
            sender.run(context.shutdown.clone().cancelled_owned()),
        )))
}
