//! The write module: how the merchandising resources enter the catalog schema. The operator (and the dev
//! seed) call these functions inside their own transaction; each is idempotent, says what it changed, and
//! when something changed writes a catalog event through the [`Outbox`] in that same transaction, so the
//! projection and its announcement commit or roll back together.
//!
//! Concurrent writers of one resource queue on a transaction-scoped advisory lock, so "created/updated/
//! unchanged" is always decided against the committed state.

use std::collections::{BTreeMap, BTreeSet};

use bazaar_contracts::Sku;
use bazaar_contracts::catalog::{
    Change, FulfillmentDeleted, FulfillmentUpserted, ProductDeleted, ProductUpserted,
    PromotionDeleted, PromotionUpserted, StoreDeleted, StoreUpserted, VariantSummary,
};
use bazaar_platform::kafka::{Outbox, OutboxError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::model::{Fulfillment, Product, Promotion, Store, Violation};

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Updated,
    /// The projection already matched; nothing was written and no event emitted.
    Unchanged,
}

impl Applied {
    pub fn changed(self) -> bool {
        self != Applied::Unchanged
    }
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removed {
    Deleted,
    /// There was nothing to delete; no event emitted.
    Absent,
}

/// Why a write was refused. The messages say what to change; `is_permanent` tells a caller whether
/// retrying the same input can help.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{kind} {resource} is invalid: {}", join(.violations))]
    Invalid {
        kind: &'static str,
        resource: String,
        violations: Vec<Violation>,
    },
    #[error(
        "SKU {sku} already belongs to Product {owner}; remove it there first or choose another SKU"
    )]
    SkuOwnedByOtherProduct { sku: Sku, owner: String },
    #[error("slug `{slug}` is already used by Product {owner}; choose another slug")]
    SlugTaken { slug: String, owner: String },
    #[error("coupon code {code} is already used by Promotion {owner}; coupon codes must be unique")]
    CouponCodeTaken { code: String, owner: String },
    #[error(
        "Fulfillment {fulfillment} names Store {store}, which is not in the catalog (yet); create the Store or fix the selection"
    )]
    UnknownStore { fulfillment: String, store: String },
    #[error("catalog database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("catalog event not recorded: {0}")]
    Outbox(#[from] OutboxError),
}

impl WriteError {
    /// True when the input itself must change (an operator reports it on the resource's status rather than
    /// retrying fast). Conflicts with other resources may resolve when those change.
    pub fn is_permanent(&self) -> bool {
        matches!(self, WriteError::Invalid { .. })
    }

    /// True for database or outbox trouble: retry later.
    pub fn is_transient(&self) -> bool {
        matches!(self, WriteError::Database(_) | WriteError::Outbox(_))
    }
}

fn join(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The outbox catalog events are written through (CloudEvents source `/bazaar/catalog`).
pub fn outbox() -> Outbox {
    Outbox::new("catalog")
}

/// Serializes concurrent writers of one resource until the end of the transaction. The schema is part of
/// the key: advisory locks are database-wide, and writers of the same names in other schemas (other
/// environments, parallel tests) must neither queue behind these nor deadlock with them.
async fn lock(
    conn: &mut PgConnection,
    kind: &str,
    namespace: &str,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || $1, 7))")
        .bind(format!("catalog/{kind}/{namespace}/{name}"))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn spec_of<T: Serialize>(value: &T) -> serde_json::Value {
    // The model types are plain data with string keys; serializing them cannot fail.
    serde_json::to_value(value).unwrap_or_default()
}

/// The stored id and spec of a resource, if present.
async fn existing(
    conn: &mut PgConnection,
    table: &str,
    namespace: &str,
    name: &str,
) -> sqlx::Result<Option<(Uuid, serde_json::Value)>> {
    let sql = match table {
        "products" => "SELECT id, spec FROM products WHERE namespace = $1 AND name = $2",
        "stores" => "SELECT id, spec FROM stores WHERE namespace = $1 AND name = $2",
        "fulfillments" => "SELECT id, spec FROM fulfillments WHERE namespace = $1 AND name = $2",
        _ => "SELECT id, spec FROM promotions WHERE namespace = $1 AND name = $2",
    };
    sqlx::query_as(sql)
        .bind(namespace)
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
}

fn invalid(kind: &'static str, resource: String, violations: Vec<Violation>) -> WriteError {
    WriteError::Invalid {
        kind,
        resource,
        violations,
    }
}

fn change(created: bool) -> (Applied, Change) {
    if created {
        (Applied::Created, Change::Created)
    } else {
        (Applied::Updated, Change::Updated)
    }
}

