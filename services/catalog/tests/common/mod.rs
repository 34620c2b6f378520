//! The harness of the catalog's integration tests: a migrated catalog schema of its own in the shared
//! PostgreSQL, the API in-process behind the platform's HTTP scaffold, and the example shop.

#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use bazaar_catalog::routes::{self, CatalogState};
use bazaar_catalog::{COMPONENT, seed, write};
use bazaar_platform::auth::{AuthConfig, Verifier};
use bazaar_platform::db;
use bazaar_platform::http::{Scaffold, app};
use bazaar_platform::kafka::Outbox;
use bazaar_platform::metrics::Metrics;
use bazaar_testkit::TestEnv;
use sqlx::PgPool;
use tower::ServiceExt;

pub struct Rig {
    pub env: TestEnv,
    pub pool: PgPool,
    pub outbox: Outbox,
    pub state: CatalogState,
    pub app: Router,
}

impl Rig {
    /// An empty, migrated catalog.
    pub async fn empty() -> Rig {
        let env = TestEnv::start().await.expect("test infrastructure");
        let schema = env.schema("catalog");
        let pool = db::pool("catalog", &env.database_url, &schema, 5).expect("pool");
        db::migrate(&pool, &schema, COMPONENT.migrations)
            .await
            .expect("catalog migrations");
        let state = CatalogState::new(pool.clone());
        let (router, _openapi) = routes::router(state.clone()).split_for_parts();
        let verifier = Verifier::from_config(&AuthConfig::default())
            .await
            .expect("verifier");
        let app = app(
            router,
            Scaffold {
                metrics: Metrics::new(),
                dependencies: Vec::new(),
                verifier: Arc::new(verifier),
                body_limit: 64 * 1024,
            },
        );
        Rig {
            env,
            pool,
            outbox: write::outbox(),
            state,
            app,
        }
    }

    /// The example shop, loaded through the write module.
    pub async fn seeded() -> Rig {
        let rig = Rig::empty().await;
        let mut tx = rig.pool.begin().await.expect("begin");
        seed::load(&mut tx, &rig.outbox, &seed::shop("shop"))
            .await
            .expect("seed");
        tx.commit().await.expect("commit");
        rig
    }

    pub async fn send(&self, request: Request<Body>) -> Response {
        self.app.clone().oneshot(request).await.expect("response")
    }

    pub async fn get(&self, uri: &str) -> Response {
        self.send(Request::get(uri).body(Body::empty()).expect("request"))
            .await
    }

    /// GETs `uri` and returns its JSON body, asserting a 200.
    pub async fn get_json(&self, uri: &str) -> serde_json::Value {
        let response = self.get(uri).await;
        let status = response.status();
        let body = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
        body
    }

    pub async fn post_json(&self, uri: &str, body: &serde_json::Value) -> Response {
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .expect("request"),
        )
        .await
    }

    /// Catalog events in the outbox, as (type, key).
    pub async fn events(&self) -> Vec<(String, String)> {
        sqlx::query_as("SELECT event_type, message_key FROM outbox ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .expect("outbox")
    }

    pub async fn cleanup(self) {
        self.pool.close().await;
        self.env.cleanup().await;
    }
}

pub async fn json_of(response: Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

/// The slugs of a product page, in order.
pub fn slugs(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["slug"].as_str().expect("slug").to_owned())
        .collect()
}
