//! The catalog component: the read side of merchandising (products, variants, categories, search, stores,
//! shipping options, effective prices).
//!
//! - [`model`]: the catalog's own types for Product, Store, Fulfillment and Promotion (no Kubernetes in
//!   them; the operator maps its resources into these).
//! - [`write`]: the idempotent projection functions the operator calls in its transaction; each change
//!   writes a catalog event through the outbox.
//! - [`pricing`]: the one pricing engine (promotions, shipping), pure and deterministic.
//! - [`routes`]: the HTTP API under `/api/catalog`, with ETags and an in-process cache ([`cache`]) that
//!   catalog events invalidate.
//! - [`redemptions`]: promotion uses reserved when a checkout is priced and confirmed or given back by
//!   order events, so usage limits hold exactly.
//! - [`ratings`]: each product's rating summary from review's events, for sorting and filtering by rating.
//! - [`seed`]: a small realistic shop, loaded through [`write`].
//!
//! Its schema's migrations live in `migrations/catalog/`; it touches no other component's schema.

pub mod cache;
pub mod model;
pub mod pricing;
pub mod ratings;
mod read;
pub mod redemptions;
pub mod routes;
pub mod seed;
pub mod write;

use bazaar_contracts::Topic;
use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running, Task};
use bazaar_platform::kafka::Consumer;
use sqlx::migrate::Migrator;

static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/catalog");

/// How the `bazaar` binary runs this component.
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "catalog",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

async fn start(context: Context) -> Result<Running, BoxError> {
    let state = routes::CatalogState::new(context.db.clone());
    // Every replica must see every catalog event to invalidate its own cache, so each process joins its
    // own consumer group: the name carries a fresh id. (Consumers sharing a group would split the
    // partitions between them, and most replicas would never hear of most changes.)
    // It also records review's rating summaries before dropping the cache (see `ratings`).
    let consumer_name = cache::consumer_name();
    let consumer = Consumer::new(
        &consumer_name,
        &[Topic::CATALOG, Topic::REVIEW],
        cache::Invalidate::new(state.cache.clone()),
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let sweep_pool = context.db.clone();
    let shutdown = context.shutdown.clone();
    let sweep_name = consumer_name.clone();
    let task = Task::new(
        format!("catalog cache invalidation ({consumer_name})"),
        async move {
            cache::sweep_old_inbox_rows(&sweep_pool, &sweep_name).await;
            consumer.run(shutdown).await;
        },
    );
    // Redemptions are counted once for all replicas: one consumer group, with the inbox.
    let redemptions = Consumer::new(
        redemptions::CONSUMER_NAME,
        &[Topic::ORDER],
        redemptions::Redemptions,
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let shutdown = context.shutdown.clone();
    let counting = Task::new("catalog promotion redemptions", async move {
        redemptions.run(shutdown).await;
    });
    Ok(Running::new(routes::router(state))
        .with_task(task)
        .with_task(counting))
}
