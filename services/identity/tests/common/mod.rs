//! The identity component started in-process against real PostgreSQL, driven through its HTTP router.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use base64::Engine as _;
use bazaar_identity::IdentityConfig;
use bazaar_platform::auth::{AuthConfig, Claims, TokenSigner, Verifier};
use bazaar_platform::component::{Context, Settings};
use bazaar_platform::config::KafkaConfig;
use bazaar_platform::db;
use bazaar_platform::http::{self, Scaffold};
use bazaar_platform::kafka::{Kafka, Outbox};
use bazaar_platform::metrics::Metrics;
use bazaar_testkit::TestEnv;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// A strong-enough password for the tests' accounts.
pub const PASSWORD: &str = "correct horse battery staple";

/// The address requests come from unless a test says otherwise.
pub const CLIENT: &str = "203.0.113.10";

/// Test settings: the defaults, except cheap Argon2 parameters (these tests are about behavior, not
/// hashing cost) and no clock leeway, so that expiry is exact.
pub fn config() -> IdentityConfig {
    IdentityConfig {
        argon2_memory_kib: 1024,
        argon2_iterations: 1,
        leeway_secs: 0,
        ..IdentityConfig::default()
    }
}

pub struct Identity {
    pub env: TestEnv,
    pub db: PgPool,
    pub app: Router,
    pub config: IdentityConfig,
    context: Context,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
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

    pub fn content_type(&self) -> &str {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl Identity {
    pub async fn start() -> Identity {
        Self::with_config(config()).await
    }

    pub async fn with_config(config: IdentityConfig) -> Identity {
        let env = TestEnv::start().await.expect("test infrastructure");
        let schema = env.schema("identity");
        let pool = db::pool("identity", &env.database_url, &schema, 5).expect("pool");
        db::migrate(&pool, &schema, bazaar_identity::COMPONENT.migrations)
            .await
            .expect("identity migrations");
        let kafka = Kafka::connect(
            &KafkaConfig {
                brokers: Some(env.kafka_brokers.clone()),
                topic_prefix: env.topic_prefix(),
                partitions: 1,
                max_attempts: 3,
                retry_backoff_ms: 20,
                outbox_poll_ms: 20,
            },
            "identity-test",
        )
        .expect("kafka client");
        // The platform's verifier, as `serve` builds it without a JWKS source: identity must not need
        // it, because it checks its own tokens against its own keys.
        let verifier = Arc::new(
            Verifier::from_config(&AuthConfig::default())
                .await
                .expect("verifier"),
        );
        let context = Context {
            name: "identity",
            db: pool.clone(),
            kafka,
            metrics: Metrics::new(),
            verifier,
            outbox: Outbox::new("identity"),
            shutdown: CancellationToken::new(),
            settings: Settings::clap_defaults(),
            local_url: "http://127.0.0.1:0".to_owned(),
        };
        let app = Self::build(&context, &config).await;
        Identity {
            env,
            db: pool,
            app,
            config,
            context,
        }
    }

    async fn build(context: &Context, config: &IdentityConfig) -> Router {
        let running = bazaar_identity::start_with(context.clone(), config.clone())
            .await
            .expect("identity starts");
        let (router, _openapi) = running.router.split_for_parts();
        http::app(
            router,
            Scaffold {
                metrics: context.metrics.clone(),
                dependencies: Vec::new(),
                verifier: context.verifier.clone(),
                body_limit: 1024 * 1024,
            },
        )
    }

    /// Another replica of the component on the same database, as a second pod would be.
    pub async fn replica(&self) -> Router {
        Self::build(&self.context, &self.config).await
    }

    /// Serves the component over real HTTP on a free local port; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = self.app.clone();
        let shutdown = self.context.shutdown.clone();
        tokio::spawn(http::serve(listener, app, shutdown, Duration::from_secs(1)));
        format!("http://{addr}")
    }

    pub async fn send_to(
        app: &Router,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        peer: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
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
        let mut request = request.body(body).expect("request");
        let peer: SocketAddr = SocketAddr::new(peer.parse().expect("peer ip"), 50_000);
        request.extensions_mut().insert(ConnectInfo(peer));
        let response = app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        Self::send_to(&self.app, method, path, body, token, CLIENT, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(body), None).await
    }

    pub async fn post_from(&self, peer: &str, path: &str, body: Value) -> Reply {
        Self::send_to(&self.app, Method::POST, path, Some(body), None, peer, &[]).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, None, Some(token)).await
    }

    /// Registers `email` and returns the response (201 expected).
    pub async fn register(&self, email: &str) -> Reply {
        let reply = self
            .post(
                "/api/auth/register",
                json!({"email": email, "password": PASSWORD, "name": "Ann Lee"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        reply
    }

    /// Registers `email`; returns (access token, refresh token, user id).
    pub async fn sign_up(&self, email: &str) -> (String, String, String) {
        let reply = self.register(email).await;
        (
            reply.body["session"]["accessToken"]
                .as_str()
                .expect("access token")
                .to_owned(),
            reply.body["session"]["refreshToken"]
                .as_str()
                .expect("refresh token")
                .to_owned(),
            reply.body["user"]["id"].as_str().expect("id").to_owned(),
        )
    }

    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post(
            "/api/auth/login",
            json!({"email": email, "password": password}),
        )
        .await
    }

    /// Creates an admin through the command-line path and signs in; returns the access token.
    pub async fn admin_token(&self, email: &str) -> String {
        bazaar_identity::admin::create_admin(&self.db, &self.config, email, "Root", || {
            Ok(PASSWORD.to_owned())
        })
        .await
        .expect("admin created");
        let reply = self.login(email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body["accessToken"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Rows in `table` of this test's identity schema.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(&self.db)
            .await
            .expect("count")
    }

    /// The key that signs now, read from the schema, to forge tokens identity itself could have made.
    pub async fn active_signer(&self) -> TokenSigner {
        let (kid, pem): (String, String) = sqlx::query_as(
            "SELECT kid, private_key_pem FROM signing_keys WHERE retired_at IS NULL",
        )
        .fetch_one(&self.db)
        .await
        .expect("an active key");
        TokenSigner::from_pkcs8_pem(&pem)
            .expect("PEM")
            .with_kid(kid)
    }

    pub async fn cleanup(self) {
        self.context.shutdown.cancel();
        self.env.cleanup().await;
    }
}

/// The claims of a JWT, read without verifying (the tests verify separately).
pub fn claims_of(token: &str) -> Claims {
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("claims")
}
