//! The infrastructure half of the harness: real PostgreSQL and a real Kafka-protocol broker, isolated
//! per test.
//!
//! Tests run under cargo-nextest, so every test is its own process and many run at once. They share
//! servers but never data: each [`TestEnv`] gets a short unique [`id`](TestEnv::id) that prefixes its
//! PostgreSQL schemas, Kafka topics and consumer groups.
//!
//! # Where the servers come from
//!
//! - PostgreSQL: `DATABASE_URL` if set; else `postgres://postgres@127.0.0.1:5432/postgres` if that
//!   server accepts connections; else a [`LocalPostgres`] started for this process.
//! - Kafka: `KAFKA_BROKERS` if set; else a [`LocalBroker`] (tansu) started for this process.
//!
//! A test runner should export both variables so that all test processes share one set of servers;
//! the fallbacks are for ad-hoc runs (`cargo nextest run -p some-crate`), where each test process
//! starts its own (a broker starts in milliseconds, PostgreSQL in a couple of seconds). Servers started
//! here live in a `static` for the rest of the process; statics are never dropped, so their cleanup
//! rests on the `bazaar-devenv` watchdog, which stops them and deletes their files once the test
//! process has exited.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use bazaar_devenv::{LocalBroker, LocalPostgres};
use rdkafka::ClientConfig;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool};
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// The server a developer machine (or CI service container) usually has.
const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How often [`wait_for`] polls.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// PostgreSQL truncates longer identifiers, which would silently merge distinct schemas.
const MAX_IDENTIFIER_LEN: usize = 63;

/// An address to reach a server, plus the server itself when this process had to start it.
struct Shared<T> {
    address: String,
    _local: Option<T>,
}

static POSTGRES: OnceCell<Shared<LocalPostgres>> = OnceCell::const_new();
static BROKER: OnceCell<Shared<LocalBroker>> = OnceCell::const_new();

/// One test's view of the shared infrastructure, with a unique id to keep its data apart.
#[derive(Debug, Clone)]
pub struct TestEnv {
    /// PostgreSQL connection URL (shared by all tests; isolate with [`TestEnv::schema`]).
    pub database_url: String,
    /// Kafka `bootstrap.servers` (shared by all tests; isolate with [`TestEnv::topic_prefix`] and
    /// [`TestEnv::group`]).
    pub kafka_brokers: String,
    /// Short unique id of this environment: `t` and 10 lowercase hex digits.
    pub id: String,
}

impl TestEnv {
    /// Finds or starts the servers (see the crate docs) and assigns a fresh id.
    pub async fn start() -> anyhow::Result<TestEnv> {
        let (database_url, kafka_brokers) = tokio::try_join!(database_url(), kafka_brokers())?;
        let random = uuid::Uuid::new_v4().simple().to_string();
        // The leading letter makes every name derived from the id a valid unquoted SQL identifier.
        let id = format!("t{}", &random[..10]);
        Ok(TestEnv {
            database_url,
            kafka_brokers,
            id,
        })
    }

    /// This test's schema for `component`: `{id}_{component}`.
    ///
    /// # Panics
    ///
    /// If the result is not a plain lowercase SQL identifier (`component` must be `[a-z0-9_]`, at most
    /// 51 characters): a test bug, reported where it is made.
    pub fn schema(&self, component: &str) -> String {
        let schema = format!("{}_{component}", self.id);
        assert!(
            is_plain_identifier(&schema),
            "schema name {schema:?} is not a plain SQL identifier: use lowercase letters, digits and `_` \
             in the component name, at most {} characters",
            MAX_IDENTIFIER_LEN - self.id.len() - 1,
        );
        schema
    }

    /// Prefix for this test's topic names: `{id}.`.
    pub fn topic_prefix(&self) -> String {
        format!("{}.", self.id)
    }

    /// This test's consumer group called `name`: `{id}.{name}`.
    pub fn group(&self, name: &str) -> String {
        format!("{}.{name}", self.id)
    }

    /// Kafka client settings for this environment's broker (just `bootstrap.servers`), to build
    /// producers and admin clients from.
    pub fn kafka_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.kafka_brokers);
        config
    }

    /// Consumer settings for this test's consumer group `name` (see [`group`](Self::group)), reading
    /// subscribed topics from the beginning.
    ///
    /// The session timeout is 6 s (the smallest a stock Kafka broker accepts) instead of librdkafka's
    /// 45 s, because tansu answers a JoinGroup only after about half the session timeout: with the
    /// default a consumer gets its first message ~23 s after subscribing, with this ~3 s.
    pub fn consumer_config(&self, name: &str) -> ClientConfig {
        let mut config = self.kafka_config();
        config
            .set("group.id", self.group(name))
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500");
        config
    }

    /// Creates `schema` if missing and returns a small pool (at most 5 connections) whose connections
    /// use it as their `search_path`, so unqualified table names land in it.
    pub async fn pool(&self, schema: &str) -> anyhow::Result<PgPool> {
        if !is_plain_identifier(schema) {
            bail!(
                "{schema:?} is not a plain lowercase SQL identifier; build it with TestEnv::schema"
            );
        }
        let options =
            PgConnectOptions::from_str(&self.database_url).context("parsing the database URL")?;

        let mut conn = PgConnection::connect_with(&options)
            .await
            .context("connecting to PostgreSQL to create the test schema")?;
        let created = sqlx::raw_sql(AssertSqlSafe(format!(
            r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#
        )))
        .execute(&mut conn)
        .await;
        match created {
            Ok(_) => {}
            // IF NOT EXISTS is not atomic: a concurrent creator can still make us hit the unique index.
            Err(sqlx::Error::Database(e))
                if matches!(e.code().as_deref(), Some("23505" | "42P06")) => {}
            Err(e) => return Err(e).with_context(|| format!("creating schema {schema}")),
        }
        let _ = conn.close().await;

        PgPoolOptions::new()
            .max_connections(5)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.options([("search_path", schema)]))
            .await
            .with_context(|| format!("connecting a pool for schema {schema}"))
    }

    /// Drops every schema of this environment (`{id}_*`). Best effort: failures are printed, not
    /// returned, because a test that passed should not fail over leftovers in a throwaway database.
    pub async fn cleanup(self) {
        if let Err(e) = self.drop_schemas().await {
            eprintln!(
                "bazaar-testkit: could not drop the schemas of test env {}: {e:#}",
                self.id
            );
        }
    }

    async fn drop_schemas(&self) -> anyhow::Result<()> {
        let mut conn = PgConnection::connect(&self.database_url).await?;
        let schemas: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
        )
        .bind(format!("{}_", self.id))
        .fetch_all(&mut conn)
        .await?;
        for schema in schemas {
            let quoted = schema.replace('"', "\"\"");
            sqlx::raw_sql(AssertSqlSafe(format!(
                r#"DROP SCHEMA IF EXISTS "{quoted}" CASCADE"#
            )))
            .execute(&mut conn)
            .await
            .with_context(|| format!("dropping schema {schema}"))?;
        }
        conn.close().await?;
        Ok(())
    }
}

