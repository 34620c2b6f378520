//! The keys that sign access tokens, and the verifier identity checks its own tokens with.
//!
//! Where private keys live: in the identity schema (`signing_keys`), as PKCS#8 PEM. Every replica must
//! sign with the same key and publish the same JWKS, and the database is the one thing they share; a
//! Kubernetes Secret would need an external rotation job, while here an admin rotates with one request.
//! The keys are as safe as the identity schema: only identity's database role may read it (see the
//! architecture notes). Encrypting the column with a key from a Secret is a possible later hardening.
//!
//! Rotation: the active key is retired (it stops signing at once) and a new one becomes active. A retired
//! key stays in the JWKS until `verify_until` (access-token TTL plus leeway), so tokens it signed keep
//! verifying until they expire; then it disappears from the JWKS and other components drop it on their
//! next refresh.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bazaar_platform::Problem;
use bazaar_platform::audit::AuditEntry;
use bazaar_platform::auth::{AuthConfig, Jwk, JwkSet, TokenSigner, Verifier};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{Mutex, RwLock};

use crate::config::IdentityConfig;
use crate::error::{IdentityError, Result};

/// Serialises key creation and rotation across replicas (transaction-scoped advisory lock).
const KEY_LOCK: i64 = 0x0ba2_aa1d_0000_0001;

/// A token naming a key this replica has not loaded makes it reload, at most this often; another
/// replica may have rotated, but anyone can send made-up key ids.
const RELOAD_ON_UNKNOWN_KID: Duration = Duration::from_secs(5);

/// Keys are reloaded at least this often, so a retired key stops verifying here too.
const RELOAD_EVERY: Duration = Duration::from_secs(60);

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub new_kid: String,
    pub retired_kid: Option<String>,
    pub retired_verify_until: Option<DateTime<Utc>>,
}

/// The signing keys of the identity schema, with parsed keys cached per `kid`.
pub struct KeyRing {
    db: PgPool,
    auth: AuthConfig,
    retired_key_grace: Duration,
    signers: RwLock<HashMap<String, Arc<TokenSigner>>>,
    /// `None` until first needed: start-up does not touch the database, so identity starts (unready)
    /// while PostgreSQL is down, like every component.
    verifier: RwLock<Option<Loaded>>,
    /// Held while reloading, so that a burst of unknown key ids costs one query.
    reload: Mutex<()>,
}

struct Loaded {
    verifier: Arc<Verifier>,
    kids: Vec<String>,
    at: Instant,
}

impl KeyRing {
    /// The key ring of `db`; keys are loaded (and the first one created) when first needed.
    pub fn new(db: PgPool, config: &IdentityConfig) -> Self {
        let auth = AuthConfig {
            jwt_issuer: config.issuer.clone(),
            jwt_audience: config.audience.clone(),
            jwt_leeway_secs: config.leeway_secs,
            ..AuthConfig::default()
        };
        Self {
            db,
            auth,
            retired_key_grace: config.retired_key_grace(),
            signers: RwLock::new(HashMap::new()),
            verifier: RwLock::new(None),
            reload: Mutex::new(()),
        }
    }

    /// The key that signs now. Read from the database on every call (one indexed row), so that a
    /// rotation by any replica takes effect everywhere at once; the PEM is parsed once per key.
    pub async fn signer(&self) -> Result<Arc<TokenSigner>> {
        let query = "SELECT kid, private_key_pem FROM signing_keys WHERE retired_at IS NULL";
        let active: Option<(String, String)> =
            sqlx::query_as(query).fetch_optional(&self.db).await?;
        let (kid, pem) = match active {
            Some(active) => active,
            None => {
                ensure_active_key(&self.db).await?;
                sqlx::query_as(query).fetch_one(&self.db).await?
            }
        };
        if let Some(signer) = self.signers.read().await.get(&kid) {
            return Ok(signer.clone());
        }
        let signer = Arc::new(TokenSigner::from_pkcs8_pem(&pem)?.with_kid(kid.clone()));
        self.signers.write().await.insert(kid, signer.clone());
        Ok(signer)
    }

    /// The public keys that verify tokens now: the active one and the retired ones still in grace.
    pub async fn jwks(&self) -> Result<JwkSet> {
        let jwks = published_keys(&self.db).await?;
        if !jwks.keys.is_empty() {
            return Ok(jwks);
        }
        ensure_active_key(&self.db).await?;
        published_keys(&self.db).await
    }

    /// Retires the active key and makes a fresh one active, recording `audit` (who asked) in the same
    /// transaction.
    pub async fn rotate(&self, audit: &AuditEntry) -> Result<Rotation> {
        let signer = TokenSigner::generate()?;
        let mut tx = self.db.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(KEY_LOCK)
            .execute(&mut *tx)
            .await?;
        let grace = self.retired_key_grace.as_secs_f64();
        let retired: Option<(String, DateTime<Utc>)> = sqlx::query_as(
            "UPDATE signing_keys
             SET retired_at = now(), verify_until = now() + make_interval(secs => $1)
             WHERE retired_at IS NULL
             RETURNING kid, verify_until",
        )
        .bind(grace)
        .fetch_optional(&mut *tx)
        .await?;
        insert_key(&mut tx, &signer).await?;
        audit
            .clone()
            .before(serde_json::json!({"activeKid": retired.as_ref().map(|(kid, _)| kid)}))
            .after(serde_json::json!({"activeKid": signer.kid()}))
            .record(&mut tx)
            .await?;
        tx.commit().await?;
        tracing::info!(new_kid = signer.kid(), retired_kid = ?retired.as_ref().map(|r| &r.0), "signing key rotated");
        self.reload_now().await?;
        Ok(Rotation {
            new_kid: signer.kid().to_owned(),
            retired_kid: retired.as_ref().map(|(kid, _)| kid.clone()),
            retired_verify_until: retired.map(|(_, until)| until),
        })
    }

