//! Rate limits on sign-in and registration, per client address and per account.
//!
//! Counters live in PostgreSQL (`rate_limits`) so that the limits hold across replicas: an attacker
//! spreading attempts over pods gets no more tries. One upsert per check is cheap next to the Argon2 work
//! it protects. Windows are fixed (`window_started_at` + window): simple and exact to reason about;
//! the price, at most twice the limit across a window boundary, is acceptable for these limits.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::HeaderMap;
use ipnet::IpNet;
use sqlx::PgPool;

use crate::error::{IdentityError, Result};

/// One limit: at most `max` hits on `bucket` per window.
#[derive(Debug, Clone)]
pub struct Limit {
    pub bucket: String,
    pub max: u32,
}

#[derive(Debug, Clone)]
pub struct RateLimiter {
    db: PgPool,
    window: Duration,
}

impl RateLimiter {
    pub fn new(db: PgPool, window: Duration) -> Self {
        Self { db, window }
    }

    /// Counts one hit on every limit; refuses with the longest wait if any is exceeded. Every limit is
    /// counted even when an earlier one refuses, so a client hammering one account uses up its own
    /// allowance too.
    pub async fn hit(&self, limits: &[Limit]) -> Result<()> {
        let mut wait: Option<u64> = None;
        for limit in limits {
            let (hits, remaining): (i32, f64) = sqlx::query_as(
                "INSERT INTO rate_limits AS r (bucket, window_started_at, hits) VALUES ($1, now(), 1)
                 ON CONFLICT (bucket) DO UPDATE SET
                     hits = CASE WHEN r.window_started_at + make_interval(secs => $2) <= now()
                                 THEN 1 ELSE r.hits + 1 END,
                     window_started_at = CASE WHEN r.window_started_at + make_interval(secs => $2) <= now()
                                              THEN now() ELSE r.window_started_at END
                 RETURNING hits,
                     EXTRACT(EPOCH FROM window_started_at + make_interval(secs => $2) - now())::float8",
            )
            .bind(&limit.bucket)
            .bind(self.window.as_secs_f64())
            .fetch_one(&self.db)
            .await?;
            if i64::from(hits) > i64::from(limit.max) {
                // Rounded up, and at least 1: `Retry-After: 0` would invite an immediate retry.
                let secs = remaining.ceil().max(1.0) as u64;
                tracing::info!(bucket = %limit.bucket, hits, "rate limit exceeded");
                wait = Some(wait.map_or(secs, |w| w.max(secs)));
            }
        }
        match wait {
            Some(retry_after_secs) => Err(IdentityError::RateLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Deletes counters whose window has passed; they would restart from 1 anyway.
    pub async fn prune(&self) -> Result<u64> {
        let deleted = sqlx::query(
            "DELETE FROM rate_limits WHERE window_started_at + make_interval(secs => $1) <= now()",
        )
        .bind(self.window.as_secs_f64())
        .execute(&self.db)
        .await?;
        Ok(deleted.rows_affected())
    }
}

/// The address of the client a request comes from: the peer, or, when the peer is a trusted proxy, the
/// last address in `X-Forwarded-For` that is not a trusted proxy itself. Entries left of that one were
/// written by the client and cannot be believed.
pub fn client_ip(
    connect_info: Option<&ConnectInfo<SocketAddr>>,
    headers: &HeaderMap,
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = connect_info.map(|ConnectInfo(addr)| addr.ip())?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut forwarded: Vec<IpAddr> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return Some(peer);
        };
        for entry in value.split(',') {
            match entry.trim().parse::<IpAddr>() {
                Ok(ip) => forwarded.push(ip),
                // A garbled chain: believe nothing of it.
                Err(_) => return Some(peer),
            }
        }
    }
    let mut client = peer;
    for ip in forwarded.into_iter().rev() {
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn peer(ip: &str) -> ConnectInfo<SocketAddr> {
        ConnectInfo(SocketAddr::new(ip.parse().expect("ip"), 40_000))
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_str(value).expect("header"),
        );
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("ip"))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let headers = forwarded("1.2.3.4");
        assert_eq!(
            client_ip(Some(&peer("203.0.113.9")), &headers, &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(Some(&peer("203.0.113.9")), &headers, &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_last_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        // The client claims to be 6.6.6.6; the ingress (10.0.0.5) saw it come from 198.51.100.7.
        let headers = forwarded("6.6.6.6, 198.51.100.7, 10.0.0.5");
        assert_eq!(
            client_ip(Some(&peer("10.0.0.9")), &headers, &trusted),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn a_trusted_proxy_without_forwarding_or_with_garbage_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        assert_eq!(
            client_ip(Some(&peer("10.0.0.9")), &HeaderMap::new(), &trusted),
            ip("10.0.0.9")
        );
        let garbage = forwarded("not-an-ip, 198.51.100.7");
        assert_eq!(
            client_ip(Some(&peer("10.0.0.9")), &garbage, &trusted),
            ip("10.0.0.9")
        );
        assert_eq!(client_ip(None, &garbage, &trusted), None);
    }
}
