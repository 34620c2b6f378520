//! A throwaway tansu broker (Kafka wire protocol, in-memory storage) run as a child process.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::net::Ipv4Addr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{DevEnvError, Result};
use crate::process::{
    PORT_ATTEMPTS, Watchdog, file_len, find_in_path, is_executable, kill_and_reap, log_tail,
    pick_port, random_u64, read_from, remove_dir_quietly, unique_temp_dir,
};

/// The tansu version `scripts/install-tansu` installs, which names the cached binary.
const TANSU_CACHE_NAME: &str = "tansu-0.6.0";

/// How long a freshly spawned broker gets to answer Kafka requests. It is ready in milliseconds; the
/// slack is for a loaded CI machine.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// Log lines to quote in error messages.
const LOG_TAIL_LINES: usize = 20;

/// A tansu broker with in-memory storage on 127.0.0.1, for `bazaar dev` and tests.
///
/// Its output goes to `tansu.log` in its temp directory. Dropping it kills the broker and deletes the
/// directory; if this process dies first, a watchdog process does that.
pub struct LocalBroker {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    watchdog: Option<Watchdog>,
}

impl LocalBroker {
    /// Finds tansu (`TANSU_BIN`, then `tansu` on `PATH`, then the `scripts/install-tansu` cache), starts
    /// it on a free port, and returns once it answers Kafka requests.
    pub async fn start() -> Result<LocalBroker> {
        let cache = tools_cache_dir(
            std::env::var_os("BAZAAR_TOOLS_DIR"),
            std::env::var_os("XDG_CACHE_HOME"),
            std::env::var_os("HOME"),
        )
        .join(TANSU_CACHE_NAME);
        let bin = find_tansu(
            std::env::var_os("TANSU_BIN"),
            std::env::var_os("PATH").as_deref(),
            &cache,
        )?;
        Self::start_binary(&bin).await
    }

    /// `host:port` to use as `bootstrap.servers`.
    pub fn bootstrap_servers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The TCP port the broker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The instance's temp directory, holding `tansu.log`. It is deleted when the broker is dropped.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Freezes the broker (SIGSTOP): it keeps its port, connections and data but answers nothing, as a
    /// hung broker would, until [`resume`](Self::resume). For outage tests: producers and consumers see
    /// their requests time out, and everything carries on from where it was once the broker resumes.
    pub fn pause(&self) -> Result<()> {
        self.signal("-STOP")
    }

    /// Lets a [`pause`](Self::pause)d broker run again (SIGCONT).
    pub fn resume(&self) -> Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> Result<()> {
        let pid = self
            .child
            .as_ref()
            .map(|child| child.id().to_string())
            .unwrap_or_default();
        let command = format!("kill {signal} {pid}");
        let output = Command::new("kill")
            .args([signal, &pid])
            .output()
            .map_err(|source| DevEnvError::Spawn {
                program: "kill".to_owned(),
                source,
            })?;
        if output.status.success() {
            Ok(())
        } else {
            Err(DevEnvError::CommandFailed {
                command,
                status: output.status,
                output: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                hint: "the broker is no longer running; start a new one",
            })
        }
    }

    /// Stops the broker and deletes its directory. The broker keeps everything in memory, so there is
    /// nothing to flush and killing it is as orderly as it gets; this exists so that callers can end
    /// the broker at a point of their choosing, after their own components have shut down.
    pub async fn shutdown(mut self) {
        self.kill();
        self.watchdog = None;
        if let Err(e) = tokio::fs::remove_dir_all(&self.dir).await {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove tansu directory");
        }
        tracing::info!(port = self.port, "stopped local tansu broker");
    }

