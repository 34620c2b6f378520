//! The load run behind the overload figures in docs/benchmarks.md: real shopper traffic against
//! `bazaar dev`, measuring answers, latency, the saga's backlog and the server's memory (RSS).
//!
//! Ignored by default: it is a measurement, not a specification, and it is meant for a release build:
//!
//! ```sh
//! CARGO_TARGET_DIR=$HOME/.cache/bazaar/target DATABASE_URL=... KAFKA_BROKERS=... \
//!   cargo test --release --test overload_load -- --ignored --nocapture
//! ```
//!
//! It starts the binary (`bazaar dev`, every component in one process, against the given PostgreSQL
//! and broker, under a fresh schema and topic prefix), then runs, each phase at once from 64 clients on
//! 127.0.0.1: registrations, sign-ins, cart additions, checkouts from carts, and for a bounded time
//! checkouts posted without waiting for confirmation. It prints answers by status, latencies, RSS before,
//! at peak and after a rest, and the saga's throughput and confirmation times.

use std::collections::BTreeMap;
use std::net::TcpListener as StdListener;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bazaar_testkit::{TestEnv, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

const BAZAAR: &str = env!("CARGO_BIN_EXE_bazaar");
const CLIENTS: usize = 64;
const PASSWORD: &str = "correct horse battery staple";
const SKU: &str = "TR-42-BLK";
/// How long clients post checkouts without waiting.
const NO_WAIT_FOR: Duration = Duration::from_secs(30);
const NO_WAIT_CLIENTS: usize = 32;

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Resident and peak resident memory of `pid`, in MiB, from /proc.
fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Samples the RSS of `pid` every 50 ms while a phase runs; returns the highest seen, in MiB.
struct RssWatch {
    stop: Arc<AtomicBool>,
    highest_kib: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl RssWatch {
    fn start(pid: u32) -> RssWatch {
        let stop = Arc::new(AtomicBool::new(false));
        let highest_kib = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn({
            let (stop, highest_kib) = (stop.clone(), highest_kib.clone());
            async move {
                while !stop.load(Ordering::SeqCst) {
                    let (rss, _) = rss_mib(pid);
                    highest_kib.fetch_max((rss * 1024.0) as u64, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        RssWatch {
            stop,
            highest_kib,
            task,
        }
    }

    async fn stop(self) -> f64 {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.task.await;
        self.highest_kib.load(Ordering::SeqCst) as f64 / 1024.0
    }
}

struct Platform {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Platform {
    async fn start(env: &TestEnv) -> Platform {
        let port = free_port();
        let log_path = std::env::temp_dir().join(format!("bazaar-load-{}.log", env.id));
        let log = std::fs::File::create(&log_path).expect("server log file");
        println!("server log: {}", log_path.display());
        let child = Command::new(BAZAAR)
            .args(["dev", "--dev-addr", &format!("127.0.0.1:{port}")])
            .env("DATABASE_URL", &env.database_url)
            .env("KAFKA_BROKERS", &env.kafka_brokers)
            .env("BAZAAR_DB_SCHEMA_PREFIX", format!("{}_", env.id))
            .env("BAZAAR_KAFKA_TOPIC_PREFIX", env.topic_prefix())
            .env("BAZAAR_DEV_ADMIN_PASSWORD", PASSWORD)
            .env("BAZAAR_DEV_STOCK", "100000")
            .env(
                "BAZAAR_DEV_EXAMPLES",
                concat!(env!("CARGO_MANIFEST_DIR"), "/crds/examples"),
            )
            // Every client is 127.0.0.1: per-address limits would answer 429 instead of measuring.
            .env("IDENTITY_REGISTER_LIMIT_PER_CLIENT", "1000000")
            .env("IDENTITY_LOGIN_LIMIT_PER_CLIENT", "1000000")
            // The readiness poll below signs in as the admin, as does `bazaar dev` when it seeds.
            .env("IDENTITY_LOGIN_LIMIT_PER_ACCOUNT", "1000000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("bazaar dev starts");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(120))
            .build()
            .expect("client");
        let platform = Platform { child, base, http };
        // Ready, and seeded: the admin can sign in and the example SKU is in stock.
        wait_for(
            Duration::from_secs(180),
            "bazaar dev to be seeded",
            || async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let token = platform.login("admin@bazaar.local").await.ok()?;
                let stock = platform
                    .http
                    .get(format!("{}/api/inventory/stock/{SKU}", platform.base))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .ok()?
                    .json::<Value>()
                    .await
                    .ok()?;
                let on_hand: i64 = stock["locations"]
                    .as_array()?
                    .iter()
                    .filter_map(|l| l["onHand"].as_i64())
                    .sum();
                (on_hand > 0).then_some(())
            },
        )
        .await
        .expect("bazaar dev ready");
        platform
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    async fn login(&self, email: &str) -> Result<String, String> {
        let answer = self
            .http
            .post(format!("{}/api/auth/login", self.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let body: Value = answer.json().await.map_err(|e| e.to_string())?;
        body["accessToken"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| body.to_string())
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Option<u64>, Value, Duration) {
        let started = Instant::now();
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok());
                let body = response.json().await.unwrap_or(Value::Null);
                (status, retry_after, body, started.elapsed())
            }
            Err(_) => (
                StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                None,
                Value::Null,
                started.elapsed(),
            ),
        }
    }

    async fn metric(&self, series: &str) -> f64 {
        let text = match self.http.get(format!("{}/metrics", self.base)).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        text.lines()
            .find_map(|line| line.strip_prefix(series))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

/// Answers by status and latency percentiles of one phase.
#[derive(Default)]
struct Tally {
    statuses: BTreeMap<u16, usize>,
    latencies: Vec<Duration>,
    retry_after_missing: usize,
}

impl Tally {
    fn add(&mut self, status: StatusCode, retry_after: Option<u64>, took: Duration) {
        *self.statuses.entry(status.as_u16()).or_default() += 1;
        if status == StatusCode::SERVICE_UNAVAILABLE && retry_after.is_none() {
            self.retry_after_missing += 1;
        }
        self.latencies.push(took);
    }

    fn percentile(&self, p: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    }

    fn report(&self, phase: &str) {
        println!(
            "| {phase} | {:?} | {:.0} ms | {:.0} ms | {:.0} ms | {} |",
            self.statuses,
            self.percentile(0.5).as_secs_f64() * 1000.0,
            self.percentile(0.99).as_secs_f64() * 1000.0,
            self.percentile(1.0).as_secs_f64() * 1000.0,
            self.retry_after_missing,
        );
    }

    fn count(&self, status: u16) -> usize {
        self.statuses.get(&status).copied().unwrap_or(0)
    }
}

fn checkout_body(lines: bool) -> Value {
    let mut body = json!({
        "shippingAddress": {"name": "Sam Shopper", "line1": "1 Market St", "city": "San Francisco",
                            "region": "CA", "postalCode": "94105", "country": "US"},
        "shippingMethod": "standard",
        "paymentToken": "tok_visa",
    });
    if lines {
        body["lines"] = json!([{"sku": SKU, "quantity": 1}]);
        body["currency"] = json!("USD");
    }
    body
}

/// Seconds from placed to confirmed of each order that got there.
async fn confirmation_times(platform: &Platform, admin: &str, ids: &[String]) -> Vec<f64> {
    let mut times = Vec::new();
    for id in ids {
        let (_, _, order, _) = platform
            .send(
                reqwest::Method::GET,
                &format!("/api/orders/{id}"),
                Some(admin),
                None,
                None,
            )
            .await;
        let at = |state: &str| {
            order["history"].as_array().and_then(|history| {
                history
                    .iter()
                    .find(|t| t["to"] == state)
                    .and_then(|t| t["at"].as_str())
                    .and_then(chrono_seconds)
            })
        };
        if let (Some(placed), Some(confirmed)) = (at("placed"), at("confirmed")) {
            times.push(confirmed - placed);
        }
    }
    times.sort_by(f64::total_cmp);
    times
}

/// Seconds since the epoch of an RFC 3339 time (enough precision for latencies).
fn chrono_seconds(text: &str) -> Option<f64> {
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let time = time.trim_end_matches('Z');
    let time = time.split(['+']).next()?;
    let mut parts = time.split(':');
    let (h, min, s) = (
        parts.next()?.parse::<f64>().ok()?,
        parts.next()?.parse::<f64>().ok()?,
        parts.next()?.parse::<f64>().ok()?,
    );
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days as f64 * 86_400.0 + h * 3600.0 + min * 60.0 + s)
}

/// Runs `f(0..n)` as `n` tasks at once and returns their results in order.
async fn at_once<T, Fut>(n: usize, f: impl Fn(usize) -> Fut) -> Vec<T>
where
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(f(i))).collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("load task"));
    }
    results
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a load run for docs/benchmarks.md; run with --release -- --ignored --nocapture"]
async fn overload_figures() {
    let env = TestEnv::start().await.expect("PostgreSQL and a broker");
    let platform = Arc::new(Platform::start(&env).await);
    let pid = platform.pid();
    let admin = platform.login("admin@bazaar.local").await.expect("admin");
    let (start_rss, _) = rss_mib(pid);
    println!("RSS after start and seeding: {start_rss:.0} MiB");
    println!("| phase | answers by status | p50 | p99 | max | 503 without Retry-After |");
    println!("|---|---|---|---|---|---|");

    // Registrations, then sign-ins, 64 at once.
    let watch = RssWatch::start(pid);
    let mut registrations = Tally::default();
    let answers = at_once(CLIENTS, |i| {
        let platform = platform.clone();
        async move {
            platform
                .send(
                    reqwest::Method::POST,
                    "/api/auth/register",
                    None,
                    None,
                    Some(json!({"email": format!("load{i}@example.com"), "password": PASSWORD, "name": "Load"})),
                )
                .await
        }
    })
    .await;
    for (status, retry_after, _, took) in &answers {
        registrations.add(*status, *retry_after, *took);
    }
    registrations.report("64 registrations at once");
    let mut logins = Tally::default();
    let answers = at_once(CLIENTS, |i| {
        let platform = platform.clone();
        async move {
            platform
                .send(
                    reqwest::Method::POST,
                    "/api/auth/login",
                    None,
                    None,
                    Some(json!({"email": format!("load{i}@example.com"), "password": PASSWORD})),
                )
                .await
        }
    })
    .await;
    let mut tokens = Vec::new();
    for (status, retry_after, body, took) in &answers {
        logins.add(*status, *retry_after, *took);
        if let Some(token) = body["accessToken"].as_str() {
            tokens.push(token.to_owned());
        }
    }
    logins.report("64 sign-ins at once");
    let hashing_rss = watch.stop().await;
    let peak_hashes = platform
        .metric(r#"bazaar_gate_in_use_peak{gate="password_hashing"} "#)
        .await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (rested_rss, hwm) = rss_mib(pid);
    println!(
        "RSS: {start_rss:.0} MiB before, {hashing_rss:.0} MiB at the highest sample during registrations \
         and sign-ins (process high-water mark {hwm:.0} MiB), {rested_rss:.0} MiB after 10 s idle; at most \
         {peak_hashes} hashes ran at once"
    );

    // Cart additions, 64 at once.
    let mut carts = Tally::default();
    let tokens = Arc::new(tokens);
    let answers = at_once(tokens.len(), |i| {
        let (platform, tokens) = (platform.clone(), tokens.clone());
        async move {
            platform
                .send(
                    reqwest::Method::POST,
                    "/api/cart/lines",
                    Some(&tokens[i]),
                    None,
                    Some(json!({"sku": SKU, "quantity": 1})),
                )
                .await
        }
    })
    .await;
    for (status, retry_after, _, took) in &answers {
        carts.add(*status, *retry_after, *took);
    }
    carts.report("64 cart additions at once");

    // Checkouts from those carts, 64 at once; then until every accepted order is final.
    let mut checkouts = Tally::default();
    let started = Instant::now();
    let answers = at_once(tokens.len(), |i| {
        let (platform, tokens) = (platform.clone(), tokens.clone());
        async move {
            platform
                .send(
                    reqwest::Method::POST,
                    "/api/checkout",
                    Some(&tokens[i]),
                    Some(&format!("cart-{i}")),
                    Some(checkout_body(false)),
                )
                .await
        }
    })
    .await;
    let mut ids = Vec::new();
    for (status, retry_after, body, took) in &answers {
        checkouts.add(*status, *retry_after, *took);
        if let Some(id) = body["id"].as_str() {
            ids.push(id.to_owned());
        }
    }
    checkouts.report("64 checkouts from carts at once");
    wait_for(Duration::from_secs(300), "the saga to drain", || async {
        let backlog = platform.metric("bazaar_checkout_backlog_estimate ").await;
        (backlog == 0.0).then_some(())
    })
    .await
    .expect("drained");
    let times = confirmation_times(&platform, &admin, &ids).await;
    println!(
        "checkouts from carts: {} confirmed of {} accepted, all final {:.1} s after the burst; placed to \
         confirmed p50 {:.2} s, max {:.2} s",
        times.len(),
        ids.len(),
        started.elapsed().as_secs_f64(),
        quantile(&times, 0.5),
        quantile(&times, 1.0),
    );

    // Checkouts posted without waiting for confirmation, for a bounded time.
    let mut no_wait = Tally::default();
    let highest_backlog = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = tokio::spawn({
        let (platform_base, http) = (platform.base.clone(), platform.http.clone());
        let (highest_backlog, stop) = (highest_backlog.clone(), stop.clone());
        async move {
            while !stop.load(Ordering::SeqCst) {
                if let Ok(response) = http.get(format!("{platform_base}/metrics")).send().await {
                    let text = response.text().await.unwrap_or_default();
                    let backlog: f64 = text
                        .lines()
                        .find_map(|l| l.strip_prefix("bazaar_checkout_backlog_estimate "))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0.0);
                    highest_backlog.fetch_max(backlog as u64, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });
    let started = Instant::now();
    let results = at_once(NO_WAIT_CLIENTS.min(tokens.len()), |client| {
        let (platform, tokens) = (platform.clone(), tokens.clone());
        async move {
            let mut answers = Vec::new();
            let mut n = 0;
            while started.elapsed() < NO_WAIT_FOR {
                n += 1;
                let answer = platform
                    .send(
                        reqwest::Method::POST,
                        "/api/checkout",
                        Some(&tokens[client]),
                        Some(&format!("nowait-{client}-{n}")),
                        Some(checkout_body(true)),
                    )
                    .await;
                // A client that honours Retry-After, capped at a second.
                if answer.0 == StatusCode::SERVICE_UNAVAILABLE {
                    let pause = answer.1.unwrap_or(1).min(1);
                    tokio::time::sleep(Duration::from_secs(pause)).await;
                }
                answers.push(answer);
            }
            answers
        }
    })
    .await;
    let posting = started.elapsed();
    let mut ids = Vec::new();
    for (status, retry_after, body, took) in results.iter().flatten() {
        no_wait.add(*status, *retry_after, *took);
        if let Some(id) = body["id"].as_str() {
            ids.push(id.to_owned());
        }
    }
    no_wait.report(&format!(
        "{NO_WAIT_CLIENTS} clients posting checkouts without waiting, {} s",
        NO_WAIT_FOR.as_secs()
    ));
    wait_for(Duration::from_secs(600), "the saga to drain", || async {
        let backlog = platform.metric("bazaar_checkout_backlog_estimate ").await;
        (backlog == 0.0).then_some(())
    })
    .await
    .expect("drained");
    let drained = started.elapsed();
    stop.store(true, Ordering::SeqCst);
    let _ = watcher.await;
    let times = confirmation_times(&platform, &admin, &ids).await;
    println!(
        "no-wait checkouts: {} accepted ({:.1}/s) and {} refused with 503 in {:.1} s; all final after {:.1} s \
         ({:.1} confirmed/s); backlog peaked at {}; placed to confirmed p50 {:.2} s, p99 {:.2} s, max {:.2} s",
        ids.len(),
        ids.len() as f64 / posting.as_secs_f64(),
        no_wait.count(503),
        posting.as_secs_f64(),
        drained.as_secs_f64(),
        times.len() as f64 / drained.as_secs_f64(),
        highest_backlog.load(Ordering::SeqCst),
        quantile(&times, 0.5),
        quantile(&times, 0.99),
        quantile(&times, 1.0),
    );
    let (end_rss, hwm) = rss_mib(pid);
    println!("RSS at the end: {end_rss:.0} MiB (high-water mark {hwm:.0} MiB)");

    for tally in [&registrations, &logins, &carts, &checkouts, &no_wait] {
        assert_eq!(tally.count(500), 0, "no 500s");
        assert_eq!(tally.retry_after_missing, 0, "every 503 says when to retry");
    }
    drop(platform);
    env.cleanup().await;
}
