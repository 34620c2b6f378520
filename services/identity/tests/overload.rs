//! Identity under load: bursts of registrations and sign-ins at the concurrency that used to break it
//! (every request waiting for a second connection of the pool it already held one of, and every Argon2
//! hash allocating its memory at once). Nothing is ever a 500: work completes, or is refused with 503,
//! `Retry-After` and a problem document; password hashing never runs more than its configured concurrency.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode, header};
use bazaar_identity::IdentityConfig;
use common::{Identity, PASSWORD, Reply};
use serde_json::json;

const SHOPPERS: usize = 64;

/// Test settings with rate limits out of the way (all requests come from one address) and at most two
/// hashes at once.
fn busy_config() -> IdentityConfig {
    IdentityConfig {
        register_limit_per_client: 10_000,
        login_limit_per_client: 10_000,
        hash_concurrency: 2,
        ..common::config()
    }
}

/// Sends one request per item at once and returns the replies with their latencies.
async fn all_at_once(
    identity: &Identity,
    path: &str,
    bodies: Vec<serde_json::Value>,
) -> Vec<(Reply, Duration)> {
    let requests = bodies.into_iter().map(|body| async move {
        let started = Instant::now();
        let reply = identity.post(path, body).await;
        (reply, started.elapsed())
    });
    futures::future::join_all(requests).await
}

/// Every reply is `ok` or a 503 with `Retry-After` and a problem document. Returns how many were `ok`,
/// and the refusals by their `detail`.
fn succeeded_or_shed(
    replies: &[(Reply, Duration)],
    ok: StatusCode,
) -> (usize, BTreeMap<String, usize>) {
    let mut succeeded = 0;
    let mut refusals = BTreeMap::new();
    for (reply, _) in replies {
        if reply.status == ok {
            succeeded += 1;
            continue;
        }
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "only {ok} or 503 under load, never {}: {}",
            reply.status,
            reply.body
        );
        assert!(
            reply.headers.contains_key(header::RETRY_AFTER),
            "a 503 says when to retry: {:?}",
            reply.headers
        );
        assert_eq!(reply.content_type(), "application/problem+json");
        let detail = reply.body["detail"].as_str().unwrap_or_default().to_owned();
        *refusals.entry(detail).or_default() += 1;
    }
    (succeeded, refusals)
}

/// One value of the Prometheus text at `/metrics`, or 0 if absent.
async fn metric(identity: &Identity, series: &str) -> f64 {
    let reply = identity.request(Method::GET, "/metrics", None, None).await;
    let text = reply.body.as_str().unwrap_or_default().to_owned();
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}

fn checking_nested_acquisition() -> bool {
    bazaar_platform::db::nested_acquisition_check().is_some()
}

/// Most requests are served, not shed: with no nested acquisition a pool of five serves 64 at once, and
/// alone on this machine all of them are. Other test processes competing for the same cores can push
/// some past a timeout, which is answered 503 as designed, so the bar is half. With the
/// nested-acquisition check on (one connection per pool), any one served is enough.
fn mostly_served(served: usize, refusals: &BTreeMap<String, usize>, what: &str) {
    let floor = if checking_nested_acquisition() {
        1
    } else {
        SHOPPERS / 2
    };
    assert!(
        served >= floor,
        "{what}: {served} of {SHOPPERS} served, expected at least {floor}; refused: {refusals:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_registrations_never_answer_500_and_hash_at_most_two_at_once() {
    let identity = Identity::with_config(busy_config()).await;
    let bodies = (0..SHOPPERS)
        .map(|i| json!({"email": format!("burst{i}@example.com"), "password": PASSWORD, "name": "Ann Lee"}))
        .collect();
    let replies = all_at_once(&identity, "/api/auth/register", bodies).await;
    let (created, refusals) = succeeded_or_shed(&replies, StatusCode::CREATED);
    mostly_served(created, &refusals, "registrations");
    let slowest = replies
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(20),
        "bounded latency: {slowest:?}"
    );
    assert_eq!(identity.count("users").await, created as i64);
    let peak = metric(
        &identity,
        r#"bazaar_gate_in_use_peak{gate="password_hashing"}"#,
    )
    .await;
    assert!(
        (1.0..=2.0).contains(&peak),
        "at most two hashes ran at once: {peak}"
    );
    identity.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_sign_ins_never_answer_500() {
    let identity = Identity::with_config(busy_config()).await;
    for i in 0..SHOPPERS {
        identity.register(&format!("regular{i}@example.com")).await;
    }
    let bodies = (0..SHOPPERS)
        .map(|i| json!({"email": format!("regular{i}@example.com"), "password": PASSWORD}))
        .collect();
    let replies = all_at_once(&identity, "/api/auth/login", bodies).await;
    let (signed_in, refusals) = succeeded_or_shed(&replies, StatusCode::OK);
    mostly_served(signed_in, &refusals, "sign-ins");
    let slowest = replies
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    assert!(
        slowest < Duration::from_secs(20),
        "bounded latency: {slowest:?}"
    );
    identity.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_saturated_password_hasher_answers_503_with_retry_after_instead_of_queueing_without_end()
{
    // One hash at a time and none waiting; hashes costly enough (tens of milliseconds) that the burst's
    // sign-ins arrive at the hasher while it is busy, even when a one-connection pool spaces them out.
    let identity = Identity::with_config(IdentityConfig {
        argon2_memory_kib: 32 * 1024,
        argon2_iterations: 3,
        hash_concurrency: 1,
        hash_queue: 0,
        hash_max_wait_ms: 50,
        ..busy_config()
    })
    .await;
    let bodies = (0..16)
        .map(|i| json!({"email": format!("nobody{i}@example.com"), "password": PASSWORD}))
        .collect();
    let replies = all_at_once(&identity, "/api/auth/login", bodies).await;
    let mut refused = 0;
    for (reply, _) in &replies {
        match reply.status {
            // Unknown accounts: verified against the dummy hash, then refused.
            StatusCode::UNAUTHORIZED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert_eq!(reply.content_type(), "application/problem+json");
                assert_eq!(
                    reply.body["type"], "https://bazaar.dev/problems/overloaded",
                    "{}",
                    reply.body
                );
                let retry_after: u64 = reply.headers[header::RETRY_AFTER]
                    .to_str()
                    .expect("ascii")
                    .parse()
                    .expect("seconds");
                assert!(retry_after >= 1);
            }
            other => panic!("only 401 or 503, never {other}: {}", reply.body),
        }
    }
    assert!(refused > 0, "a saturated hasher sheds load");
    let shed = metric(
        &identity,
        r#"bazaar_http_shed_total{reason="password_hashing",route="/api/auth/login"}"#,
    )
    .await;
    assert_eq!(shed, refused as f64, "every refusal is counted");
    assert_eq!(
        metric(
            &identity,
            r#"bazaar_gate_in_use_peak{gate="password_hashing"}"#
        )
        .await,
        1.0
    );
    identity.cleanup().await;
}
