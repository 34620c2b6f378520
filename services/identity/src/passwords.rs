//! Password hashing with Argon2id, bounded in CPU and memory.
//!
//! Each hash is deliberately expensive: `--identity-argon2-memory-kib` of memory (19 MiB by default) and
//! a few passes over it. Left unbounded, a burst of sign-ins is a memory-exhaustion attack (64 at once
//! took 3-4 GB of RSS, never given back) and starves the async workers. So:
//!
//! - hashes run on the blocking pool, never on the async workers, and only after passing the `password_
//!   hashing` [`Gate`]: at most `--identity-hash-concurrency` at once (default: one per core); others
//!   wait in a bounded queue for a bounded time and are then refused with 503 and `Retry-After`;
//! - the Argon2 working memory is not allocated per hash: each running hash borrows one of at most
//!   `concurrency` buffers, allocated once and reused, so the memory for hashing is bounded by
//!   `concurrency x memory cost` and does not fragment the heap. (Verifying a hash stored with a larger
//!   memory cost than the current one borrows a buffer of that size for that hash only.)
//!
//! The permit and the buffer move into the blocking task, so an abandoned request (client gone) still
//! counts against the bound until its hash has really finished.
//!
//! Hashes are standard PHC strings (`$argon2id$v=19$m=...,t=...,p=1$salt$hash`); the parameters of a
//! stored hash are read from it, so hashes made with older settings still verify.

use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use bazaar_platform::overload::Gate;
use bazaar_platform::problem::Resource;

use crate::error::{IdentityError, Result};
use crate::model::NewPassword;

/// The hashing gate's resource (metrics label, shed reason).
pub static GATE: Resource = Resource("password_hashing");

/// Salt length of new hashes (the PHC recommendation).
const SALT_LEN: usize = 16;

/// Output length of new hashes.
const OUTPUT_LEN: usize = 32;

/// Hashes and verifies passwords with one set of Argon2id parameters. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
    gate: Gate,
}

struct Inner {
    params: Params,
    /// The hash of a password nobody knows, with the current parameters. A sign-in for an unknown
    /// e-mail address is verified against it, so that it takes as long as one with a wrong password
    /// and the response time does not tell which addresses have accounts.
    dummy_hash: String,
    /// Working memory of finished hashes, ready for the next ones: at most one per gate permit.
    buffers: Mutex<Vec<Vec<Block>>>,
}

impl Passwords {
    /// Argon2id with `memory_kib` KiB and `iterations` passes, one lane; at most `gate`'s permits
    /// hashes at once.
    pub async fn new(memory_kib: u32, iterations: u32, gate: Gate) -> Result<Self> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|error| IdentityError::Internal(format!("Argon2 parameters: {error}")))?;
        let mut unguessable = [0_u8; 32];
        getrandom::fill(&mut unguessable)
            .map_err(|error| IdentityError::Internal(format!("OS random generator: {error}")))?;
        let secret = base64_of(&unguessable);
        let hasher = Inner {
            params,
            dummy_hash: String::new(),
            buffers: Mutex::new(Vec::new()),
        };
        let pass = gate.enter().await?;
        let inner = tokio::task::spawn_blocking(move || {
            let _pass = pass;
            let dummy_hash = hasher.hash_now(secret.as_bytes())?;
            Ok::<_, IdentityError>(Inner {
                dummy_hash,
                ..hasher
            })
        })
        .await
        .map_err(|error| IdentityError::Internal(format!("password hashing task: {error}")))??;
        Ok(Self {
            inner: Arc::new(inner),
            gate,
        })
    }

    /// A PHC string (`$argon2id$v=19$m=...`) with a fresh random salt. Refused with
    /// [`IdentityError::Overloaded`] when the hashing gate is saturated.
    pub async fn hash(&self, password: &NewPassword) -> Result<String> {
        let pass = self.gate.enter().await?;
        let inner = self.inner.clone();
        let password = password.as_str().to_owned();
        tokio::task::spawn_blocking(move || {
            let _pass = pass;
            inner.hash_now(password.as_bytes())
        })
        .await
        .map_err(|error| IdentityError::Internal(format!("password hashing task: {error}")))?
    }

    /// Whether `password` matches `hash`; `None` for an unknown account, which is checked against the
    /// dummy hash so that it costs the same time and always fails. Refused with
    /// [`IdentityError::Overloaded`] when the hashing gate is saturated.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool> {
        let known = hash.is_some();
        let hash = hash.map(str::to_owned);
        let password = password.to_owned();
        let pass = self.gate.enter().await?;
        let inner = self.inner.clone();
        let matches = tokio::task::spawn_blocking(move || {
            let _pass = pass;
            let hash = hash.as_deref().unwrap_or(&inner.dummy_hash);
            inner.verify_now(password.as_bytes(), hash)
        })
        .await
        .map_err(|error| IdentityError::Internal(format!("password verification task: {error}")))?;
        Ok(known && matches)
    }

    /// Working-memory buffers kept for reuse (at most the gate's permits).
    pub fn buffers_kept(&self) -> usize {
        self.inner.buffers.lock().map(|b| b.len()).unwrap_or(0)
    }
}