/// Creates or updates a product with its variants and prices. Refuses a SKU that another product owns and a
/// slug that another product uses.
pub async fn upsert_product(
    conn: &mut PgConnection,
    outbox: &Outbox,
    product: &Product,
) -> Result<Applied, WriteError> {
    product
        .validate()
        .map_err(|v| invalid("Product", product.key(), v))?;
    lock(conn, "product", &product.namespace, &product.name).await?;
    let spec = spec_of(product);
    let current = existing(conn, "products", &product.namespace, &product.name).await?;
    if let Some((_, stored)) = &current
        && *stored == spec
    {
        return Ok(Applied::Unchanged);
    }
    let id = current.as_ref().map_or_else(Uuid::now_v7, |(id, _)| *id);

    let slug_owner: Option<(String, String)> =
        sqlx::query_as("SELECT namespace, name FROM products WHERE slug = $1 AND id <> $2")
            .bind(&product.slug)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((namespace, name)) = slug_owner {
        return Err(WriteError::SlugTaken {
            slug: product.slug.clone(),
            owner: format!("{namespace}/{name}"),
        });
    }
    let skus: Vec<String> = product
        .variants
        .iter()
        .map(|v| v.sku.as_str().to_owned())
        .collect();
    let sku_owner: Option<(String, String, String)> = sqlx::query_as(
        "SELECT v.sku, p.namespace, p.name FROM variants v JOIN products p ON p.id = v.product_id
         WHERE v.sku = ANY($1) AND p.id <> $2 ORDER BY v.sku LIMIT 1",
    )
    .bind(&skus)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((sku, namespace, name)) = sku_owner {
        return Err(WriteError::SkuOwnedByOtherProduct {
            sku: sku
                .parse()
                .unwrap_or_else(|_| product.variants[0].sku.clone()),
            owner: format!("{namespace}/{name}"),
        });
    }

    let previous_skus: Vec<String> =
        sqlx::query_scalar("SELECT sku FROM variants WHERE product_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query(
        "INSERT INTO products (id, namespace, name, slug, title, description, brand, category, lifecycle,
                               featured, labels, spec)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, title = EXCLUDED.title,
             description = EXCLUDED.description, brand = EXCLUDED.brand, category = EXCLUDED.category,
             lifecycle = EXCLUDED.lifecycle, featured = EXCLUDED.featured, labels = EXCLUDED.labels,
             spec = EXCLUDED.spec, updated_at = now()",
    )
    .bind(id)
    .bind(&product.namespace)
    .bind(&product.name)
    .bind(&product.slug)
    .bind(&product.title)
    .bind(&product.description)
    .bind(&product.brand)
    .bind(&product.category)
    .bind(product.lifecycle.as_str())
    .bind(product.featured)
    .bind(spec_of(&product.labels))
    .bind(&spec)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM variants WHERE product_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, variant) in product.variants.iter().enumerate() {
        let inserted = sqlx::query(
            "INSERT INTO variants (sku, product_id, position, options, weight_grams)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(variant.sku.as_str())
        .bind(id)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(spec_of(&variant.options))
        .bind(
            variant
                .weight_grams
                .map(|w| i32::try_from(w).unwrap_or(i32::MAX)),
        )
        .execute(&mut *conn)
        .await;
        if let Err(sqlx::Error::Database(e)) = &inserted
            && e.code().as_deref() == Some("23505")
        {
            // Another transaction claimed the SKU after our check and committed first.
            return Err(WriteError::SkuOwnedByOtherProduct {
                sku: variant.sku.clone(),
                owner: "another product (written concurrently)".into(),
            });
        }
        inserted?;
        for price in &variant.prices {
            sqlx::query(
                "INSERT INTO variant_prices (sku, currency, amount_minor, compare_at_minor)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(variant.sku.as_str())
            .bind(price.currency().code())
            .bind(price.minor())
            .bind(variant.compare_at_in(price.currency()).map(|m| m.minor()))
            .execute(&mut *conn)
            .await?;
        }
    }

    write_listing_columns(conn, id, product).await?;

    let current_skus: BTreeSet<&str> = skus.iter().map(String::as_str).collect();
    let mut removed_skus: Vec<Sku> = previous_skus
        .iter()
        .filter(|sku| !current_skus.contains(sku.as_str()))
        .filter_map(|sku| sku.parse().ok())
        .collect();
    removed_skus.sort();
    let (applied, change) = change(current.is_none());
    let event = ProductUpserted {
        namespace: product.namespace.clone(),
        name: product.name.clone(),
        change,
        slug: product.slug.clone(),
        title: product.title.clone(),
        lifecycle: product.lifecycle,
        variants: product
            .variants
            .iter()
            .map(|v| VariantSummary {
                sku: v.sku.clone(),
                prices: v.prices.clone(),
                weight_grams: v.weight_grams,
            })
            .collect(),
        removed_skus,
    };
    outbox.enqueue(conn, &event).await?;
    Ok(applied)
}

/// What the listing filters, counts and sorts on (see the migration `listing_facets_and_prices`): the
/// product's attribute and option values, and its cheapest list price per currency.
async fn write_listing_columns(
    conn: &mut PgConnection,
    id: Uuid,
    product: &Product,
) -> sqlx::Result<()> {
    let facets: BTreeSet<(&str, &str)> = product
        .attributes
        .iter()
        .chain(product.variants.iter().flat_map(|v| &v.options))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let (names, values): (Vec<&str>, Vec<&str>) = facets.into_iter().unzip();
    sqlx::query("DELETE FROM product_facets WHERE product_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO product_facets (product_id, name, value)
         SELECT $1, name, value FROM unnest($2::text[], $3::text[]) AS f(name, value)",
    )
    .bind(id)
    .bind(&names)
    .bind(&values)
    .execute(&mut *conn)
    .await?;
    let mut cheapest: BTreeMap<&'static str, i64> = BTreeMap::new();
    for price in product.variants.iter().flat_map(|v| &v.prices) {
        let entry = cheapest
            .entry(price.currency().code())
            .or_insert(price.minor());
        *entry = (*entry).min(price.minor());
    }
    let (currencies, amounts): (Vec<&str>, Vec<i64>) =
        cheapest.iter().map(|(c, a)| (*c, *a)).unzip();
    sqlx::query("DELETE FROM product_prices WHERE product_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO product_prices (product_id, currency, min_minor)
         SELECT $1, currency, min_minor FROM unnest($2::text[], $3::bigint[]) AS m(currency, min_minor)",
    )
    .bind(id)
    .bind(&currencies)
    .bind(&amounts)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE products SET min_prices = $2 WHERE id = $1")
        .bind(id)
        .bind(sqlx::types::Json(&cheapest))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes a product, its variants and prices.
pub async fn delete_product(
    conn: &mut PgConnection,
    outbox: &Outbox,
    namespace: &str,
    name: &str,
) -> Result<Removed, WriteError> {
    lock(conn, "product", namespace, name).await?;
    let Some((id, spec)) = existing(conn, "products", namespace, name).await? else {
        return Ok(Removed::Absent);
    };
    let slug: String = spec["slug"].as_str().unwrap_or_default().to_owned();
    let mut skus: Vec<Sku> =
        sqlx::query_scalar::<_, String>("SELECT sku FROM variants WHERE product_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
    skus.sort();
    sqlx::query("DELETE FROM products WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    let event = ProductDeleted {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        slug,
        skus,
    };
    outbox.enqueue(conn, &event).await?;
    Ok(Removed::Deleted)
}

/// Creates or updates a store.
pub async fn upsert_store(
    conn: &mut PgConnection,
    outbox: &Outbox,
    store: &Store,
) -> Result<Applied, WriteError> {
    store
        .validate()
        .map_err(|v| invalid("Store", store.key(), v))?;
    lock(conn, "store", &store.namespace, &store.name).await?;
    let spec = spec_of(store);
    let current = existing(conn, "stores", &store.namespace, &store.name).await?;
    if let Some((_, stored)) = &current
        && *stored == spec
    {
        return Ok(Applied::Unchanged);
    }
    let id = current.as_ref().map_or_else(Uuid::now_v7, |(id, _)| *id);
    sqlx::query(
        "INSERT INTO stores (id, namespace, name, display_name, kind, latitude, longitude, pickup,
                             ship_from_store, active, labels, spec)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, kind = EXCLUDED.kind,
             latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, pickup = EXCLUDED.pickup,
             ship_from_store = EXCLUDED.ship_from_store, active = EXCLUDED.active,
             labels = EXCLUDED.labels, spec = EXCLUDED.spec, updated_at = now()",
    )
    .bind(id)
    .bind(&store.namespace)
    .bind(&store.name)
    .bind(&store.display_name)
    .bind(store.kind.as_str())
    .bind(store.location.lat)
    .bind(store.location.lon)
    .bind(store.pickup)
    .bind(store.ship_from_store)
    .bind(store.active)
    .bind(spec_of(&store.labels))
    .bind(&spec)
    .execute(&mut *conn)
    .await?;
    let (applied, change) = change(current.is_none());
    let event = StoreUpserted {
        namespace: store.namespace.clone(),
        name: store.name.clone(),
        change,
        display_name: store.display_name.clone(),
        kind: store.kind,
        active: store.active,
        pickup: store.pickup,
        ship_from_store: store.ship_from_store,
    };
    outbox.enqueue(conn, &event).await?;
    Ok(applied)
}

/// Removes a store. Fulfillments that name it keep their projection; reads skip stores that are gone,
/// and the operator re-reconciles those Fulfillments.
pub async fn delete_store(
    conn: &mut PgConnection,
    outbox: &Outbox,
    namespace: &str,
    name: &str,
) -> Result<Removed, WriteError> {
    delete_simple(conn, outbox, "stores", namespace, name).await
}

/// Creates or updates a fulfillment policy. Every source store must already be in the catalog.
pub async fn upsert_fulfillment(
    conn: &mut PgConnection,
    outbox: &Outbox,
    fulfillment: &Fulfillment,
) -> Result<Applied, WriteError> {
    fulfillment
        .validate()
        .map_err(|v| invalid("Fulfillment", fulfillment.key(), v))?;
    lock(
        conn,
        "fulfillment",
        &fulfillment.namespace,
        &fulfillment.name,
    )
    .await?;
    let known: Vec<String> =
        sqlx::query_scalar("SELECT name FROM stores WHERE namespace = $1 AND name = ANY($2)")
            .bind(&fulfillment.namespace)
            .bind(&fulfillment.source_stores)
            .fetch_all(&mut *conn)
            .await?;
    if let Some(missing) = fulfillment
        .source_stores
        .iter()
        .find(|store| !known.contains(store))
    {
        return Err(WriteError::UnknownStore {
            fulfillment: fulfillment.key(),
            store: format!("{}/{missing}", fulfillment.namespace),
        });
    }
    let spec = spec_of(fulfillment);
    let current = existing(
        conn,
        "fulfillments",
        &fulfillment.namespace,
        &fulfillment.name,
    )
    .await?;
    if let Some((_, stored)) = &current
        && *stored == spec
    {
        return Ok(Applied::Unchanged);
    }
    let id = current.as_ref().map_or_else(Uuid::now_v7, |(id, _)| *id);
    sqlx::query(
        "INSERT INTO fulfillments (id, namespace, name, spec) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec, updated_at = now()",
    )
    .bind(id)
    .bind(&fulfillment.namespace)
    .bind(&fulfillment.name)
    .bind(&spec)
    .execute(&mut *conn)
    .await?;
    let (applied, change) = change(current.is_none());
    let event = FulfillmentUpserted {
        namespace: fulfillment.namespace.clone(),
        name: fulfillment.name.clone(),
        change,
        source_stores: fulfillment
            .source_stores
            .iter()
            .map(|s| format!("{}/{s}", fulfillment.namespace))
            .collect(),
        methods: fulfillment.methods.iter().map(|m| m.code.clone()).collect(),
        pickup: fulfillment.pickup,
    };
    outbox.enqueue(conn, &event).await?;
    Ok(applied)
}

pub async fn delete_fulfillment(
    conn: &mut PgConnection,
    outbox: &Outbox,
    namespace: &str,
    name: &str,
) -> Result<Removed, WriteError> {
    delete_simple(conn, outbox, "fulfillments", namespace, name).await
}

/// Creates or updates a promotion. Coupon codes are unique across the shop (case-insensitively).
pub async fn upsert_promotion(
    conn: &mut PgConnection,
    outbox: &Outbox,
    promotion: &Promotion,
) -> Result<Applied, WriteError> {
    promotion
        .validate()
        .map_err(|v| invalid("Promotion", promotion.key(), v))?;
    lock(conn, "promotion", &promotion.namespace, &promotion.name).await?;
    let mut stored_promotion = promotion.clone();
    stored_promotion.code = promotion.normalized_code();
    let spec = spec_of(&stored_promotion);
    let current = existing(conn, "promotions", &promotion.namespace, &promotion.name).await?;
    if let Some((_, stored)) = &current
        && *stored == spec
    {
        return Ok(Applied::Unchanged);
    }
    let id = current.as_ref().map_or_else(Uuid::now_v7, |(id, _)| *id);
    if let Some(code) = &stored_promotion.code {
        let owner: Option<(String, String)> =
            sqlx::query_as("SELECT namespace, name FROM promotions WHERE code = $1 AND id <> $2")
                .bind(code)
                .bind(id)
                .fetch_optional(&mut *conn)
                .await?;
        if let Some((namespace, name)) = owner {
            return Err(WriteError::CouponCodeTaken {
                code: code.clone(),
                owner: format!("{namespace}/{name}"),
            });
        }
    }
    let written = sqlx::query(
        "INSERT INTO promotions (id, namespace, name, code, starts_at, ends_at, spec)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET code = EXCLUDED.code, starts_at = EXCLUDED.starts_at,
             ends_at = EXCLUDED.ends_at, spec = EXCLUDED.spec, updated_at = now()",
    )
    .bind(id)
    .bind(&promotion.namespace)
    .bind(&promotion.name)
    .bind(&stored_promotion.code)
    .bind(promotion.schedule.starts_at)
    .bind(promotion.schedule.ends_at)
    .bind(&spec)
    .execute(&mut *conn)
    .await;
    if let (Err(sqlx::Error::Database(e)), Some(code)) = (&written, &stored_promotion.code)
        && e.code().as_deref() == Some("23505")
    {
        return Err(WriteError::CouponCodeTaken {
            code: code.clone(),
            owner: "another promotion (written concurrently)".into(),
        });
    }
    written?;
    let (applied, change) = change(current.is_none());
    let event = PromotionUpserted {
        namespace: promotion.namespace.clone(),
        name: promotion.name.clone(),
        change,
        code: stored_promotion.code,
    };
    outbox.enqueue(conn, &event).await?;
    Ok(applied)
}

pub async fn delete_promotion(
    conn: &mut PgConnection,
    outbox: &Outbox,
    namespace: &str,
    name: &str,
) -> Result<Removed, WriteError> {
    delete_simple(conn, outbox, "promotions", namespace, name).await
}

async fn delete_simple(
    conn: &mut PgConnection,
    outbox: &Outbox,
    table: &'static str,
    namespace: &str,
    name: &str,
) -> Result<Removed, WriteError> {
    let kind = table.trim_end_matches('s');
    lock(conn, kind, namespace, name).await?;
    let Some((id, spec)) = existing(conn, table, namespace, name).await? else {
        return Ok(Removed::Absent);
    };
    let sql = match table {
        "stores" => "DELETE FROM stores WHERE id = $1",
        "fulfillments" => "DELETE FROM fulfillments WHERE id = $1",
        _ => "DELETE FROM promotions WHERE id = $1",
    };
    sqlx::query(sql).bind(id).execute(&mut *conn).await?;
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    match table {
        "stores" => {
            outbox
                .enqueue(conn, &StoreDeleted { namespace, name })
                .await?
        }
        "fulfillments" => {
            outbox
                .enqueue(conn, &FulfillmentDeleted { namespace, name })
                .await?
        }
        _ => {
            let code = spec["code"].as_str().map(str::to_owned);
            outbox
                .enqueue(
                    conn,
                    &PromotionDeleted {
                        namespace,
                        name,
                        code,
                    },
                )
                .await?
        }
    };
    Ok(Removed::Deleted)
}

async fn load<T: DeserializeOwned>(
    conn: &mut PgConnection,
    table: &str,
    namespace: &str,
    name: &str,
) -> Result<Option<T>, WriteError> {
    Ok(existing(conn, table, namespace, name)
        .await?
        .and_then(|(_, spec)| serde_json::from_value(spec).ok()))
}

/// The product as projected, if present (coupon codes and the like come back normalized).
pub async fn load_product(
    conn: &mut PgConnection,
    namespace: &str,
    name: &str,
) -> Result<Option<Product>, WriteError> {
    load(conn, "products", namespace, name).await
}

pub async fn load_store(
    conn: &mut PgConnection,
    namespace: &str,
    name: &str,
) -> Result<Option<Store>, WriteError> {
    load(conn, "stores", namespace, name).await
}

pub async fn load_fulfillment(
    conn: &mut PgConnection,
    namespace: &str,
    name: &str,
) -> Result<Option<Fulfillment>, WriteError> {
    load(conn, "fulfillments", namespace, name).await
}

pub async fn load_promotion(
    conn: &mut PgConnection,
    namespace: &str,
    name: &str,
) -> Result<Option<Promotion>, WriteError> {
    load(conn, "promotions", namespace, name).await
}

/// Names of the products in `namespace` (for an operator's orphan sweep after missed deletions).
pub async fn product_names(
    conn: &mut PgConnection,
    namespace: &str,
) -> Result<Vec<String>, WriteError> {
    Ok(
        sqlx::query_scalar("SELECT name FROM products WHERE namespace = $1 ORDER BY name")
            .bind(namespace)
            .fetch_all(&mut *conn)
            .await?,
    )
}
