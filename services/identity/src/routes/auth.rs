//! `/api/auth`: registration, sign-in, refresh, sign-out, password change and key rotation.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bazaar_platform::audit::{AuditEntry, RequestId};
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::{ApiJson, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::users::Profile;
use super::{AppState, Client, checked, user_id};
use crate::error::{IdentityError, Result};
use crate::model::{Checks, DisplayName, Email, MAX_PASSWORD_CHARS, NewPassword};
use crate::ratelimit::Limit;
use crate::sessions::{self, Session};
use crate::users;

/// Fields default to empty so that a missing one gets the same field error as an empty one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterRequest {
    #[serde(default)]
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// At least 10 and at most 128 characters; not the e-mail address.
    #[serde(default)]
    #[schema(min_length = 10, max_length = 128)]
    password: String,
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100)]
    name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginRequest {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    #[serde(default)]
    refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    #[schema(min_length = 10, max_length = 128)]
    new_password: String,
}

/// Tokens for a session. Send the access token as `Authorization: Bearer <accessToken>`; before it
/// expires, exchange the refresh token at `/api/auth/refresh` (once: it is replaced by a new one).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    access_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    refresh_token: String,
    /// Seconds until the refresh token expires, if not used before.
    refresh_expires_in: u64,
}

impl From<Session> for SessionResponse {
    fn from(session: Session) -> Self {
        Self {
            access_token: session.access_token,
            token_type: "Bearer",
            expires_in: session.access_expires_in.as_secs(),
            refresh_token: session.refresh_token,
            refresh_expires_in: session.refresh_expires_in.as_secs(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredResponse {
    user: Profile,
    session: SessionResponse,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RotationResponse {
    /// The key that signs from now on.
    kid: String,
    /// The key that signed until now; it stays in the JWKS until `retiredVerifiesUntil`.
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_verifies_until: Option<DateTime<Utc>>,
}

/// Creates an account with the `customer` role and signs it in.
#[utoipa::path(
    post,
    path = "/api/auth/register",
    tag = "identity",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created and signed in", body = RegisteredResponse),
        (status = 409, description = "The e-mail address has an account", body = Problem),
        (status = 422, description = "Invalid fields; `errors` says which and why", body = Problem),
        (status = 429, description = "Too many registrations; see `Retry-After`", body = Problem),
        (status = 503, description = "Overloaded (password hashing or database); see `Retry-After`", body = Problem),
    )
)]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisteredResponse>)> {
    let mut checks = Checks::default();
    let email = checks.check("email", Email::parse(&body.email));
    let name = checks.check("name", DisplayName::parse(&body.name));
    let password = checks.check(
        "password",
        NewPassword::parse(&body.password, email.as_ref()),
    );
    checks.finish().map_err(IdentityError::Validation)?;
    let (email, name, password) = (checked(email)?, checked(name)?, checked(password)?);

    // Counted after validation, so a typo does not use up anyone's allowance; invalid requests do no
    // expensive work to protect.
    let config = &state.config;
    state
        .limiter
        .hit(&[
            Limit {
                bucket: format!("register:client:{client}"),
                max: config.register_limit_per_client,
            },
            Limit {
                bucket: format!("register:account:{email}"),
                max: config.register_limit_per_account,
            },
        ])
        .await?;

    let hash = state.passwords.hash(&password).await?;
    // Read before the transaction opens: the key takes a connection of its own.
    let signer = state.keys.signer().await?;
    let mut tx = state.db.begin().await?;
    let user = users::create(
        &mut tx,
        &state.outbox,
        &email,
        &name,
        &hash,
        &[Role::Customer],
    )
    .await?;
    let session = state
        .issuer
        .start(&mut tx, &signer, user.id, &user.email, user.roles.clone())
        .await?;
    tx.commit().await?;
    tracing::info!(user = %user.id, "user registered");
    Ok((
        StatusCode::CREATED,
        Json(RegisteredResponse {
            user: user.into(),
            session: session.into(),
        }),
    ))
}

/// Signs in with e-mail address and password. An unknown address and a wrong password get the same
/// answer, in about the same time.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "identity",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 401, description = "Unknown e-mail address or wrong password", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = Problem),
        (status = 503, description = "Overloaded (password hashing or database); see `Retry-After`", body = Problem),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<SessionResponse>> {
    let mut checks = Checks::default();
    let email = checks.check("email", Email::parse(&body.email));
    if body.password.is_empty() {
        checks.fail("password", "Enter your password.");
    } else if body.password.chars().count() > MAX_PASSWORD_CHARS {
        // No account can have such a password; refusing it early bounds the hashing work.
        checks.fail(
            "password",
            format!("Passwords have at most {MAX_PASSWORD_CHARS} characters."),
        );
    }
    checks.finish().map_err(IdentityError::Validation)?;
    let email = checked(email)?;

    let config = &state.config;
    state
        .limiter
        .hit(&[
            Limit {
                bucket: format!("login:client:{client}"),
                max: config.login_limit_per_client,
            },
            // Keyed by the address whether or not it has an account, so the limit itself reveals nothing.
            Limit {
                bucket: format!("login:account:{email}"),
                max: config.login_limit_per_account,
            },
        ])
        .await?;

    let credentials = users::credentials(&state.db, &email).await?;
    let matches = state
        .passwords
        .verify(
            &body.password,
            credentials.as_ref().map(|c| c.password_hash.as_str()),
        )
        .await?;
    let Some(credentials) = credentials.filter(|_| matches) else {
        tracing::info!("sign-in refused");
        return Err(IdentityError::InvalidCredentials);
    };
    let roles = users::roles(&state.db, credentials.id).await?;
    // Read before the transaction opens: the key takes a connection of its own.
    let signer = state.keys.signer().await?;
    let mut tx = state.db.begin().await?;
    let session = state
        .issuer
        .start(&mut tx, &signer, credentials.id, email.as_str(), roles)
        .await?;
    tx.commit().await?;
    Ok(Json(session.into()))
}

/// Exchanges a refresh token for new tokens. Each refresh token works once; presenting a used one
/// again ends the whole session (every token descended from the same sign-in).
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "identity",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens; the presented refresh token is used up", body = SessionResponse),
        (status = 401, description = "Unknown, expired, used or revoked refresh token", body = Problem),
        (status = 422, description = "No refresh token given", body = Problem),
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<SessionResponse>> {
    if body.refresh_token.is_empty() {
        return Err(IdentityError::field(
            "refreshToken",
            "Send the refresh token from your last sign-in or refresh.",
        ));
    }
    let session = state
        .issuer
        .refresh(&state.db, &state.keys, &body.refresh_token)
        .await?;
    Ok(Json(session.into()))
}

/// Signs out: the session of this refresh token ends (access tokens already issued run out by
/// themselves). Signing out with an unknown or ended session succeeds too.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "identity",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Signed out"),
        (status = 422, description = "No refresh token given", body = Problem),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<StatusCode> {
    if body.refresh_token.is_empty() {
        return Err(IdentityError::field(
            "refreshToken",
            "Send the refresh token of the session to end.",
        ));
    }
    sessions::sign_out(&state.db, &body.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the signed-in user's password and ends all their sessions; sign in again afterwards.
#[utoipa::path(
    post,
    path = "/api/auth/password",
    tag = "identity",
    request_body = ChangePasswordRequest,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Password changed; every session ended"),
        (status = 401, description = "No valid access token", body = Problem),
        (status = 422, description = "Wrong current password or invalid new one", body = Problem),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = Problem),
    )
)]
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode> {
    let id = user_id(&user)?;
    let account = users::find(&state.db, id)
        .await?
        .ok_or(IdentityError::NotFound("This account no longer exists."))?;
    let email = Email::parse(&account.email).map_err(IdentityError::Internal)?;
    let mut checks = Checks::default();
    if body.current_password.is_empty() {
        checks.fail("currentPassword", "Enter your current password.");
    }
    let new_password = checks.check(
        "newPassword",
        NewPassword::parse(&body.new_password, Some(&email)),
    );
    checks.finish().map_err(IdentityError::Validation)?;
    let new_password = checked(new_password)?;

    // A stolen access token must not become an unlimited password oracle: this shares the account's
    // sign-in allowance.
    state
        .limiter
        .hit(&[Limit {
            bucket: format!("login:account:{email}"),
            max: state.config.login_limit_per_account,
        }])
        .await?;
    let stored = users::password_hash(&state.db, id).await?;
    if !state
        .passwords
        .verify(&body.current_password, stored.as_deref())
        .await?
    {
        return Err(IdentityError::field(
            "currentPassword",
            "This is not your current password.",
        ));
    }
    let hash = state.passwords.hash(&new_password).await?;
    let mut tx = state.db.begin().await?;
    users::set_password_hash(&mut tx, id, &hash).await?;
    let ended = sessions::revoke_all(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(user = %id, sessions_ended = ended, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// Retires the signing key and starts signing with a new one (admins only). The retired key stays in
/// the JWKS until the tokens it signed have expired.
#[utoipa::path(
    post,
    path = "/api/auth/keys/rotate",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Rotated", body = RotationResponse),
        (status = 401, description = "No valid access token", body = Problem),
        (status = 403, description = "Not an admin", body = Problem),
    )
)]
pub async fn rotate_keys(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
) -> std::result::Result<Json<RotationResponse>, Problem> {
    user.require(Role::Admin)?;
    // Audited (`signing_key.rotate`) in the rotation's transaction, failures included.
    let audit = AuditEntry::new(
        &user,
        &request_id,
        "signing_key.rotate",
        "signing_key",
        "active",
    );
    let rotation = audit
        .on_failure(&state.db, state.keys.rotate(&audit))
        .await?;
    tracing::info!(by = %user.id, kid = %rotation.new_kid, "signing key rotated by an admin");
    Ok(Json(RotationResponse {
        kid: rotation.new_kid,
        retired_kid: rotation.retired_kid,
        retired_verifies_until: rotation.retired_verify_until,
    }))
}
