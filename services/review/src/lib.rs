//! The review component: product reviews and ratings, rating summaries, and shoppers' wishlists.
//!
//! Its schema's migrations live in `migrations/review/`; it exposes its routes and background tasks
//! through [`COMPONENT`] and touches no other component's schema. Why it is a component of its own, and
//! why wishlists live here, is written in docs/architecture.md ("Reviews, wishlists and the audit trail").
//!
//! - Reviews (`/api/reviews`, see [`reviews`]): one per product and signed-in shopper, editable, 1-5 stars
//!   with a title and a body stored and served as plain text (never HTML; escaping is the client's job);
//!   "verified purchase" when the author has a delivered order containing the product; "helpful" votes;
//!   shoppers' reports; moderation by merchandisers and ops (held reviews published, any hidden with a
//!   reason), each moderation in the audit trail (`GET /api/review/audit`); pages by cursor, newest or
//!   most helpful first; the rating summary per product changes in the same transaction as the reviews.
//! - Wishlists (`/api/wishlist`, see [`wishlist`]): saved variants with price drops, out-of-stock and
//!   back-in-stock flags, and removed or archived products, moves to and from the cart through order's cart API, a read-only share link.
//! - Writes are rate limited per shopper ([`ratelimit`]); settings in [`ReviewConfig`].
//! - Events consumed (see [`projection`]): `bazaar.catalog` (products, variants, prices, lifecycle) and
//!   `bazaar.order` (purchases and their delivery), `bazaar.inventory` (SKUs out of stock and back in stock,
//!   for wishlists).
//! - Events published (through the outbox, in the transaction of the change): `bazaar.review`
//!   `review.rating_summary.changed`, a product's whole rating summary whenever its published reviews
//!   change (written, edited stars, published or hidden by staff, deleted), keyed by product slug.

pub mod config;
pub mod projection;
pub mod ratelimit;
pub mod reviews;
pub mod text;
pub mod wishlist;

use std::time::Duration;

use bazaar_contracts::Topic;
use bazaar_platform::audit;
use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running, Task};
use bazaar_platform::kafka::{Consumer, Outbox};
use sqlx::PgPool;
use sqlx::migrate::Migrator;

pub use config::{Moderation, ReviewConfig};

/// The review schema's own migrations.
pub static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/review");

/// How the `bazaar` binary runs this component; its settings are a [`ReviewConfig`].
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "review",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: ReviewConfig,
    pub limiter: ratelimit::RateLimiter,
    pub cart: wishlist::CartClient,
    /// Announces rating summaries in the transaction of the review change.
    pub outbox: Outbox,
}

async fn start(context: Context) -> Result<Running, BoxError> {
    let config: ReviewConfig = context.settings.get()?;
    let order_url = config
        .order_url
        .clone()
        .unwrap_or_else(|| context.local_url.clone());
    let state = AppState {
        db: context.db.clone(),
        limiter: ratelimit::RateLimiter::new(
            context.db.clone(),
            config.rate_limit,
            Duration::from_secs(config.rate_window_secs),
        ),
        cart: wishlist::CartClient::new(&order_url)?,
        outbox: context.outbox.clone(),
        config,
    };
    let catalog = Consumer::new(
        projection::CATALOG_CONSUMER,
        &[Topic::CATALOG],
        projection::CatalogEvents,
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let orders = Consumer::new(
        projection::ORDER_CONSUMER,
        &[Topic::ORDER],
        projection::OrderEvents,
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let stock = Consumer::new(
        projection::INVENTORY_CONSUMER,
        &[Topic::INVENTORY],
        projection::InventoryEvents,
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let router = reviews::routes()
        .merge(wishlist::routes())
        .with_state(state)
        .merge(audit::router("review", context.db.clone()));
    Ok(Running::new(router)
        .with_task(Task::new(
            projection::CATALOG_CONSUMER,
            catalog.run(context.shutdown.clone()),
        ))
        .with_task(Task::new(
            projection::ORDER_CONSUMER,
            orders.run(context.shutdown.clone()),
        ))
        .with_task(Task::new(
            projection::INVENTORY_CONSUMER,
            stock.run(context.shutdown.clone()),
        )))
}
