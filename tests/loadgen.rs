//! `bazaar loadgen` against the whole platform in one process (`bazaar dev`: `serve all` plus the example
//! shop): a tiny shopper run and a tiny saga run, each bounded to a couple of seconds, stop by themselves,
//! succeed and leave their reports. The load figures themselves come from `scripts/bench`
//! (docs/benchmarks.md); this only proves the tool works end to end.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bazaar_testkit::TestEnv;
use serde_json::Value;
use tokio::process::Command;

const BAZAAR: &str = env!("CARGO_BIN_EXE_bazaar");
const ADMIN_PASSWORD: &str = "loadgen test admin password";

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} is written: {e}", path.display()));
    serde_json::from_str(&text).expect("a JSON report")
}

/// Runs `bazaar loadgen <args>` against `url`; returns its output, having checked it exited 0.
async fn loadgen(url: &str, report_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BAZAAR)
        .arg("loadgen")
        .args(args)
        .env("BAZAAR_LOADGEN_URL", url)
        .env("BAZAAR_LOADGEN_REPORT_DIR", report_dir)
        .env("BAZAAR_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("loadgen stops by itself")
        .expect("loadgen runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "loadgen {args:?} failed:\n{text}");
    text
}

async fn seeded(url: &str) -> bool {
    let Ok(answer) = reqwest::get(format!("{url}/api/catalog/products")).await else {
        return false;
    };
    let page: Value = answer.json().await.unwrap_or(Value::Null);
    page["items"]
        .as_array()
        .is_some_and(|items| !items.is_empty())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tiny_shopper_run_and_a_tiny_saga_run_succeed_and_write_their_reports() {
    let env = TestEnv::start().await.expect("test environment");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log_path = std::env::temp_dir().join(format!("bazaar-loadgen-test-{}.log", env.id));
    let log = std::fs::File::create(&log_path).expect("server log file");
    let mut server = Command::new(BAZAAR)
        .args([
            "dev",
            "--kube-api",
            "never",
            "--dev-addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("DATABASE_URL", &env.database_url)
        .env("KAFKA_BROKERS", &env.kafka_brokers)
        .env("BAZAAR_DB_SCHEMA_PREFIX", format!("{}_", env.id))
        .env("BAZAAR_KAFKA_TOPIC_PREFIX", env.topic_prefix())
        .env("BAZAAR_DEV_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env(
            "BAZAAR_DEV_EXAMPLES",
            concat!(env!("CARGO_MANIFEST_DIR"), "/crds/examples"),
        )
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .kill_on_drop(true)
        .spawn()
        .expect("bazaar dev starts");
    // Seeded once the catalog lists the example shop; a server that exits fails the test at once.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(Some(status)) = server.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("bazaar dev exited ({status}):\n{log}");
        }
        if seeded(&url).await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "bazaar dev not seeded in 120 s; log: {}",
            log_path.display()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let reports = std::env::temp_dir().join(format!("bazaar-loadgen-test-{}", env.id));
    let (shoppers_dir, saga_dir) = (reports.join("shoppers"), reports.join("saga"));
    let (shop_prefix, saga_prefix) = (format!("{}-shop", env.id), format!("{}-saga", env.id));
    let shopper_args = [
        "shoppers",
        "--users",
        "2",
        "--ramp-up",
        "1s",
        "--hold",
        "2s",
        "--ramp-down",
        "0s",
        "--think-time",
        "20ms..100ms",
        "--shopper-prefix",
        &shop_prefix,
    ];
    let saga_args = [
        "saga",
        "--concurrency",
        "2",
        "--duration",
        "2s",
        "--shopper-prefix",
        &saga_prefix,
    ];
    let (shoppers_out, saga_out) = tokio::join!(
        loadgen(&url, &shoppers_dir, &shopper_args),
        loadgen(&url, &saga_dir, &saga_args)
    );

    for file in ["report.html", "report.json", "summary.json"] {
        let path = shoppers_dir.join(file);
        assert!(
            path.is_file(),
            "{} is written:\n{shoppers_out}",
            path.display()
        );
    }
    let summary = read_json(&shoppers_dir.join("summary.json"));
    assert!(
        summary["requests"].as_u64() > Some(0),
        "requests were sent: {summary}"
    );
    assert_eq!(
        summary["failures"], 0,
        "every request succeeded: {summary:#}\n{shoppers_out}"
    );
    assert!(
        summary["variantsToppedUp"].as_u64() > Some(0),
        "stock was topped up: {summary}"
    );

    let saga = read_json(&saga_dir.join("saga.json"));
    let report = &saga["report"];
    assert!(
        report["accepted"].as_u64() >= Some(1),
        "checkouts were accepted: {saga:#}\n{saga_out}"
    );
    assert!(
        report["confirmed"].as_u64() >= Some(1),
        "orders were confirmed: {saga:#}\n{saga_out}"
    );
    assert_eq!(report["cancelled"], 0, "{saga:#}");
    assert!(
        report["placedToConfirmedMs"]["p50"].as_f64() > Some(0.0),
        "placed -> confirmed comes from the orders' own times: {saga:#}"
    );
    assert!(
        saga_out.contains("confirmed"),
        "a summary is printed:\n{saga_out}"
    );

    let _ = std::fs::remove_dir_all(&reports);
    env.cleanup().await;
}
