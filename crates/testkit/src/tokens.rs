//! Tokens the harness's components trust, for the three kinds of caller: a shopper, ops and an admin.

use std::time::Duration;

use bazaar_platform::auth::{Role, TestIssuer};

use crate::component::Harness;

/// The user id of [`Harness::ops`] tokens.
pub const OPS_USER: &str = "ops-user-1";
/// The user id of [`Harness::admin`] tokens.
pub const ADMIN_USER: &str = "admin-user-1";

/// A token from `issuer` for user `id` with `roles`, with the e-mail `{id}@example.test`, valid for the
/// issuer's default lifetime.
pub fn token(issuer: &TestIssuer, id: &str, roles: &[Role]) -> String {
    let mut claims = issuer.claims(id, roles);
    claims.email = Some(format!("{id}@example.test"));
    issuer.issue_with(&claims)
}

impl Harness {
    /// A token for user `id` with `roles` (see [`token`]).
    pub fn token(&self, id: &str, roles: &[Role]) -> String {
        token(&self.issuer, id, roles)
    }

    /// A shopper's token: user `id`, role customer.
    pub fn shopper(&self, id: &str) -> String {
        self.token(id, &[Role::Customer])
    }

    /// An ops token ([`OPS_USER`]).
    pub fn ops(&self) -> String {
        self.token(OPS_USER, &[Role::Ops])
    }

    /// An admin token ([`ADMIN_USER`]).
    pub fn admin(&self) -> String {
        self.token(ADMIN_USER, &[Role::Admin])
    }

    /// A token for user `id` with `roles` that expires after `ttl`.
    pub fn token_for(&self, id: &str, roles: &[Role], ttl: Duration) -> String {
        self.issuer.issue(id, roles, ttl)
    }
}
