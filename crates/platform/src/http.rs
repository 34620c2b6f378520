//! The HTTP scaffold every component is served in: health, readiness and metrics endpoints, RED metrics per
//! route, request ids, trace context, body limits, edge validation ([`crate::edge`]), problem+json for every
//! error, graceful shutdown.

use std::convert::Infallible;
use std::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::auth::Verifier;
use crate::kafka::Kafka;
use crate::metrics::Metrics;
use crate::problem::{Problem, Shed};
use crate::telemetry::{TRACEPARENT, continue_trace, trace_id_of};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A dependency `/readyz` checks.
#[derive(Clone)]
pub enum Dependency {
    Postgres { component: String, pool: PgPool },
    Kafka(Kafka),
}

impl Dependency {
    fn name(&self) -> String {
        match self {
            Dependency::Postgres { component, .. } => format!("postgres:{component}"),
            Dependency::Kafka(_) => "kafka".to_owned(),
        }
    }

    async fn check(&self) -> Result<(), String> {
        let probe = async {
            match self {
                Dependency::Postgres { pool, .. } => {
                    crate::db::ping(pool).await.map_err(|e| e.to_string())
                }
                Dependency::Kafka(kafka) => kafka.ping().await.map_err(|e| e.to_string()),
            }
        };
        tokio::time::timeout(Duration::from_secs(3), probe)
            .await
            .unwrap_or_else(|_| Err("no answer within 3 s".to_owned()))
    }
}

/// Everything the scaffold needs besides the component routes.
#[derive(Clone)]
pub struct Scaffold {
    pub metrics: Metrics,
    pub dependencies: Vec<Dependency>,
    pub verifier: Arc<Verifier>,
    pub body_limit: usize,
}

#[derive(Serialize)]
struct ReadinessReport {
    status: &'static str,
    checks: std::collections::BTreeMap<String, String>,
}

/// Wraps the component routes in the scaffold.
pub fn app(api: Router, scaffold: Scaffold) -> Router {
    let probes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(scaffold.clone());

    let request_span = |request: &Request| {
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "http",
            method = %request.method(),
            path = %request.uri().path(),
            request_id,
            trace_id = tracing::field::Empty,
        );
        let traceparent = request
            .headers()
            .get(TRACEPARENT)
            .and_then(|v| v.to_str().ok());
        continue_trace(&span, traceparent);
        if let Some(trace_id) = trace_id_of(&span) {
            span.record("trace_id", trace_id);
        }
        span
    };

    api.merge(probes)
        .fallback(|| async { Problem::not_found("No such resource.") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "This resource does not support that method.",
            )
        })
        // One layer for every route (axum clones a route's whole stack of layered services per request,
        // one allocation per `Router::layer`), outermost first: RED metrics, the body limit, edge
        // validation (NUL characters; inside the body limit, which it honours), the verifier.
        .layer(
            ServiceBuilder::new()
                .layer(RedMetricsLayer(scaffold.metrics.clone()))
                .layer(DefaultBodyLimit::max(scaffold.body_limit))
                .layer(crate::edge::RefuseNulLayer)
                .layer(axum::Extension(scaffold.verifier.clone())),
        )
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID, RequestIds))
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                .layer(CatchPanicLayer::custom(|_| {
                    Problem::internal(&"handler panicked").into_response()
                })),
        )
}

/// Makes the `x-request-id` of a request that came without one: a random (version 4) UUID.
///
/// tower-http's `MakeRequestUuid` formats each id through `to_string`; this formats it on the stack. The
/// random bits come from uuid's `fast-rng` (rand's thread-local generator), not a system call per request.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIds;

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let mut text = uuid::Uuid::encode_buffer();
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        axum::http::HeaderValue::from_str(text)
            .ok()
            .map(RequestId::new)
    }
}

/// Requests, errors (by status) and latency for every matched route (a layer inside the router, where the
/// matched route is known).
#[derive(Clone)]
struct RedMetricsLayer(Metrics);

