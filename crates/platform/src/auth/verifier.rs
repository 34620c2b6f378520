use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Url;
use tokio::sync::{Mutex, RwLock};

use super::error::from_jwt;
use super::{AuthConfig, AuthError, Claims};

/// The least time between two JWKS refetches caused by tokens with an unknown `kid`.
///
/// Anyone can send a token naming a made-up key; without this floor every such request would
/// cost identity a JWKS request.
pub const JWKS_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// Bounds how long requests with an unknown `kid` wait on a slow identity.
const JWKS_FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Verifies access tokens: EdDSA signature by a key from identity's JWKS, chosen by the token's
/// `kid`, then `exp`, `nbf`, `iss` and `aud`.
///
/// Build it once per process and share it as `Arc<Verifier>`; the HTTP scaffold puts it in the
/// request extensions, where [`CurrentUser`](super::CurrentUser) finds it.
pub struct Verifier {
    validation: Validation,
    /// Verification keys by `kid`: only Ed25519 keys, checked when loaded.
    keys: RwLock<HashMap<String, DecodingKey>>,
    /// Where to refetch the keys when a token names an unknown one; `None` for fixed keys.
    remote: Option<RemoteJwks>,
    /// False when started without any key source: every token is rejected as `NotConfigured`.
    configured: bool,
}

impl Verifier {
    /// A verifier trusting exactly the Ed25519 keys of `keys` (other keys are skipped), with the
    /// issuer, audience and leeway of `config`. Its key source settings are not used.
    ///
    /// Fails if `keys` holds no usable key, which is always a configuration mistake.
    pub fn new(config: &AuthConfig, keys: JwkSet) -> Result<Self, AuthError> {
        let keys = key_ring(&keys);
        if keys.is_empty() {
            return Err(AuthError::KeySource(
                "the JWKS holds no Ed25519 signing key with a kid".to_owned(),
            ));
        }
        Ok(Self::build(config, keys, None, true))
    }

    /// The verifier `config` asks for: keys read from `--jwks-file`, or fetched from `--jwks-url`
    /// and refetched when a token names a key not seen yet.
    ///
    /// An unreachable JWKS URL does not fail startup: components need not start after identity,
    /// and identity may even verify its own tokens. Tokens are rejected until a refetch succeeds.
    /// Without any key source the verifier rejects every token as [`AuthError::NotConfigured`].
    pub async fn from_config(config: &AuthConfig) -> Result<Self, AuthError> {
        match (&config.jwks_url, &config.jwks_file) {
            (Some(_), Some(_)) => Err(AuthError::KeySource(
                "set either a JWKS URL or a JWKS file, not both".to_owned(),
            )),
            (None, Some(path)) => Self::new(config, read_jwks_file(path).await?),
            (Some(url), None) => {
                let remote = RemoteJwks::new(url.clone())?;
                // This fetch leaves the refetch clock unset, so a key rotated in (or an identity
                // that comes up) right after startup is fetched on the first token naming it.
                let keys = match remote.fetch().await {
                    Ok(jwks) => {
                        let keys = key_ring(&jwks);
                        if keys.is_empty() {
                            tracing::warn!("identity's JWKS holds no usable Ed25519 key yet");
                        }
                        keys
                    }
                    Err(error) => {
                        tracing::warn!(
                            %error,
                            "identity's JWKS is unavailable; tokens are rejected until it is fetched"
                        );
                        HashMap::new()
                    }
                };
                Ok(Self::build(config, keys, Some(remote), true))
            }
            (None, None) => {
                tracing::warn!(
                    "no JWKS URL or file configured: every access token will be rejected"
                );
                Ok(Self::build(config, HashMap::new(), None, false))
            }
        }
    }

    /// Like [`Verifier::from_config`] with a JWKS URL, but nothing is fetched until the first token
    /// names a key: for a process that serves that JWKS itself (identity in `serve all`), which cannot
    /// answer its own request before it listens, so a fetch at startup would only wait out the timeout.
    pub fn fetching_on_first_token(config: &AuthConfig) -> Result<Self, AuthError> {
        match (&config.jwks_url, &config.jwks_file) {
            (Some(url), None) => {
                let remote = RemoteJwks::new(url.clone())?;
                Ok(Self::build(config, HashMap::new(), Some(remote), true))
            }
            _ => Err(AuthError::KeySource(
                "fetching keys on the first token needs a JWKS URL and no JWKS file".to_owned(),
            )),
        }
    }

