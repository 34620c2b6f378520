//! Roles: the first admin comes from the command line; admins grant and revoke; the last admin stays.

mod common;

use axum::http::{Method, StatusCode};
use bazaar_identity::admin::{AdminOutcome, create_admin};
use common::{Identity, PASSWORD};
use serde_json::json;

#[tokio::test]
async fn the_first_admin_is_created_once_and_an_existing_account_is_promoted() {
    let identity = Identity::start().await;
    let created = create_admin(
        &identity.db,
        &identity.config,
        "Root@Example.com",
        "Root",
        || Ok(format!("{PASSWORD}\n")),
    )
    .await
    .expect("created");
    assert!(matches!(created, AdminOutcome::Created(_)));
    let token = identity.login("root@example.com", PASSWORD).await;
    let claims = common::claims_of(token.body["accessToken"].as_str().expect("token"));
    assert!(claims.roles.contains(&bazaar_platform::auth::Role::Admin));

    let (_, _, ann) = identity.sign_up("ann@example.com").await;
    let promoted = create_admin(
        &identity.db,
        &identity.config,
        "ann@example.com",
        "ignored",
        || panic!("promoting must not ask for a password"),
    )
    .await
    .expect("promoted");
    assert_eq!(promoted, AdminOutcome::Promoted(ann.parse().expect("id")));

    let weak = create_admin(
        &identity.db,
        &identity.config,
        "new@example.com",
        "New",
        || Ok("short".to_owned()),
    )
    .await;
    assert!(matches!(
        weak,
        Err(bazaar_identity::IdentityError::Validation(_))
    ));
    let user_registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE event_type = 'user.registered'")
            .fetch_one(&identity.db)
            .await
            .expect("count");
    assert_eq!(user_registered, 2, "root and ann; not the refused one");
    identity.cleanup().await;
}

#[tokio::test]
async fn admins_grant_and_revoke_roles_and_others_cannot() {
    let identity = Identity::start().await;
    let admin = identity.admin_token("root@example.com").await;
    let (ann_token, _, ann) = identity.sign_up("ann@example.com").await;
    let roles = format!("/api/users/{ann}/roles");

    let refused = identity
        .request(Method::PUT, &format!("{roles}/ops"), None, Some(&ann_token))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.content_type(), "application/problem+json");

    let found = identity
        .get("/api/users?email=ANN@example.com", &admin)
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.body["id"], ann.as_str());

    let granted = identity
        .request(Method::PUT, &format!("{roles}/ops"), None, Some(&admin))
        .await;
    assert_eq!(granted.status, StatusCode::OK, "{}", granted.body);
    assert_eq!(granted.body["roles"], json!(["customer", "ops"]));
    let again = identity
        .request(Method::PUT, &format!("{roles}/ops"), None, Some(&admin))
        .await;
    assert_eq!(
        again.body["roles"],
        json!(["customer", "ops"]),
        "granting twice is harmless"
    );

    let revoked = identity
        .request(
            Method::DELETE,
            &format!("{roles}/customer"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(revoked.body["roles"], json!(["ops"]));
    assert_eq!(
        identity.get(&roles, &admin).await.body["roles"],
        json!(["ops"])
    );

    let unknown = identity
        .request(
            Method::PUT,
            &format!("{roles}/superuser"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown.field_errors()[0]
            .1
            .contains("customer, merchandiser, ops, admin")
    );
    let nobody = identity
        .request(
            Method::PUT,
            &format!("/api/users/{}/roles/ops", uuid::Uuid::now_v7()),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    identity.cleanup().await;
}

#[tokio::test]
async fn the_last_admin_cannot_lose_admin() {
    let identity = Identity::start().await;
    let admin = identity.admin_token("root@example.com").await;
    let me = identity.get("/api/users/me", &admin).await;
    let id = me.body["id"].as_str().expect("id");
    let path = format!("/api/users/{id}/roles/admin");

    let refused = identity
        .request(Method::DELETE, &path, None, Some(&admin))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);

    let (_, _, ann) = identity.sign_up("ann@example.com").await;
    let granted = identity
        .request(
            Method::PUT,
            &format!("/api/users/{ann}/roles/admin"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK);
    let revoked = identity
        .request(Method::DELETE, &path, None, Some(&admin))
        .await;
    assert_eq!(
        revoked.status,
        StatusCode::OK,
        "with another admin it may go"
    );
    assert_eq!(revoked.body["roles"], json!(["customer"]));
    identity.cleanup().await;
}
