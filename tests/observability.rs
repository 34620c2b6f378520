//! The shipped dashboards and alert rules, proven against a real Prometheus scraping a real Bazaar.
//!
//! One test runs the whole platform (`bazaar dev --kube-api always` on the test PostgreSQL and a Kafka
//! broker of its own: every component of `bazaar serve all` in one process, plus the example shop applied
//! to a real kube-apiserver and projected by the operator, an admin and stock) and a Prometheus server
//! (Debian's package, installed by `scripts/install-prometheus`, or `BAZAAR_PROMETHEUS_BIN`) scraping the
//! platform's `/metrics` and the operator's (the address `bazaar dev` prints) every second, with the
//! chart's rule files loaded. It drives the shopper journey and the conditions the panels are about:
//!   - a declined payment, an out-of-stock checkout, poison messages, wrong passwords up to the rate limit,
//!     a reused refresh token;
//!   - a capture the provider keeps failing (`tok_settle_unavailable`, with `PAYMENT_MAX_TRIES=2` and a
//!     100 ms back-off), which asks ops for attention;
//!   - a burst of sign-ins against a password-hashing gate made small (one hash at a time, one waiting),
//!     so that requests are shed with 503;
//!   - a broker outage (the test's own tansu paused) while the outbox relay publishes what the operator
//!     projects, so that publishing fails, then the broker back;
//!   - a Fulfillment naming a Store that does not exist, which the operator rejects (not Ready).
//!
//! It then asks Prometheus through its HTTP API, waiting with deadlines for scrapes rather than sleeping:
//!   - every panel query of every dashboard (variables substituted as Grafana's "All" does, `$__rate_interval`
//!     as 1m) returns data;
//!   - every template variable query finds values;
//!   - every alert and recording rule expression evaluates, and Prometheus itself evaluates every rule group
//!     with health "ok";
//!   - every metric name used in dashboards and rules is in a scraped `/metrics`.
//!
//! It also checks that the binary exports its spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: a
//! small HTTP listener stands in for the collector.

use std::collections::BTreeSet;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bazaar_devenv::{LocalBroker, LocalKubeApi};
use bazaar_operator::resources::{Fulfillment, Product, Promotion};
use bazaar_testkit::{TestEnv, wait_for};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch, PatchParams};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const BAZAAR: &str = env!("CARGO_BIN_EXE_bazaar");
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const PATIENCE: Duration = Duration::from_secs(60);
/// How long `bazaar dev` may take to print its guide: it starts a kube-apiserver with etcd, applies the
/// CRDs and the example shop, and seeds stock.
const STARTUP: Duration = Duration::from_secs(120);
const ADMIN_PASSWORD: &str = "observability-admin-password";

/// Example resources `bazaar dev` applies from crds/examples (products, stores, fulfillments, promotions).
const EXAMPLE_RESOURCES: f64 = 13.0;

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The Prometheus server binary, or a failure saying how to get one.
fn prometheus_binary() -> PathBuf {
    if let Ok(path) = std::env::var("BAZAAR_PROMETHEUS_BIN") {
        return PathBuf::from(path);
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("prometheus"))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| {
            panic!(
                "no Prometheus server to test the dashboards and alerts against: run scripts/install-prometheus \
                 (as root it installs Debian's prometheus package; scripts/test does) or set BAZAAR_PROMETHEUS_BIN"
            )
        })
}

/// A stand-in OTLP/HTTP collector: counts the POST /v1/traces requests it receives.
async fn fake_collector() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let address = listener.local_addr().expect("address");
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut reader = BufReader::new(read);
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut length = 0usize;
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if header == "\r\n" {
                            break;
                        }
                        if let Some(value) =
                            header.to_ascii_lowercase().strip_prefix("content-length:")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if request_line.starts_with("POST /v1/traces ") && !body.is_empty() {
                        counter.fetch_add(1, Ordering::SeqCst);
                    }
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    if write.write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (format!("http://{address}"), received)
}

/// What `bazaar dev` printed that the test needs: where the operator serves its metrics, and the
/// kubeconfig of its API server.
struct Guide {
    operator_addr: String,
    kubeconfig: String,
}

