//! Password hashing with Argon2id. Hashing is deliberately slow, so it runs on the blocking pool and
//! never stalls the async workers.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{IdentityError, Result};
use crate::model::NewPassword;

/// Hashes and verifies passwords with one set of Argon2id parameters. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    params: Params,
    /// The hash of a password nobody knows, with the current parameters. A sign-in for an unknown
    /// e-mail address is verified against it, so that it takes as long as one with a wrong password
    /// and the response time does not tell which addresses have accounts.
    dummy_hash: String,
}

impl Passwords {
    /// Argon2id with `memory_kib` KiB and `iterations` passes, one lane.
    pub async fn new(memory_kib: u32, iterations: u32) -> Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|error| IdentityError::Internal(format!("Argon2 parameters: {error}")))?;
        let mut unguessable = [0_u8; 32];
        getrandom::fill(&mut unguessable)
            .map_err(|error| IdentityError::Internal(format!("OS random generator: {error}")))?;
        let secret = base64_of(&unguessable);
        let dummy_hash = hash_blocking(params.clone(), secret).await?;
        Ok(Self {
            inner: Arc::new(Inner { params, dummy_hash }),
        })
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh random salt.
    pub async fn hash(&self, password: &NewPassword) -> Result<String> {
        hash_blocking(self.inner.params.clone(), password.as_str().to_owned()).await
    }

    /// Whether `password` matches `hash`; `None` for an unknown account, which is checked against the
    /// dummy hash so that it costs the same time and always fails.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool> {
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.inner.dummy_hash).to_owned();
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || {
            // The parameters come from the stored hash, so hashes made with older settings still verify.
            Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .map_err(|error| IdentityError::Internal(format!("password verification task: {error}")))?;
        Ok(known && matches)
    }
}

async fn hash_blocking(params: Params, password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|error| IdentityError::Internal(format!("hashing a password: {error}")))
    })
    .await
    .map_err(|error| IdentityError::Internal(format!("password hashing task: {error}")))?
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Light parameters: these tests are about behavior, not cost.
    async fn passwords() -> Passwords {
        Passwords::new(64, 1).await.expect("hasher")
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_salted_and_verifies_only_its_password() {
        let passwords = passwords().await;
        let password = NewPassword::parse("correct horse battery", None).expect("valid");
        let first = passwords.hash(&password).await.expect("hash");
        let second = passwords.hash(&password).await.expect("hash");
        assert!(first.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(!first.contains("correct horse"));
        assert!(
            passwords
                .verify("correct horse battery", Some(&first))
                .await
                .expect("verify")
        );
        assert!(
            !passwords
                .verify("correct horse battery!", Some(&first))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn an_unknown_account_never_verifies() {
        let passwords = passwords().await;
        assert!(
            !passwords
                .verify("anything at all", None)
                .await
                .expect("verify")
        );
        assert!(!passwords.verify("", None).await.expect("verify"));
    }
}
