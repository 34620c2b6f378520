//! A component served in-process over real HTTP, PostgreSQL and Kafka, started and stopped around the
//! platform runtime ([`bazaar_platform::runtime::spawn`]): its router, its consumers, its outbox relay and
//! its other background tasks run exactly as `bazaar serve` runs them, on a free port of 127.0.0.1, with
//! schemas and topics of this test's own [`TestEnv`].

use std::path::PathBuf;

use bazaar_platform::auth::TestIssuer;
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::kafka::Kafka;
use bazaar_platform::runtime::{ServeConfig, Spawned, spawn};
use sqlx::PgPool;

use crate::env::TestEnv;

/// The component a test suite is about. testkit cannot depend on the services (they depend on it), so each
/// service's `tests/common` implements this in a few lines.
pub trait Subject {
    /// The component's own settings: a clap `Args` struct, the one the binary parses.
    type Config: clap::Args + clap::FromArgMatches + Clone + Send + Sync + 'static;

    /// The component under test; the harness's [`Harness::db`] is bound to its schema.
    fn spec() -> &'static ComponentSpec;

    /// The settings the suite's tests start from, given clap's defaults: unchanged unless the suite says
    /// otherwise (e.g. cheap password hashing).
    fn test_config(defaults: Self::Config) -> Self::Config {
        defaults
    }

    /// [`test_config`](Self::test_config) of clap's defaults; tests override fields of it.
    fn config() -> Self::Config {
        Self::test_config(crate::config::defaults())
    }

    /// The subject served alone with `config` ([`Harness::start`]).
    fn start(config: Self::Config) -> impl Future<Output = Harness>
    where
        Self: Sized,
    {
        Harness::start::<Self>(config)
    }
}

/// The settings of a component that has none of its own (the catalog), for [`Subject::Config`].
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct NoSettings {}

/// A running component (or several in one process) and the means to drive and observe it.
pub struct Harness {
    pub env: TestEnv,
    pub running: Spawned,
    /// Issues the tokens the components trust (see [`crate::tokens`]).
    pub issuer: TestIssuer,
    /// A producer on this test's topics, to play other components (see [`crate::events`]).
    pub kafka: Kafka,
    /// A pool on the subject's schema, for assertions; separate from the component's own pools.
    pub db: PgPool,
    pub http: reqwest::Client,
    /// The subject's component name (its schema, its outbox's source).
    pub name: &'static str,
    jwks_path: PathBuf,
}

impl Harness {
    /// The subject alone, with `config`.
    pub async fn start<S: Subject>(config: S::Config) -> Harness {
        Self::serve::<S>(&[S::spec()], config, |serve| serve).await
    }

    /// `components` (the subject among them, or not) in one process, with the subject's `config`;
    /// `configure` adjusts the runtime's settings (other components' settings, pool sizes...).
    pub async fn serve<S: Subject>(
        components: &[&'static ComponentSpec],
        config: S::Config,
        configure: impl FnOnce(ServeConfig) -> ServeConfig,
    ) -> Harness {
        let env = TestEnv::start().await.expect("test infrastructure");
        let issuer = TestIssuer::new();
        let jwks_path = std::env::temp_dir().join(format!("bazaar-{}-jwks.json", env.id));
        let auth = issuer.trusted_through_file(&jwks_path);
        let name = S::spec().name;
        let serve = configure(
            ServeConfig::local(&env.database_url, &env.kafka_brokers, &env.id, auth)
                .with_settings(config),
        );
        let kafka = Kafka::connect(&serve.kafka, &format!("{name}-test")).expect("Kafka producer");
        let running = spawn(components, serve)
            .await
            .unwrap_or_else(|e| panic!("components {components:?} did not start: {e}"));
        let db = env
            .pool(&env.schema(name))
            .await
            .unwrap_or_else(|e| panic!("a pool on the {name} schema: {e:#}"));
        Harness {
            env,
            running,
            issuer,
            kafka,
            db,
            http: reqwest::Client::new(),
            name,
            jwks_path,
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url)
    }

    /// A small pool on another component's schema in this process (lazy; sized like a component's own, so
    /// the one-connection check of `BAZAAR_TEST_POOL_SIZE` applies to it too).
    pub fn pool(&self, component: &str) -> PgPool {
        bazaar_platform::db::pool(
            component,
            &self.env.database_url,
            &self.env.schema(component),
            3,
        )
        .expect("pool")
    }

    /// Stops the components (they must drain cleanly) and drops this test's schemas.
    pub async fn stop(self) {
        let (running, env) = self.dismantle().await;
        running.stop().await.expect("clean stop");
        env.cleanup().await;
    }

    /// Stops the components whatever their state (a test that broke them on purpose) and drops this
    /// test's schemas.
    pub async fn stop_anyway(self) {
        let (running, env) = self.dismantle().await;
        let _ = running.stop().await;
        env.cleanup().await;
    }

    async fn dismantle(self) -> (Spawned, TestEnv) {
        self.db.close().await;
        let _ = std::fs::remove_file(&self.jwks_path);
        (self.running, self.env)
    }
}

/// Declares a suite's own harness type: a newtype over [`Harness`] that dereferences to it, so a suite adds
/// only the helpers its component needs (and keeps the names its tests already use) without repeating the
/// shared ones. It has `stop`, like [`Harness::stop`].
///
/// ```ignore
/// bazaar_testkit::suite_harness! {
///     /// The review component and the events it learns from.
///     pub struct Shop;
/// }
/// ```
#[macro_export]
macro_rules! suite_harness {
    ($(#[$meta:meta])* $vis:vis struct $name:ident;) => {
        $(#[$meta])*
        $vis struct $name(pub $crate::Harness);

        impl ::std::ops::Deref for $name {
            type Target = $crate::Harness;
            fn deref(&self) -> &$crate::Harness {
                &self.0
            }
        }

        impl $name {
            /// Stops the components (they must drain cleanly) and drops this test's schemas.
            pub async fn stop(self) {
                self.0.stop().await
            }
        }
    };
}
