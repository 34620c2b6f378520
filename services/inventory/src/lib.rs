//! The inventory component: stock per SKU per location, reservations (reserve, commit, release, expiry),
//! low-stock signals.
//!
//! Its schema's migrations live in `migrations/inventory/`; it exposes its routes and background tasks through
//! [`COMPONENT`] and touches no other component's schema.
//!
//! - HTTP (`/api/inventory`, see [`api`]): public availability by SKU; ops manage locations, on-hand units
//!   (audited), low-stock thresholds, and read reservations.
//! - Saga (see [`saga`]): `order.placed` reserves every line or nothing (`inventory.reserved` /
//!   `inventory.rejected`), `order.confirmed` commits (`inventory.committed`), `order.cancelled` releases or
//!   restocks (`inventory.released`); a sweep expires reservations past their time to live.
//! - Availability: a SKU going out of stock or back in stock (units available at a shipping location)
//!   is announced once per crossing (`inventory.availability_changed`, keyed by SKU) in the transaction
//!   of whatever crossed zero: stock set or adjusted, a reservation, its release, expiry or restock, a
//!   location that stops or starts shipping.
//! - Catalog: Store events keep the locations' `can_ship` in step with the Store resources; Product
//!   events the SKUs the catalog sells. Stock set for a SKU the catalog does not sell is recorded and
//!   answered with a warning (`warnings` in the answer), not refused: goods may arrive before their Product
//!   is published, and what inventory knows of the catalog lags it.

pub mod allocate;
pub mod api;
pub mod metrics;
pub mod model;
pub mod saga;
pub mod service;
pub mod settings;

use bazaar_contracts::Topic;
use bazaar_platform::component::{BoxError, ComponentSpec, Context, Running, Task};
use bazaar_platform::kafka::Consumer;
use sqlx::migrate::Migrator;

pub use metrics::InventoryMetrics;
pub use service::Inventory;
pub use settings::{InventoryConfig, Settings};

/// The inventory schema's own migrations.
pub static MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/inventory");

/// How the `bazaar` binary runs this component; its settings are an [`InventoryConfig`].
pub static COMPONENT: ComponentSpec = ComponentSpec {
    name: "inventory",
    migrations: &MIGRATIONS,
    start: |context| Box::pin(start(context)),
};

/// Consumer (group) name of the saga handler.
pub const ORDER_CONSUMER: &str = "inventory-orders";
/// Consumer (group) name of the catalog projection.
pub const CATALOG_CONSUMER: &str = "inventory-catalog";

async fn start(context: Context) -> Result<Running, BoxError> {
    let settings = context.settings.get::<InventoryConfig>()?.settings();
    start_with(context, settings).await
}

/// Starts the component with explicit settings (tests use a tiny reservation time to live).
pub async fn start_with(context: Context, settings: Settings) -> Result<Running, BoxError> {
    let metrics = InventoryMetrics::register(context.metrics.registry())?;
    let inventory = Inventory::new(context.outbox.clone(), metrics.clone(), settings.clone());
    let orders = Consumer::new(
        ORDER_CONSUMER,
        &[Topic::ORDER],
        saga::OrderEvents {
            inventory: inventory.clone(),
        },
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let catalog = Consumer::new(
        CATALOG_CONSUMER,
        &[Topic::CATALOG],
        saga::CatalogEvents {
            inventory: inventory.clone(),
        },
        context.db.clone(),
        &context.kafka,
        &context.metrics,
    )?;
    let router = api::router(api::Api {
        pool: context.db.clone(),
        inventory: inventory.clone(),
    });
    Ok(Running::new(router)
        .with_task(Task::new(
            ORDER_CONSUMER,
            orders.run(context.shutdown.clone()),
        ))
        .with_task(Task::new(
            CATALOG_CONSUMER,
            catalog.run(context.shutdown.clone()),
        ))
        .with_task(Task::new(
            "inventory-expiry",
            saga::expire_reservations(
                inventory,
                context.db,
                settings.expiry_interval,
                context.shutdown,
            ),
        )))
}
