//! Sign-in and registration are rate limited per client address and per account, across replicas,
//! and a refused request says when to retry.

mod common;

use axum::http::{Method, StatusCode};
use bazaar_identity::IdentityConfig;
use common::{Identity, PASSWORD, config};
use serde_json::json;

fn limited() -> IdentityConfig {
    IdentityConfig {
        login_limit_per_account: 3,
        login_limit_per_client: 5,
        register_limit_per_client: 2,
        rate_limit_window_secs: 600,
        trusted_proxies: vec!["10.0.0.0/8".parse().expect("net")],
        ..config()
    }
}

fn retry_after(reply: &common::Reply) -> u64 {
    reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After header in seconds")
}

#[tokio::test]
async fn an_account_gets_few_attempts_from_anywhere_then_must_wait() {
    let identity = Identity::with_config(limited()).await;
    identity.register("ann@example.com").await;
    let attempt = |peer: &'static str, password: &'static str| {
        identity.post_from(
            peer,
            "/api/auth/login",
            json!({"email": "ann@example.com", "password": password}),
        )
    };
    assert_eq!(
        attempt("198.51.100.1", "guess number one").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt("198.51.100.2", "guess number two").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        attempt("198.51.100.3", "guess number three").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Even the right password, from a fresh address, waits now.
    let refused = attempt("198.51.100.4", PASSWORD).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.content_type(), "application/problem+json");
    let wait = retry_after(&refused);
    assert!((1..=600).contains(&wait), "Retry-After: {wait}");

    // Other accounts are not affected.
    identity.register("bob@example.com").await;
    assert_eq!(
        identity.login("bob@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    identity.cleanup().await;
}

#[tokio::test]
async fn a_client_gets_few_attempts_across_accounts() {
    let identity = Identity::with_config(limited()).await;
    for n in 0..5 {
        let reply = identity
            .post_from(
                "198.51.100.7",
                "/api/auth/login",
                json!({"email": format!("user{n}@example.com"), "password": "whatever it is"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "attempt {n}");
    }
    let refused = identity
        .post_from(
            "198.51.100.7",
            "/api/auth/login",
            json!({"email": "user9@example.com", "password": "whatever it is"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&refused) >= 1);
    let elsewhere = identity
        .post_from(
            "198.51.100.8",
            "/api/auth/login",
            json!({"email": "user9@example.com", "password": "whatever it is"}),
        )
        .await;
    assert_eq!(elsewhere.status, StatusCode::UNAUTHORIZED);
    identity.cleanup().await;
}

#[tokio::test]
async fn the_limits_hold_across_replicas() {
    let identity = Identity::with_config(limited()).await;
    let replica = identity.replica().await;
    let body = json!({"email": "ann@example.com", "password": "not the password"});
    for app in [&identity.app, &replica, &identity.app] {
        let reply = Identity::send_to(
            app,
            Method::POST,
            "/api/auth/login",
            Some(body.clone()),
            None,
            "198.51.100.1",
            &[],
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let refused = Identity::send_to(
        &replica,
        Method::POST,
        "/api/auth/login",
        Some(body),
        None,
        "198.51.100.1",
        &[],
    )
    .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    identity.cleanup().await;
}

#[tokio::test]
async fn registration_is_limited_per_client() {
    let identity = Identity::with_config(limited()).await;
    identity.register("a@example.com").await;
    identity.register("b@example.com").await;
    let refused = identity
        .post(
            "/api/auth/register",
            json!({"email": "c@example.com", "password": PASSWORD, "name": "C"}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after(&refused) >= 1);
    assert_eq!(
        identity.count("users").await,
        2,
        "the refused registration wrote nothing"
    );
    identity.cleanup().await;
}

#[tokio::test]
async fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
    let identity = Identity::with_config(limited()).await;
    identity.register("a@example.com").await;
    identity.register("b@example.com").await;
    let register = |peer: &'static str, forwarded: String, email: &'static str| {
        let app = identity.app.clone();
        async move {
            Identity::send_to(
                &app,
                Method::POST,
                "/api/auth/register",
                Some(json!({"email": email, "password": PASSWORD, "name": "N"})),
                None,
                peer,
                &[("x-forwarded-for", forwarded.as_str())],
            )
            .await
            .status
        }
    };
    // The test client (203.0.113.10) has used its allowance; claiming another address does not help.
    assert_eq!(
        register("203.0.113.10", "192.0.2.1".into(), "c@example.com").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Through the trusted ingress, each shopper has their own allowance.
    assert_eq!(
        register("10.0.0.5", "192.0.2.1".into(), "c@example.com").await,
        StatusCode::CREATED
    );
    assert_eq!(
        register("10.0.0.5", "192.0.2.2".into(), "d@example.com").await,
        StatusCode::CREATED
    );
    identity.cleanup().await;
}
