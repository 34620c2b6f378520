//! Identity under load: bursts of registrations and sign-ins at the concurrency that used to break it
//! (every request waiting for a second connection of the pool it already held one of, and every Argon2
//! hash allocating its memory at once). Nothing is ever a 500: work completes, or is refused with 503,
//! `Retry-After` and a problem document, and a client that retries after `Retry-After` is served; password
//! hashing never runs more than its configured concurrency.

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

/// How long a client keeps retrying a refused request (following `Retry-After`) before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// What one client saw: its final reply, how long it took to be served, and the refusals on the way.
struct Outcome {
    reply: Reply,
    took: Duration,
    refusals: Vec<String>,
}

/// Sends one request per body at once. Each client retries a 503 after its `Retry-After` (at most 2 s,
/// to keep the test short) until served, as a well-behaved client would; every refusal must be a 503
/// with `Retry-After` and a problem document, never anything else.
async fn all_at_once(
    identity: &Identity,
    path: &str,
    bodies: Vec<serde_json::Value>,
    ok: StatusCode,
) -> Vec<Outcome> {
    let clients = bodies.into_iter().map(|body| async move {
        let started = Instant::now();
        let mut refusals = Vec::new();
        loop {
            let reply = identity.post(path, body.clone()).await;
            if reply.status == ok || started.elapsed() > PATIENCE {
                return Outcome {
                    reply,
                    took: started.elapsed(),
                    refusals,
                };
            }
            let retry_after = refused(&reply, ok);
            refusals.push(reply.body["detail"].as_str().unwrap_or_default().to_owned());
            tokio::time::sleep(Duration::from_secs(retry_after.min(2))).await;
        }
    });
    futures::future::join_all(clients).await
}

/// Checks that a reply that is not `ok` is a 503 with `Retry-After` and a problem document; returns the
/// seconds to wait.
fn refused(reply: &Reply, ok: StatusCode) -> u64 {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "only {ok} or 503 under load, never {}: {}",
        reply.status,
        reply.body
    );
    assert_eq!(reply.content_type(), "application/problem+json");
    let retry_after = reply
        .headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        retry_after.is_some_and(|secs| secs >= 1),
        "a 503 says when to retry: {:?}",
        reply.headers
    );
    retry_after.unwrap_or(1)
}

/// Every client was served within the test's patience, none after a 500; prints what it took.
fn all_served(outcomes: &[Outcome], ok: StatusCode, what: &str) {
    let mut refusals: BTreeMap<&str, usize> = BTreeMap::new();
    for outcome in outcomes {
        for detail in &outcome.refusals {
            *refusals.entry(detail.as_str()).or_default() += 1;
        }
    }
    for outcome in outcomes {
        assert_eq!(
            outcome.reply.status, ok,
            "{what}: a client was not served within {PATIENCE:?}: {}; refusals: {refusals:?}",
            outcome.reply.body
        );
    }
    let first_time = outcomes.iter().filter(|o| o.refusals.is_empty()).count();
    let slowest = outcomes.iter().map(|o| o.took).max().unwrap_or_default();
    eprintln!(
        "{what}: {first_time} of {} served at the first attempt, all within {slowest:?}; refusals: \
         {refusals:?}",
        outcomes.len()
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_registrations_never_answer_500_and_hash_at_most_two_at_once() {
    let identity = Identity::with_config(busy_config()).await;
    let bodies = (0..SHOPPERS)
        .map(|i| json!({"email": format!("burst{i}@example.com"), "password": PASSWORD, "name": "Ann Lee"}))
        .collect();
    let outcomes = all_at_once(&identity, "/api/auth/register", bodies, StatusCode::CREATED).await;
    all_served(&outcomes, StatusCode::CREATED, "registrations");
    assert_eq!(identity.count("users").await, SHOPPERS as i64);
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
    let outcomes = all_at_once(&identity, "/api/auth/login", bodies, StatusCode::OK).await;
    all_served(&outcomes, StatusCode::OK, "sign-ins");
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
    // Each sent once: this is about the refusals themselves.
    let replies = futures::future::join_all((0..16).map(|i| {
        identity.post(
            "/api/auth/login",
            json!({"email": format!("nobody{i}@example.com"), "password": PASSWORD}),
        )
    }))
    .await;
    let mut refused = 0;
    for reply in &replies {
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
