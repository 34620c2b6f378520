//! The edge every component is served behind: NUL characters are refused before a handler runs, a database
//! outage is a 503 with `Retry-After` (never a 500), and browsers on allowed origins get CORS headers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, Request, StatusCode, header};
use axum::routing::{get, post};
use bazaar_platform::auth::{AuthConfig, Verifier};
use bazaar_platform::edge::{CorsPolicy, with_cors};
use bazaar_platform::http::{Scaffold, app};
use bazaar_platform::metrics::Metrics;
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, Problem};
use serde::Deserialize;
use tower::ServiceExt;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Note {
    text: String,
    #[serde(default)]
    tags: Vec<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Search {
    q: Option<String>,
}

/// Counts the requests that reached a handler: a refused one never does.
#[derive(Clone, Default)]
struct Reached(Arc<AtomicUsize>);

async fn scaffolded(api: Router) -> Router {
    let verifier = Verifier::from_config(&AuthConfig::default())
        .await
        .expect("verifier");
    app(
        api,
        Scaffold {
            metrics: Metrics::new(),
            dependencies: Vec::new(),
            verifier: Arc::new(verifier),
            body_limit: 4096,
        },
    )
}

async fn notes_app() -> (Router, Reached) {
    let reached = Reached::default();
    let api = Router::new()
        .route(
            "/api/notes",
            post(
                |State(r): State<Reached>, ApiJson(_): ApiJson<Note>| async move {
                    r.0.fetch_add(1, Ordering::SeqCst);
                    StatusCode::CREATED
                },
            )
            .get(
                |State(r): State<Reached>, ApiQuery(_): ApiQuery<Search>| async move {
                    r.0.fetch_add(1, Ordering::SeqCst);
                    "[]"
                },
            ),
        )
        .route(
            "/api/notes/{slug}",
            get(
                |State(r): State<Reached>, ApiPath(slug): ApiPath<String>| async move {
                    r.0.fetch_add(1, Ordering::SeqCst);
                    slug
                },
            ),
        )
        .with_state(reached.clone());
    (scaffolded(api).await, reached)
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

fn post_note(body: &str) -> Request<Body> {
    Request::post("/api/notes")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .expect("request")
}

#[tokio::test]
async fn a_nul_in_any_string_of_a_json_body_is_a_422_naming_each_field_and_no_handler_runs() {
    let (app, reached) = notes_app().await;
    let response = app
        .oneshot(post_note(
            r#"{"text": "a\u0000b", "tags": ["ok", "\u0000"]}"#,
        ))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem = problem_of(response).await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["tags[1]", "text"], "{problem}");
    assert_eq!(reached.0.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_escaped_backslash_before_u0000_is_text_not_a_nul_and_passes() {
    let (app, reached) = notes_app().await;
    let response = app
        .oneshot(post_note(r#"{"text": "C:\\u0000"}"#))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(reached.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_nul_in_the_query_or_the_path_is_a_400_and_no_handler_runs() {
    let (app, reached) = notes_app().await;
    for (uri, kind) in [
        ("/api/notes?q=trail%00", "invalid-query"),
        ("/api/notes/trail%00runner", "invalid-path"),
        ("/api/nowhere%00", "invalid-path"),
    ] {
        let response = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{uri}");
        let problem = problem_of(response).await;
        assert_eq!(
            problem["type"],
            format!("https://bazaar.dev/problems/{kind}"),
            "{uri}"
        );
    }
    assert_eq!(reached.0.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_json_array_where_an_object_is_expected_is_a_422_and_no_handler_runs() {
    // serde reads a struct from an array as readily as from an object; the edge does not.
    let (app, reached) = notes_app().await;
    let response = app
        .oneshot(post_note(r#" ["a", []]"#))
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    problem_of(response).await;
    assert_eq!(reached.0.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_still_a_413_problem() {
    let (app, _) = notes_app().await;
    let huge = format!(r#"{{"text": "{}"}}"#, "x".repeat(8192));
    let response = app.oneshot(post_note(&huge)).await.expect("response");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    problem_of(response).await;
}

#[tokio::test]
async fn a_database_that_cannot_be_reached_is_a_503_with_retry_after_not_a_500() {
    // Nothing listens on port 1: every connection attempt is refused, as when PostgreSQL is down.
    let closed = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(300))
        .connect_lazy("postgres://nobody@127.0.0.1:1/none")
        .expect("lazy pool");
    let api = Router::new()
        .route(
            "/api/things",
            get(|State(pool): State<sqlx::PgPool>| async move {
                let one: i32 = sqlx::query_scalar("SELECT 1").fetch_one(&pool).await?;
                Ok::<_, Problem>(one.to_string())
            }),
        )
        .with_state(closed);
    let response = scaffolded(api)
        .await
        .oneshot(
            Request::get("/api/things")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key(header::RETRY_AFTER));
    problem_of(response).await;
}

#[test]
fn database_errors_that_mean_an_outage_are_503_and_others_500() {
    let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
    for outage in [refused, sqlx::Error::PoolTimedOut, sqlx::Error::PoolClosed] {
        let problem = Problem::from_db(&outage);
        assert_eq!(problem.status, 503, "{outage}");
        assert!(problem.retry_after_secs.is_some(), "{outage}");
    }
    assert_eq!(Problem::from_db(&sqlx::Error::RowNotFound).status, 500);
}

fn cors_app() -> Router {
    let api = Router::new().route("/api/things", get(|| async { "[]" }));
    with_cors(
        api,
        &CorsPolicy {
            origins: vec!["https://shop.example.com".parse().expect("origin")],
            max_age: Duration::from_secs(600),
        },
    )
}

#[tokio::test]
async fn an_allowed_origin_gets_cors_headers_with_credentials() {
    let response = cors_app()
        .oneshot(
            Request::get("/api/things")
                .header(header::ORIGIN, "https://shop.example.com")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let headers = response.headers();
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://shop.example.com"
    );
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
}

#[tokio::test]
async fn another_origin_gets_no_cors_headers() {
    let response = cors_app()
        .oneshot(
            Request::get("/api/things")
                .header(header::ORIGIN, "https://evil.example")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert!(
        !response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn a_preflight_is_answered_and_may_be_cached() {
    let response = cors_app()
        .oneshot(
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/things")
                .header(header::ORIGIN, "https://shop.example.com")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .header(
                    header::ACCESS_CONTROL_REQUEST_HEADERS,
                    "authorization, content-type, idempotency-key",
                )
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert!(response.status().is_success(), "{}", response.status());
    let headers = response.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "600");
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .expect("text");
    assert!(allowed.contains("idempotency-key"), "{allowed}");
}

#[tokio::test]
async fn without_origins_no_cors_header_is_ever_sent() {
    let api = Router::new().route("/api/things", get(|| async { "[]" }));
    let response = with_cors(api, &CorsPolicy::default())
        .oneshot(
            Request::get("/api/things")
                .header(header::ORIGIN, "https://shop.example.com")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    assert!(
        !response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}
