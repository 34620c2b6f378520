//! Sessions: refresh tokens and the access tokens issued with them.
//!
//! A refresh token is 256 random bits, shown to the client once and stored only as its SHA-256. A
//! sign-in starts a family; each refresh marks the presented token used and issues its successor in the
//! same family. A used token presented again means two parties hold the family (a stolen token, or a
//! client replaying): the whole family is revoked, so the thief's and the victim's sessions both end and
//! the victim signs in again.

use std::time::Duration;

use base64::Engine as _;
use bazaar_platform::auth::{Claims, Role, TokenSigner};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::{IdentityError, Result};
use crate::keys::KeyRing;
use crate::model::UserId;

/// Tokens handed to a client after sign-in, registration or refresh.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub access_expires_in: Duration,
    pub refresh_token: String,
    pub refresh_expires_in: Duration,
}

/// Token lifetimes and the claims that do not depend on the user.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    pub metrics: crate::metrics::IdentityMetrics,
}

impl Issuer {
    /// Starts a new family for `user`, signing with `signer`.
    ///
    /// The signer is fetched ([`KeyRing::signer`]) before the caller opens `tx`: reading the active key
    /// takes a connection of its own, and a request that holds its transaction's connection while it
    /// waits for a second one deadlocks the pool under load.
    pub async fn start(
        &self,
        tx: &mut PgConnection,
        signer: &TokenSigner,
        user: UserId,
        email: &str,
        roles: Vec<Role>,
    ) -> Result<Session> {
        self.issue(tx, signer, user, email, roles, Uuid::now_v7())
            .await
    }

    async fn issue(
        &self,
        tx: &mut PgConnection,
        signer: &TokenSigner,
        user: UserId,
        email: &str,
        roles: Vec<Role>,
        family: Uuid,
    ) -> Result<Session> {
        let refresh_token = new_refresh_token()?;
        sqlx::query(
            "INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at)
             VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))",
        )
        .bind(Uuid::now_v7())
        .bind(family)
        .bind(user)
        .bind(digest(&refresh_token))
        .bind(self.refresh_ttl.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        let mut claims = Claims::new(
            self.issuer.clone(),
            self.audience.clone(),
            user.to_string(),
            roles,
            self.access_ttl,
        );
        claims.email = Some(email.to_owned());
        let access_token = signer.sign(&claims)?;
        Ok(Session {
            access_token,
            access_expires_in: self.access_ttl,
            refresh_token,
            refresh_expires_in: self.refresh_ttl,
        })
    }

    /// Exchanges a refresh token for a new session in the same family. Roles and e-mail are read
    /// afresh, so a granted or revoked role shows in the next access token.
    ///
    /// Returns `Err(InvalidRefreshToken)` for anything but a current token; a reused one has revoked
    /// its family by then (committed, whatever the caller does next).
    pub async fn refresh(&self, db: &PgPool, keys: &KeyRing, presented: &str) -> Result<Session> {
        // Before the transaction: the key is read on a connection of its own (see `start`).
        let signer = keys.signer().await?;
        let mut tx = db.begin().await?;
        // FOR UPDATE: two concurrent refreshes with one token take turns, and the second sees it used.
        let row: Option<(Uuid, Uuid, UserId, bool, bool, bool)> = sqlx::query_as(
            "SELECT id, family_id, user_id, used_at IS NOT NULL, revoked_at IS NOT NULL,
                    expires_at <= now()
             FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
        )
        .bind(digest(presented))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, family, user, used, revoked, expired)) = row else {
            return Err(IdentityError::InvalidRefreshToken);
        };
        if revoked || expired {
            return Err(IdentityError::InvalidRefreshToken);
        }
        if used {
            let revoked = revoke_family(&mut tx, family).await?;
            tx.commit().await?;
            self.metrics.refresh_token_reuse.inc();
            tracing::warn!(%family, %user, revoked, "refresh token reused; session family revoked");
            return Err(IdentityError::InvalidRefreshToken);
        }
        sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
        let roles = crate::users::roles(&mut *tx, user).await?;
        let session = self
            .issue(&mut tx, &signer, user, &email, roles, family)
            .await?;
        tx.commit().await?;
        Ok(session)
    }
}

/// Ends the session `presented` belongs to (its whole family). Unknown tokens are ignored: signing out
/// twice is not an error.
pub async fn sign_out(db: &PgPool, presented: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    let family: Option<Uuid> =
        sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(digest(presented))
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(family) = family {
        revoke_family(&mut tx, family).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Ends every session of `user` (after a password change).
pub async fn revoke_all(tx: &mut PgConnection, user: UserId) -> Result<u64> {
    let revoked = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user)
    .execute(&mut *tx)
    .await?;
    Ok(revoked.rows_affected())
}

async fn revoke_family(tx: &mut PgConnection, family: Uuid) -> Result<u64> {
    let revoked = sqlx::query(
        "UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL",
    )
    .bind(family)
    .execute(&mut *tx)
    .await?;
    Ok(revoked.rows_affected())
}

/// Deletes tokens expired for a day: kept that long so a late reuse is still recognized (and revokes).
pub async fn prune(db: &PgPool) -> Result<u64> {
    let deleted =
        sqlx::query("DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'")
            .execute(db)
            .await?;
    Ok(deleted.rows_affected())
}

fn new_refresh_token() -> Result<String> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|error| IdentityError::Internal(format!("OS random generator: {error}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
