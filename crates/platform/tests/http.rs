//! What every Bazaar API does with bad input and with the plumbing around a handler: clear problem+json
//! 4xx answers, a body limit, request ids, and a 500 problem (not a dropped connection) when a handler panics.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::{get, post};
use bazaar_platform::auth::{AuthConfig, Verifier};
use bazaar_platform::http::{REQUEST_ID, Scaffold, app};
use bazaar_platform::metrics::Metrics;
use bazaar_platform::{ApiJson, Problem};
use serde::Deserialize;
use tower::ServiceExt;

#[derive(Deserialize)]
struct NewLine {
    #[allow(dead_code)]
    sku: String,
    quantity: u32,
}

async fn add_line(ApiJson(line): ApiJson<NewLine>) -> Result<String, Problem> {
    if line.quantity == 0 {
        return Err(Problem::validation(vec![bazaar_platform::FieldError {
            field: "quantity".into(),
            message: "must be at least 1".into(),
        }]));
    }
    Ok(format!("{} added", line.quantity))
}

async fn test_app() -> (Router, Metrics) {
    let metrics = Metrics::new();
    let verifier = Verifier::from_config(&AuthConfig::default())
        .await
        .expect("verifier");
    let api = Router::new()
        .route("/api/test/lines", post(add_line))
        .route(
            "/api/test/panic",
            get(|| async { panic!("boom") as &'static str }),
        );
    let scaffold = Scaffold {
        metrics: metrics.clone(),
        dependencies: Vec::new(),
        verifier: Arc::new(verifier),
        body_limit: 1024,
    };
    (app(api, scaffold), metrics)
}

fn post_json(body: impl Into<Body>) -> Request<Body> {
    Request::post("/api/test/lines")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .expect("request")
}

async fn problem_of(response: axum::response::Response) -> serde_json::Value {
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("problem json")
}

#[tokio::test]
async fn malformed_json_is_a_400_problem_saying_what_is_wrong() {
    let (app, _) = test_app().await;
    let response = app
        .oneshot(post_json("{\"sku\": "))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let problem = problem_of(response).await;
    assert_eq!(problem["status"], 400);
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("parse"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_body_of_the_wrong_shape_is_a_422_problem_naming_the_field() {
    let (app, _) = test_app().await;
    let response = app
        .oneshot(post_json(r#"{"sku": "TR-42", "quantity": -1}"#))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = problem_of(response).await;
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("quantity"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_rule_broken_is_a_422_problem_with_field_errors() {
    let (app, _) = test_app().await;
    let response = app
        .oneshot(post_json(r#"{"sku": "TR-42", "quantity": 0}"#))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = problem_of(response).await;
    assert_eq!(problem["errors"][0]["field"], "quantity");
    assert_eq!(problem["errors"][0]["message"], "must be at least 1");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_415_problem() {
    let (app, _) = test_app().await;
    let request = Request::post("/api/test/lines")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("hello"))
        .expect("request");
    let response = app.oneshot(request).await.expect("response");
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    problem_of(response).await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_problem() {
    let (app, _) = test_app().await;
    let huge = format!(r#"{{"sku": "{}", "quantity": 1}}"#, "x".repeat(4096));
    let response = app.oneshot(post_json(huge)).await.expect("response");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    problem_of(response).await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems_too() {
    let (app, _) = test_app().await;
    let missing = app
        .clone()
        .oneshot(
            Request::get("/api/nowhere")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    problem_of(missing).await;

    let wrong_method = app
        .oneshot(
            Request::delete("/api/test/lines")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    problem_of(wrong_method).await;
}

#[tokio::test]
async fn a_panicking_handler_answers_a_500_problem_and_the_server_goes_on() {
    let (app, _) = test_app().await;
    let response = app
        .clone()
        .oneshot(
            Request::get("/api/test/panic")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let problem = problem_of(response).await;
    assert!(
        !problem.to_string().contains("boom"),
        "internals stay in the log"
    );

    let next = app
        .oneshot(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(next.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_callers_own_is_kept() {
    let (app, _) = test_app().await;
    let generated = app
        .clone()
        .oneshot(
            Request::get("/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let id = generated.headers()[&REQUEST_ID].to_str().expect("ascii");
    assert_eq!(id.len(), 36, "a UUID: {id}");

    let given = app
        .oneshot(
            Request::get("/healthz")
                .header(&REQUEST_ID, "checkout-123")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(given.headers()[&REQUEST_ID], "checkout-123");
}

#[tokio::test]
async fn red_metrics_count_requests_by_route_and_status_and_time_them() {
    let (app, metrics) = test_app().await;
    for body in [
        r#"{"sku": "A", "quantity": 1}"#,
        r#"{"sku": "A", "quantity": 0}"#,
    ] {
        app.clone()
            .oneshot(post_json(body))
            .await
            .expect("response");
    }
    let ok = metrics
        .http_requests
        .with_label_values(&["POST", "/api/test/lines", "200"])
        .get();
    let invalid = metrics
        .http_requests
        .with_label_values(&["POST", "/api/test/lines", "422"])
        .get();
    assert_eq!((ok, invalid), (1, 1));
    let timed = metrics
        .http_duration
        .with_label_values(&["POST", "/api/test/lines"])
        .get_sample_count();
    assert_eq!(timed, 2);
}

#[tokio::test]
async fn readyz_records_each_dependency_as_up_or_down_for_alerting() {
    let metrics = Metrics::new();
    let verifier = Verifier::from_config(&AuthConfig::default())
        .await
        .expect("verifier");
    // Nothing listens on port 1: the check fails (connection refused) and the gauge says so.
    let unreachable = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .expect("lazy pool");
    let scaffold = Scaffold {
        metrics: metrics.clone(),
        dependencies: vec![bazaar_platform::http::Dependency::Postgres {
            component: "order".into(),
            pool: unreachable,
        }],
        verifier: Arc::new(verifier),
        body_limit: 1024,
    };
    let response = app(Router::new(), scaffold)
        .oneshot(
            Request::get("/readyz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = metrics.render();
    assert!(
        text.contains(r#"bazaar_dependency_up{dependency="postgres:order"} 0"#),
        "{text}"
    );
    assert!(
        text.contains("bazaar_process_start_time_seconds "),
        "restarts are visible: {text}"
    );
}
