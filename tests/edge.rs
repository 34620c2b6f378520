//! The edge every component is served behind, checked on each component's own routes: a NUL character
//! in a path, a query string or any string of a JSON body is refused with a 4xx problem and nothing is
//! stored; while PostgreSQL is down every component answers 503 with `Retry-After`, never 500; browsers on
//! an allowed origin get CORS headers from every component.

use bazaar_devenv::LocalPostgres;
use bazaar_platform::auth::{Role, TestIssuer};
use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::{ServeConfig, Spawned, spawn};
use bazaar_testkit::TestEnv;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const EVERY_COMPONENT: [&ComponentSpec; 6] = [
    &bazaar_catalog::COMPONENT,
    &bazaar_identity::COMPONENT,
    &bazaar_order::COMPONENT,
    &bazaar_inventory::COMPONENT,
    &bazaar_payment::COMPONENT,
    &bazaar_notification::COMPONENT,
];

struct Shop {
    running: Spawned,
    issuer: TestIssuer,
    http: reqwest::Client,
}

impl Shop {
    async fn open(
        database_url: &str,
        env: &TestEnv,
        configure: impl FnOnce(ServeConfig) -> ServeConfig,
    ) -> Shop {
        let issuer = TestIssuer::new();
        let jwks = std::env::temp_dir().join(format!("bazaar-{}-edge-jwks.json", env.id));
        let config = configure(ServeConfig::local(
            database_url,
            &env.kafka_brokers,
            &env.id,
            issuer.trusted_through_file(&jwks),
        ));
        let running = spawn(&EVERY_COMPONENT, config)
            .await
            .expect("components start");
        Shop {
            running,
            issuer,
            http: reqwest::Client::new(),
        }
    }

    /// A token with every role, so that authorization never decides the answer.
    fn token(&self) -> String {
        let mut claims = self.issuer.claims(
            "edge-user",
            &[Role::Customer, Role::Merchandiser, Role::Ops, Role::Admin],
        );
        claims.email = Some("edge-user@example.test".to_owned());
        self.issuer.issue_with(&claims)
    }

    /// Sends a raw path (so that `%00` arrives as written) with an optional raw JSON text.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.running.base_url))
            .bearer_auth(self.token())
            .header("idempotency-key", "edge-nul-checkout");
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_owned());
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        )
    }
}

/// A request and what must come back: component, method, path, raw JSON body, status, a field the problem
/// must name (empty: none).
type Case = (
    &'static str,
    Method,
    String,
    Option<String>,
    u16,
    &'static str,
);

async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("count")
}