/// `bazaar dev` on the test servers with a local kube-apiserver and the operator, ready, with its guide
/// read. Settings make the conditions of the panels quick to reach: one password hash at a time with one
/// waiting (a burst is shed), two tries of a failing capture 100 ms apart (then ops are asked).
async fn start_bazaar(env: &TestEnv, port: u16, otlp: &str) -> (Child, Guide) {
    let mut child = Command::new(BAZAAR)
        .args(["dev", "--kube-api", "always", "--dev-addr"])
        .arg(format!("127.0.0.1:{port}"))
        .current_dir(REPO)
        .env("DATABASE_URL", &env.database_url)
        .env("KAFKA_BROKERS", &env.kafka_brokers)
        .env("BAZAAR_DB_SCHEMA_PREFIX", format!("{}_", env.id))
        .env("BAZAAR_KAFKA_TOPIC_PREFIX", env.topic_prefix())
        .env("BAZAAR_DEV_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("IDENTITY_LOGIN_LIMIT_PER_ACCOUNT", "3")
        .env("IDENTITY_LOGIN_LIMIT_PER_CLIENT", "1000")
        .env("IDENTITY_HASH_CONCURRENCY", "1")
        .env("IDENTITY_HASH_QUEUE", "1")
        .env("PAYMENT_MAX_TRIES", "2")
        .env("PAYMENT_RETRY_BACKOFF_MS", "100")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .env("BAZAAR_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bazaar dev starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let log = Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = log.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            if let Ok(mut lines) = kept.lock() {
                lines.push(line);
            }
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let printed = tokio::time::timeout(STARTUP, async {
        let mut printed = String::new();
        while let Ok(Some(line)) = stdout.next_line().await {
            printed.push_str(&line);
            printed.push('\n');
            if line.contains("Press Ctrl-C") {
                return Some(printed);
            }
        }
        None
    })
    .await;
    let Ok(Some(printed)) = printed else {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let lines = log.lock().map(|l| l.join("\n")).unwrap_or_default();
        panic!("bazaar dev did not start:\n{lines}");
    };
    tokio::spawn(async move { while let Ok(Some(_)) = stdout.next_line().await {} });
    let find = |prefix: &str| {
        printed
            .lines()
            .find_map(|line| line.trim().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("bazaar dev prints `{prefix}`:\n{printed}"))
            .to_owned()
    };
    let operator_metrics = find("operator metrics: http://");
    let guide = Guide {
        operator_addr: operator_metrics
            .strip_suffix("/metrics")
            .unwrap_or_else(|| panic!("a /metrics URL: {operator_metrics}"))
            .to_owned(),
        kubeconfig: find("export KUBECONFIG="),
    };
    (child, guide)
}

/// Prometheus scraping each `(job, target)` every second, evaluating the chart's rule files every second.
async fn start_prometheus(dir: &Path, targets: &[(&str, &str)], port: u16) -> Child {
    let rules: Vec<String> = rule_files()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let scrape_configs: Vec<Value> = targets
        .iter()
        .map(|(job, target)| {
            json!({
                "job_name": job,
                "static_configs": [{"targets": [target], "labels": {"namespace": "observability"}}],
            })
        })
        .collect();
    let config = json!({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": rules,
        "scrape_configs": scrape_configs,
    });
    let config_path = dir.join("prometheus.yml");
    // JSON is YAML.
    std::fs::write(&config_path, config.to_string()).expect("write prometheus.yml");
    let child = Command::new(prometheus_binary())
        .arg(format!("--config.file={}", config_path.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("prometheus starts");
    wait_for(PATIENCE, "Prometheus to be ready", || async {
        let response = reqwest::get(format!("http://127.0.0.1:{port}/-/ready"))
            .await
            .ok()?;
        response.status().is_success().then_some(())
    })
    .await
    .expect("prometheus ready");
    child
}

fn chart_files(folder: &str, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(REPO).join(folder))
        .expect("chart folder")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    files
}

fn rule_files() -> Vec<PathBuf> {
    chart_files("charts/bazaar/rules", "yaml")
}

/// A panel query: dashboard, panel title and expression.
struct PanelQuery {
    dashboard: String,
    panel: String,
    expr: String,
}

fn panel_queries() -> (Vec<PanelQuery>, Vec<String>) {
    let mut queries = Vec::new();
    let mut variables = Vec::new();
    for path in chart_files("charts/bazaar/dashboards", "json") {
        let dashboard: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("JSON");
        let title = dashboard["title"].as_str().unwrap_or_default().to_owned();
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if let Some(expr) = target["expr"].as_str() {
                    queries.push(PanelQuery {
                        dashboard: title.clone(),
                        panel: panel["title"].as_str().unwrap_or_default().to_owned(),
                        expr: expr.to_owned(),
                    });
                }
            }
        }
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(query) = variable["query"]["query"].as_str() {
                variables.push(query.to_owned());
            }
        }
    }
    (queries, variables)
}

