//! `/api/users`: the signed-in user's profile, and role administration (admins).

use axum::Json;
use axum::extract::State;
use bazaar_platform::audit::{AuditEntry, RequestId};
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{AppState, user_id};
use crate::error::{IdentityError, Result};
use crate::model::{Checks, DisplayName, Email, UserId};
use crate::users::{self, User};

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    id: Uuid,
    email: String,
    name: String,
    /// Roles held; `admin` implies every other.
    roles: Vec<Role>,
    created_at: DateTime<Utc>,
}

impl From<User> for Profile {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            email: user.email,
            name: user.name,
            roles: user.roles,
            created_at: user.created_at,
        }
    }
}

/// Fields to change; absent ones stay as they are. The e-mail address cannot be changed here: that
/// needs a confirmation mail, which notification does not offer yet.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProfileRequest {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolesResponse {
    user_id: Uuid,
    roles: Vec<Role>,
}

#[derive(Debug, Deserialize, IntoParams)]
// A misspelt parameter is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct FindUser {
    /// The e-mail address of the account.
    email: String,
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/users/me",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Profile),
        (status = 401, description = "No valid access token", body = Problem),
    )
)]
pub async fn me(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Profile>> {
    let id = user_id(&user)?;
    let user = users::find(&state.db, id).await?.ok_or(gone())?;
    Ok(Json(user.into()))
}

/// Changes the signed-in user's profile.
#[utoipa::path(
    patch,
    path = "/api/users/me",
    tag = "identity",
    request_body = UpdateProfileRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Profile),
        (status = 401, description = "No valid access token", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
pub async fn update_me(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<UpdateProfileRequest>,
) -> Result<Json<Profile>> {
    let id = user_id(&user)?;
    let mut checks = Checks::default();
    let name = body
        .name
        .as_deref()
        .map(|name| checks.check("name", DisplayName::parse(name)));
    checks.finish().map_err(IdentityError::Validation)?;
    if let Some(Some(name)) = name
        && !users::rename(&state.db, id, &name).await?
    {
        return Err(gone());
    }
    let user = users::find(&state.db, id).await?.ok_or(gone())?;
    Ok(Json(user.into()))
}

/// Finds an account by e-mail address (admins only), e.g. to grant it a role.
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "identity",
    params(FindUser),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Profile),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No account with this address", body = Problem),
    )
)]
pub async fn find_by_email(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<FindUser>,
) -> Result<Json<Profile>> {
    user.require(Role::Admin)?;
    let email =
        Email::parse(&query.email).map_err(|message| IdentityError::field("email", message))?;
    let found = users::find_by_email(&state.db, &email)
        .await?
        .ok_or(IdentityError::NotFound(
            "No account has this e-mail address.",
        ))?;
    Ok(Json(found.into()))
}

/// A user's roles (admins only).
#[utoipa::path(
    get,
    path = "/api/users/{id}/roles",
    tag = "identity",
    params(("id" = Uuid, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RolesResponse),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
    )
)]
pub async fn roles(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<RolesResponse>> {
    user.require(Role::Admin)?;
    let target = users::find(&state.db, UserId(id))
        .await?
        .ok_or(no_such_user())?;
    Ok(Json(RolesResponse {
        user_id: id,
        roles: target.roles,
    }))
}

/// Grants a role (admins only); granting a held role changes nothing. It shows in the user's next
/// access token, at the latest when it is refreshed.
#[utoipa::path(
    put,
    path = "/api/users/{id}/roles/{role}",
    tag = "identity",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("role" = Role, Path, description = "customer, merchandiser, ops or admin"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's roles now", body = RolesResponse),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
        (status = 422, description = "Unknown role", body = Problem),
    )
)]
pub async fn grant_role(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath((id, role)): ApiPath<(Uuid, String)>,
) -> std::result::Result<Json<RolesResponse>, Problem> {
    change_role(&state, &user, &request_id, id, &role, RoleChange::Grant).await
}

/// Revokes a role (admins only); revoking a role not held changes nothing. The last admin keeps
/// `admin`. Access tokens already issued keep the role until they expire (minutes).
#[utoipa::path(
    delete,
    path = "/api/users/{id}/roles/{role}",
    tag = "identity",
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("role" = Role, Path, description = "customer, merchandiser, ops or admin"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's roles now", body = RolesResponse),
        (status = 403, description = "Not an admin", body = Problem),
        (status = 404, description = "No such user", body = Problem),
        (status = 409, description = "The last admin cannot lose `admin`", body = Problem),
        (status = 422, description = "Unknown role", body = Problem),
    )
)]
pub async fn revoke_role(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath((id, role)): ApiPath<(Uuid, String)>,
) -> std::result::Result<Json<RolesResponse>, Problem> {
    change_role(&state, &user, &request_id, id, &role, RoleChange::Revoke).await
}

/// Which way a role changes; each is audited under its own action (`role.grant`, `role.revoke`).
#[derive(Debug, Clone, Copy)]
enum RoleChange {
    Grant,
    Revoke,
}

impl RoleChange {
    fn action(self) -> &'static str {
        match self {
            RoleChange::Grant => "role.grant",
            RoleChange::Revoke => "role.revoke",
        }
    }

    /// The key under which the audit entry's `after` names the role.
    fn past_tense(self) -> &'static str {
        match self {
            RoleChange::Grant => "granted",
            RoleChange::Revoke => "revoked",
        }
    }
}

/// Grants or revokes `role` of user `id` (admins only), audited with the change, refusals included.
async fn change_role(
    state: &AppState,
    user: &CurrentUser,
    request_id: &RequestId,
    id: Uuid,
    role: &str,
    change: RoleChange,
) -> std::result::Result<Json<RolesResponse>, Problem> {
    user.require(Role::Admin)?;
    let audit = AuditEntry::new(user, request_id, change.action(), "user", id.to_string());
    audit
        .on_failure(&state.db, async {
            let role = parse_role(role)?;
            let admin = user_id(user)?;
            let target = UserId(id);
            let mut tx = state.db.begin().await?;
            if !users::exists(&mut tx, target).await? {
                return Err(no_such_user());
            }
            let before = users::roles(&mut *tx, target).await?;
            match change {
                RoleChange::Grant => users::grant(&mut tx, target, role, Some(admin)).await?,
                RoleChange::Revoke => users::revoke(&mut tx, target, role).await?,
            }
            let roles = users::roles(&mut *tx, target).await?;
            let mut after = serde_json::json!({ "roles": roles });
            after[change.past_tense()] = serde_json::json!(role);
            audit
                .clone()
                .before(serde_json::json!({"roles": before}))
                .after(after)
                .record(&mut tx)
                .await?;
            tx.commit().await?;
            tracing::info!(%admin, user = %target, %role, action = change.action(), "role changed");
            Ok::<_, IdentityError>(Json(RolesResponse { user_id: id, roles }))
        })
        .await
}

fn parse_role(text: &str) -> Result<Role> {
    text.parse()
        .map_err(|error: bazaar_platform::auth::ParseRoleError| {
            IdentityError::field("role", error.to_string())
        })
}

fn gone() -> IdentityError {
    IdentityError::NotFound("This account no longer exists.")
}

fn no_such_user() -> IdentityError {
    IdentityError::NotFound("No user has this id.")
}
