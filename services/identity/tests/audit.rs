//! Role grants, revocations and key rotations are audited once each with the change, refusals included;
//! admins list them at /api/identity/audit and nothing changes them.

mod common;

use axum::http::{Method, StatusCode};
use common::Identity;
use serde_json::{Value, json};

fn actions(trail: &Value) -> Vec<(String, String)> {
    trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action").to_owned(),
                e["outcome"].as_str().expect("outcome").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn role_changes_and_key_rotations_are_audited_with_before_and_after_and_a_refusal_records_why()
 {
    let identity = Identity::start().await;
    let admin = identity.admin_token("root@example.com").await;
    let me = identity.get("/api/users/me", &admin).await;
    let admin_id = me.body["id"].as_str().expect("id").to_owned();
    let (shopper, _, ann) = identity.sign_up("ann@example.com").await;

    let granted = identity
        .request(
            Method::PUT,
            &format!("/api/users/{ann}/roles/ops"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(granted.status, StatusCode::OK);
    let revoked = identity
        .request(
            Method::DELETE,
            &format!("/api/users/{ann}/roles/ops"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    let last_admin = identity
        .request(
            Method::DELETE,
            &format!("/api/users/{admin_id}/roles/admin"),
            None,
            Some(&admin),
        )
        .await;
    assert_eq!(last_admin.status, StatusCode::CONFLICT);
    let rotated = identity
        .request(Method::POST, "/api/auth/keys/rotate", None, Some(&admin))
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let not_admin = identity
        .request(
            Method::PUT,
            &format!("/api/users/{ann}/roles/admin"),
            None,
            Some(&shopper),
        )
        .await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);

    // The rotation retired the key that signed `admin`'s token; it still verifies during its grace.
    let trail = identity.get("/api/identity/audit", &admin).await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.body);
    assert_eq!(
        actions(&trail.body),
        [
            ("signing_key.rotate".to_owned(), "succeeded".to_owned()),
            ("role.revoke".to_owned(), "refused".to_owned()),
            ("role.revoke".to_owned(), "succeeded".to_owned()),
            ("role.grant".to_owned(), "succeeded".to_owned()),
        ],
        "newest first; the shopper's forbidden attempt is not a staff action"
    );
    let items = trail.body["items"].as_array().expect("items");
    assert_eq!(items[0]["after"]["activeKid"], rotated.body["kid"]);
    assert_eq!(items[0]["before"]["activeKid"], rotated.body["retiredKid"]);
    assert_eq!(items[1]["resourceId"], admin_id.as_str());
    assert!(items[1]["detail"].as_str().expect("why").contains("admin"));
    assert_eq!(items[3]["resourceId"], ann.as_str());
    assert_eq!(items[3]["before"], json!({"roles": ["customer"]}));
    assert_eq!(
        items[3]["after"],
        json!({"roles": ["customer", "ops"], "granted": "ops"})
    );
    assert_eq!(items[3]["actor"], admin_id.as_str());

    let only_grants = identity
        .get(
            &format!("/api/identity/audit?action=role.grant&resourceId={ann}"),
            &admin,
        )
        .await;
    assert_eq!(actions(&only_grants.body).len(), 1);
    assert_eq!(
        identity.get("/api/identity/audit", &shopper).await.status,
        StatusCode::FORBIDDEN
    );
    let tamper = sqlx::query("DELETE FROM audit_log")
        .execute(&identity.db)
        .await;
    assert!(tamper.is_err(), "append-only");
    identity.cleanup().await;
}