/// Grafana's substitutions for "All" in every variable and a one-minute rate interval.
fn substitute(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$namespace", ".*")
        .replace("$component", ".*")
        .replace("$instance", ".*")
}

/// Every expression of the rule files: (rule name, expression).
fn rule_expressions() -> Vec<(String, String)> {
    let mut expressions = Vec::new();
    for path in rule_files() {
        let text = std::fs::read_to_string(&path).expect("read rules");
        // The rule files are YAML; promtool checks their structure. Here only `expr:` values matter: block
        // scalars (`expr: |-` and indented lines) or one-line values, each following its `alert:`/`record:`.
        let mut name = String::new();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let trimmed = line.trim_start().trim_start_matches("- ");
            if let Some(rest) = trimmed
                .strip_prefix("alert: ")
                .or_else(|| trimmed.strip_prefix("record: "))
            {
                name = rest.trim().to_owned();
            } else if let Some(rest) = trimmed.strip_prefix("expr: ") {
                // A block scalar (`|-`) or a plain one: either continues on the more indented lines below.
                let indent = line.len() - line.trim_start().len();
                let mut body = Vec::new();
                if !rest.starts_with('|') {
                    body.push(rest.trim().to_owned());
                }
                while let Some(next) = lines.peek() {
                    if next.len() - next.trim_start().len() <= indent && !next.trim().is_empty() {
                        break;
                    }
                    body.push(next.trim().to_owned());
                    lines.next();
                }
                let expr = body.join(" ");
                expressions.push((name.clone(), expr));
            }
        }
    }
    expressions
}

fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut start = 0;
    while let Some(offset) = expr[start..].find("bazaar_") {
        let begin = start + offset;
        let boundary = begin == 0
            || !(bytes[begin - 1].is_ascii_alphanumeric()
                || bytes[begin - 1] == b'_'
                || bytes[begin - 1] == b':');
        let end = expr[begin..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(expr.len(), |n| begin + n);
        if boundary {
            names.insert(expr[begin..end].to_owned());
        }
        start = end;
    }
    names
}

struct Prom {
    http: reqwest::Client,
    base: String,
}

impl Prom {
    /// Evaluates `expr` now: Ok(number of series) or Err(Prometheus's error).
    async fn query(&self, expr: &str) -> Result<usize, String> {
        let response: Value = self
            .http
            .get(format!(
                "{}/api/v1/query?query={}",
                self.base,
                url_encode(expr)
            ))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if response["status"] != "success" {
            return Err(response["error"].as_str().unwrap_or("error").to_owned());
        }
        Ok(response["data"]["result"].as_array().map_or(1, Vec::len))
    }

    /// Waits until `expr` returns data (a scrape, or two for a rate, after what it is about happened).
    async fn wait_for_data(&self, what: &str, expr: &str) {
        wait_for(
            PATIENCE,
            &format!("Prometheus to see {what}: {expr}"),
            || async { matches!(self.query(expr).await, Ok(n) if n > 0).then_some(()) },
        )
        .await
        .unwrap_or_else(|error| panic!("{error:#}"));
    }
}

/// The sum of the samples of `name` whose line contains `labels` (`""`: all) in a Prometheus text
/// exposition.
fn metric_sum(exposition: &str, name: &str, labels: &str) -> f64 {
    exposition
        .lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
                && line.contains(labels)
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn metrics_text(url: &str) -> Option<String> {
    reqwest::get(url).await.ok()?.text().await.ok()
}

/// Server-side apply of one namespaced resource, as `kubectl apply` does.
async fn apply<K>(client: &kube::Client, manifest: Value)
where
    K: kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let namespace = manifest["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default");
    let name = manifest["metadata"]["name"].as_str().expect("a name");
    Api::<K>::namespaced(client.clone(), namespace)
        .patch(
            name,
            &PatchParams::apply("observability-test").force(),
            &Patch::Apply(&manifest),
        )
        .await
        .unwrap_or_else(|error| panic!("apply {} {namespace}/{name}: {error}", K::kind(&())));
}

