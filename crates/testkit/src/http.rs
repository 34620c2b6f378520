//! HTTP for tests: one answer type ([`Answer`]: status, headers, JSON body) whether the component is called
//! over the network ([`Harness::call`]) or in-process through its router ([`oneshot`], behind the
//! platform's scaffold from [`scaffold`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use bazaar_platform::auth::{AuthConfig, Verifier};
use bazaar_platform::http::{Scaffold, app};
use bazaar_platform::metrics::Metrics;
use http::{HeaderMap, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

use crate::component::Harness;

/// One HTTP answer: status, headers and body: its JSON, the text when it is not JSON, `Null` when empty.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The answer of status and headers with `bytes` as its body.
    pub fn new(status: StatusCode, headers: HeaderMap, bytes: &[u8]) -> Answer {
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Reads an in-process response to the end.
    pub async fn read(response: Response) -> Answer {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("response body");
        Answer::new(status, headers, &bytes)
    }

    /// The `Content-Type` header, or "".
    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE.as_str())
            .unwrap_or_default()
    }

    /// A header's value, when present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The field errors of a problem document, as (field, message) pairs.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or_default().to_owned(),
                            e["message"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `router` behind the platform's HTTP scaffold (probes, metrics, request ids, body limit, edge checks) as
/// `bazaar serve` builds it, with a verifier that trusts no keys (components that check their own tokens,
/// like identity, do not need one).
pub async fn scaffold(router: Router, body_limit: usize) -> Router {
    let verifier = Verifier::from_config(&AuthConfig::default())
        .await
        .expect("verifier");
    scaffold_with(router, body_limit, Metrics::new(), Arc::new(verifier))
}

/// [`scaffold`] with the component's own metrics and verifier.
pub fn scaffold_with(
    router: Router,
    body_limit: usize,
    metrics: Metrics,
    verifier: Arc<Verifier>,
) -> Router {
    app(
        router,
        Scaffold {
            metrics,
            dependencies: Vec::new(),
            verifier,
            body_limit,
        },
    )
}

/// A request: bearer `token`, extra `headers`, and `body` as JSON when given.
pub fn request(
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = match body {
        Some(body) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(body.to_string())
        }
        None => Body::empty(),
    };
    request.body(body).expect("a well-formed request")
}

/// Sends `request` to `app` in-process, as if from `peer` (an IP address) when given.
pub async fn oneshot(app: &Router, mut request: Request<Body>, peer: Option<&str>) -> Response {
    if let Some(peer) = peer {
        let peer = SocketAddr::new(peer.parse().expect("peer IP address"), 50_000);
        request.extensions_mut().insert(ConnectInfo(peer));
    }
    app.clone().oneshot(request).await.expect("infallible")
}

/// The JSON body of an in-process response (`Null` when it is not JSON).
pub async fn json_of(response: Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("response body");
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

impl Harness {
    /// Calls the running components over HTTP: bearer `token`, extra `headers`, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("response body");
        Answer::new(status, headers, &bytes)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::GET, path, token, &[], None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::POST, path, token, &[], Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PUT, path, token, &[], Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.call(Method::PATCH, path, token, &[], Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Answer {
        self.call(Method::DELETE, path, token, &[], None).await
    }
}
