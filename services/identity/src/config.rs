//! The identity component's settings. Issuer, audience and leeway are not flags of their own: they come
//! from the platform's [`AuthConfig`] (`--jwt-issuer`, `--jwt-audience`, `--jwt-leeway-secs`), which every
//! component verifies with, so identity cannot issue tokens the others would reject.

use std::time::Duration;

use bazaar_platform::auth::{AuthConfig, DEFAULT_AUDIENCE, DEFAULT_ISSUER, DEFAULT_LEEWAY_SECS};
use bazaar_platform::overload::GateLimits;
use ipnet::IpNet;

/// Settings of the identity component; flatten into the commands that run it (`serve`, `dev`).
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct IdentityConfig {
    /// Lifetime of access tokens (JWTs), in seconds. Short, because a token cannot be revoked.
    #[arg(long = "identity-access-token-ttl-secs", env = "IDENTITY_ACCESS_TOKEN_TTL_SECS",
          value_name = "SECONDS", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(10..=86_400))]
    pub access_token_ttl_secs: u64,

    /// Lifetime of a refresh token, in seconds; each refresh issues a new one with a fresh lifetime.
    #[arg(long = "identity-refresh-token-ttl-secs", env = "IDENTITY_REFRESH_TOKEN_TTL_SECS",
          value_name = "SECONDS", default_value_t = 30 * 86_400,
          value_parser = clap::value_parser!(u64).range(60..=365 * 86_400))]
    pub refresh_token_ttl_secs: u64,

    /// Length of a rate-limit window, in seconds; the limits below count attempts per window.
    #[arg(long = "identity-rate-limit-window-secs", env = "IDENTITY_RATE_LIMIT_WINDOW_SECS",
          value_name = "SECONDS", default_value_t = 900,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub rate_limit_window_secs: u64,

    /// Sign-in attempts allowed per client address per window.
    #[arg(long = "identity-login-limit-per-client", env = "IDENTITY_LOGIN_LIMIT_PER_CLIENT",
          value_name = "COUNT", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_limit_per_client: u32,

    /// Sign-in attempts (and password changes) allowed per account per window, from anywhere.
    #[arg(long = "identity-login-limit-per-account", env = "IDENTITY_LOGIN_LIMIT_PER_ACCOUNT",
          value_name = "COUNT", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub login_limit_per_account: u32,

    /// Registrations allowed per client address per window.
    #[arg(long = "identity-register-limit-per-client", env = "IDENTITY_REGISTER_LIMIT_PER_CLIENT",
          value_name = "COUNT", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub register_limit_per_client: u32,

    /// Registration attempts allowed per e-mail address per window.
    #[arg(long = "identity-register-limit-per-account", env = "IDENTITY_REGISTER_LIMIT_PER_ACCOUNT",
          value_name = "COUNT", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub register_limit_per_account: u32,

    /// Reverse proxies (addresses or CIDR ranges, comma-separated) whose `X-Forwarded-For` is believed,
    /// e.g. the ingress controller's pod range. Requests from anyone else are limited by their own
    /// address, whatever headers they send.
    #[arg(long = "identity-trusted-proxies", env = "IDENTITY_TRUSTED_PROXIES",
          value_name = "CIDR,...", value_delimiter = ',', value_parser = parse_net)]
    pub trusted_proxies: Vec<IpNet>,

    /// Argon2id memory cost in KiB (OWASP's minimum: 19456).
    #[arg(long = "identity-argon2-memory-kib", env = "IDENTITY_ARGON2_MEMORY_KIB",
          value_name = "KIB", default_value_t = 19_456,
          value_parser = clap::value_parser!(u32).range(8..=1_048_576))]
    pub argon2_memory_kib: u32,

    /// Argon2id iterations (OWASP's minimum with 19 MiB: 2).
    #[arg(long = "identity-argon2-iterations", env = "IDENTITY_ARGON2_ITERATIONS",
          value_name = "COUNT", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub argon2_iterations: u32,

    /// Password hashes (sign-up, sign-in, password change) computed at once; each holds the Argon2 memory
    /// cost, so this bounds their memory too. 0 means one per CPU core.
    #[arg(long = "identity-hash-concurrency", env = "IDENTITY_HASH_CONCURRENCY",
          value_name = "COUNT", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=1024))]
    pub hash_concurrency: u32,

    /// Requests that may wait for a hashing slot; more are answered 503 with `Retry-After` at once.
    #[arg(long = "identity-hash-queue", env = "IDENTITY_HASH_QUEUE",
          value_name = "COUNT", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub hash_queue: u32,

    /// Milliseconds a request waits for a hashing slot before it is answered 503 with `Retry-After`.
    #[arg(long = "identity-hash-max-wait-ms", env = "IDENTITY_HASH_MAX_WAIT_MS",
          value_name = "MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub hash_max_wait_ms: u64,

    /// `iss` of issued tokens; set from the platform's `--jwt-issuer` with [`IdentityConfig::with_auth`].
    #[arg(skip = DEFAULT_ISSUER.to_owned())]
    pub issuer: String,

    /// `aud` of issued tokens; set from the platform's `--jwt-audience`.
    #[arg(skip = DEFAULT_AUDIENCE.to_owned())]
    pub audience: String,

    /// Clock skew tolerated when identity verifies its own tokens; from `--jwt-leeway-secs`.
    #[arg(skip = DEFAULT_LEEWAY_SECS)]
    pub leeway_secs: u64,
}

impl IdentityConfig {
    /// Takes issuer, audience and leeway from the settings every component verifies tokens with.
    #[must_use]
    pub fn with_auth(mut self, auth: &AuthConfig) -> Self {
        self.issuer = auth.jwt_issuer.clone();
        self.audience = auth.jwt_audience.clone();
        self.leeway_secs = auth.jwt_leeway_secs;
        self
    }

    /// Limits of the password-hashing gate: the configured concurrency (or one per core), queue and wait.
    pub fn hashing_limits(&self) -> GateLimits {
        let permits = match self.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            n => usize::try_from(n).unwrap_or(1),
        };
        GateLimits {
            permits,
            max_waiting: usize::try_from(self.hash_queue).unwrap_or(usize::MAX),
            max_wait: Duration::from_millis(self.hash_max_wait_ms),
        }
    }

    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    pub fn refresh_token_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_secs)
    }

    pub fn rate_limit_window(&self) -> Duration {
        Duration::from_secs(self.rate_limit_window_secs)
    }

    /// How long a retired signing key stays in the JWKS: until the last token it signed has expired,
    /// even on a verifier whose clock is `leeway` behind.
    pub fn retired_key_grace(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs.saturating_add(self.leeway_secs))
    }
}

/// An address (`10.0.0.7`, a /32 or /128) or a CIDR range (`10.0.0.0/8`).
fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is not an IP address or CIDR range such as 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        identity: IdentityConfig,
    }

    #[test]
    fn trusted_proxies_take_addresses_and_ranges() {
        let parsed = Cli::try_parse_from([
            "bazaar",
            "--identity-trusted-proxies",
            "10.0.0.0/8,192.168.1.5",
        ])
        .expect("valid list");
        let proxies: Vec<String> = parsed
            .identity
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.168.1.5/32"]);
        assert!(Cli::try_parse_from(["bazaar", "--identity-trusted-proxies", "ingress"]).is_err());
    }
}
