//! The identity suite's adapter to the shared harness (`bazaar_testkit`): the identity component started
//! in-process against real PostgreSQL, driven through its HTTP router (identity checks its own tokens, so
//! it needs no test issuer), with the calls its tests make.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use bazaar_identity::IdentityConfig;
use bazaar_platform::auth::{AuthConfig, Claims, TokenSigner, Verifier};
use bazaar_platform::component::{ComponentSpec, Context, Settings};
use bazaar_platform::config::KafkaConfig;
use bazaar_platform::db;
use bazaar_platform::http;
use bazaar_platform::kafka::{Kafka, Outbox};
use bazaar_platform::metrics::Metrics;
pub use bazaar_testkit::Answer as Reply;
use bazaar_testkit::{Subject, TestEnv};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// A strong-enough password for the tests' accounts.
pub const PASSWORD: &str = "correct horse battery staple";

/// The address requests come from unless a test says otherwise.
pub const CLIENT: &str = "203.0.113.10";

/// The identity component, as the harness's subject. Its test settings: clap's defaults, except cheap
/// Argon2 parameters (these tests are about behavior, not hashing cost) and no clock leeway, so that expiry
/// is exact.
pub struct IdentityComponent;

impl Subject for IdentityComponent {
    type Config = IdentityConfig;
    fn spec() -> &'static ComponentSpec {
        &bazaar_identity::COMPONENT
    }
    fn test_config(defaults: IdentityConfig) -> IdentityConfig {
        IdentityConfig {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            leeway_secs: 0,
            ..defaults
        }
    }
}

/// The suite's settings ([`IdentityComponent::test_config`]).
pub fn config() -> IdentityConfig {
    IdentityComponent::config()
}

pub struct Identity {
    pub env: TestEnv,
    pub db: PgPool,
    pub app: Router,
    pub config: IdentityConfig,
    context: Context,
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
        bazaar_testkit::http::scaffold_with(
            router,
            1024 * 1024,
            context.metrics.clone(),
            context.verifier.clone(),
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
        let request = bazaar_testkit::http::request(method, path, token, headers, body.as_ref());
        let response = bazaar_testkit::http::oneshot(app, request, Some(peer)).await;
        Reply::read(response).await
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
