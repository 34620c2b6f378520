//! Runs a set of components in one process: pools, migrations, Kafka, the outbox relays, the HTTP server,
//! and an orderly shutdown. `bazaar serve`, `bazaar dev` and the end-to-end tests all come through here.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use bazaar_contracts::Topic;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthConfig, Verifier};
use crate::component::{ComponentSpec, Context, Settings};
use crate::config::{ConfigError, DatabaseConfig, HttpConfig, KafkaConfig};
use crate::http::{self, Dependency, Scaffold};
use crate::kafka::{Kafka, MessagingError, Outbox, Relay};
use crate::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Messaging(#[from] MessagingError),
    #[error("authentication keys: {0}")]
    Auth(String),
    #[error("component {component} failed to start: {source}")]
    Start {
        component: &'static str,
        #[source]
        source: crate::component::BoxError,
    },
    #[error("HTTP server: {0}")]
    Http(#[from] std::io::Error),
}

/// Applies every pending migration of `components`, each in its own schema.
pub async fn migrate(
    components: &[&'static ComponentSpec],
    db: &DatabaseConfig,
) -> Result<(), RuntimeError> {
    for component in components {
        let schema = db.schema_for(component.name);
        let pool = crate::db::pool(component.name, &db.url_for(component.name)?, &schema, 2)?;
        crate::db::migrate(&pool, &schema, component.migrations).await?;
        tracing::info!(component = component.name, %schema, "migrations applied");
        pool.close().await;
    }
    Ok(())
}

/// Settings for [`serve`].
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub http: HttpConfig,
    pub db: DatabaseConfig,
    pub kafka: KafkaConfig,
    pub auth: AuthConfig,
    /// Apply migrations before starting (for `bazaar dev` and single-process installs).
    pub migrate: bool,
    /// Component-specific settings handed to each component's `Context`.
    pub settings: Settings,
}

impl ServeConfig {
    /// Settings for running components on this machine: one database and broker, the given prefix for
    /// schemas (`<prefix>_<component>`) and topics (`<prefix>.<topic>`), migrations applied, keys from
    /// `auth`. Used by tests, which pass a unique prefix each, and by tools.
    pub fn local(database_url: &str, kafka_brokers: &str, prefix: &str, auth: AuthConfig) -> Self {
        Self {
            http: HttpConfig {
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                body_limit: 1024 * 1024,
                shutdown_grace_secs: 5,
                cors_origins: Vec::new(),
                cors_max_age_secs: 600,
            },
            db: DatabaseConfig {
                url: Some(database_url.to_owned()),
                schema_prefix: format!("{prefix}_"),
                // Small pools: parallel tests each run several components against one server.
                max_connections: 3,
                ..DatabaseConfig::default()
            },
            kafka: KafkaConfig {
                brokers: Some(kafka_brokers.to_owned()),
                topic_prefix: format!("{prefix}."),
                partitions: 2,
                max_attempts: 3,
                retry_backoff_ms: 50,
                outbox_poll_ms: 20,
            },
            auth,
            migrate: true,
            settings: Settings::clap_defaults(),
        }
    }

    /// The same settings with one component's own settings added.
    pub fn with_settings<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        self.settings = self.settings.with(value);
        self
    }
}

/// Components served in the background of this process, e.g. by a test.
pub struct Spawned {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    pub shutdown: CancellationToken,
    pub handle: tokio::task::JoinHandle<Result<(), RuntimeError>>,
}

impl Spawned {
    /// Stops the components and waits for them to finish draining.
    pub async fn stop(self) -> Result<(), RuntimeError> {
        self.shutdown.cancel();
        self.handle
            .await
            .map_err(|e| RuntimeError::Http(std::io::Error::other(e)))?
    }
}

