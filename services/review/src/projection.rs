//! What the review component learns from other components' events, never by calling them:
//!
//! - `bazaar.catalog`: products (slug, title, lifecycle) and their variants with list prices, so that
//!   reviews name real products, wishlists show current prices, price drops and removed or archived
//!   products, and a purchased SKU leads to its product;
//! - `bazaar.order`: what each signed-in shopper ordered (`order.placed`), delivered (`order.delivered`)
//!   or not (`order.cancelled`), which makes a review a verified purchase;
//! - `bazaar.inventory`: each SKU going out of stock or back in stock (`inventory.availability_changed`),
//!   which wishlists show (out of stock, back in stock).
//!
//! Events of one order share a partition, so they arrive in order; catalog events of one product too.

use std::collections::BTreeMap;

use bazaar_contracts::catalog::{ProductDeleted, ProductLifecycle, ProductUpserted};
use bazaar_contracts::inventory::AvailabilityChanged;
use bazaar_contracts::order::{OrderCancelled, OrderDelivered, OrderPlaced};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent};
use sqlx::PgConnection;

/// Consumer (group) name of the catalog projection.
pub const CATALOG_CONSUMER: &str = "review-catalog";
/// Consumer (group) name of the purchase projection.
pub const ORDER_CONSUMER: &str = "review-orders";
/// Consumer (group) name of the stock projection.
pub const INVENTORY_CONSUMER: &str = "review-inventory";

/// Projects `catalog.product.upserted` and `catalog.product.deleted`.
#[derive(Clone)]
pub struct CatalogEvents;

impl EventHandler for CatalogEvents {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if envelope.is::<ProductUpserted>() {
            let product: ProductUpserted = envelope.decode()?;
            let status = match product.lifecycle {
                ProductLifecycle::Draft => "draft",
                ProductLifecycle::Active => "active",
                ProductLifecycle::Archived => "archived",
            };
            upsert_product(tx, &product.slug, &product.title, status).await?;
            for variant in &product.variants {
                let prices: BTreeMap<String, i64> = variant
                    .prices
                    .iter()
                    .map(|price| (price.currency().code().to_owned(), price.minor()))
                    .collect();
                sqlx::query(
                    "INSERT INTO variants (sku, product_slug, prices) VALUES ($1, $2, $3)
                     ON CONFLICT (sku) DO UPDATE SET product_slug = EXCLUDED.product_slug,
                         prices = EXCLUDED.prices, removed = false, updated_at = now()",
                )
                .bind(variant.sku.as_str())
                .bind(&product.slug)
                .bind(serde_json::to_value(&prices).unwrap_or_default())
                .execute(&mut *tx)
                .await?;
            }
            let removed: Vec<String> = product
                .removed_skus
                .iter()
                .map(|sku| sku.as_str().to_owned())
                .collect();
            mark_removed(tx, &product.slug, &removed).await?;
        } else if envelope.is::<ProductDeleted>() {
            let product: ProductDeleted = envelope.decode()?;
            sqlx::query(
                "UPDATE products SET status = 'removed', updated_at = now() WHERE slug = $1",
            )
            .bind(&product.slug)
            .execute(&mut *tx)
            .await?;
            let skus: Vec<String> = product
                .skus
                .iter()
                .map(|sku| sku.as_str().to_owned())
                .collect();
            mark_removed(tx, &product.slug, &skus).await?;
        }
        Ok(())
    }
}

async fn upsert_product(
    tx: &mut PgConnection,
    slug: &str,
    title: &str,
    status: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO products (slug, title, status) VALUES ($1, $2, $3)
         ON CONFLICT (slug) DO UPDATE SET title = EXCLUDED.title, status = EXCLUDED.status,
             updated_at = now()",
    )
    .bind(slug)
    .bind(title)
    .bind(status)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

async fn mark_removed(
    tx: &mut PgConnection,
    slug: &str,
    skus: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE variants SET removed = true, updated_at = now()
         WHERE product_slug = $1 AND sku = ANY($2)",
    )
    .bind(slug)
    .bind(skus)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Projects signed-in shoppers' order lines and their delivery; guests' orders cannot be reviewed.
#[derive(Clone)]
pub struct OrderEvents;

impl EventHandler for OrderEvents {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if envelope.is::<OrderPlaced>() {
            let placed: OrderPlaced = envelope.decode()?;
            let Some(user_id) = placed.customer.user_id else {
                return Ok(());
            };
            for line in &placed.lines {
                sqlx::query(
                    "INSERT INTO purchases (order_id, sku, user_id) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(placed.order_id.0)
                .bind(line.sku.as_str())
                .bind(&user_id)
                .execute(&mut *tx)
                .await?;
            }
        } else if envelope.is::<OrderDelivered>() {
            let delivered: OrderDelivered = envelope.decode()?;
            sqlx::query(
                "UPDATE purchases SET delivered_at = $2 WHERE order_id = $1 AND delivered_at IS NULL",
            )
            .bind(delivered.order_id.0)
            .bind(envelope.time().copied().unwrap_or_else(chrono::Utc::now))
            .execute(&mut *tx)
            .await?;
        } else if envelope.is::<OrderCancelled>() {
            let cancelled: OrderCancelled = envelope.decode()?;
            sqlx::query("DELETE FROM purchases WHERE order_id = $1")
                .bind(cancelled.order_id.0)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

/// Projects `inventory.availability_changed` (events of one SKU arrive in order; a stale one, older than
/// what is projected, is ignored all the same). A SKU going out of stock marks the wishlist items saving it,
/// so that they show "back in stock" once it is available again.
#[derive(Clone)]
pub struct InventoryEvents;

impl EventHandler for InventoryEvents {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        if !envelope.is::<AvailabilityChanged>() {
            return Ok(());
        }
        let change: AvailabilityChanged = envelope.decode()?;
        let applied = sqlx::query(
            "INSERT INTO stock (sku, in_stock, changed_at) VALUES ($1, $2, $3)
             ON CONFLICT (sku) DO UPDATE SET in_stock = EXCLUDED.in_stock, changed_at = EXCLUDED.changed_at
             WHERE stock.changed_at <= EXCLUDED.changed_at",
        )
        .bind(change.sku.as_str())
        .bind(change.in_stock)
        .bind(change.changed_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if applied == 1 && !change.in_stock {
            sqlx::query("UPDATE wishlist_items SET was_out_of_stock = true WHERE sku = $1")
                .bind(change.sku.as_str())
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}
