//! The catalog suite's adapter to the shared harness (`bazaar_testkit`): a migrated catalog schema of its
//! own in the shared PostgreSQL, the API in-process behind the platform's HTTP scaffold, and the example
//! shop; and the catalog as the harness's subject, for tests that run it for real.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use bazaar_catalog::routes::{self, CatalogState};
use bazaar_catalog::{COMPONENT, seed, write};
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::db;
use bazaar_platform::kafka::Outbox;
pub use bazaar_testkit::http::json_of;
use bazaar_testkit::{NoSettings, Subject, TestEnv};
use sqlx::PgPool;

/// The catalog component, as the harness's subject.
pub struct Catalog;

impl Subject for Catalog {
    type Config = NoSettings;
    fn spec() -> &'static ComponentSpec {
        &COMPONENT
    }
}

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
        let app = bazaar_testkit::http::scaffold(router, 64 * 1024).await;
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
        bazaar_testkit::http::oneshot(&self.app, request, None).await
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
        bazaar_testkit::outbox::all(&self.pool).await
    }

    pub async fn cleanup(self) {
        self.pool.close().await;
        self.env.cleanup().await;
    }
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