    async fn start_binary(bin: &Path) -> Result<LocalBroker> {
        let dir = unique_temp_dir("bazaar-tansu")?;
        // From here on `Drop` owns cleanup, so every early return below leaves nothing behind.
        let mut broker = LocalBroker {
            child: None,
            port: 0,
            dir,
            watchdog: None,
        };
        broker.watchdog = Some(Watchdog::spawn(
            r#"[ -f "$1/pid" ] && kill -9 "$(cat "$1/pid")" 2>/dev/null; rm -rf "$1""#,
            &[broker.dir.as_os_str()],
        )?);

        for _ in 0..PORT_ATTEMPTS {
            broker.port = pick_port().ok_or(DevEnvError::NoFreePort {
                what: "tansu",
                attempts: PORT_ATTEMPTS,
            })?;
            // A per-instance cluster id tells our broker apart from any other that holds the port.
            let cluster_id = format!("bazaar-devenv-{:016x}", random_u64());
            let log = broker.dir.join("tansu.log");
            let log_start = file_len(&log);
            broker.spawn(bin, &cluster_id, &log)?;
            match broker.wait_ready(&cluster_id, &log, log_start).await {
                Ok(Ready::Yes) => {
                    tracing::info!(
                        bootstrap = %broker.bootstrap_servers(),
                        bin = %bin.display(),
                        "started local tansu broker"
                    );
                    return Ok(broker);
                }
                Ok(Ready::PortTaken) => {
                    tracing::debug!(
                        port = broker.port,
                        "port taken before tansu could bind it; trying another"
                    );
                    broker.kill();
                }
                Err(e) => return Err(e),
            }
        }
        Err(DevEnvError::NoFreePort {
            what: "tansu",
            attempts: PORT_ATTEMPTS,
        })
    }

    fn spawn(&mut self, bin: &Path, cluster_id: &str, log: &Path) -> Result<()> {
        let io_error = |action, source| DevEnvError::Io {
            action,
            path: log.to_owned(),
            source,
        };
        let stdout = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| io_error("opening log file", e))?;
        let stderr = stdout
            .try_clone()
            .map_err(|e| io_error("opening log file", e))?;
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(bin)
            .args([
                "broker",
                "--cluster-id",
                cluster_id,
                "--storage-engine",
                "memory://tansu/",
            ])
            .args([
                "--listener-url",
                &listener,
                "--advertised-listener-url",
                &listener,
            ])
            // tansu reads these from the environment too; a value meant for `bazaar` itself (tracing
            // export, schema validation) must not leak into the throwaway broker.
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("SCHEMA_REGISTRY")
            .env("NO_COLOR", "1")
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Out of our process group, so a Ctrl-C reaches only `bazaar`, which then shuts down its
            // components before the broker they talk to.
            .process_group(0)
            .spawn()
            .map_err(|source| DevEnvError::Spawn {
                program: bin.display().to_string(),
                source,
            })?;
        let pid_file = self.dir.join("pid");
        let pid_written = fs::write(&pid_file, child.id().to_string());
        self.child = Some(child);
        pid_written.map_err(|source| DevEnvError::Io {
            action: "writing",
            path: pid_file,
            source,
        })
    }

    async fn wait_ready(&mut self, cluster_id: &str, log: &Path, log_start: u64) -> Result<Ready> {
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(status)) => status,
                Some(Err(source)) => {
                    return Err(DevEnvError::Io {
                        action: "waiting for tansu, logging to",
                        path: log.to_owned(),
                        source,
                    });
                }
                None => None,
            };
            // tansu reports a failed bind in its log, sometimes without exiting.
            if read_from(log, log_start).is_ok_and(|text| text.contains("AddrInUse")) {
                return Ok(Ready::PortTaken);
            }
            if let Some(status) = exited {
                return Err(DevEnvError::Exited {
                    what: "tansu",
                    port: self.port,
                    status,
                    log_tail: log_tail(log, log_start, LOG_TAIL_LINES),
                });
            }
            match tokio::time::timeout(Duration::from_secs(1), cluster_id_at(self.port)).await {
                Ok(Ok(Some(id))) if id == cluster_id => return Ok(Ready::Yes),
                // Some other Kafka-speaking server answered on "our" port.
                Ok(Ok(_)) => return Ok(Ready::PortTaken),
                Ok(Err(_)) | Err(_) => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DevEnvError::NotReady {
                    what: "tansu",
                    port: self.port,
                    timeout: READY_TIMEOUT,
                    log_tail: log_tail(log, log_start, LOG_TAIL_LINES),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills and reaps the broker. SIGKILL makes the wait immediate, so blocking on it is fine.
    fn kill(&mut self) {
        kill_and_reap(&mut self.child);
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        self.kill();
        self.watchdog = None;
        remove_dir_quietly(&self.dir);
    }
}

impl std::fmt::Debug for LocalBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBroker")
            .field("bootstrap_servers", &self.bootstrap_servers())
            .field("dir", &self.dir)
            .finish()
    }
}

