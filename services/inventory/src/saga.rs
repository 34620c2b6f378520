//! Inventory's part in the order saga, and the background tasks: the consumer of order events, the
//! consumer of catalog store events, and the sweep that expires reservations.

use std::time::Duration;

use bazaar_contracts::catalog::{StoreDeleted, StoreKind, StoreUpserted};
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
/// rows (and history). Priorities stay what ops set.
#[derive(Clone)]
pub struct CatalogEvents;

impl EventHandler for CatalogEvents {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
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
        Ok(())
    }
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