/// Serves `components` on an ephemeral port of 127.0.0.1 in the background and waits until they answer
/// `/healthz`.
pub async fn spawn(
    components: &[&'static ComponentSpec],
    config: ServeConfig,
) -> Result<Spawned, RuntimeError> {
    let listener = TcpListener::bind(config.http.addr).await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    let shutdown = CancellationToken::new();
    let handle = tokio::spawn(serve(
        components.to_vec(),
        config,
        listener,
        shutdown.clone(),
    ));
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if handle.is_finished() {
            return match handle.await {
                Ok(Err(error)) => Err(error),
                _ => Err(RuntimeError::Http(std::io::Error::other(
                    "server stopped at start",
                ))),
            };
        }
        if let Ok(response) = client.get(format!("{base_url}/healthz")).send().await
            && response.status().is_success()
        {
            return Ok(Spawned {
                base_url,
                shutdown,
                handle,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    Err(RuntimeError::Http(std::io::Error::other(
        "server did not answer /healthz within 30 s",
    )))
}

/// Runs `components` behind `listener` until `shutdown` is cancelled, then drains within the grace period.
pub async fn serve(
    components: Vec<&'static ComponentSpec>,
    config: ServeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RuntimeError> {
    let names: Vec<&'static str> = components.iter().map(|c| c.name).collect();
    // Every setting is checked before anything connects, so a mistake is reported at once.
    let urls = components
        .iter()
        .map(|c| config.db.url_for(c.name))
        .collect::<Result<Vec<_>, _>>()?;
    config.kafka.brokers()?;
    let metrics = Metrics::new();
    let kafka = Kafka::connect(&config.kafka, &format!("bazaar-{}", names.join("-")))?;
    let topics: Vec<&'static str> = Topic::ALL.iter().map(|t| t.name()).collect();
    kafka.ensure_topics(&topics).await?;
    let local_url = local_url(&listener);
    let mut auth = config.auth.clone();
    let verifier =
        if auth.jwks_url.is_none() && auth.jwks_file.is_none() && names.contains(&"identity") {
            // Identity runs here: verify with its keys without being told where they are. They are
            // fetched on the first token: asked now, this process would wait for its own answer.
            auth.jwks_url = reqwest::Url::parse(&format!("{local_url}/.well-known/jwks.json")).ok();
            Verifier::fetching_on_first_token(&auth)
        } else {
            Verifier::from_config(&auth).await
        };
    let verifier = Arc::new(verifier.map_err(|e| RuntimeError::Auth(e.to_string()))?);

    let mut tasks = Vec::new();
    if auth.jwks_url.is_some() {
        tasks.push(tokio::spawn(refresh_keys(
            verifier.clone(),
            shutdown.clone(),
        )));
    }

    let mut api = Router::new();
    let mut dependencies = vec![Dependency::Kafka(kafka.clone())];
    for (component, url) in components.into_iter().zip(urls) {
        let schema = config.db.schema_for(component.name);
        let pool = crate::db::pool_with(component.name, &url, &schema, config.db.pool_settings())?;
        if config.migrate {
            crate::db::migrate(&pool, &schema, component.migrations).await?;
        }
        let context = Context {
            name: component.name,
            db: pool.clone(),
            kafka: kafka.clone(),
            metrics: metrics.clone(),
            verifier: verifier.clone(),
            outbox: Outbox::new(component.name),
            shutdown: shutdown.clone(),
            settings: config.settings.clone(),
            local_url: local_url.clone(),
        };
        let running = (component.start)(context)
            .await
            .map_err(|source| RuntimeError::Start {
                component: component.name,
                source,
            })?;
        let (router, mut openapi) = running.router.split_for_parts();
        openapi.info = utoipa::openapi::Info::new(
            format!("Bazaar {} API", component.name),
            env!("CARGO_PKG_VERSION").to_owned(),
        );
        crate::openapi::complete(&mut openapi);
        let document = axum::Json(openapi);
        api = api.merge(router).route(
            &format!("/api/{}/openapi.json", component.name),
            get(move || async move { document }),
        );
        let relay = Relay::new(component.name, pool.clone(), kafka.clone(), metrics.clone());
        tasks.push(tokio::spawn(relay.run(shutdown.clone())));
        for task in running.tasks {
            tracing::debug!(component = component.name, task = %task.name, "starting background task");
            tasks.push(tokio::spawn(task.future));
        }
        dependencies.push(Dependency::Postgres {
            component: component.name.to_owned(),
            pool,
        });
    }

    // The web storefront at `/`, behind every API route (crate::storefront).
    if let Some(dir) = config
        .settings
        .get::<crate::storefront::StorefrontConfig>()?
        .resolve()
    {
        tracing::info!(dir = %dir.display(), "serving the storefront at /");
        api = crate::storefront::routes(api, &dir);
    }
    let app = http::app(
        api,
        Scaffold {
            metrics,
            dependencies,
            verifier,
            body_limit: usize::try_from(config.http.body_limit).unwrap_or(usize::MAX),
        },
    );
    // CORS wraps everything, so that preflights and error answers carry its headers too.
    let app = crate::edge::with_cors(app, &config.http.cors());
    tracing::info!(components = ?names, addr = ?listener.local_addr().ok(), "serving");
    let grace = config.http.shutdown_grace();
    http::serve(listener, app, shutdown.clone(), grace).await?;

    // The server has drained; give consumers and relays the rest of the grace period to stop.
    let stopped = tokio::time::timeout(grace, futures::future::join_all(tasks)).await;
    if stopped.is_err() {
        tracing::warn!("background tasks still running after the grace period");
    }
    kafka.flush(Duration::from_secs(5)).await;
    tracing::info!("stopped");
    Ok(())
}

/// How this process reaches itself: the listener's port on loopback (a wildcard address is not dialable).
fn local_url(listener: &TcpListener) -> String {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(8080);
    format!("http://127.0.0.1:{port}")
}

/// Re-reads identity's JWKS every few minutes, so that a key identity retired stops verifying; new keys
/// are picked up at once anyway, when a token names one.
async fn refresh_keys(verifier: Arc<Verifier>, shutdown: CancellationToken) {
    const EVERY: Duration = Duration::from_secs(300);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
        if let Err(error) = verifier.refresh().await {
            tracing::warn!(%error, "JWKS refresh failed; keeping the keys we have");
        }
    }
}