/// `count` sign-ins at once, each for an account of its own (no per-account limit in the way), with a
/// wrong password. Every answer is 401 or, when the hashing gate is full, 503 with `Retry-After`; returns
/// how many were shed.
async fn burst_of_sign_ins(
    http: &reqwest::Client,
    base: &str,
    round: usize,
    count: usize,
) -> usize {
    let mut requests = tokio::task::JoinSet::new();
    for n in 0..count {
        let request = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": format!("burst-{round}-{n}@example.com"), "password": "not the password"}));
        requests.spawn(async move { request.send().await });
    }
    let mut shed = 0;
    while let Some(answer) = requests.join_next().await {
        let answer = answer
            .expect("request task")
            .expect("an answer, not a dropped connection");
        match answer.status().as_u16() {
            401 => {}
            503 => {
                assert!(
                    answer.headers().contains_key("retry-after"),
                    "503 without Retry-After"
                );
                shed += 1;
            }
            other => panic!("a sign-in burst is answered 401 or 503, not {other}"),
        }
    }
    shed
}

struct Shopper {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Shopper {
    async fn sign_up(http: &reqwest::Client, base: &str, email: &str) -> (Shopper, String) {
        let password = "correct horse battery";
        let registered = http
            .post(format!("{base}/api/auth/register"))
            .json(&json!({"email": email, "password": password, "name": "Obs Erver"}))
            .send()
            .await
            .expect("register");
        assert!(registered.status().is_success(), "register {email}");
        let session: Value = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("session");
        let token = session["accessToken"]
            .as_str()
            .expect("access token")
            .to_owned();
        let refresh = session["refreshToken"]
            .as_str()
            .expect("refresh token")
            .to_owned();
        let shopper = Shopper {
            http: http.clone(),
            base: base.to_owned(),
            token,
        };
        (shopper, refresh)
    }

    /// Puts `quantity` of `sku` in the cart and checks out with `payment_token`; returns the order id.
    async fn buy(&self, sku: &str, quantity: u32, payment_token: &str) -> String {
        let line = self
            .http
            .post(format!("{}/api/cart/lines", self.base))
            .bearer_auth(&self.token)
            .json(&json!({"sku": sku, "quantity": quantity}))
            .send()
            .await
            .expect("cart line");
        assert!(
            line.status().is_success(),
            "cart line {sku} x{quantity}: {}",
            line.status()
        );
        let order: Value = self
            .http
            .post(format!("{}/api/checkout", self.base))
            .bearer_auth(&self.token)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(&json!({
                "shippingAddress": {"name": "Obs Erver", "line1": "1 Market St", "city": "San Francisco",
                                    "region": "CA", "postalCode": "94105", "country": "US"},
                "shippingMethod": "standard",
                "paymentToken": payment_token,
            }))
            .send()
            .await
            .expect("checkout")
            .json()
            .await
            .expect("order");
        order["id"].as_str().expect("order id").to_owned()
    }

