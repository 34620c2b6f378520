use std::path::PathBuf;

use reqwest::Url;

/// The `iss` identity puts in its tokens unless configured otherwise.
pub const DEFAULT_ISSUER: &str = "bazaar-identity";
/// The `aud` of tokens meant for the Bazaar components.
pub const DEFAULT_AUDIENCE: &str = "bazaar";
/// Clock skew tolerated on `exp` and `nbf` by default, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 30;

/// How a component verifies access tokens; flatten it into the component's command line.
///
/// Keys come from identity's JWKS URL (in the cluster) or from a JWKS file (local runs, tests).
/// With neither, the component still starts but rejects every token, saying why.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    /// Issuer (`iss` claim) that access tokens must name.
    #[arg(long, env = "BAZAAR_JWT_ISSUER", value_name = "ISSUER", default_value = DEFAULT_ISSUER)]
    pub jwt_issuer: String,

    /// Audience (`aud` claim) that access tokens must name.
    #[arg(long, env = "BAZAAR_JWT_AUDIENCE", value_name = "AUDIENCE", default_value = DEFAULT_AUDIENCE)]
    pub jwt_audience: String,

    /// http:// URL of identity's JWKS, e.g. http://identity/.well-known/jwks.json. Fetched at
    /// startup and again when a token names a key not seen yet (key rotation).
    #[arg(
        long,
        env = "BAZAAR_JWKS_URL",
        value_name = "URL",
        conflicts_with = "jwks_file"
    )]
    pub jwks_url: Option<Url>,

    /// Path of a JWKS JSON file holding the verification keys, read once at startup; an
    /// alternative to --jwks-url for local runs and tests.
    #[arg(long, env = "BAZAAR_JWKS_FILE", value_name = "PATH")]
    pub jwks_file: Option<PathBuf>,

    /// Clock skew tolerated when checking the `exp` and `nbf` claims, in seconds.
    #[arg(
        long,
        env = "BAZAAR_JWT_LEEWAY_SECS",
        value_name = "SECONDS",
        default_value_t = DEFAULT_LEEWAY_SECS
    )]
    pub jwt_leeway_secs: u64,
}

impl Default for AuthConfig {
    /// The command-line defaults: identity's issuer and audience, no key source.
    fn default() -> Self {
        Self {
            jwt_issuer: DEFAULT_ISSUER.to_owned(),
            jwt_audience: DEFAULT_AUDIENCE.to_owned(),
            jwks_url: None,
            jwks_file: None,
            jwt_leeway_secs: DEFAULT_LEEWAY_SECS,
        }
    }
}