enum Ready {
    Yes,
    PortTaken,
}

/// `${BAZAAR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bazaar/tools}`, as in `scripts/install-tansu`.
fn tools_cache_dir(
    bazaar_tools_dir: Option<OsString>,
    xdg_cache_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    let set = |value: Option<OsString>| value.filter(|v| !v.is_empty()).map(PathBuf::from);
    set(bazaar_tools_dir).unwrap_or_else(|| {
        set(xdg_cache_home)
            .unwrap_or_else(|| set(home).unwrap_or_default().join(".cache"))
            .join("bazaar")
            .join("tools")
    })
}

/// Resolves the tansu binary. An explicit `TANSU_BIN` must be usable: silently falling back to another
/// binary would hide the mistake from whoever set it.
fn find_tansu(
    tansu_bin: Option<OsString>,
    path_var: Option<&OsStr>,
    cache: &Path,
) -> Result<PathBuf> {
    if let Some(path) = tansu_bin.filter(|v| !v.is_empty()).map(PathBuf::from) {
        return match fs::metadata(&path) {
            Err(_) => Err(DevEnvError::TansuBinInvalid {
                path,
                problem: "does not exist",
            }),
            Ok(_) if !is_executable(&path) => Err(DevEnvError::TansuBinInvalid {
                path,
                problem: "is not an executable file",
            }),
            Ok(_) => Ok(path),
        };
    }
    find_in_path("tansu", path_var)
        .or_else(|| is_executable(cache).then(|| cache.to_owned()))
        .ok_or_else(|| DevEnvError::TansuNotFound {
            cache: cache.to_owned(),
        })
}

