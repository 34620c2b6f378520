//! A mock Kubernetes API server that expects exact requests, in order (the `tower-test` pattern).

#![allow(dead_code)]

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

pub struct ApiServer(Handle);

/// A client talking to a new mock server.
pub fn mock_api() -> (Client, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServer(handle))
}

impl ApiServer {
    /// Takes the next request, asserts its method and path, answers 200 with `response`, and returns the
    /// body the operator sent.
    pub async fn expect(&mut self, method: Method, path: &str, response: Value) -> Value {
        self.expect_with_status(method, path, StatusCode::OK, response)
            .await
    }

    /// Like [`expect`](Self::expect), answering with `status`.
    pub async fn expect_with_status(
        &mut self,
        method: Method,
        path: &str,
        status: StatusCode,
        response: Value,
    ) -> Value {
        let (request, send) = tokio::time::timeout(Duration::from_secs(5), self.0.next_request())
            .await
            .unwrap_or_else(|_| panic!("expected {method} {path}, but no request came"))
            .expect("the client is alive");
        assert_eq!(
            (request.method(), request.uri().path()),
            (&method, path),
            "unexpected request"
        );
        let bytes = request
            .into_body()
            .collect_bytes()
            .await
            .expect("request body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON request body")
        };
        send.send_response(
            Response::builder()
                .status(status)
                .body(Body::from(serde_json::to_vec(&response).expect("JSON")))
                .expect("response"),
        );
        body
    }
}

/// The `Status` body the API server answers an error with.
pub fn status_body(code: u16, reason: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Status", "status": "Failure",
        "message": format!("{reason} (mock)"), "reason": reason, "code": code,
    })
}
