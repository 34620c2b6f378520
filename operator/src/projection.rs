//! Where reconciled resources go: the catalog schema, written through the catalog crate's write module.
//! The reconciler only sees the [`CatalogProjection`] trait, so its tests can stand in for the database.

use std::fmt;
use std::future::Future;

use bazaar_catalog::model;
use bazaar_catalog::write::{self, Applied, Removed, WriteError};
use bazaar_platform::kafka::Outbox;
use sqlx::PgPool;

/// The four kinds of resource the operator projects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Product,
    Store,
    Fulfillment,
    Promotion,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Product,
        Kind::Store,
        Kind::Fulfillment,
        Kind::Promotion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Product => "Product",
            Kind::Store => "Store",
            Kind::Fulfillment => "Fulfillment",
            Kind::Promotion => "Promotion",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which resource a projection belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// A resource as the catalog stores it.
#[derive(Clone, Debug, PartialEq)]
pub enum CatalogObject {
    Product(model::Product),
    Store(model::Store),
    Fulfillment(model::Fulfillment),
    Promotion(model::Promotion),
}

/// Writes resources into the catalog and removes them. Both are idempotent: applying what is already
/// there reports [`Applied::Unchanged`], removing what is absent reports [`Removed::Absent`].
pub trait CatalogProjection: Send + Sync + 'static {
    fn apply(
        &self,
        object: &CatalogObject,
    ) -> impl Future<Output = Result<Applied, WriteError>> + Send;
    fn remove(&self, key: &ObjectKey) -> impl Future<Output = Result<Removed, WriteError>> + Send;
}

/// The catalog schema in PostgreSQL. Each call is one transaction: the projection and its catalog event
/// (through the outbox, published by the catalog component's relay) commit together.
#[derive(Clone)]
pub struct PostgresCatalog {
    pool: PgPool,
    outbox: Outbox,
}

impl PostgresCatalog {
    /// `pool` must reach the catalog schema (its `search_path`).
    pub fn new(pool: PgPool) -> Self {
        PostgresCatalog {
            pool,
            outbox: write::outbox(),
        }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl CatalogProjection for PostgresCatalog {
    async fn apply(&self, object: &CatalogObject) -> Result<Applied, WriteError> {
        let mut tx = self.pool.begin().await?;
        let applied = match object {
            CatalogObject::Product(product) => {
                write::upsert_product(&mut tx, &self.outbox, product).await?
            }
            CatalogObject::Store(store) => {
                write::upsert_store(&mut tx, &self.outbox, store).await?
            }
            CatalogObject::Fulfillment(fulfillment) => {
                write::upsert_fulfillment(&mut tx, &self.outbox, fulfillment).await?
            }
            CatalogObject::Promotion(promotion) => {
                write::upsert_promotion(&mut tx, &self.outbox, promotion).await?
            }
        };
        tx.commit().await?;
        Ok(applied)
    }

    async fn remove(&self, key: &ObjectKey) -> Result<Removed, WriteError> {
        let mut tx = self.pool.begin().await?;
        let (namespace, name) = (key.namespace.as_str(), key.name.as_str());
        let removed = match key.kind {
            Kind::Product => write::delete_product(&mut tx, &self.outbox, namespace, name).await?,
            Kind::Store => write::delete_store(&mut tx, &self.outbox, namespace, name).await?,
            Kind::Fulfillment => {
                write::delete_fulfillment(&mut tx, &self.outbox, namespace, name).await?
            }
            Kind::Promotion => {
                write::delete_promotion(&mut tx, &self.outbox, namespace, name).await?
            }
        };
        tx.commit().await?;
        Ok(removed)
    }
}
