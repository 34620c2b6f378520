//! Refresh tokens: used once, rotated on use, and a reused one ends the whole session.

mod common;

use axum::http::StatusCode;
use common::{Identity, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn each_refresh_replaces_the_refresh_token() {
    let identity = Identity::start().await;
    let (_, first, _) = identity.sign_up("ann@example.com").await;

    let second = identity
        .post("/api/auth/refresh", json!({"refreshToken": first}))
        .await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let second_refresh = second.body["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    assert_ne!(second_refresh, first);
    let access = second.body["accessToken"].as_str().expect("access");
    assert_eq!(
        identity.get("/api/users/me", access).await.status,
        StatusCode::OK
    );

    let third = identity
        .post("/api/auth/refresh", json!({"refreshToken": second_refresh}))
        .await;
    assert_eq!(third.status, StatusCode::OK);

    // Stored hashed: no row holds the token itself.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%'",
    )
    .bind(&first)
    .fetch_one(&identity.db)
    .await
    .expect("query");
    assert_eq!(stored, 0);
    identity.cleanup().await;
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_its_whole_family_but_not_other_sessions() {
    let identity = Identity::start().await;
    let (_, stolen, _) = identity.sign_up("ann@example.com").await;
    let laptop = identity.login("ann@example.com", PASSWORD).await;
    let laptop_refresh = laptop.body["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();

    // The legitimate client refreshes; later the thief replays the old token.
    let rotated = identity
        .post("/api/auth/refresh", json!({"refreshToken": stolen}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let current = rotated.body["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let replay = identity
        .post("/api/auth/refresh", json!({"refreshToken": stolen}))
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.content_type(), "application/problem+json");
    let metrics = identity
        .request(axum::http::Method::GET, "/metrics", None, None)
        .await;
    assert!(
        metrics
            .body
            .as_str()
            .unwrap_or_default()
            .contains("bazaar_identity_refresh_token_reuse_total 1\n"),
        "the reuse is counted for alerting: {}",
        metrics.body
    );

    // The whole family is gone, including the token the legitimate client holds.
    let victim = identity
        .post("/api/auth/refresh", json!({"refreshToken": current}))
        .await;
    assert_eq!(victim.status, StatusCode::UNAUTHORIZED);
    let live: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens t JOIN refresh_tokens s ON s.family_id = t.family_id
         WHERE t.token_hash = sha256(convert_to($1, 'UTF8')) AND s.revoked_at IS NULL",
    )
    .bind(&stolen)
    .fetch_one(&identity.db)
    .await
    .expect("query");
    assert_eq!(live, 0);

    // The session signed in separately is another family and lives on.
    let other = identity
        .post("/api/auth/refresh", json!({"refreshToken": laptop_refresh}))
        .await;
    assert_eq!(other.status, StatusCode::OK);
    identity.cleanup().await;
}

#[tokio::test]
async fn made_up_refresh_tokens_are_refused_and_change_nothing() {
    let identity = Identity::start().await;
    identity.sign_up("ann@example.com").await;
    let before = identity.count("refresh_tokens").await;
    let reply = identity
        .post(
            "/api/auth/refresh",
            json!({"refreshToken": "made-up-token"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(identity.count("refresh_tokens").await, before);
    identity.cleanup().await;
}

#[tokio::test]
async fn a_refreshed_access_token_carries_roles_granted_meanwhile() {
    let identity = Identity::start().await;
    let admin = identity.admin_token("root@example.com").await;
    let (_, refresh, id) = identity.sign_up("ann@example.com").await;
    let granted = identity
        .request(
            axum::http::Method::PUT,
            &format!("/api/users/{id}/roles/merchandiser"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    let reply = identity
        .post("/api/auth/refresh", json!({"refreshToken": refresh}))
        .await;
    let claims = common::claims_of(reply.body["accessToken"].as_str().expect("access"));
    assert_eq!(
        claims.roles,
        [
            bazaar_platform::auth::Role::Customer,
            bazaar_platform::auth::Role::Merchandiser
        ]
    );
    identity.cleanup().await;
}
