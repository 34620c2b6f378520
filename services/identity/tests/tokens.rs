//! Access tokens: what identity signs, what it and every other component refuse, and key rotation as
//! another component sees it through the JWKS endpoint.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use bazaar_platform::auth::{AuthConfig, AuthError, Claims, JwkSet, Role, TestIssuer, Verifier};
use bazaar_testkit::wait_for;
use common::{Identity, claims_of, config};
use serde_json::Value;

fn detail(reply: &common::Reply) -> String {
    reply.body["detail"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn identity_refuses_expired_tampered_foreign_and_misdirected_tokens() {
    let identity = Identity::start().await;
    let (access, _, id) = identity.sign_up("ann@example.com").await;
    assert_eq!(
        identity.get("/api/users/me", &access).await.status,
        StatusCode::OK
    );
    let signer = identity.active_signer().await;
    let valid = claims_of(&access);

    // Expired: signed with identity's own key, but its time is up.
    let mut expired = valid.clone();
    expired.iat -= 3600;
    expired.exp = expired.iat + 900;
    let reply = identity
        .get("/api/users/me", &signer.sign(&expired).expect("sign"))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(detail(&reply).contains("expired"), "{}", reply.body);

    // Tampered: the payload claims admin, the signature is the original's.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&parts[1])
            .expect("b64"),
    )
    .expect("json");
    payload["roles"] = serde_json::json!(["admin"]);
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload.to_string());
    let reply = identity.get("/api/users/me", &parts.join(".")).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(detail(&reply).contains("signature"), "{}", reply.body);

    // Another audience: a genuine token, meant for someone else.
    let mut elsewhere = valid.clone();
    elsewhere.aud = "another-platform".to_owned();
    let reply = identity
        .get("/api/users/me", &signer.sign(&elsewhere).expect("sign"))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(detail(&reply).contains("audience"), "{}", reply.body);

    // Another key, even one posing under identity's key id.
    let impostor = TestIssuer::new().with_kid(signer.kid());
    let forged = impostor.issue(id.clone(), &[Role::Admin], Duration::from_secs(300));
    let reply = identity.get("/api/users/me", &forged).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(detail(&reply).contains("signature"), "{}", reply.body);
    let stranger = TestIssuer::new().issue(id, &[Role::Admin], Duration::from_secs(300));
    let reply = identity.get("/api/users/me", &stranger).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(detail(&reply).contains("key"), "{}", reply.body);
    identity.cleanup().await;
}

#[tokio::test]
async fn a_token_expires_after_its_ttl() {
    let identity = Identity::with_config(bazaar_identity::IdentityConfig {
        access_token_ttl_secs: 1,
        ..config()
    })
    .await;
    let (access, _, _) = identity.sign_up("ann@example.com").await;
    let claims = claims_of(&access);
    assert_eq!(claims.exp - claims.iat, 1);
    // Polls instead of asserting a duration: the token works until, at some point, it does not.
    wait_for(
        Duration::from_secs(10),
        "the access token to expire",
        || async {
            let reply = identity.get("/api/users/me", &access).await;
            (reply.status == StatusCode::UNAUTHORIZED).then_some(())
        },
    )
    .await
    .expect("expiry");
    identity.cleanup().await;
}

#[tokio::test]
async fn other_components_verify_through_the_jwks_before_and_after_a_rotation() {
    let identity = Identity::start().await;
    let base = identity.serve().await;
    let admin = identity.admin_token("root@example.com").await;
    let (before, _, ann) = identity.sign_up("ann@example.com").await;

    // A component verifying with the platform's Verifier, fed from identity's JWKS URL.
    let auth = AuthConfig {
        jwks_url: Some(
            format!("{base}/.well-known/jwks.json")
                .parse()
                .expect("url"),
        ),
        ..AuthConfig::default()
    };
    let component = Verifier::from_config(&auth).await.expect("verifier");
    let claims: Claims = component
        .verify(&before)
        .await
        .expect("a fresh token verifies");
    assert_eq!(claims.sub, ann);
    assert_eq!(claims.roles, [Role::Customer]);

    // Rotate: customers may not, admins may.
    let refused = identity
        .request(Method::POST, "/api/auth/keys/rotate", None, Some(&before))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let rotated = identity
        .request(Method::POST, "/api/auth/keys/rotate", None, Some(&admin))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let old_kid = rotated.body["retiredKid"]
        .as_str()
        .expect("retired kid")
        .to_owned();
    let new_kid = rotated.body["kid"].as_str().expect("kid").to_owned();
    assert_ne!(old_kid, new_kid);

    // New tokens name the new key; the component learns it from the JWKS on first sight.
    let after = identity.login("ann@example.com", common::PASSWORD).await;
    let after = after.body["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    assert_eq!(header_kid(&after), new_kid);
    assert_eq!(header_kid(&before), old_kid);
    component
        .verify(&after)
        .await
        .expect("a token of the new key verifies");
    // The token signed before the rotation still verifies, at the component and at identity.
    component
        .verify(&before)
        .await
        .expect("an old token still verifies");
    assert_eq!(
        identity.get("/api/users/me", &before).await.status,
        StatusCode::OK
    );
    assert_eq!(component.key_ids().await.len(), 2);

    let jwks: JwkSet = reqwest_free_get(&identity, "/.well-known/jwks.json").await;
    let kids: Vec<String> = jwks
        .keys
        .iter()
        .filter_map(|k| k.common.key_id.clone())
        .collect();
    assert_eq!(kids, [new_kid.clone(), old_kid.clone()]);
    identity.cleanup().await;
}

#[tokio::test]
async fn a_retired_key_leaves_the_jwks_once_its_tokens_have_expired() {
    let identity = Identity::with_config(bazaar_identity::IdentityConfig {
        access_token_ttl_secs: 1,
        ..config()
    })
    .await;
    let admin = identity.admin_token("root@example.com").await;
    let rotated = identity
        .request(Method::POST, "/api/auth/keys/rotate", None, Some(&admin))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new_kid = rotated.body["kid"].as_str().expect("kid").to_owned();
    let kids = wait_for(
        Duration::from_secs(10),
        "the retired key to leave the JWKS",
        || async {
            let jwks: JwkSet = reqwest_free_get(&identity, "/.well-known/jwks.json").await;
            (jwks.keys.len() == 1).then_some(jwks)
        },
    )
    .await
    .expect("retired key removed");
    assert_eq!(
        kids.keys[0].common.key_id.as_deref(),
        Some(new_kid.as_str())
    );
    identity.cleanup().await;
}

#[tokio::test]
async fn a_verifier_that_knows_only_another_key_rejects_identity_tokens() {
    let identity = Identity::start().await;
    let (access, _, _) = identity.sign_up("ann@example.com").await;
    let other = TestIssuer::new().verifier();
    assert!(matches!(
        other.verify(&access).await,
        Err(AuthError::UnknownKey)
    ));
    identity.cleanup().await;
}

fn header_kid(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .expect("header")
        .kid
        .expect("kid")
}

async fn reqwest_free_get<T: serde::de::DeserializeOwned>(identity: &Identity, path: &str) -> T {
    let reply = Identity::send_to(
        &identity.app,
        Method::GET,
        path,
        None,
        None,
        common::CLIENT,
        &[],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_value(reply.body).expect("JSON")
}