/// Asks the Kafka server on 127.0.0.1:`port` for its cluster id with a Metadata v2 request (the first
/// version whose response carries it). Hand-rolled because it is a few bytes and this crate should not
/// need a Kafka client.
async fn cluster_id_at(port: u16) -> io::Result<Option<String>> {
    const METADATA: i16 = 3;
    const VERSION: i16 = 2;
    const CORRELATION_ID: i32 = 0x6261_7a72;
    const CLIENT_ID: &[u8] = b"bazaar-devenv";

    let mut request = Vec::with_capacity(32);
    request.extend_from_slice(&METADATA.to_be_bytes());
    request.extend_from_slice(&VERSION.to_be_bytes());
    request.extend_from_slice(&CORRELATION_ID.to_be_bytes());
    request.extend_from_slice(&i16::try_from(CLIENT_ID.len()).unwrap_or(0).to_be_bytes());
    request.extend_from_slice(CLIENT_ID);
    request.extend_from_slice(&0i32.to_be_bytes()); // no topics: we only want the header fields
    let mut frame = u32::try_from(request.len())
        .unwrap_or(0)
        .to_be_bytes()
        .to_vec();
    frame.extend_from_slice(&request);

    let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
    stream.write_all(&frame).await?;
    let len = usize::try_from(stream.read_u32().await?).map_err(io::Error::other)?;
    if len > 1 << 20 {
        return Err(invalid("response too large for a Metadata response"));
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).await?;

    let mut r = Reader(&body);
    if r.i32()? != CORRELATION_ID {
        return Err(invalid("correlation id mismatch"));
    }
    for _ in 0..r.i32()? {
        r.i32()?; // node_id
        r.string()?; // host
        r.i32()?; // port
        r.string()?; // rack
    }
    r.string()
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

/// Big-endian reader over a Kafka response body.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or_else(|| invalid("truncated response"))?;
        self.0 = rest;
        Ok(*head)
    }

    fn i32(&mut self) -> io::Result<i32> {
        self.take().map(i32::from_be_bytes)
    }

    /// A nullable string: i16 length (-1 for null), then UTF-8 bytes.
    fn string(&mut self) -> io::Result<Option<String>> {
        let Ok(len) = usize::try_from(i16::from_be_bytes(self.take()?)) else {
            return Ok(None);
        };
        if self.0.len() < len {
            return Err(invalid("truncated response"));
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| invalid("string is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn tools_cache_dir_follows_install_script() {
        let s = |v: &str| Some(OsString::from(v));
        assert_eq!(
            tools_cache_dir(s("/t"), s("/x"), s("/h")),
            PathBuf::from("/t")
        );
        assert_eq!(
            tools_cache_dir(s(""), s("/x"), s("/h")),
            PathBuf::from("/x/bazaar/tools")
        );
        assert_eq!(
            tools_cache_dir(None, None, s("/h")),
            PathBuf::from("/h/.cache/bazaar/tools")
        );
    }

    #[test]
    fn tansu_bin_pointing_nowhere_is_an_error_naming_it() {
        let missing = PathBuf::from("/nonexistent/bazaar-devenv-test/tansu");
        let err = find_tansu(
            Some(missing.clone().into()),
            None,
            Path::new("/nonexistent/cache"),
        )
        .expect_err("must not fall back when TANSU_BIN is wrong");
        let message = err.to_string();
        assert!(message.contains("TANSU_BIN"), "{message}");
        assert!(message.contains(&*missing.to_string_lossy()), "{message}");
        assert!(message.contains("does not exist"), "{message}");
    }

    #[test]
    fn missing_tansu_says_how_to_install_it() {
        let err = find_tansu(
            None,
            Some(OsStr::new("/nonexistent")),
            Path::new("/nonexistent/cache/tansu-0.6.0"),
        )
        .expect_err("nothing to find");
        let message = err.to_string();
        for expected in [
            "scripts/install-tansu",
            "TANSU_BIN",
            "KAFKA_BROKERS",
            "/nonexistent/cache/tansu-0.6.0",
        ] {
            assert!(
                message.contains(expected),
                "{expected:?} missing from: {message}"
            );
        }
    }

    #[test]
    fn finds_tansu_on_path_before_cache() {
        let dir = unique_temp_dir("bazaar-test").expect("temp dir");
        let bin = dir.join("tansu");
        fs::write(&bin, "#!/bin/sh\n").expect("write");
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(
            find_tansu(None, Some(dir.as_os_str()), Path::new("/nonexistent")).ok(),
            Some(bin.clone())
        );
        assert_eq!(find_tansu(None, None, &bin).ok(), Some(bin.clone()));

        fs::set_permissions(&bin, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = find_tansu(Some(bin.clone().into()), None, Path::new("/nonexistent"))
            .expect_err("not executable");
        assert!(err.to_string().contains("not an executable"), "{err}");
        remove_dir_quietly(&dir);
    }

    #[test]
    fn reader_parses_metadata_v2_tail() {
        // Captured from tansu 0.6 (one broker, cluster id "bz-abc123", no topics).
        let body = b"\x00\x00\x00*\x00\x00\x00\x01\x00\x00\x00o\x00\t127.0.0.1\x00\x00[\xa3\xff\xff\x00\tbz-abc123\x00\x00\x00o\x00\x00\x00\x00";
        let mut r = Reader(body);
        assert_eq!(r.i32().expect("correlation id"), 42);
        assert_eq!(r.i32().expect("broker count"), 1);
        r.i32().expect("node id");
        assert_eq!(r.string().expect("host").as_deref(), Some("127.0.0.1"));
        r.i32().expect("port");
        assert_eq!(r.string().expect("rack"), None);
        assert_eq!(
            r.string().expect("cluster id").as_deref(),
            Some("bz-abc123")
        );
        assert!(Reader(b"\x00\x05ab").string().is_err());
    }
}
