//! Accounts: registration, sign-in, profile, password change and sign-out, the `user.registered`
//! event, and refusals of bad input that leave no trace.

mod common;

use axum::http::{Method, StatusCode};
use common::{CLIENT, Identity, PASSWORD, claims_of};
use serde_json::{Value, json};

#[tokio::test]
async fn an_account_lives_from_registration_to_sign_out() {
    let identity = Identity::start().await;

    // Registration signs the new customer in at once.
    let registered = identity.register("  Ann@Example.com ").await;
    let user = &registered.body["user"];
    assert_eq!(user["email"], "ann@example.com", "emails are normalized");
    assert_eq!(user["name"], "Ann Lee");
    assert_eq!(user["roles"], json!(["customer"]));
    let id = user["id"].as_str().expect("id");
    assert_eq!(
        uuid::Uuid::parse_str(id).expect("uuid").get_version_num(),
        7
    );
    let session = &registered.body["session"];
    assert_eq!(session["tokenType"], "Bearer");
    assert_eq!(session["expiresIn"], 900);
    let access = session["accessToken"].as_str().expect("access token");
    let claims = claims_of(access);
    assert_eq!(claims.sub, id);
    assert_eq!(claims.iss, "bazaar-identity");
    assert_eq!(claims.aud, "bazaar");
    assert_eq!(claims.exp - claims.iat, 900);

    // The profile, then a new name.
    let me = identity.get("/api/users/me", access).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "ann@example.com");
    let renamed = identity
        .request(
            Method::PATCH,
            "/api/users/me",
            Some(json!({"name": " Ann Lee-Smith "})),
            Some(access),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Ann Lee-Smith");

    // Sign in again elsewhere: a second session.
    let second = identity.login("ANN@example.com", PASSWORD).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    let second_refresh = second.body["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();

    // A password change ends every session; the old password stops working, the new one works.
    let changed = identity
        .request(
            Method::POST,
            "/api/auth/password",
            Some(json!({"currentPassword": PASSWORD, "newPassword": "a brand new passphrase"})),
            Some(access),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.body);
    let refreshed = identity
        .post("/api/auth/refresh", json!({"refreshToken": second_refresh}))
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        identity.login("ann@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    let signed_in = identity
        .login("ann@example.com", "a brand new passphrase")
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);

    // Signing out ends that session: its refresh token no longer works.
    let refresh = signed_in.body["refreshToken"].as_str().expect("refresh");
    let out = identity
        .post("/api/auth/logout", json!({"refreshToken": refresh}))
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let after = identity
        .post("/api/auth/refresh", json!({"refreshToken": refresh}))
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.content_type(), "application/problem+json");
    // Signing out twice is fine.
    let again = identity
        .post("/api/auth/logout", json!({"refreshToken": refresh}))
        .await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);

    identity.cleanup().await;
}

#[tokio::test]
async fn a_wrong_current_password_changes_nothing() {
    let identity = Identity::start().await;
    let (access, refresh, _) = identity.sign_up("ann@example.com").await;
    let reply = identity
        .request(
            Method::POST,
            "/api/auth/password",
            Some(json!({"currentPassword": "not my password", "newPassword": "a brand new passphrase"})),
            Some(&access),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.field_errors(),
        [(
            "currentPassword".to_owned(),
            "This is not your current password.".to_owned()
        )]
    );
    assert_eq!(
        identity.login("ann@example.com", PASSWORD).await.status,
        StatusCode::OK
    );
    let refreshed = identity
        .post("/api/auth/refresh", json!({"refreshToken": refresh}))
        .await;
    assert_eq!(
        refreshed.status,
        StatusCode::OK,
        "sessions survive a refused change"
    );
    identity.cleanup().await;
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let identity = Identity::start().await;
    identity.register("ann@example.com").await;

    let wrong_password = identity.login("ann@example.com", "not the password").await;
    let unknown_email = identity
        .login("nobody@example.com", "not the password")
        .await;

    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status, wrong_password.status);
    assert_eq!(unknown_email.body, wrong_password.body);
    assert_eq!(unknown_email.content_type(), "application/problem+json");
    assert_eq!(
        wrong_password.body["detail"],
        "The e-mail address or the password is wrong."
    );
    identity.cleanup().await;
}

