//! `bazaar operator`: health and metrics over HTTP, leader election, and one controller per kind (with
//! the watch caches the reconcilers look things up in).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use futures::StreamExt;
use k8s_openapi::NamespaceResourceScope;
use kube::api::Api;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{Controller, WatchStreamExt, reflector, watcher};
use kube::{Client, Resource};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::leader::{self, LeaseSettings};
use crate::metrics::Metrics;
use crate::projection::PostgresCatalog;
use crate::reconcile::{self, Context, Lookups, Merchandise};
use crate::references::{fulfillments_referring_to, promotions_referring_to};
use crate::resources::{Fulfillment, Product, Promotion, Store};

/// The name Events and logs report the operator by.
pub const CONTROLLER_NAME: &str = "bazaar-operator";

#[derive(Clone, Debug)]
pub struct Settings {
    /// Watch only this namespace; every namespace when `None`.
    pub namespace: Option<String>,
    pub lease: LeaseSettings,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub addr: SocketAddr,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the health server failed: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Leader(#[from] leader::LeaderError),
}

/// Runs until `shutdown` is cancelled, or fails when leadership is lost.
pub async fn run(
    client: Client,
    catalog: PostgresCatalog,
    settings: Settings,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let metrics = Metrics::new();
    let listener = tokio::net::TcpListener::bind(settings.addr)
        .await
        .map_err(|source| RunError::Listen {
            addr: settings.addr,
            source,
        })?;
    tracing::info!(addr = %settings.addr, namespace = settings.namespace.as_deref().unwrap_or("(all)"), "operator starting");
    let routes = health_routes(metrics.clone(), catalog.clone());
    let stopped = shutdown.clone().cancelled_owned();
    let server = tokio::spawn(async move {
        axum::serve(listener, routes)
            .with_graceful_shutdown(stopped)
            .await
    });

    let lease_api = Api::namespaced(client.clone(), &settings.lease.namespace);
    let identity = settings.lease.identity.clone();
    let namespace = settings.namespace.clone();
    let led = leader::run_as_leader(lease_api, settings.lease, shutdown.clone(), move |stop| {
        metrics.set_leader(true);
        let leading = metrics.clone();
        let controllers = run_controllers(client, catalog, namespace, metrics, identity, stop);
        async move {
            controllers.await;
            leading.set_leader(false);
        }
    })
    .await;
    shutdown.cancel();
    match server.await {
        Ok(Ok(())) | Err(_) => {}
        Ok(Err(error)) => return Err(RunError::Serve(error)),
    }
    led.map_err(RunError::from)
}

#[derive(Clone)]
struct HealthState {
    metrics: Metrics,
    catalog: PostgresCatalog,
}

fn health_routes(metrics: Metrics, catalog: PostgresCatalog) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(state): State<HealthState>| async move { state.metrics.render() }),
        )
        .with_state(HealthState { metrics, catalog })
}

/// Ready when the catalog database answers (a standby replica is ready too: it only waits for the lease).
async fn readyz(State(state): State<HealthState>) -> (StatusCode, String) {
    match bazaar_platform::db::ping(state.catalog.pool()).await {
        Ok(()) => (StatusCode::OK, "ok".to_owned()),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("catalog database: {error}"),
        ),
    }
}

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// Keeps a watch cache of `K` current until `stop`.
fn cache<K>(api: Api<K>, stop: CancellationToken) -> reflector::Store<K>
where
    K: Resource<DynamicType = ()>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api, watcher::Config::default()))
        .default_backoff()
        .touched_objects()
        .for_each(|_| futures::future::ready(()));
    tokio::spawn(async move {
        tokio::select! {
            () = stream => {}
            () = stop.cancelled() => {}
        }
    });
    reader
}

async fn log_results<K: Merchandise, E: std::fmt::Display>(
    results: impl futures::Stream<
        Item = Result<(reflector::ObjectRef<K>, kube::runtime::controller::Action), E>,
    >,
) {
    results
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::warn!(kind = %K::KIND, %error, "controller");
            }
        })
        .await;
}

async fn run_controllers(
    client: Client,
    catalog: PostgresCatalog,
    namespace: Option<String>,
    metrics: Metrics,
    identity: String,
    stop: CancellationToken,
) {
    let namespace = namespace.as_deref();
    let stores = cache(scoped::<Store>(&client, namespace), stop.clone());
    let products = cache(scoped::<Product>(&client, namespace), stop.clone());
    // Fulfillments and Promotions resolve against these caches: wait until they hold every object.
    tokio::select! {
        () = stop.cancelled() => return,
        (a, b) = async { tokio::join!(stores.wait_until_ready(), products.wait_until_ready()) } => {
            if a.is_err() || b.is_err() {
                tracing::error!("a watch cache closed before it was ready");
                return;
            }
        }
    }
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: CONTROLLER_NAME.to_owned(),
            instance: Some(identity),
        },
    );
    // Every catalog write holds one pooled connection; keep one free for /readyz.
    let pool_size = catalog.pool().options().get_max_connections() as usize;
    let max_concurrent_projections = pool_size.saturating_sub(1).max(1);
    let ctx = Arc::new(Context::new(
        client.clone(),
        catalog,
        recorder,
        Lookups { stores, products },
        metrics,
        max_concurrent_projections,
    ));
    let config = watcher::Config::default();

    let product_controller = Controller::new(scoped::<Product>(&client, namespace), config.clone())
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(
            reconcile::reconcile::<Product, _>,
            reconcile::error_policy::<Product, _>,
            ctx.clone(),
        );
    let store_controller = Controller::new(scoped::<Store>(&client, namespace), config.clone())
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(
            reconcile::reconcile::<Store, _>,
            reconcile::error_policy::<Store, _>,
            ctx.clone(),
        );

    let fulfillments = Controller::new(scoped::<Fulfillment>(&client, namespace), config.clone());
    let fulfillment_cache = fulfillments.store();
    let fulfillment_controller = fulfillments
        .watches(
            scoped::<Store>(&client, namespace),
            config.clone(),
            move |store| fulfillments_referring_to(&store, &fulfillment_cache.state()),
        )
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(
            reconcile::reconcile::<Fulfillment, _>,
            reconcile::error_policy::<Fulfillment, _>,
            ctx.clone(),
        );

    let promotions = Controller::new(scoped::<Promotion>(&client, namespace), config.clone());
    let promotion_cache = promotions.store();
    let promotion_controller = promotions
        .watches(
            scoped::<Product>(&client, namespace),
            config,
            move |product| promotions_referring_to(&product, &promotion_cache.state()),
        )
        .graceful_shutdown_on(stop.clone().cancelled_owned())
        .run(
            reconcile::reconcile::<Promotion, _>,
            reconcile::error_policy::<Promotion, _>,
            ctx,
        );

    tokio::join!(
        log_results(product_controller),
        log_results(store_controller),
        log_results(fulfillment_controller),
        log_results(promotion_controller),
    );
    tracing::info!("controllers stopped");
}
