//! Creating the first admin, for the `bazaar create-admin` command: nobody can grant `admin` over the
//! API before an admin exists.

use bazaar_platform::auth::Role;
use bazaar_platform::kafka::Outbox;
use bazaar_platform::metrics::Metrics;
use bazaar_platform::overload::Gate;
use sqlx::PgPool;

use crate::config::IdentityConfig;
use crate::error::{IdentityError, Result};
use crate::model::{DisplayName, Email, NewPassword, UserId};
use crate::passwords::Passwords;
use crate::users;

/// What [`create_admin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminOutcome {
    /// A new account with the `admin` (and `customer`) role.
    Created(UserId),
    /// The address had an account already; it now holds `admin`. Its password is unchanged.
    Promoted(UserId),
}

/// Makes `email` an admin: creates the account with `password` if it does not exist (announcing
/// `user.registered` like a sign-up), or grants `admin` to the existing one. `password` is only asked
/// for when needed, so promoting never handles a password.
///
/// The identity schema must be migrated. Input errors come back as [`IdentityError::Validation`].
pub async fn create_admin<F>(
    db: &PgPool,
    config: &IdentityConfig,
    email: &str,
    name: &str,
    password: F,
) -> Result<AdminOutcome>
where
    F: FnOnce() -> std::io::Result<String>,
{
    let email = Email::parse(email).map_err(|message| IdentityError::field("email", message))?;
    if let Some(existing) = users::find_by_email(db, &email).await? {
        let mut tx = db.begin().await?;
        users::grant(&mut tx, existing.id, Role::Admin, None).await?;
        tx.commit().await?;
        return Ok(AdminOutcome::Promoted(existing.id));
    }
    let name = DisplayName::parse(name).map_err(|message| IdentityError::field("name", message))?;
    let password = password().map_err(|error| {
        IdentityError::field("password", format!("could not read the password: {error}"))
    })?;
    let password = NewPassword::parse(password.trim_end_matches(['\r', '\n']), Some(&email))
        .map_err(|message| IdentityError::field("password", message))?;
    let gate = Gate::new(
        &crate::passwords::GATE,
        config.hashing_limits(),
        &Metrics::new(),
    );
    let passwords =
        Passwords::new(config.argon2_memory_kib, config.argon2_iterations, gate).await?;
    let hash = passwords.hash(&password).await?;
    let mut tx = db.begin().await?;
    let user = users::create(
        &mut tx,
        &Outbox::new(crate::COMPONENT.name),
        &email,
        &name,
        &hash,
        &[Role::Customer, Role::Admin],
    )
    .await?;
    tx.commit().await?;
    Ok(AdminOutcome::Created(user.id))
}