#[tokio::test]
async fn registration_announces_user_registered_exactly_once_without_credentials() {
    let identity = Identity::start().await;
    let (_, _, id) = identity.sign_up("ann@example.com").await;
    // The same address again is refused and announces nothing.
    let again = identity
        .post(
            "/api/auth/register",
            json!({"email": "ANN@example.com", "password": "another passphrase", "name": "Imposter"}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.content_type(), "application/problem+json");

    let events: Vec<(String, String, String, Value)> =
        sqlx::query_as("SELECT topic, message_key, event_type, payload FROM outbox ORDER BY seq")
            .fetch_all(&identity.db)
            .await
            .expect("outbox");
    assert_eq!(events.len(), 1, "{events:?}");
    let (topic, key, event_type, envelope) = &events[0];
    assert_eq!(topic, "bazaar.identity");
    assert_eq!(key, &id);
    assert_eq!(event_type, "user.registered");
    assert_eq!(envelope["source"], "/bazaar/identity");
    let data = &envelope["data"];
    assert_eq!(data["userId"], id.as_str());
    assert_eq!(data["email"], "ann@example.com");
    assert_eq!(data["name"], "Ann Lee");
    let text = envelope.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "{text}"
    );
    assert_eq!(identity.count("users").await, 1);
    identity.cleanup().await;
}

#[tokio::test]
async fn invalid_registrations_explain_every_field_and_write_nothing() {
    let identity = Identity::start().await;

    let reply = identity
        .post(
            "/api/auth/register",
            json!({"email": "ann.example.com", "password": "short", "name": "   "}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.content_type(), "application/problem+json");
    let errors = reply.field_errors();
    let fields: Vec<&str> = errors.iter().map(|(field, _)| field.as_str()).collect();
    assert_eq!(fields, ["email", "name", "password"]);
    let password_message = &errors[2].1;
    assert!(
        password_message.contains("at least 10 characters (this one has 5)"),
        "{password_message}"
    );

    // Missing fields are named too, not just "bad JSON".
    let missing = identity.post("/api/auth/register", json!({})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.field_errors().len(), 3);

    // A password that is the e-mail address.
    let own = identity
        .post(
            "/api/auth/register",
            json!({"email": "ann@example.com", "password": "ann@example.com", "name": "Ann"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(own.field_errors()[0].0, "password");

    // Not JSON at all.
    let garbage = Identity::send_to(
        &identity.app,
        Method::POST,
        "/api/auth/register",
        None,
        None,
        CLIENT,
        &[("content-type", "application/json")],
    )
    .await;
    assert!(garbage.status.is_client_error(), "{}", garbage.status);
    assert_eq!(garbage.content_type(), "application/problem+json");

    for table in [
        "users",
        "user_roles",
        "refresh_tokens",
        "outbox",
        "rate_limits",
    ] {
        assert_eq!(identity.count(table).await, 0, "{table} was written");
    }
    identity.cleanup().await;
}

#[tokio::test]
async fn invalid_sign_ins_and_profile_changes_are_refused_with_field_errors() {
    let identity = Identity::start().await;
    let (access, _, _) = identity.sign_up("ann@example.com").await;
    let before = identity.count("rate_limits").await;

    let reply = identity
        .post("/api/auth/login", json!({"email": "", "password": ""}))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<String> = reply.field_errors().into_iter().map(|(f, _)| f).collect();
    assert_eq!(fields, ["email", "password"]);
    assert_eq!(
        identity.count("rate_limits").await,
        before,
        "bad input is not counted"
    );

    let rename = identity
        .request(
            Method::PATCH,
            "/api/users/me",
            Some(json!({"name": "x".repeat(101)})),
            Some(&access),
        )
        .await;
    assert_eq!(rename.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(rename.field_errors()[0].0, "name");
    let me = identity.get("/api/users/me", &access).await;
    assert_eq!(me.body["name"], "Ann Lee", "the name is unchanged");

    let weak = identity
        .request(
            Method::POST,
            "/api/auth/password",
            Some(json!({"currentPassword": PASSWORD, "newPassword": "short"})),
            Some(&access),
        )
        .await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.field_errors()[0].0, "newPassword");
    assert_eq!(
        identity.login("ann@example.com", PASSWORD).await.status,
        StatusCode::OK
    );

    let no_token = identity.post("/api/auth/refresh", json!({})).await;
    assert_eq!(no_token.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_token.field_errors()[0].0, "refreshToken");
    identity.cleanup().await;
}

#[tokio::test]
async fn the_profile_needs_a_valid_access_token() {
    let identity = Identity::start().await;
    let none = identity
        .request(Method::GET, "/api/users/me", None, None)
        .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.headers.contains_key("www-authenticate"));
    let garbage = identity.get("/api/users/me", "not-a-jwt").await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
    identity.cleanup().await;
}