impl Inner {
    fn hash_now(&self, password: &[u8]) -> Result<String> {
        let failed = |error: &dyn std::fmt::Display| {
            IdentityError::Internal(format!("hashing a password: {error}"))
        };
        let mut salt = [0_u8; SALT_LEN];
        getrandom::fill(&mut salt)
            .map_err(|error| IdentityError::Internal(format!("OS random generator: {error}")))?;
        let mut output = [0_u8; OUTPUT_LEN];
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone());
        self.with_memory(self.params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password, &salt, &mut output, blocks)
        })
        .map_err(|e| failed(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| failed(&e))?,
            salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
            hash: Some(Output::new(&output).map_err(|e| failed(&e))?),
        };
        Ok(phc.to_string())
    }

    /// Recomputes `stored` for `password` with the stored parameters and compares in constant time.
    /// A hash that cannot be read never matches.
    fn verify_now(&self, password: &[u8], stored: &str) -> bool {
        let Ok(phc) = PasswordHash::new(stored) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return false;
        };
        let Ok(algorithm) = Algorithm::try_from(phc.algorithm.as_str()) else {
            return false;
        };
        let version = match phc.version.map(Version::try_from).transpose() {
            Ok(version) => version.unwrap_or_default(),
            Err(_) => return false,
        };
        let Ok(params) = Params::try_from(&phc) else {
            return false;
        };
        let mut buffer = [0_u8; Output::MAX_LENGTH];
        let Some(computed) = buffer.get_mut(..expected.len()) else {
            return false;
        };
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let hashed = self.with_memory(params.block_count(), |blocks| {
            argon2.hash_password_into_with_memory(password, salt, computed, blocks)
        });
        if hashed.is_err() {
            return false;
        }
        // `Output`'s equality is constant-time.
        Output::new(computed).is_ok_and(|computed| &computed == expected)
    }

    /// Runs `f` with `blocks` blocks of working memory: a kept buffer when one is free, else a new one,
    /// kept afterwards if it has the current size (so at most one per running hash ever exists).
    fn with_memory<T>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
        let standard = self.params.block_count();
        let kept = if blocks == standard {
            self.buffers.lock().ok().and_then(|mut kept| kept.pop())
        } else {
            None
        };
        let mut buffer = kept.unwrap_or_else(|| vec![Block::new(); blocks]);
        let result = f(&mut buffer[..blocks]);
        if buffer.len() == standard
            && let Ok(mut kept) = self.buffers.lock()
        {
            kept.push(buffer);
        }
        result
    }
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use argon2::password_hash::{PasswordHasher, PasswordVerifier};
    use bazaar_platform::metrics::Metrics;
    use bazaar_platform::overload::GateLimits;

    use super::*;

    fn gate(permits: usize) -> Gate {
        Gate::new(
            &GATE,
            GateLimits {
                permits,
                max_waiting: 1000,
                max_wait: Duration::from_secs(30),
            },
            &Metrics::new(),
        )
    }

    /// Light parameters: these tests are about behavior, not cost.
    async fn passwords() -> Passwords {
        Passwords::new(64, 1, gate(2)).await.expect("hasher")
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
        assert!(
            !passwords
                .verify("anything", Some("not a PHC string"))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        let passwords = passwords().await;
        let password = NewPassword::parse("correct horse battery", None).expect("valid");
        let ours = passwords.hash(&password).await.expect("hash");
        Argon2::default()
            .verify_password(b"correct horse battery", ours.as_str())
            .expect("the argon2 crate verifies our hash");
        // A hash stored by the argon2 crate with other (larger) parameters still verifies here.
        let params = Params::new(256, 2, 1, None).expect("params");
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse battery")
            .expect("hash")
            .to_string();
        assert!(
            passwords
                .verify("correct horse battery", Some(&theirs))
                .await
                .expect("verify")
        );
        assert!(
            !passwords
                .verify("wrong horse battery", Some(&theirs))
                .await
                .expect("verify")
        );
    }

    #[tokio::test]
    async fn working_memory_is_reused_never_more_buffers_than_permits() {
        let passwords = Passwords::new(64, 1, gate(2)).await.expect("hasher");
        let hashes = futures_join(
            (0..16)
                .map(|_| {
                    let passwords = passwords.clone();
                    let password =
                        NewPassword::parse("correct horse battery", None).expect("valid");
                    tokio::spawn(async move { passwords.hash(&password).await })
                })
                .collect(),
        )
        .await;
        for hash in &hashes {
            assert!(
                passwords
                    .verify("correct horse battery", Some(hash))
                    .await
                    .expect("verify"),
                "a hash computed in reused memory verifies"
            );
        }
        assert!(
            passwords.buffers_kept() <= 2,
            "{}",
            passwords.buffers_kept()
        );
        assert!(passwords.gate.peak_in_use() <= 2);
    }

    #[tokio::test]
    async fn a_saturated_hasher_refuses_with_overloaded_instead_of_queueing_forever() {
        let gate = Gate::new(
            &GATE,
            GateLimits {
                permits: 1,
                max_waiting: 0,
                max_wait: Duration::from_millis(10),
            },
            &Metrics::new(),
        );
        let passwords = Passwords::new(64, 1, gate.clone()).await.expect("hasher");
        let _busy = gate.enter().await.expect("the only permit");
        let refused = passwords
            .verify("anything", None)
            .await
            .expect_err("no permit");
        assert!(matches!(refused, IdentityError::Overloaded(_)), "{refused}");
    }

    async fn futures_join(tasks: Vec<tokio::task::JoinHandle<Result<String>>>) -> Vec<String> {
        let mut hashes = Vec::new();
        for task in tasks {
            hashes.push(task.await.expect("task").expect("hash"));
        }
        hashes
    }
}
