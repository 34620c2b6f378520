//! The `bazaar` binary as an operator meets it: it starts every component, reports readiness honestly,
//! exposes RED metrics, stops cleanly on SIGTERM, refuses bad settings up front, and `bazaar dev` cleans up.

use std::net::TcpListener as StdListener;
use std::process::Stdio;
use std::time::Duration;

use bazaar_devenv::LocalPostgres;
use bazaar_testkit::{TestEnv, wait_for};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BAZAAR: &str = env!("CARGO_BIN_EXE_bazaar");
const PATIENCE: Duration = Duration::from_secs(60);

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `bazaar serve all` running in the background against `database_url`, isolated by the env's id.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(env: &TestEnv, database_url: &str) -> Server {
        let port = free_port();
        let child = Command::new(BAZAAR)
            .args(["serve", "all", "--migrate"])
            .env("DATABASE_URL", database_url)
            .env("KAFKA_BROKERS", &env.kafka_brokers)
            .env("BAZAAR_DB_SCHEMA_PREFIX", format!("{}_", env.id))
            .env("BAZAAR_KAFKA_TOPIC_PREFIX", env.topic_prefix())
            .env("BAZAAR_HTTP_ADDR", format!("127.0.0.1:{port}"))
            .env("BAZAAR_SHUTDOWN_GRACE_SECS", "5")
            .env("BAZAAR_LOG_FORMAT", "json")
            .kill_on_drop(true)
            .spawn()
            .expect("bazaar starts");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        wait_for(PATIENCE, "bazaar to answer /healthz", || async {
            let response = reqwest::get(format!("{}/healthz", server.base))
                .await
                .ok()?;
            response.status().is_success().then_some(())
        })
        .await
        .expect("server up");
        server
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.text().await.expect("body"))
    }

    fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
    }
}

#[tokio::test]
async fn serve_all_starts_every_component_and_metrics_show_red_metrics_after_a_request() {
    let env = TestEnv::start().await.expect("infrastructure");
    let server = Server::start(&env, &env.database_url).await;

    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    for component in [
        "catalog",
        "identity",
        "order",
        "inventory",
        "payment",
        "notification",
        "review",
    ] {
        assert!(
            body.contains(&format!("\"postgres:{component}\":\"ok\"")),
            "{body}"
        );
        let (status, doc) = server.get(&format!("/api/{component}/openapi.json")).await;
        assert_eq!(status, 200);
        assert!(doc.contains(&format!("Bazaar {component} API")), "{doc}");
    }
    assert!(body.contains("\"kafka\":\"ok\""), "{body}");

    let (status, _) = server.get("/api/no-such-thing").await;
    assert_eq!(status, 404);
    let (_, metrics) = server.get("/metrics").await;
    assert!(
        metrics
            .contains(r#"bazaar_http_requests_total{method="GET",route="/readyz",status="200"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"bazaar_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"bazaar_http_request_duration_seconds_count{method="GET",route="/readyz"} 1"#
        )
    );
    env.cleanup().await;
}

#[tokio::test]
async fn readyz_turns_unready_while_postgres_is_down_and_ready_again_when_it_returns() {
    let env = TestEnv::start().await.expect("infrastructure");
    let mut postgres = LocalPostgres::start()
        .await
        .expect("a PostgreSQL of our own to stop");
    let server = Server::start(&env, &postgres.url()).await;
    assert_eq!(server.get("/readyz").await.0, 200);

    postgres.stop().await.expect("stop postgres");
    let (status, body) = server.get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"status\":\"unready\""), "{body}");
    assert_eq!(
        server.get("/healthz").await.0,
        200,
        "alive even while a dependency is down"
    );

    postgres.restart().await.expect("restart postgres");
    wait_for(PATIENCE, "/readyz to recover", || async {
        (server.get("/readyz").await.0 == 200).then_some(())
    })
    .await
    .expect("ready again");
    drop(server);
    postgres.shutdown().await;
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly_within_the_grace_period() {
    let env = TestEnv::start().await.expect("infrastructure");
    let mut server = Server::start(&env, &env.database_url).await;
    server.terminate();
    let status = tokio::time::timeout(Duration::from_secs(15), server.child.wait())
        .await
        .expect("exited within the grace period")
        .expect("exit status");
    assert!(status.success(), "clean exit, got {status}");
    env.cleanup().await;
}

