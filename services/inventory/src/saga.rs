//! Inventory's part in the order saga, and the background tasks: the consumer of order events, the
//! consumer of catalog store events, and the sweep that expires reservations.

use std::time::Duration;

use bazaar_contracts::catalog::{
    ProductDeleted, ProductUpserted, StoreDeleted, StoreKind, StoreUpserted,
};
use bazaar_contracts::order::{OrderCancelled, OrderConfirmed, OrderPlaced};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::model::LocationName;
use crate::service::Inventory;

/// Handles `order.placed` (reserve), `order.confirmed` (commit) and `order.cancelled` (release or restock);
/// other order events are not inventory's business.
#[derive(Clone)]
pub struct OrderEvents {
    pub inventory: Inventory,
}

impl EventHandler for OrderEvents {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if envelope.is::<OrderPlaced>() {
            self.inventory.place(tx, &envelope.decode()?).await?;
        } else if envelope.is::<OrderConfirmed>() {
            self.inventory.confirm(tx, &envelope.decode()?).await?;
        } else if envelope.is::<OrderCancelled>() {
            self.inventory.cancel(tx, &envelope.decode()?).await?;
        }
        Ok(())
    }
}

/// Projects the catalog's Stores into locations: a Store can ship online orders when it is active and a
/// warehouse or a retail store with ship-from-store. A deleted Store stops shipping but keeps its stock
/// rows (and history). Priorities stay what ops set. Also projects the catalog's SKUs (`catalog_skus`),
/// so that stock set for a SKU the catalog does not sell is answered with a warning. A Store that starts or
/// stops shipping announces the SKUs stocked there whose availability crossed zero.
#[derive(Clone)]
pub struct CatalogEvents {
    pub inventory: Inventory,
}

impl EventHandler for CatalogEvents {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if envelope.is::<ProductUpserted>() {
            let product: ProductUpserted = envelope.decode()?;
            return project_skus(
                tx,
                &format!("{}/{}", product.namespace, product.name),
                product.variants.iter().map(|v| v.sku.as_str()).collect(),
                product.removed_skus.iter().map(|s| s.as_str()).collect(),
            )
            .await;
        }
        if envelope.is::<ProductDeleted>() {
            let product: ProductDeleted = envelope.decode()?;
            return project_skus(
                tx,
                &format!("{}/{}", product.namespace, product.name),
                Vec::new(),
                product.skus.iter().map(|s| s.as_str()).collect(),
            )
            .await;
        }
        let (name, can_ship) = if envelope.is::<StoreUpserted>() {
            let store: StoreUpserted = envelope.decode()?;
            let can_ship =
                store.active && (store.kind == StoreKind::Warehouse || store.ship_from_store);
            (LocationName::new(&store.namespace, &store.name), can_ship)
        } else if envelope.is::<StoreDeleted>() {
            let store: StoreDeleted = envelope.decode()?;
            (LocationName::new(&store.namespace, &store.name), false)
        } else {
            return Ok(());
        };
        let name = name.map_err(HandlerError::permanent)?;
        sqlx::query(
            "INSERT INTO locations (name, can_ship, source) VALUES ($1, $2, 'catalog')
             ON CONFLICT (name) DO UPDATE
             SET can_ship = EXCLUDED.can_ship, source = 'catalog', updated_at = now()",
        )
        .bind(name.as_str())
        .bind(can_ship)
        .execute(&mut *tx)
        .await?;
        self.inventory.review_location(tx, name.as_str()).await?;
        Ok(())
    }
}

/// Records the SKUs a Product sells and forgets those it no longer does (unless another Product took
/// them over meanwhile).
async fn project_skus(
    tx: &mut PgConnection,
    product: &str,
    sold: Vec<&str>,
    gone: Vec<&str>,
) -> Result<(), HandlerError> {
    sqlx::query(
        "INSERT INTO catalog_skus (sku, product) SELECT unnest($1::text[]), $2
         ON CONFLICT (sku) DO UPDATE SET product = EXCLUDED.product, updated_at = now()",
    )
    .bind(&sold)
    .bind(product)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM catalog_skus WHERE sku = ANY($1) AND product = $2")
        .bind(&gone)
        .bind(product)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Expires due reservations every `interval` until `shutdown`.
pub async fn expire_reservations(
    inventory: Inventory,
    pool: PgPool,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match inventory.expire_due(&pool, 500).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "reservations expired"),
            Err(error) => tracing::warn!(%error, "expiring reservations failed; retrying"),
        }
    }
}
