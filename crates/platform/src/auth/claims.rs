use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// What a user may do. Identity grants roles; components check them with
/// [`CurrentUser::require`](super::CurrentUser::require).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Shops: browses the catalog, fills a cart, places and pays for orders.
    Customer,
    /// Curates the catalog: products, prices, assortments.
    Merchandiser,
    /// Runs the shop day to day: orders, refunds, stock corrections.
    Ops,
    /// Administers the platform; holds every other role implicitly.
    Admin,
}

impl Role {
    /// Every role, least privileged first.
    pub const ALL: [Role; 4] = [Role::Customer, Role::Merchandiser, Role::Ops, Role::Admin];

    /// The name used in tokens and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Merchandiser => "merchandiser",
            Role::Ops => "ops",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Role`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}; expected one of customer, merchandiser, ops, admin")]
pub struct ParseRoleError(String);

impl FromStr for Role {
    type Err = ParseRoleError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| ParseRoleError(name.to_owned()))
    }
}

/// The payload of a Bazaar access token: the contract between identity, which signs it, and every
/// component, which verifies it. Times are seconds since the Unix epoch.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Claims {
    /// Issuer; must equal `--jwt-issuer`.
    pub iss: String,
    /// Audience; must equal `--jwt-audience`. Identity always issues a single string.
    pub aud: String,
    /// Subject: the id of the user the token was issued to.
    pub sub: String,
    /// Expiry; the token is rejected after it (give or take the configured leeway).
    pub exp: i64,
    /// When the token was issued.
    pub iat: i64,
    /// The token is rejected before this time, if set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Unique id of the token, so that it can be named in logs or a revocation list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Roles granted to the user.
    #[serde(default, deserialize_with = "known_roles")]
    pub roles: Vec<Role>,
    /// The user's e-mail address, for display and notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Claims {
    /// Claims for a token issued now and valid for `ttl`, with a fresh `jti`.
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
        sub: impl Into<String>,
        roles: Vec<Role>,
        ttl: Duration,
    ) -> Self {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        Self {
            iss: issuer.into(),
            aud: audience.into(),
            sub: sub.into(),
            exp: now.saturating_add(ttl),
            iat: now,
            nbf: None,
            jti: Some(uuid::Uuid::now_v7().to_string()),
            roles,
            email: None,
        }
    }
}

/// Drops role names this build does not know instead of failing the whole token: identity may
/// roll out a new role before every component understands it, and a role that is not understood
/// can only grant less, never more.
fn known_roles<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Role>, D::Error> {
    let names = Vec::<String>::deserialize(deserializer)?;
    Ok(names
        .iter()
        .filter_map(|name| match name.parse() {
            Ok(role) => Some(role),
            Err(_) => {
                tracing::debug!(role = ?name, "ignoring unknown role in access token");
                None
            }
        })
        .collect())
}
