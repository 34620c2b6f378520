//! Users and their roles in the identity schema.

use bazaar_contracts::identity::UserRegistered;
use bazaar_platform::auth::Role;
use bazaar_platform::kafka::Outbox;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::error::{IdentityError, Result};
use crate::model::{DisplayName, Email, UserId};

/// A user as the API shows them.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub created_at: DateTime<Utc>,
}

/// What sign-in needs: the id and the stored hash.
pub struct Credentials {
    pub id: UserId,
    pub password_hash: String,
}

/// Creates a user with `roles` and records `user.registered` in the same transaction, so the event is
/// published if and only if the account exists. A taken e-mail address is [`IdentityError::EmailTaken`].
pub async fn create(
    tx: &mut PgConnection,
    outbox: &Outbox,
    email: &Email,
    name: &DisplayName,
    password_hash: &str,
    roles: &[Role],
) -> Result<User> {
    let id = UserId::new();
    let created_at: DateTime<Utc> = sqlx::query_scalar(
        "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT (email) DO NOTHING
         RETURNING created_at",
    )
    .bind(id)
    .bind(email.as_str())
    .bind(name.as_str())
    .bind(password_hash)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(IdentityError::EmailTaken)?;
    for role in roles {
        grant(&mut *tx, id, *role, None).await?;
    }
    outbox
        .enqueue(
            &mut *tx,
            &UserRegistered {
                user_id: id.0,
                email: email.as_str().to_owned(),
                name: name.as_str().to_owned(),
                registered_at: created_at,
            },
        )
        .await?;
    Ok(User {
        id,
        email: email.as_str().to_owned(),
        name: name.as_str().to_owned(),
        roles: sorted(roles.to_vec()),
        created_at,
    })
}

pub async fn credentials(db: &PgPool, email: &Email) -> Result<Option<Credentials>> {
    let row: Option<(UserId, String)> =
        sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(db)
            .await?;
    Ok(row.map(|(id, password_hash)| Credentials { id, password_hash }))
}

pub async fn password_hash(db: &PgPool, id: UserId) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn find(db: &PgPool, id: UserId) -> Result<Option<User>> {
    let row: Option<(String, String, DateTime<Utc>)> =
        sqlx::query_as("SELECT email, name, created_at FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    let Some((email, name, created_at)) = row else {
        return Ok(None);
    };
    Ok(Some(User {
        id,
        email,
        name,
        roles: roles(db, id).await?,
        created_at,
    }))
}

pub async fn find_by_email(db: &PgPool, email: &Email) -> Result<Option<User>> {
    let id: Option<UserId> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email.as_str())
        .fetch_optional(db)
        .await?;
    match id {
        Some(id) => find(db, id).await,
        None => Ok(None),
    }
}

pub async fn rename(db: &PgPool, id: UserId, name: &DisplayName) -> Result<bool> {
    let updated = sqlx::query("UPDATE users SET name = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(name.as_str())
        .execute(db)
        .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn set_password_hash(tx: &mut PgConnection, id: UserId, hash: &str) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(id)
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The user's roles, least privileged first.
pub async fn roles(db: impl sqlx::PgExecutor<'_>, id: UserId) -> Result<Vec<Role>> {
    let names: Vec<String> = sqlx::query_scalar("SELECT role FROM user_roles WHERE user_id = $1")
        .bind(id)
        .fetch_all(db)
        .await?;
    // The table's CHECK admits only known names; an unknown one would be a newer release's role,
    // which this one cannot grant anything for.
    Ok(sorted(
        names.iter().filter_map(|name| name.parse().ok()).collect(),
    ))
}

/// Grants `role` (idempotent). `by` is the granting admin, if any.
pub async fn grant(
    tx: &mut PgConnection,
    id: UserId,
    role: Role,
    by: Option<UserId>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO user_roles (user_id, role, granted_by) VALUES ($1, $2, $3)
         ON CONFLICT (user_id, role) DO NOTHING",
    )
    .bind(id)
    .bind(role.as_str())
    .bind(by)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Revokes `role` (idempotent). Refuses to take `admin` from the last admin, who would leave nobody able
/// to grant roles.
pub async fn revoke(tx: &mut PgConnection, id: UserId, role: Role) -> Result<()> {
    if role == Role::Admin {
        // Serialises concurrent revocations, which could otherwise each see another admin left.
        sqlx::query("LOCK TABLE user_roles IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        let others: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM user_roles WHERE role = 'admin' AND user_id <> $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if others == 0 {
            return Err(IdentityError::Conflict(
                "This is the last admin; grant admin to someone else before revoking it here.",
            ));
        }
    }
    sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role = $2")
        .bind(id)
        .bind(role.as_str())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

pub async fn exists(tx: &mut PgConnection, id: UserId) -> Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
    )
}

fn sorted(mut roles: Vec<Role>) -> Vec<Role> {
    roles.sort_by_key(|role| Role::ALL.iter().position(|r| r == role));
    roles.dedup();
    roles
}