/// Polls `f` every 50 ms until it yields `Some`, for at most `timeout`. Use it instead of sleeping:
/// it is as fast as the system under test allows and fails with a message naming `what`.
///
/// A single call to `f` that outlives the deadline is abandoned.
pub async fn wait_for<F, Fut, T>(timeout: Duration, what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        // Even a call made at the deadline gets one poll interval, so a zero timeout still tries once.
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(POLL_INTERVAL);
        if let Ok(Some(value)) = tokio::time::timeout(budget, f()).await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// How long the component harness waits for something asynchronous (a consumer, a relay, a saga) before a
/// test fails: generous, because a loaded CI machine runs many test processes at once; a passing test
/// never waits for it.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// [`wait_for`] with [`PATIENCE`], failing the test (with `what` in the message) when it times out.
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    match wait_for(PATIENCE, what, f).await {
        Ok(value) => value,
        Err(error) => panic!("{error}"),
    }
}

async fn database_url() -> anyhow::Result<String> {
    let shared = POSTGRES
        .get_or_try_init(|| async {
            if let Some(url) = env_var("DATABASE_URL") {
                return anyhow::Ok(Shared { address: url, _local: None });
            }
            if accepts_connections(DEFAULT_DATABASE_URL).await {
                return Ok(Shared { address: DEFAULT_DATABASE_URL.to_owned(), _local: None });
            }
            let pg = LocalPostgres::start().await.context(
                "DATABASE_URL is not set and nothing answers on 127.0.0.1:5432, so the tests tried to start \
                 their own PostgreSQL",
            )?;
            Ok(Shared { address: pg.url(), _local: Some(pg) })
        })
        .await?;
    Ok(shared.address.clone())
}

async fn kafka_brokers() -> anyhow::Result<String> {
    let shared = BROKER
        .get_or_try_init(|| async {
            if let Some(brokers) = env_var("KAFKA_BROKERS") {
                return anyhow::Ok(Shared {
                    address: brokers,
                    _local: None,
                });
            }
            let broker = LocalBroker::start().await.context(
                "KAFKA_BROKERS is not set, so the tests tried to start their own tansu broker",
            )?;
            Ok(Shared {
                address: broker.bootstrap_servers(),
                _local: Some(broker),
            })
        })
        .await?;
    Ok(shared.address.clone())
}

/// An environment variable, treating empty as unset (as `${VAR:-default}` does in the scripts).
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// Whether we can log in to `url` and run a query, within a couple of seconds.
async fn accepts_connections(url: &str) -> bool {
    let attempt = async {
        let mut conn = PgConnection::connect(url).await?;
        sqlx::query("SELECT 1").execute(&mut conn).await?;
        conn.close().await
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(3), attempt).await,
        Ok(Ok(()))
    )
}

/// A name PostgreSQL takes unquoted and unchanged: `[a-z_][a-z0-9_]*`, at most 63 bytes.
fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= MAX_IDENTIFIER_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_identifiers() {
        assert!(is_plain_identifier("t0123456789_order"));
        assert!(is_plain_identifier("_x"));
        for bad in ["", "1abc", "Order", "a-b", "a.b", "a\"b", &"a".repeat(64)] {
            assert!(!is_plain_identifier(bad), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn wait_for_returns_first_some_and_names_what_timed_out() {
        let mut calls = 0;
        let value = wait_for(Duration::from_secs(5), "the third call", || {
            calls += 1;
            let n = calls;
            async move { (n >= 3).then_some(n) }
        })
        .await
        .expect("ready on the third call");
        assert_eq!(value, 3);

        let err = wait_for(Duration::from_millis(120), "godot", || async { None::<()> })
            .await
            .expect_err("never ready");
        assert!(err.to_string().contains("godot"), "{err}");

        let err = wait_for(
            Duration::from_millis(100),
            "a hung check",
            std::future::pending::<Option<()>>,
        )
        .await
        .expect_err("hung check is abandoned");
        assert!(err.to_string().contains("a hung check"), "{err}");
    }
}