    async fn settles(&self, order: &str, state: &str) {
        wait_for(
            PATIENCE,
            &format!("order {order} to be {state}"),
            || async {
                let order: Value = self
                    .http
                    .get(format!("{}/api/orders/{order}", self.base))
                    .bearer_auth(&self.token)
                    .send()
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()?;
                (order["state"] == state).then_some(())
            },
        )
        .await
        .expect("order settled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_panel_query_returns_data_and_every_alert_evaluates_against_a_real_prometheus() {
    let prometheus_dir =
        std::env::temp_dir().join(format!("bazaar-prometheus-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&prometheus_dir).expect("prometheus dir");
    let _ = prometheus_binary(); // fail first, and clearly, without one
    let started = Instant::now();
    // kube's TLS back-end for the Kubernetes client below (see `install_tls_provider`).
    bazaar_devenv::install_tls_provider();
    let env = TestEnv::start().await.expect("infrastructure");
    // A broker of this test's own: it is paused below, which must not stop every other test's messages.
    let broker = LocalBroker::start()
        .await
        .expect("a tansu broker for this test");
    let env = TestEnv {
        kafka_brokers: broker.bootstrap_servers(),
        ..env
    };
    let (collector, spans_received) = fake_collector().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let (_bazaar, guide) = start_bazaar(&env, port, &collector).await;
    let operator_metrics = format!("http://{}/metrics", guide.operator_addr);
    let prom_port = free_port();
    let _prometheus = start_prometheus(
        &prometheus_dir,
        &[
            ("bazaar", &format!("127.0.0.1:{port}")),
            ("bazaar-operator", &guide.operator_addr),
        ],
        prom_port,
    )
    .await;
    let prom = Prom {
        http: reqwest::Client::new(),
        base: format!("http://127.0.0.1:{prom_port}"),
    };
    let http = reqwest::Client::new();

    // The example shop was applied to the API server; the journey needs it projected (every resource Ready).
    wait_for(
        PATIENCE,
        "the operator to project the example shop",
        || async {
            let metrics = metrics_text(&operator_metrics).await?;
            let ready = metric_sum(&metrics, "bazaar_operator_resources", r#"ready="true""#);
            (ready >= EXAMPLE_RESOURCES).then_some(())
        },
    )
    .await
    .expect("example shop Ready");

    // The README's shopper journey, run as written: browse, sign up, cart, checkout, pack, ship, deliver.
    let journey = Command::new("bash")
        .arg(format!("{REPO}/scripts/shopper-journey"))
        .env("BAZAAR_URL", &base)
        .env("BAZAAR_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .output()
        .await
        .expect("the journey runs");
    assert!(
        journey.status.success(),
        "shopper-journey failed:\n{}\n{}",
        String::from_utf8_lossy(&journey.stdout),
        String::from_utf8_lossy(&journey.stderr)
    );

    // Failure cases: a declined payment, an out-of-stock checkout, an order left confirmed (not packed).
    let (shopper, refresh) = Shopper::sign_up(&http, &base, "observer@example.com").await;
    let declined = shopper.buy("SB-750", 1, "tok_declined").await;
    shopper.settles(&declined, "cancelled").await;
    let too_many = shopper.buy("TR-42-BLK", 100, "tok_visa").await;
    shopper.settles(&too_many, "cancelled").await;
    let waiting = shopper.buy("SB-750", 1, "tok_visa").await;
    shopper.settles(&waiting, "confirmed").await;
    // A capture the provider keeps failing: tried twice, 100 ms apart, then handed to ops (attention).
    let unsettled = shopper.buy("SB-750", 1, "tok_settle_unavailable").await;
    shopper.settles(&unsettled, "confirmed").await;

    // A refresh token used twice (the second use revokes its family).
    for _ in 0..2 {
        http.post(format!("{base}/api/auth/refresh"))
            .json(&json!({"refreshToken": refresh}))
            .send()
            .await
            .expect("refresh");
    }
    // Wrong passwords until the per-account limit (3) answers 429.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let response = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"email": "observer@example.com", "password": "not the password"}))
            .send()
            .await
            .expect("login");
        statuses.push(response.status().as_u16());
    }
    // The successful sign-in above counts against the same limit.
    assert_eq!(statuses, [401, 401, 429, 429]);

    // Poison messages on the payment topic the order saga consumes: not a CloudEvent at all, and a
    // CloudEvent of a known type whose data breaks its contract.
    let producer: FutureProducer = env.kafka_config().create().expect("producer");
    let topic = format!("{}bazaar.payment", env.topic_prefix());
    let bad_data = json!({"specversion": "1.0", "id": uuid::Uuid::new_v4().to_string(), "source": "observability-test",
        "type": "payment.authorized", "datacontenttype": "application/json", "data": {"nonsense": true}})
    .to_string();
    for payload in ["this is not a CloudEvent", bad_data.as_str()] {
        producer
            .send(
                FutureRecord::to(&topic).key("poison").payload(payload),
                Duration::from_secs(10),
            )
            .await
            .expect("poison produced");
    }
    let reasons = ["undecodable", "rejected"];
    wait_for(PATIENCE, "both poison messages dead-lettered", || async {
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        reasons
            .iter()
            .all(|reason| metrics.contains(&format!("reason=\"{reason}\"")))
            .then_some(())
    })
    .await
    .expect("dead-lettered");
    http.get(format!("{base}/api/no-such-thing"))
        .send()
        .await
        .expect("404");
    http.get(format!("{base}/readyz"))
        .send()
        .await
        .expect("readyz");

    // Overload: sign-ins at once against a hashing gate of one permit and one waiting place. A well-timed
    // machine sheds most of a burst; a busy one may serve them one by one, so a few bursts are allowed.
    let mut shed = 0;
    for round in 0..5 {
        shed += burst_of_sign_ins(&http, &base, round, 16).await;
        if shed > 0 {
            break;
        }
    }
    assert!(shed > 0, "no sign-in of five bursts of 16 was shed");

    // A broker outage while the outbox relay has something to publish: the operator projects new
    // merchandise (catalog events in the outbox) and rejects a Fulfillment naming a Store that does not
    // exist. The relay's sends time out (the producer's message timeout, 30 s) and count as publish
    // failures; then the broker comes back.
    let kube = LocalKubeApi::client_for(Path::new(&guide.kubeconfig))
        .await
        .expect("a client of the dev API server");
    broker.pause().expect("pause the broker");
    let outage = Instant::now();
    apply::<Product>(
        &kube,
        json!({
            "apiVersion": "bazaar.dev/v1alpha1", "kind": "Product",
            "metadata": {"name": "observatory-lamp", "namespace": "shop"},
            "spec": {"title": "Observatory Lamp", "category": "camping/lighting", "lifecycle": "Active",
                     "variants": [{"sku": "OL-RED", "prices": {"USD": "39.00"}}]},
        }),
    )
    .await;
    apply::<Promotion>(
        &kube,
        json!({
            "apiVersion": "bazaar.dev/v1alpha1", "kind": "Promotion",
            "metadata": {"name": "lamp-week", "namespace": "shop"},
            "spec": {"discount": {"percentage": 10}, "appliesTo": {"skus": ["OL-RED"]}},
        }),
    )
    .await;
    apply::<Fulfillment>(
        &kube,
        json!({
            "apiVersion": "bazaar.dev/v1alpha1", "kind": "Fulfillment",
            "metadata": {"name": "from-nowhere", "namespace": "shop"},
            "spec": {"zones": [{"countries": ["US"]}], "sources": {"storeNames": ["no-such-store"]},
                     "methods": [{"code": "standard", "name": "Standard", "rates": {"USD": "4.99"},
                                  "deliveryDays": {"min": 3, "max": 5}}]},
        }),
    )
    .await;
    let failed = wait_for(
        Duration::from_secs(90),
        "the outbox relay to count a publish failure",
        || async {
            let metrics = metrics_text(&format!("{base}/metrics")).await?;
            (metric_sum(&metrics, "bazaar_outbox_publish_failures_total", "") > 0.0).then_some(())
        },
    )
    .await;
    broker.resume().expect("resume the broker");
    failed.expect("publish failures counted");
    eprintln!(
        "broker paused for {:.1} s until publishing failed",
        outage.elapsed().as_secs_f64()
    );

    // What the panels show, each seen by Prometheus: the saga (the order gauges refresh every 15 s),
    // shedding, publish failures, payment attention and the operator's reconciliations and Ready states.
    for (what, expr) in [
        (
            "the confirmed order's age",
            r#"bazaar_orders_oldest_age_seconds{state="confirmed"}"#,
        ),
        ("requests shed", "sum(bazaar_http_shed_total) > 0"),
        ("gate rejections", "sum(bazaar_gate_rejected_total) > 0"),
        (
            "publish failures",
            "sum(bazaar_outbox_publish_failures_total) > 0",
        ),
        (
            "a payment needing attention",
            "sum(bazaar_payment_attention_total) > 0",
        ),
        ("the operator leading", "max(bazaar_operator_leader) == 1"),
        (
            "a resource not Ready",
            r#"sum(bazaar_operator_resources{ready="false"}) > 0"#,
        ),
        (
            "a rejected reconciliation",
            r#"sum(bazaar_operator_reconciliations_total{result="rejected"}) > 0"#,
        ),
        (
            "the new product projected",
            r#"sum(bazaar_operator_resources{kind="Product", ready="true"}) > 5"#,
        ),
    ] {
        prom.wait_for_data(what, expr).await;
    }

    // Every panel query returns data. Rates need two scrapes of a series, and a scrape that failed (during
    // the outage) makes series stale for a moment, so the panels get until a deadline to fill.
    let (queries, variables) = panel_queries();
    assert!(
        queries.len() > 40,
        "found only {} panel queries",
        queries.len()
    );
    let deadline = Instant::now() + PATIENCE;
    let mut failures = loop {
        let mut failures = Vec::new();
        for query in &queries {
            let expr = substitute(&query.expr);
            match prom.query(&expr).await {
                Err(error) => failures.push(format!(
                    "{} / {}: {error}: {expr}",
                    query.dashboard, query.panel
                )),
                Ok(0) => failures.push(format!(
                    "{} / {}: no data: {expr}",
                    query.dashboard, query.panel
                )),
                Ok(_) => {}
            }
        }
        if failures.is_empty() || Instant::now() >= deadline {
            break failures;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    for variable in &variables {
        let Some(inner) = variable
            .strip_prefix("label_values(")
            .and_then(|v| v.strip_suffix(')'))
        else {
            continue;
        };
        let (selector, label) = inner
            .rsplit_once(',')
            .expect("label_values(selector, label)");
        let count = prom
            .query(&format!(
                "count by ({}) ({})",
                label.trim(),
                substitute(selector)
            ))
            .await;
        if !matches!(count, Ok(n) if n > 0) {
            failures.push(format!("variable {variable}: no values ({count:?})"));
        }
    }

    // Every rule expression parses and evaluates; Prometheus evaluates every group with health "ok".
    let expressions = rule_expressions();
    assert!(
        expressions.len() >= 50,
        "found only {} rule expressions",
        expressions.len()
    );
    for (name, expr) in &expressions {
        if let Err(error) = prom.query(expr).await {
            failures.push(format!("rule {name}: {error}: {expr}"));
        }
    }
    let rules: Value = prom
        .http
        .get(format!("{}/api/v1/rules", prom.base))
        .send()
        .await
        .expect("rules")
        .json()
        .await
        .expect("rules JSON");
    let mut loaded = 0;
    for group in rules["data"]["groups"].as_array().into_iter().flatten() {
        for rule in group["rules"].as_array().into_iter().flatten() {
            loaded += 1;
            if rule["health"] != "ok" {
                failures.push(format!(
                    "Prometheus evaluates {} as {}: {}",
                    rule["name"], rule["health"], rule["lastError"]
                ));
            }
        }
    }
    assert_eq!(
        loaded,
        expressions.len(),
        "Prometheus loaded every rule of the chart"
    );

    // Every metric name used is in a scraped /metrics: the platform's or the operator's.
    let mut exposed = String::new();
    for url in [format!("{base}/metrics"), operator_metrics.clone()] {
        exposed.push_str(&metrics_text(&url).await.expect("metrics text"));
    }
    let used: BTreeSet<String> = queries
        .iter()
        .map(|q| q.expr.as_str())
        .chain(expressions.iter().map(|(_, e)| e.as_str()))
        .chain(variables.iter().map(String::as_str))
        .flat_map(metric_names)
        .collect();
    for name in &used {
        let in_metrics = exposed.lines().any(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        });
        if !in_metrics {
            failures.push(format!("metric {name} is in no scraped /metrics"));
        }
    }

    // Spans went to the OTLP endpoint.
    let exported = wait_for(
        Duration::from_secs(10),
        "spans at the OTLP endpoint",
        || async { (spans_received.load(Ordering::SeqCst) > 0).then_some(()) },
    )
    .await;
    if exported.is_err() {
        failures.push("the binary exported no spans to OTEL_EXPORTER_OTLP_ENDPOINT".to_owned());
    }

    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    drop(_prometheus);
    drop(_bazaar);
    let _ = std::fs::remove_dir_all(&prometheus_dir);
    broker.shutdown().await;
    env.cleanup().await;
    eprintln!(
        "observability test took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Percent-encodes `text` for a URL query value.
fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
