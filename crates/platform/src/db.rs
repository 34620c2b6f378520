//! PostgreSQL: one pool per component, bound to the component's own schema through `search_path`, and the
//! component's migrations embedded in the binary and applied by `bazaar migrate`.
//!
//! Every component's schema also holds the messaging tables (outbox, inbox) from `migrations/platform/`;
//! they are merged in front of the component's own migrations so that one history table tracks both.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgPool};

/// The messaging tables every component schema has. Versions 1 to 999 are reserved for these;
/// component migrations are named by timestamp (`20261121000000_orders.sql`), which sorts after them.
static PLATFORM_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/platform");

/// Key of the advisory lock taken around schema creation and migration, so that several pods running
/// `bazaar migrate` at once apply each migration exactly once.
const MIGRATION_LOCK_KEY: i64 = 0x0ba2_aa12_0000_0001;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL for {component}: {source}")]
    Url {
        component: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("invalid schema name `{0}`: expected lowercase letters, digits and underscores")]
    SchemaName(String),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("migration of schema `{schema}` failed: {source}")]
    Migrate {
        schema: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// A schema name we can put in SQL text safely (identifiers cannot be bound as parameters).
fn checked_schema(schema: &str) -> Result<&str, DbError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(schema)
    } else {
        Err(DbError::SchemaName(schema.to_owned()))
    }
}

/// How long a request waits for a connection of an exhausted pool before it is answered 503 (see
/// [`crate::Problem::from_db`]), unless configured (`BAZAAR_DB_ACQUIRE_TIMEOUT_MS`).
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The nested-acquisition check. When this environment variable is set to N, every pool built by this
/// module has N connections and an acquire timeout of [`CHECK_ACQUIRE_TIMEOUT`], whatever its caller
/// asked for. With N = 1, code that holds a connection (or a transaction) of a pool while it acquires a
/// second one from the same pool waits for itself: the second acquisition times out within seconds and the
/// test exercising that code fails, instead of the pool deadlocking under load in production. Run the
/// suites this way with `BAZAAR_TEST_POOL_SIZE=1 scripts/test -p ...`.
///
/// Read here and nowhere else; it is meant for test runs, never for a deployment.
pub const TEST_POOL_SIZE_VAR: &str = "BAZAAR_TEST_POOL_SIZE";

/// Acquire timeout of every pool while the nested-acquisition check is on: long enough for honest queueing
/// behind a one-connection pool, short enough that a nested acquisition fails a test quickly.
pub const CHECK_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Size and patience of a connection pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long an acquisition waits for a free connection before failing with `PoolTimedOut`.
    pub acquire_timeout: Duration,
}

impl PoolSettings {
    pub fn new(max_connections: u32) -> Self {
        Self {
            max_connections,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }

    /// These settings, or those of the nested-acquisition check when it is on.
    fn effective(self) -> Self {
        match nested_acquisition_check() {
            Some(size) => Self {
                max_connections: size,
                acquire_timeout: CHECK_ACQUIRE_TIMEOUT,
            },
            None => self,
        }
    }
}

/// The pool size forced by [`TEST_POOL_SIZE_VAR`], if set to a positive number.
pub fn nested_acquisition_check() -> Option<u32> {
    std::env::var(TEST_POOL_SIZE_VAR)
        .ok()
        .and_then(|value| value.trim().parse::<u32>().ok())
        .filter(|size| *size > 0)
}

/// A pool whose connections see `schema` first. It connects lazily, so a component starts (and reports
/// not ready) while the database is down, and recovers by itself when it returns.
pub fn pool(
    component: &str,
    url: &str,
    schema: &str,
    max_connections: u32,
) -> Result<PgPool, DbError> {
    pool_with(component, url, schema, PoolSettings::new(max_connections))
}

/// [`pool`] with an explicit acquire timeout.
pub fn pool_with(
    component: &str,
    url: &str,
    schema: &str,
    settings: PoolSettings,
) -> Result<PgPool, DbError> {
    let schema = checked_schema(schema)?;
    let options = PgConnectOptions::from_str(url)
        .map_err(|source| DbError::Url {
            component: component.to_owned(),
            source,
        })?
        .application_name(&format!("bazaar-{component}"))
        .options([("search_path", schema)]);
    let settings = settings.effective();
    Ok(PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with(options))
}

/// A separate pool of `max_connections` on the same database, schema and credentials as `pool`, for work
/// that must never wait for a connection of `pool` while it holds one, or hold one of `pool` for good: a
/// LISTEN connection kept for the life of the process, or the ledger of a simulated external system that
/// is called inside a transaction. Acquisitions go one way only (from `pool` to the companion, never back),
/// so the two cannot deadlock. Connects lazily.
pub fn companion_pool(pool: &PgPool, max_connections: u32) -> PgPool {
    let settings = PoolSettings {
        max_connections,
        acquire_timeout: pool.options().get_acquire_timeout(),
    }
    .effective();
    PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.acquire_timeout)
        .connect_lazy_with((*pool.connect_options()).clone())
}

/// The platform's messaging migrations followed by the component's own.
pub fn migrator_for(component_migrations: &Migrator) -> Migrator {
    let migrations: Vec<Migration> = PLATFORM_MIGRATIONS
        .iter()
        .chain(component_migrations.iter())
        .cloned()
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    // Our own advisory lock below serialises concurrent runs, including schema creation.
    migrator.set_locking(false);
    migrator
}

/// Creates the schema if needed and applies pending migrations. Idempotent, and safe when several
/// processes run it at once: they queue on one advisory lock.
pub async fn migrate(
    pool: &PgPool,
    schema: &str,
    component_migrations: &Migrator,
) -> Result<(), DbError> {
    let schema = checked_schema(schema)?;
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *conn)
        .await?;
    let result = async {
        // `schema` passed `checked_schema`; quoting it lets reserved words such as `order` through.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#
        )))
        .execute(&mut *conn)
        .await?;
        // `run_direct` is sqlx's own way around the "`Acquire` is not general enough" error that `run`
        // raises in spawned futures; it is what `run` calls after acquiring.
        migrator_for(component_migrations)
            .run_direct(None, &mut *conn, false)
            .await
            .map_err(|source| DbError::Migrate {
                schema: schema.to_owned(),
                source,
            })
    }
    .await;
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut *conn)
        .await;
    if unlocked.is_err() {
        // A connection that may still hold the lock must not go back to the pool.
        let _ = conn.detach().close().await;
    }
    result
}

/// Readiness check: the database answers a trivial query.
pub async fn ping(pool: &PgPool) -> Result<(), DbError> {
    let mut conn = pool.acquire().await?;
    conn.ping().await?;
    Ok(())
}
