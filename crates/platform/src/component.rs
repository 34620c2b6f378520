//! The contract between a component crate and the process that runs it. A component declares its name and
//! migrations and, given a [`Context`], returns its routes and background tasks; the runtime does the rest.

use std::sync::Arc;

use futures::future::BoxFuture;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::Verifier;
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
