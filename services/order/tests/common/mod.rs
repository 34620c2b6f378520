//! A shop running for real in this test process: components served over HTTP on 127.0.0.1 with real
//! PostgreSQL and Kafka, tokens from a test issuer, and the catalog seeded through its write module.

#![allow(dead_code)]

use std::time::Duration;

use bazaar_platform::auth::{Role, TestIssuer};
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::{ServeConfig, Spawned, spawn};
use bazaar_testkit::TestEnv;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sqlx::PgPool;

pub struct Shop {
    pub env: TestEnv,
    pub running: Spawned,
    pub issuer: TestIssuer,
    pub http: reqwest::Client,
    jwks_path: std::path::PathBuf,
}

/// One HTTP answer: status, headers and JSON body (Null when there is none).
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Shop {
    /// Serves `components` with the example merchandise loaded into the catalog.
    pub async fn open(components: &[&'static ComponentSpec]) -> Shop {
        Self::open_with(components, |config| config).await
    }

    pub async fn open_with(
        components: &[&'static ComponentSpec],
        configure: impl FnOnce(ServeConfig) -> ServeConfig,
    ) -> Shop {
        let env = TestEnv::start().await.expect("test infrastructure");
        let issuer = TestIssuer::new();
        let jwks_path = std::env::temp_dir().join(format!("bazaar-{}-jwks.json", env.id));
        let auth = issuer.trusted_through_file(&jwks_path);
        let config = configure(ServeConfig::local(
            &env.database_url,
            &env.kafka_brokers,
            &env.id,
            auth,
        ));
        let running = spawn(components, config).await.expect("components start");
        let shop = Shop {
            env,
            running,
            issuer,
            http: reqwest::Client::new(),
            jwks_path,
        };
        shop.seed_catalog().await;
        shop
    }

    pub fn pool(&self, component: &str) -> PgPool {
        bazaar_platform::db::pool(
            component,
            &self.env.database_url,
            &format!("{}_{component}", self.env.id),
            3,
        )
        .expect("pool")
    }

    async fn seed_catalog(&self) {
        let pool = self.pool("catalog");
        let mut tx = pool.begin().await.expect("begin");
        bazaar_catalog::seed::load(
            &mut tx,
            &bazaar_catalog::write::outbox(),
            &bazaar_catalog::seed::shop("shop"),
        )
        .await
        .expect("seed");
        tx.commit().await.expect("commit");
    }

    /// A token for a shopper (or staff) with this id.
    pub fn token(&self, user: &str, roles: &[Role]) -> String {
        let mut claims = self.issuer.claims(user, roles);
        claims.email = Some(format!("{user}@example.test"));
        self.issuer.issue_with(&claims)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.running.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Answer {
        self.call(Method::GET, path, token, headers, None).await
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Value,
    ) -> Answer {
        self.call(Method::POST, path, token, headers, Some(body))
            .await
    }

    pub async fn close(self) {
        let _ = self.running.stop().await;
        let _ = std::fs::remove_file(&self.jwks_path);
        self.env.cleanup().await;
    }
}

/// Polls `f` until it returns Some, for at most a minute.
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    bazaar_testkit::wait_for(Duration::from_secs(60), what, f)
        .await
        .expect(what)
}

/// The amount of a Money JSON value.
pub fn amount(money: &Value) -> &str {
    money["amount"].as_str().unwrap_or("?")
}
