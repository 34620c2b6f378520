//! Identity's own metric. Sign-in outcomes need none of their own: `bazaar_http_requests_total` on
//! `route="/api/auth/login"` counts them by status (200 signed in, 401 wrong credentials, 429 rate-limited,
//! 503 overloaded), and the dashboards read them there.

use prometheus::{IntCounter, Registry};

/// Counters identity records besides the shared HTTP ones.
#[derive(Debug, Clone)]
pub struct IdentityMetrics {
    /// Refresh tokens presented a second time (the session family was revoked): a stolen token replayed,
    /// or a client that lost the rotated one.
    pub refresh_token_reuse: IntCounter,
}

impl IdentityMetrics {
    /// Registers the counters in `registry`; one registered before (a second start in one process) is
    /// logged and the counter still counts, unexported.
    pub fn register(registry: &Registry) -> Self {
        let refresh_token_reuse = IntCounter::new(
            "bazaar_identity_refresh_token_reuse_total",
            "Refresh tokens presented after they were used; each revokes its session family",
        )
        .unwrap_or_else(|e| panic!("identity metric: {e}"));
        if let Err(error) = registry.register(Box::new(refresh_token_reuse.clone())) {
            tracing::warn!(%error, "identity metric not registered");
        }
        Self {
            refresh_token_reuse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reuse_counter_is_exported() {
        let registry = Registry::new();
        let metrics = IdentityMetrics::register(&registry);
        metrics.refresh_token_reuse.inc();
        let names: Vec<_> = registry
            .gather()
            .iter()
            .map(|family| family.name().to_owned())
            .collect();
        assert_eq!(names, ["bazaar_identity_refresh_token_reuse_total"]);
    }
}
