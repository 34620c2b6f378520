use std::fmt;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};

use super::{AuthConfig, AuthError, Claims, Role, Verifier};

/// An Ed25519 private key that signs access tokens, with the `kid` naming it in tokens and in
/// the JWKS. This is identity's side of [`Verifier`].
///
/// The `kid` defaults to the key's RFC 7638 thumbprint, so a key stored as PEM gets the same
/// `kid` back without storing it.
pub struct TokenSigner {
    kid: String,
    key: SigningKey,
    encoding: EncodingKey,
    /// The public half as a JWK, without `kid` (added by [`TokenSigner::public_jwk`]).
    jwk: Jwk,
}

impl TokenSigner {
    /// A new key from the operating system's secure random generator.
    pub fn generate() -> Result<Self, AuthError> {
        let mut seed = Zeroizing::new([0_u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|error| {
            AuthError::KeyMaterial(format!("the OS random generator failed: {error}"))
        })?;
        Self::from_key(SigningKey::from_bytes(&seed))
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), e.g. from a Secret.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, AuthError> {
        let key = SigningKey::from_pkcs8_pem(pem).map_err(|error| {
            AuthError::KeyMaterial(format!("not a PKCS#8 Ed25519 private key: {error}"))
        })?;
        Self::from_key(key)
    }

    /// The private key as PKCS#8 PEM, to store it; wiped from memory when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, AuthError> {
        self.key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|error| AuthError::KeyMaterial(format!("encoding the key as PEM: {error}")))
    }

    /// The same key under another `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = kid.into();
        self
    }

    /// The id of this key in token headers and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as published in the JWKS: `kty` OKP, `crv` Ed25519, `alg` EdDSA,
    /// `use` sig and the `kid`.
    pub fn public_jwk(&self) -> Jwk {
        let mut jwk = self.jwk.clone();
        jwk.common.key_id = Some(self.kid.clone());
        jwk
    }

    /// Signs `claims` into a compact JWT whose header names this key.
    pub fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|error| AuthError::KeyMaterial(format!("signing a token: {error}")))
    }

    fn from_key(key: SigningKey) -> Result<Self, AuthError> {
        let fail = |error: &dyn fmt::Display| AuthError::KeyMaterial(error.to_string());
        let der = key.to_pkcs8_der().map_err(|error| fail(&error))?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        // Despite its name, `from_ed_der` takes the raw 32-byte public key here.
        let public = DecodingKey::from_ed_der(key.verifying_key().as_bytes());
        let mut jwk = Jwk::from_decoding_key(&public, Some(Algorithm::EdDSA))
            .map_err(|error| fail(&error))?;
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        let kid = jwk
            .thumbprint(ThumbprintHash::SHA256)
            .map_err(|error| fail(&error))?;
        Ok(Self {
            kid,
            key,
            encoding,
            jwk,
        })
    }
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// Issues real, signed access tokens with a throwaway key: for tests and dev tooling only.
///
/// Its methods panic instead of returning errors, which is what a test wants; the only failures
/// possible are a broken OS random generator or a bug.
///
/// ```
/// use std::time::Duration;
/// use bazaar_platform::auth::{Role, TestIssuer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let issuer = TestIssuer::new();
/// let token = issuer.issue("user-1", &[Role::Customer], Duration::from_secs(300));
/// let claims = issuer.verifier().verify(&token).await.expect("valid token");
/// assert_eq!(claims.sub, "user-1");
/// # }
/// ```
#[derive(Debug)]
pub struct TestIssuer {
    signer: TokenSigner,
    issuer: String,
    audience: String,
}

/// Lifetime of the tokens from [`TestIssuer::claims`].
const TEST_TOKEN_TTL: Duration = Duration::from_secs(300);

impl TestIssuer {
    /// An issuer with a fresh key, issuing for the default issuer and audience of [`AuthConfig`].
    ///
    /// # Panics
    /// If the operating system's random generator fails.
    pub fn new() -> Self {
        Self::for_config(&AuthConfig::default())
    }

    /// An issuer with a fresh key, issuing for the issuer and audience `config` expects.
    ///
    /// # Panics
    /// If the operating system's random generator fails.
    pub fn for_config(config: &AuthConfig) -> Self {
        Self {
            signer: TokenSigner::generate().expect("generating an Ed25519 test key"),
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        }
    }

    /// The same issuer, but naming its key `kid`; e.g. to impersonate another issuer's key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.signer = self.signer.with_kid(kid);
        self
    }

    /// The id of the signing key.
    pub fn kid(&self) -> &str {
        self.signer.kid()
    }

    /// The key behind this issuer.
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// A JWKS holding this issuer's public key, as identity would serve it.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: vec![self.signer.public_jwk()],
        }
    }

    /// Valid claims for `sub` with `roles`, expiring in five minutes; a starting point for
    /// [`issue_with`](Self::issue_with).
    pub fn claims(&self, sub: impl Into<String>, roles: &[Role]) -> Claims {
        self.claims_for(sub, roles, TEST_TOKEN_TTL)
    }

    /// A signed token for `sub` with `roles`, valid for `ttl`.
    pub fn issue(&self, sub: impl Into<String>, roles: &[Role], ttl: Duration) -> String {
        self.issue_with(&self.claims_for(sub, roles, ttl))
    }

    /// A signed token carrying exactly `claims`, valid or not.
    ///
    /// # Panics
    /// Never for keys made by this type.
    pub fn issue_with(&self, claims: &Claims) -> String {
        self.signer
            .sign(claims)
            .expect("signing with a generated Ed25519 key")
    }

    /// Writes this issuer's JWKS to `path` and returns the settings under which components trust it: the key
    /// file stands in for identity's JWKS endpoint when components run without identity (tests, tools).
    ///
    /// # Panics
    /// If the file cannot be written.
    pub fn trusted_through_file(&self, path: &std::path::Path) -> AuthConfig {
        let jwks = serde_json::to_vec(&self.jwks()).expect("a JWKS serializes");
        std::fs::write(path, jwks).expect("writing the test JWKS file");
        AuthConfig {
            jwt_issuer: self.issuer.clone(),
            jwt_audience: self.audience.clone(),
            jwks_file: Some(path.to_owned()),
            ..AuthConfig::default()
        }
    }

    /// A verifier that trusts this issuer's key only, with the default [`AuthConfig`] but this
    /// issuer's issuer and audience.
    pub fn verifier(&self) -> Verifier {
        let config = AuthConfig {
            jwt_issuer: self.issuer.clone(),
            jwt_audience: self.audience.clone(),
            ..AuthConfig::default()
        };
        Verifier::new(&config, self.jwks()).expect("a JWKS with a generated Ed25519 key")
    }

    fn claims_for(&self, sub: impl Into<String>, roles: &[Role], ttl: Duration) -> Claims {
        Claims::new(
            self.issuer.clone(),
            self.audience.clone(),
            sub,
            roles.to_vec(),
            ttl,
        )
    }
}

impl Default for TestIssuer {
    fn default() -> Self {
        Self::new()
    }
}