#[tokio::test]
async fn a_nul_character_is_refused_by_every_component_before_anything_is_stored() {
    let env = TestEnv::start().await.expect("infrastructure");
    let shop = Shop::open(&env.database_url.clone(), &env, |config| config).await;
    let address = |line1: &str| {
        json!({"name": "Sam", "line1": line1, "city": "San Francisco", "region": "CA",
               "postalCode": "94105", "country": "US"})
    };
    let nul = "\\u0000";
    let checkout = json!({
        "lines": [{"sku": "TR-42-BLK", "quantity": 1}],
        "shippingAddress": address("1 Market St"), "shippingMethod": "standard",
        "paymentToken": "tok_visa", "email": "sam@example.com", "couponCode": "SUMMER20"
    })
    .to_string();
    let cases: Vec<Case> = vec![
        (
            "catalog",
            Method::GET,
            "/api/catalog/products?q=trail%00".into(),
            None,
            400,
            "",
        ),
        (
            "catalog",
            Method::GET,
            "/api/catalog/products/trail%00runner".into(),
            None,
            400,
            "",
        ),
        (
            "catalog",
            Method::POST,
            "/api/catalog/quote".into(),
            Some(format!(
                r#"{{"currency": "USD", "lines": [{{"sku": "TR-42-BLK", "quantity": 1}}], "couponCode": "SUMMER{nul}"}}"#
            )),
            422,
            "couponCode",
        ),
        (
            "identity",
            Method::POST,
            "/api/auth/register".into(),
            Some(format!(
                r#"{{"email": "nul{nul}@example.com", "password": "correct horse battery", "name": "Nul"}}"#
            )),
            422,
            "email",
        ),
        (
            "order",
            Method::POST,
            "/api/cart/lines".into(),
            Some(format!(r#"{{"sku": "TR-42-BLK{nul}", "quantity": 1}}"#)),
            422,
            "sku",
        ),
        (
            "order",
            Method::PUT,
            "/api/cart/coupon".into(),
            Some(format!(r#"{{"code": "SUMMER{nul}"}}"#)),
            422,
            "code",
        ),
        (
            "order",
            Method::POST,
            "/api/checkout".into(),
            Some(checkout.replace("1 Market St", &format!("1 Market{nul} St"))),
            422,
            "shippingAddress.line1",
        ),
        (
            "order",
            Method::POST,
            "/api/checkout".into(),
            Some(checkout.replace("tok_visa", &format!("tok{nul}"))),
            422,
            "paymentToken",
        ),
        (
            "order",
            Method::POST,
            "/api/checkout".into(),
            Some(checkout.replace("sam@example.com", &format!("sam{nul}@example.com"))),
            422,
            "email",
        ),
        (
            "order",
            Method::GET,
            "/api/orders?limit=%00".into(),
            None,
            400,
            "",
        ),
        (
            "inventory",
            Method::POST,
            "/api/inventory/stock/TR-42-BLK/shop/warehouse/adjustments".into(),
            Some(format!(r#"{{"delta": 1, "reason": "found{nul}"}}"#)),
            422,
            "reason",
        ),
        (
            "inventory",
            Method::GET,
            "/api/inventory/availability/TR%0042".into(),
            None,
            400,
            "",
        ),
        (
            "payment",
            Method::GET,
            "/api/payments?orderId=%00".into(),
            None,
            400,
            "",
        ),
        (
            "notification",
            Method::GET,
            "/api/notifications/deliveries?recipient=%00".into(),
            None,
            400,
            "",
        ),
    ];
    for (component, method, path, body, status, field) in cases {
        let (answer, headers, problem) = shop.send(method.clone(), &path, body.as_deref()).await;
        assert_eq!(
            answer.as_u16(),
            status,
            "{component} {method} {path}: {problem}"
        );
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{component} {path}"
        );
        if !field.is_empty() {
            let fields: Vec<&str> = problem["errors"]
                .as_array()
                .map(|e| e.iter().filter_map(|e| e["field"].as_str()).collect())
                .unwrap_or_default();
            assert!(fields.contains(&field), "{component} {path}: {problem}");
        }
    }

    let pool = |component: &str| {
        bazaar_platform::db::pool(
            component,
            &env.database_url,
            &format!("{}_{component}", env.id),
            2,
        )
        .expect("pool")
    };
    let (identity, order, inventory) = (pool("identity"), pool("order"), pool("inventory"));
    assert_eq!(count(&identity, "users").await, 0, "no account");
    for table in ["orders", "cart_lines", "checkout_keys"] {
        assert_eq!(count(&order, table).await, 0, "nothing in order.{table}");
    }
    assert_eq!(
        count(&inventory, "adjustments").await,
        0,
        "no stock adjustment"
    );
    shop.running.stop().await.expect("stops");
    env.cleanup().await;
}

#[tokio::test]
async fn while_postgres_is_down_every_component_answers_503_with_retry_after() {
    let env = TestEnv::start().await.expect("infrastructure");
    let mut postgres = LocalPostgres::start()
        .await
        .expect("a PostgreSQL of our own to stop");
    let shop = Shop::open(&postgres.url(), &env, |mut config| {
        // Quick to give up on a connection, so that the test is quick too.
        config.db.acquire_timeout_ms = 500;
        config
    })
    .await;
    postgres.stop().await.expect("stop postgres");

    let checkout = json!({
        "lines": [{"sku": "TR-42-BLK", "quantity": 1}],
        "shippingAddress": {"name": "Sam", "line1": "1 Market St", "city": "San Francisco", "region": "CA",
                            "postalCode": "94105", "country": "US"},
        "shippingMethod": "standard", "paymentToken": "tok_visa"
    })
    .to_string();
    let login = r#"{"email": "sam@example.com", "password": "correct horse battery"}"#;
    let cases: [(Method, &str, Option<&str>); 9] = [
        (Method::GET, "/api/catalog/products", None),
        (Method::GET, "/api/users/me", None),
        (Method::POST, "/api/auth/login", Some(login)),
        (Method::GET, "/api/cart", None),
        (Method::POST, "/api/checkout", Some(checkout.as_str())),
        (Method::GET, "/api/orders", None),
        (Method::GET, "/api/inventory/availability/TR-42-BLK", None),
        (Method::GET, "/api/payments", None),
        (Method::GET, "/api/notifications/deliveries", None),
    ];
    for (method, path, body) in cases {
        let (status, headers, problem) = shop.send(method.clone(), path, body).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}: {problem}"
        );
        assert!(headers.contains_key("retry-after"), "{method} {path}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{method} {path}"
        );
    }
    drop(shop);
    postgres.shutdown().await;
}

#[tokio::test]
async fn browsers_on_an_allowed_origin_get_cors_headers_from_every_component() {
    let env = TestEnv::start().await.expect("infrastructure");
    let shop = Shop::open(&env.database_url.clone(), &env, |mut config| {
        config.http.cors_origins = vec!["https://shop.example.com".to_owned()];
        config
    })
    .await;
    for path in [
        "/api/catalog/products",
        "/api/users/me",
        "/api/cart",
        "/api/inventory/availability/TR-42-BLK",
        "/api/payments",
        "/api/notifications/deliveries",
    ] {
        for (origin, allowed) in [
            ("https://shop.example.com", true),
            ("https://evil.example", false),
        ] {
            let preflight = shop
                .http
                .request(Method::OPTIONS, format!("{}{path}", shop.running.base_url))
                .header("origin", origin)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .send()
                .await
                .expect("preflight");
            let headers = preflight.headers();
            assert_eq!(
                headers.contains_key("access-control-allow-origin"),
                allowed,
                "{path} {origin}"
            );
            if allowed {
                assert_eq!(
                    headers["access-control-allow-credentials"], "true",
                    "{path}"
                );
                assert_eq!(headers["access-control-max-age"], "600", "{path}");
            }
        }
    }
    shop.running.stop().await.expect("stops");
    env.cleanup().await;
}