#[tokio::test]
async fn bad_or_missing_settings_exit_non_zero_naming_the_setting() {
    /// Arguments, extra environment, and what the error message must name.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        (
            &["serve", "all", "--kafka-brokers", "no-port"],
            &[],
            "--kafka-brokers",
        ),
        (
            &["serve", "all", "--database-url", "mysql://x"],
            &[],
            "--database-url",
        ),
        (
            &["serve", "all"],
            &[("BAZAAR_HTTP_BODY_LIMIT", "0")],
            "--http-body-limit",
        ),
        (
            &["serve", "all", "--kafka-brokers", "127.0.0.1:1"],
            &[],
            "DATABASE_URL",
        ),
    ];
    for (args, envs, expected) in cases {
        let output = Command::new(BAZAAR)
            .args(args)
            .env_remove("DATABASE_URL")
            .env_remove("KAFKA_BROKERS")
            .envs(envs.iter().copied())
            .output()
            .await
            .expect("bazaar runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} should fail");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// `bazaar dev` started as a developer would, with nothing configured, read until it printed its guide.
struct Dev {
    child: Child,
    base: String,
    port: u16,
    /// Ports of the throwaway servers it reported starting (PostgreSQL, broker).
    started_ports: Vec<u16>,
    /// Everything it printed on stdout up to "Press Ctrl-C".
    guide: String,
}

impl Dev {
    async fn start(extra_args: &[&str]) -> Dev {
        let port = free_port();
        let mut child = Command::new(BAZAAR)
            .args(["dev", "--dev-addr", &format!("127.0.0.1:{port}")])
            .args(extra_args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("BAZAAR_DEV_ADMIN_PASSWORD", "dev-journey-password")
            .env_remove("DATABASE_URL")
            .env_remove("KAFKA_BROKERS")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("bazaar dev starts");

        // It names the throwaway servers it started; remember their ports.
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut started_ports = Vec::new();
        while started_ports.len() < 2 {
            let line = tokio::time::timeout(PATIENCE, stderr.next_line())
                .await
                .expect("bazaar dev reports its servers")
                .expect("read")
                .expect("a line");
            if line.contains("PostgreSQL:") || line.contains("Kafka broker:") {
                let port: u16 = line
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim().trim_end_matches("/postgres").parse().ok())
                    .unwrap_or_else(|| panic!("a port in {line}"));
                started_ports.push(port);
            }
        }
        tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });

        let base = format!("http://127.0.0.1:{port}");
        wait_for(PATIENCE, "the platform to be ready", || async {
            let response = reqwest::get(format!("{base}/readyz")).await.ok()?;
            (response.status() == 200).then_some(())
        })
        .await
        .expect("ready");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut guide = String::new();
        while !guide.contains("Press Ctrl-C") {
            let line = tokio::time::timeout(PATIENCE, stdout.next_line())
                .await
                .expect("bazaar dev prints its guide")
                .expect("read")
                .expect("a line");
            guide.push_str(&line);
            guide.push('\n');
        }
        Dev {
            child,
            base,
            port,
            started_ports,
            guide,
        }
    }

    /// Runs one of the README's journey scripts against this platform; returns what it printed.
    async fn run_journey(&self, script: &str, env: &[(&str, &str)]) -> String {
        let journey = tokio::process::Command::new("bash")
            .arg(format!("{}/scripts/{script}", env!("CARGO_MANIFEST_DIR")))
            .env("BAZAAR_URL", &self.base)
            .env("BAZAAR_ADMIN_PASSWORD", "dev-journey-password")
            .envs(env.iter().copied())
            .output()
            .await
            .expect("the journey runs");
        let story = String::from_utf8_lossy(&journey.stdout).into_owned();
        assert!(
            journey.status.success(),
            "{script} failed:\n{story}\n{}",
            String::from_utf8_lossy(&journey.stderr)
        );
        story
    }

    /// Ctrl-C: it stops, and nothing it started is left listening.
    async fn interrupt(mut self) {
        let pid = self.child.id().expect("running").to_string();
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("Ctrl-C");
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("stops")
            .expect("status");
        assert!(status.success(), "{status}");
        for port in self.started_ports.into_iter().chain([self.port]) {
            assert!(
                std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
                "port {port} is still served after Ctrl-C"
            );
        }
    }
}

#[tokio::test]
async fn bazaar_dev_runs_the_whole_shop_for_the_readme_journey_and_ctrl_c_leaves_nothing_running() {
    let dev = Dev::start(&["--kube-api", "never"]).await;
    let printed = &dev.guide;
    assert!(
        printed.contains(&format!("{}/readyz", dev.base)),
        "prints the URLs to open:\n{printed}"
    );
    assert!(
        printed.contains("Loaded 13 example resources"),
        "loads the example shop:\n{printed}"
    );
    assert!(
        printed.contains("admin@bazaar.local / dev-journey-password"),
        "{printed}"
    );

    // The README's shopper journey, run as written, ends with a delivered order.
    let story = dev.run_journey("shopper-journey", &[]).await;
    assert!(
        story.contains("'delivered', ['placed', 'awaiting_payment', 'confirmed', 'packed', 'shipped', 'delivered']"),
        "{story}"
    );
    dev.interrupt().await;
}

/// Needs the local API server (`scripts/install-kube-api`, which `scripts/test` runs) and kubectl on PATH
/// (`scripts/test` puts the one from `../shared/tools/install-k8s-tools` there).
#[tokio::test]
async fn bazaar_dev_with_a_kube_api_lets_a_merchandiser_run_the_readme_journey_with_kubectl() {
    assert!(
        std::process::Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_ok_and(|output| output.status.success()),
        "kubectl is not on PATH: run `eval \"$(../shared/tools/install-k8s-tools)\"` or install any recent kubectl"
    );
    let dev = Dev::start(&["--kube-api"]).await;
    let kubeconfig = dev
        .guide
        .lines()
        .find_map(|line| line.trim().strip_prefix("export KUBECONFIG="))
        .unwrap_or_else(|| panic!("prints the KUBECONFIG to use:\n{}", dev.guide))
        .to_owned();
    assert!(
        dev.guide.contains("Applied 13 example resources"),
        "applies the example shop to the API server:\n{}",
        dev.guide
    );

    let story = dev
        .run_journey("merchandiser-journey", &[("KUBECONFIG", &kubeconfig)])
        .await;
    for expected in [
        "the catalog sells camp-mug at USD 18.00",
        "the catalog sells camp-mug at USD 15.00",
        "camp-mug is no longer sold",
    ] {
        assert!(story.contains(expected), "{expected}:\n{story}");
    }
    assert!(
        story.contains("trail-runner") && story.contains("True"),
        "the example shop is live and Ready:\n{story}"
    );
    dev.interrupt().await;
}
