//! The contract between a component crate and the process that runs it. A component declares its name and
//! migrations and, given a [`Context`], returns its routes and background tasks; the runtime does the rest.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Verifier;
use crate::config::ConfigError;
use crate::kafka::{Kafka, Outbox};
use crate::metrics::Metrics;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a component crate declares about itself; each exports one as `COMPONENT`.
pub struct ComponentSpec {
    /// Short name: schema, URL segment (`/api/<name>`), metrics and logs use it.
    pub name: &'static str,
    /// The component's own migrations (`migrations/<name>/`), embedded with `sqlx::migrate!`.
    pub migrations: &'static Migrator,
    /// Builds the component's routes and tasks.
    pub start: fn(Context) -> BoxFuture<'static, Result<Running, BoxError>>,
}

impl std::fmt::Debug for ComponentSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComponentSpec")
            .field("name", &self.name)
            .finish()
    }
}

/// What every component is given when it starts.
#[derive(Clone)]
pub struct Context {
    pub name: &'static str,
    /// Pool bound to the component's own schema.
    pub db: PgPool,
    pub kafka: Kafka,
    pub metrics: Metrics,
    pub verifier: Arc<Verifier>,
    /// Writes events in the component's transactions; the runtime runs the relay that publishes them.
    pub outbox: Outbox,
    /// Cancelled when the process shuts down; every background task must watch it.
    pub shutdown: CancellationToken,
    /// Component-specific settings parsed by the binary (see [`Settings`]).
    pub settings: Settings,
    /// Base URL of this process's own HTTP listener (`http://127.0.0.1:8080`), for calling a component
    /// served in the same process when no other address is configured.
    pub local_url: String,
}

/// Component-specific settings, by type. Each component defines its own settings struct (clap `Args` with
/// environment variables); the binary parses and inserts them; the component reads its own with
/// [`Settings::get`]. This keeps one configuration loader while components stay independent crates.
///
/// Defaults live in clap only. Settings a component asks for and nobody gave are an error (a component
/// wired without its settings must not run on values nobody chose), except in [`Settings::clap_defaults`],
/// which tests and tools use to get clap's defaults for whatever they do not set themselves.
#[derive(Clone, Default)]
pub struct Settings {
    values: Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// Whether a type nobody gave is parsed from an empty command line (clap's defaults).
    clap_defaults: bool,
}

impl Settings {
    /// Adds (or replaces) the settings of one type.
    pub fn with<T: Any + Send + Sync>(self, value: T) -> Self {
        let mut map = Arc::unwrap_or_clone(self.values);
        map.insert(TypeId::of::<T>(), Arc::new(value));
        Settings {
            values: Arc::new(map),
            clap_defaults: self.clap_defaults,
        }
    }

    /// No settings yet, and clap's defaults (with the environment, as the binary reads it) for every type
    /// that is not given: for tests and tools that start components in-process.
    pub fn clap_defaults() -> Self {
        Settings {
            values: Arc::default(),
            clap_defaults: true,
        }
    }

    /// The settings of type `T`: as given; else, with [`Settings::clap_defaults`], clap's defaults; else an
    /// error naming the type, which stops the component's start.
    pub fn get<T>(&self) -> Result<T, ConfigError>
    where
        T: Any + Clone + clap::Args + clap::FromArgMatches,
    {
        if let Some(value) = self
            .values
            .get(&TypeId::of::<T>())
            .and_then(|value| value.downcast_ref::<T>())
        {
            return Ok(value.clone());
        }
        if self.clap_defaults {
            return crate::config::clap_defaults::<T>();
        }
        Err(ConfigError::Missing {
            setting: std::any::type_name::<T>().to_owned(),
            expected: "the component's settings, parsed by the binary (or given with \
                       ServeConfig::with_settings / Settings::clap_defaults in tests and tools)"
                .to_owned(),
        })
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Settings({} types)", self.values.len())
    }
}

/// What a started component contributes: routes (with their OpenAPI description) and background tasks.
pub struct Running {
    pub router: OpenApiRouter,
    pub tasks: Vec<Task>,
}

impl Running {
    pub fn new(router: OpenApiRouter) -> Self {
        Self {
            router,
            tasks: Vec::new(),
        }
    }

    pub fn with_task(mut self, task: Task) -> Self {
        self.tasks.push(task);
        self
    }
}

/// A named background loop (a consumer, a relay, an expiry sweep) that returns once shutdown is asked.
pub struct Task {
    pub name: String,
    pub future: BoxFuture<'static, ()>,
}

impl Task {
    pub fn new(name: impl Into<String>, future: impl Future<Output = ()> + Send + 'static) -> Self {
        Self {
            name: name.into(),
            future: Box::pin(future),
        }
    }
}