impl<S> tower::Layer<S> for RedMetricsLayer {
    type Service = RedMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RedMetrics {
            inner,
            metrics: self.0.clone(),
        }
    }
}

#[derive(Clone)]
struct RedMetrics<S> {
    inner: S,
    metrics: Metrics,
}

impl<S> tower::Service<Request> for RedMetrics<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // Unmatched paths share one label so that scanners cannot blow up the series count. The matched
        // path is shared (`Arc<str>`) and a standard method's name is static: no copy of either.
        let route = request.extensions().get::<MatchedPath>().cloned();
        let method = request.method().clone();
        let metrics = self.metrics.clone();
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
            let method = method.as_str();
            metrics
                .http_duration
                .with_label_values(&[method, route])
                .observe(started.elapsed().as_secs_f64());
            metrics
                .http_requests
                .with_label_values(&[method, route, response.status().as_str()])
                .inc();
            if let Some(Shed(reason)) = response.extensions().get::<Shed>() {
                metrics.http_shed.with_label_values(&[route, reason]).inc();
            }
            Ok(response)
        })
    }
}

async fn readyz(State(scaffold): State<Scaffold>) -> Response {
    let results = futures::future::join_all(
        scaffold
            .dependencies
            .iter()
            .map(|d| async move { (d.name(), d.check().await) }),
    )
    .await;
    for (name, result) in &results {
        let up = i64::from(result.is_ok());
        scaffold
            .metrics
            .dependency_up
            .with_label_values(&[name])
            .set(up);
    }
    let ready = results.iter().all(|(_, r)| r.is_ok());
    let checks = results
        .into_iter()
        .map(|(name, result)| (name, result.err().unwrap_or_else(|| "ok".to_owned())))
        .collect();
    let report = ReadinessReport {
        status: if ready { "ready" } else { "unready" },
        checks,
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(report)).into_response()
}

async fn metrics_text(State(scaffold): State<Scaffold>) -> Response {
    for dependency in &scaffold.dependencies {
        if let Dependency::Postgres { component, pool } = dependency {
            let size = pool.size();
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            let max = pool.options().get_max_connections();
            for (state, value) in [
                ("in_use", size.saturating_sub(idle)),
                ("idle", idle),
                ("max", max),
            ] {
                scaffold
                    .metrics
                    .db_pool_connections
                    .with_label_values(&[component.as_str(), state])
                    .set(i64::from(value));
            }
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        scaffold.metrics.render(),
    )
        .into_response()
}

/// Serves `app` until `shutdown` is cancelled, then stops accepting, lets in-flight requests finish for at
/// most `grace`, and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: CancellationToken,
    grace: Duration,
) -> std::io::Result<()> {
    // Connection info lets handlers see the peer address (e.g. for rate limits behind no proxy).
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned())
    .into_future();
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result,
        _ = shutdown.cancelled() => {}
    }
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                ?grace,
                "requests still running after the grace period; closing them"
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_distinct_version_4_uuids() {
        let request = axum::http::Request::new(());
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let id = RequestIds
                .make_request_id(&request)
                .expect("an id")
                .into_header_value();
            let id = id.to_str().expect("ascii").to_owned();
            let uuid = uuid::Uuid::parse_str(&id).expect("a UUID");
            assert_eq!(uuid.get_version_num(), 4, "{id}");
            assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
            assert_eq!(id, uuid.hyphenated().to_string(), "lower-case, hyphenated");
            assert!(seen.insert(id), "no id twice");
        }
        let other_thread = std::thread::spawn(move || {
            RequestIds
                .make_request_id(&axum::http::Request::new(()))
                .expect("an id")
                .into_header_value()
        })
        .join()
        .expect("thread");
        assert!(
            !seen.contains(other_thread.to_str().expect("ascii")),
            "threads draw from their own, differently seeded generators"
        );
    }
}