    /// A verifier that knows `kid` if any replica has published it (reloading when needed).
    /// `Err` only when no keys were ever loaded and the database cannot be read now.
    async fn verifier_for(&self, kid: Option<&str>) -> Result<Arc<Verifier>> {
        let needs_reload = match &*self.verifier.read().await {
            None => true,
            Some(loaded) => {
                let age = loaded.at.elapsed();
                let unknown = kid.is_some_and(|kid| !loaded.kids.iter().any(|known| known == kid));
                age >= RELOAD_EVERY || (unknown && age >= RELOAD_ON_UNKNOWN_KID)
            }
        };
        if needs_reload {
            let _turn = self.reload.lock().await;
            // Another request may have reloaded while we waited for our turn.
            let stale = self
                .verifier
                .read()
                .await
                .as_ref()
                .is_none_or(|loaded| loaded.at.elapsed() >= RELOAD_ON_UNKNOWN_KID);
            if stale && let Err(error) = self.reload_now().await {
                tracing::warn!(%error, "loading the signing keys failed; keeping the loaded ones");
            }
        }
        self.verifier
            .read()
            .await
            .as_ref()
            .map(|loaded| loaded.verifier.clone())
            .ok_or_else(|| IdentityError::Internal("the signing keys cannot be loaded".to_owned()))
    }

    async fn reload_now(&self) -> Result<()> {
        let jwks = self.jwks().await?;
        let mut kids: Vec<String> = jwks
            .keys
            .iter()
            .filter_map(|jwk| jwk.common.key_id.clone())
            .collect();
        kids.sort();
        let verifier = Verifier::new(&self.auth, jwks)?;
        *self.verifier.write().await = Some(Loaded {
            verifier: Arc::new(verifier),
            kids,
            at: Instant::now(),
        });
        Ok(())
    }
}

/// Puts the verifier of identity's own keys into the request for [`CurrentUser`]. Identity checks its
/// tokens against its database rather than against a JWKS URL, so it needs no `--jwks-url` pointing at
/// itself and a rotation is effective here at once.
///
/// [`CurrentUser`]: bazaar_platform::auth::CurrentUser
pub async fn own_verifier(
    State(keys): State<Arc<KeyRing>>,
    mut request: Request,
    next: Next,
) -> Response {
    let kid = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .and_then(|(_, token)| jsonwebtoken::decode_header(token.trim()).ok())
        .and_then(|header| header.kid);
    // Requests without a token (sign-in, registration) need no verifier refresh.
    if request.headers().contains_key(header::AUTHORIZATION) {
        match keys.verifier_for(kid.as_deref()).await {
            Ok(verifier) => {
                request.extensions_mut().insert(verifier);
            }
            Err(error) => {
                tracing::error!(%error, "cannot verify access tokens");
                return Problem::unavailable(
                    "Access tokens cannot be checked right now; retry shortly.",
                )
                .into_response();
            }
        }
    }
    next.run(request).await
}

async fn ensure_active_key(db: &PgPool) -> Result<()> {
    let mut tx = db.begin().await?;
    // Replicas starting together would otherwise each create a first key.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(KEY_LOCK)
        .execute(&mut *tx)
        .await?;
    let active: Option<String> =
        sqlx::query_scalar("SELECT kid FROM signing_keys WHERE retired_at IS NULL")
            .fetch_optional(&mut *tx)
            .await?;
    if active.is_none() {
        let signer = TokenSigner::generate()?;
        insert_key(&mut tx, &signer).await?;
        tracing::info!(kid = signer.kid(), "created the first token signing key");
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_key(tx: &mut sqlx::PgConnection, signer: &TokenSigner) -> Result<()> {
    let pem = signer.to_pkcs8_pem()?;
    let jwk = serde_json::to_value(signer.public_jwk())
        .map_err(|error| IdentityError::Internal(format!("encoding a JWK: {error}")))?;
    sqlx::query("INSERT INTO signing_keys (kid, private_key_pem, public_jwk) VALUES ($1, $2, $3)")
        .bind(signer.kid())
        .bind(pem.as_str())
        .bind(jwk)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

async fn published_keys(db: &PgPool) -> Result<JwkSet> {
    let rows: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT public_jwk FROM signing_keys
         WHERE retired_at IS NULL OR verify_until > now()
         ORDER BY created_at DESC",
    )
    .fetch_all(db)
    .await?;
    let keys = rows
        .into_iter()
        .map(serde_json::from_value::<Jwk>)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| IdentityError::Internal(format!("a stored JWK is invalid: {error}")))?;
    Ok(JwkSet { keys })
}