    fn build(
        config: &AuthConfig,
        keys: HashMap<String, DecodingKey>,
        remote: Option<RemoteJwks>,
        configured: bool,
    ) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.jwt_issuer]);
        validation.set_audience(&[&config.jwt_audience]);
        validation.validate_nbf = true;
        validation.leeway = config.jwt_leeway_secs;
        Self {
            validation,
            keys: RwLock::new(keys),
            remote,
            configured,
        }
    }

    /// Checks `token` (the part after `Bearer `) and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        if !self.configured {
            return Err(AuthError::NotConfigured);
        }
        // Both checks come before the key lookup so that tokens we would reject anyway never
        // cause a JWKS refetch.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Malformed("it is not a JWT"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        let kid = header
            .kid
            .ok_or(AuthError::Malformed("its header names no key (kid)"))?;
        let key = self.key(&kid).await?;
        jsonwebtoken::decode::<Claims>(token, &key, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| from_jwt(&error))
    }

    /// Refetches the JWKS now, regardless of [`JWKS_REFETCH_INTERVAL`], and returns how many
    /// keys are trusted afterwards. Lets a component pick up a removed key without waiting for a
    /// token with an unknown `kid`. Does nothing without a JWKS URL.
    pub async fn refresh(&self) -> Result<usize, AuthError> {
        let Some(remote) = &self.remote else {
            return Ok(self.keys.read().await.len());
        };
        let mut last_refetch = remote.last_refetch.lock().await;
        *last_refetch = Some(Instant::now());
        let keys = key_ring(&remote.fetch().await?);
        let count = keys.len();
        *self.keys.write().await = keys;
        Ok(count)
    }

    /// The ids of the keys trusted right now, sorted; for diagnostics.
    pub async fn key_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.keys.read().await.keys().cloned().collect();
        ids.sort();
        ids
    }

    async fn key(&self, kid: &str) -> Result<DecodingKey, AuthError> {
        if let Some(key) = self.keys.read().await.get(kid) {
            return Ok(key.clone());
        }
        let Some(remote) = &self.remote else {
            return Err(AuthError::UnknownKey);
        };
        // Held across the fetch so that a burst of unknown kids costs identity one request;
        // requests with known kids never take this lock.
        let mut last_refetch = remote.last_refetch.lock().await;
        if let Some(key) = self.keys.read().await.get(kid) {
            // Someone else's refetch, which we waited for, brought the key.
            return Ok(key.clone());
        }
        if last_refetch.is_some_and(|at| at.elapsed() < JWKS_REFETCH_INTERVAL) {
            tracing::debug!(?kid, "unknown key id; JWKS refetched recently, not again");
            return Err(AuthError::UnknownKey);
        }
        *last_refetch = Some(Instant::now());
        tracing::info!(?kid, "unknown key id; refetching identity's JWKS");
        match remote.fetch().await {
            // Replaced, not merged: a key identity no longer publishes is no longer trusted.
            Ok(jwks) => *self.keys.write().await = key_ring(&jwks),
            Err(error) => {
                tracing::warn!(%error, "refetching the JWKS failed; keeping the known keys")
            }
        }
        self.keys
            .read()
            .await
            .get(kid)
            .cloned()
            .ok_or(AuthError::UnknownKey)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.validation.iss)
            .field("audience", &self.validation.aud)
            .field("leeway", &self.validation.leeway)
            .field("jwks_url", &self.remote.as_ref().map(|remote| &remote.url))
            .field("configured", &self.configured)
            .finish_non_exhaustive()
    }
}

/// Identity's JWKS endpoint.
struct RemoteJwks {
    url: Url,
    client: reqwest::Client,
    /// When the last refetch started. The mutex also makes refetches take turns.
    last_refetch: Mutex<Option<Instant>>,
}

impl RemoteJwks {
    fn new(url: Url) -> Result<Self, AuthError> {
        // This build of reqwest has no TLS; say so at startup rather than at the first token.
        if url.scheme() != "http" {
            return Err(AuthError::KeySource(format!(
                "JWKS URL {url} is not http://; only in-cluster plain http is supported"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(JWKS_FETCH_TIMEOUT)
            .build()
            .map_err(|error| AuthError::KeySource(format!("HTTP client: {error}")))?;
        Ok(Self {
            url,
            client,
            last_refetch: Mutex::new(None),
        })
    }

    async fn fetch(&self) -> Result<JwkSet, AuthError> {
        let fail =
            |error: reqwest::Error| AuthError::KeySource(format!("GET {}: {error}", self.url));
        self.client
            .get(self.url.clone())
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(fail)?
            .json::<JwkSet>()
            .await
            .map_err(fail)
    }
}

async fn read_jwks_file(path: &Path) -> Result<JwkSet, AuthError> {
    let fail = |reason: String| AuthError::KeySource(format!("{}: {reason}", path.display()));
    let text = tokio::fs::read(path)
        .await
        .map_err(|error| fail(error.to_string()))?;
    serde_json::from_slice(&text).map_err(|error| fail(format!("not a JWKS: {error}")))
}

/// The usable keys of a JWKS by `kid`; anything that is not an Ed25519 signing key is skipped.
fn key_ring(jwks: &JwkSet) -> HashMap<String, DecodingKey> {
    let mut keys = HashMap::new();
    for jwk in &jwks.keys {
        let Some(kid) = jwk.common.key_id.as_deref() else {
            tracing::warn!("skipping a JWKS key without kid: tokens could not select it");
            continue;
        };
        match ed25519_key(jwk) {
            Ok(key) => match keys.entry(kid.to_owned()) {
                Entry::Vacant(entry) => {
                    entry.insert(key);
                }
                Entry::Occupied(_) => {
                    tracing::warn!(?kid, "skipping a second JWKS key with the same kid");
                }
            },
            Err(reason) => tracing::warn!(?kid, reason, "skipping a JWKS key"),
        }
    }
    keys
}

fn ed25519_key(jwk: &Jwk) -> Result<DecodingKey, &'static str> {
    if jwk
        .common
        .key_algorithm
        .is_some_and(|alg| alg != KeyAlgorithm::EdDSA)
    {
        return Err("its alg is not EdDSA");
    }
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|usage| *usage != PublicKeyUse::Signature)
    {
        return Err("it is not a signature key");
    }
    let AlgorithmParameters::OctetKeyPair(params) = &jwk.algorithm else {
        return Err("it is not an OKP key");
    };
    if params.curve != EllipticCurve::Ed25519 {
        return Err("its curve is not Ed25519");
    }
    let key = DecodingKey::from_ed_components(&params.x).map_err(|_| "its x is not base64url")?;
    // jsonwebtoken slices the first 32 bytes without checking the length (and panics on a
    // shorter key), so the key is checked here, once, when it is loaded.
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or("its x is not 32 bytes long")?;
    ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| "its x is not an Ed25519 point")?;
    Ok(key)
}
