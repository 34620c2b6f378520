//! Nothing may outlive the process that started it, even when that process never runs `Drop`
//! (servers held in a `static`, `std::process::exit`, `SIGKILL`). The test binary re-runs itself as
//! that process.

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bazaar_devenv::{LocalBroker, LocalPostgres};

/// Tells the helper test how to die: `exit` or `wait` (to be SIGKILLed).
const HOW_TO_DIE: &str = "BAZAAR_DEVENV_TEST_HOW_TO_DIE";
const HELPER: &str = "helper_starts_servers_then_dies";

#[tokio::test]
#[ignore = "run in a subprocess by the other tests in this file"]
async fn helper_starts_servers_then_dies() {
    let how = std::env::var(HOW_TO_DIE).expect("run only as a subprocess");
    let pg = LocalPostgres::start().await.expect("start PostgreSQL");
    let broker = LocalBroker::start().await.expect("start tansu");
    println!(
        "READY {} {} {} {}",
        pg.port(),
        pg.dir().display(),
        broker.port(),
        broker.dir().display()
    );
    if how == "exit" {
        std::process::exit(0);
    }
    std::future::pending::<()>().await;
}

struct Leftovers {
    ports: [u16; 2],
    dirs: [PathBuf; 2],
}

/// Runs the helper, lets it die as told, and returns what it had started.
fn run_helper(how: &str) -> Leftovers {
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args(["--exact", HELPER, "--ignored", "--nocapture"])
        .env(HOW_TO_DIE, how)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn helper");
    let stdout = child.stdout.take().expect("piped stdout");
    let line = BufReader::new(stdout)
        .lines()
        .map(|line| line.expect("read helper output"))
        .find(|line| line.starts_with("READY "))
        .expect("helper never got its servers up");
    let fields: Vec<&str> = line.split(' ').collect();
    let port = |i: usize| fields[i].parse::<u16>().expect("port");
    let leftovers = Leftovers {
        ports: [port(1), port(3)],
        dirs: [PathBuf::from(fields[2]), PathBuf::from(fields[4])],
    };
    assert!(
        leftovers.ports.iter().all(|&p| accepts(p)),
        "servers not up: {line}"
    );
    if how != "exit" {
        child.kill().expect("SIGKILL helper");
    }
    child.wait().expect("reap helper");
    leftovers
}

fn accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

fn assert_cleaned_up(leftovers: &Leftovers) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let open: Vec<_> = leftovers.ports.iter().filter(|&&p| accepts(p)).collect();
        let present: Vec<_> = leftovers.dirs.iter().filter(|d| d.exists()).collect();
        if open.is_empty() && present.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "still listening: {open:?}, still on disk: {present:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn servers_die_with_a_process_that_exits_without_dropping_them() {
    assert_cleaned_up(&run_helper("exit"));
}

#[test]
fn servers_die_with_a_process_that_is_killed() {
    assert_cleaned_up(&run_helper("wait"));
}
