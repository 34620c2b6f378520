//! Starts real PostgreSQL servers; needs the server binaries (see `DevEnvError::PostgresNotFound`).

use std::net::{Ipv4Addr, TcpStream};
use std::process::Command;

use bazaar_devenv::LocalPostgres;

fn accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// Runs a query through `psql` if the client is installed; the TCP checks stand on their own otherwise.
fn psql(url: &str, sql: &str) -> Option<String> {
    let output = match Command::new("psql").args([url, "-XtAc", sql]).output() {
        Ok(output) => output,
        Err(e) => {
            eprintln!("psql not available ({e}); skipping query check");
            return None;
        }
    };
    assert!(
        output.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[tokio::test]
async fn stop_and_restart_on_the_same_port_keeps_data() {
    let mut pg = LocalPostgres::start().await.expect("start PostgreSQL");
    let port = pg.port();
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    );
    assert!(accepts(port));
    if let Some(out) = psql(&pg.url(), "select 1") {
        assert_eq!(out, "1");
        psql(&pg.url(), "create table kept as select 7 as v");
    }

    pg.stop().await.expect("stop");
    assert!(!accepts(port), "port {port} still accepts after stop");
    pg.stop().await.expect("stopping twice is a no-op");

    pg.restart().await.expect("restart");
    assert_eq!(pg.port(), port);
    assert!(accepts(port));
    if let Some(out) = psql(&pg.url(), "select v from kept") {
        assert_eq!(out, "7");
    }

    let dir = pg.dir().to_owned();
    pg.shutdown().await;
    assert!(!accepts(port));
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[tokio::test]
async fn drop_stops_the_server_and_removes_its_directory() {
    let pg = LocalPostgres::start().await.expect("start PostgreSQL");
    let (port, dir) = (pg.port(), pg.dir().to_owned());
    assert!(accepts(port));
    drop(pg);
    assert!(!accepts(port), "port {port} still accepts after drop");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[tokio::test]
async fn parallel_servers_get_their_own_ports_and_directories() {
    let (a, b) = tokio::join!(LocalPostgres::start(), LocalPostgres::start());
    let (a, b) = (a.expect("start a"), b.expect("start b"));
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());
    assert!(accepts(a.port()) && accepts(b.port()));
    tokio::join!(a.shutdown(), b.shutdown());
}

#[tokio::test]
async fn restart_recovers_a_server_that_died_behind_our_back() {
    let mut pg = LocalPostgres::start().await.expect("start PostgreSQL");
    let port = pg.port();
    let pid_file = pg.dir().join("data").join("postmaster.pid");
    let pid = std::fs::read_to_string(&pid_file).expect("postmaster.pid");
    let pid = pid.lines().next().expect("pid line").trim().to_owned();
    let killed = Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    // The postmaster is gone; its children notice and exit shortly after.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while accepts(port) {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} still accepts after SIGKILL"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    pg.restart().await.expect("restart after a crash");
    assert!(accepts(port));
    pg.shutdown().await;
}
