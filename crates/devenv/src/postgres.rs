//! A throwaway PostgreSQL server run from the installed server binaries.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::error::{DevEnvError, Result};
use crate::process::{
    PORT_ATTEMPTS, Watchdog, created_by_root, display_command, file_len, find_in_path,
    is_executable, log_tail, pick_port, port_accepts, read_from, remove_dir_quietly,
    unique_temp_dir,
};

/// Where distribution packages (Debian/Ubuntu) install the server binaries, one directory per major
/// version, none of them on `PATH` by default.
const DISTRO_PG_ROOT: &str = "/usr/lib/postgresql";

/// initdb and postgres refuse to run as root; when we are root we run them as this user instead.
const UNPRIVILEGED_USER: &str = "postgres";

/// How long `pg_ctl` may wait for the server to start or stop.
const PG_CTL_TIMEOUT_SECS: &str = "60";

/// Log lines to quote in error messages.
const LOG_TAIL_LINES: usize = 20;

/// A PostgreSQL server in a temp directory, listening on 127.0.0.1 only, with `trust` authentication
/// for user `postgres` and durability switched off (`fsync=off`) because the data is thrown away.
///
/// Dropping it stops the server immediately and deletes its directory; [`LocalPostgres::shutdown`] does
/// the same politely. If this process dies without either, a watchdog process does it.
pub struct LocalPostgres {
    tools: PgTools,
    dir: PathBuf,
    port: u16,
    /// Set before every start attempt and cleared only after a confirmed stop, so that `Drop` stops
    /// a server that a failed or interrupted start may have left behind.
    may_be_running: bool,
    watchdog: Option<Watchdog>,
}

impl LocalPostgres {
    /// Creates a fresh cluster and starts it on a free port, returning once it accepts connections.
    ///
    /// Takes a few seconds (mostly `initdb`).
    pub async fn start() -> Result<LocalPostgres> {
        let bin_dir = find_pg_bin_dir(
            std::env::var_os("PATH").as_deref(),
            Path::new(DISTRO_PG_ROOT),
        )
        .ok_or(DevEnvError::PostgresNotFound)?;
        let dir = unique_temp_dir("bazaar-pg")?;
        // From here on `Drop` owns cleanup, so every early return below leaves nothing behind.
        let mut pg = LocalPostgres {
            tools: PgTools {
                bin_dir,
                run_as: None,
            },
            dir,
            port: 0,
            may_be_running: false,
            watchdog: None,
        };
        pg.prepare().await?;
        pg.start_on_free_port().await?;
        tracing::info!(url = %pg.url(), dir = %pg.dir.display(), "started local PostgreSQL");
        Ok(pg)
    }

    /// The connection URL: `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The TCP port the server listens on (stable across [`stop`](Self::stop)/[`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The instance's temp directory, holding the data directory, the unix socket and `postgres.log`.
    /// It is deleted when the server is dropped or shut down.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server (fast shutdown: open sessions are disconnected), keeping data and port, so
    /// that [`restart`](Self::restart) brings the same database back. A no-op if already stopped.
    pub async fn stop(&mut self) -> Result<()> {
        if !self.may_be_running {
            return Ok(());
        }
        let argv = self.stop_argv("fast", PG_CTL_TIMEOUT_SECS);
        let stopped = run(
            &argv,
            &self.dir,
            "stop it by hand with the command above, then retry",
        )
        .await;
        // A server that already died (crash, OOM killer, someone's `kill`) counts as stopped, so
        // that `restart` can bring it back.
        if let Err(e) = stopped
            && self.is_running().await
        {
            return Err(e);
        }
        self.may_be_running = false;
        tracing::info!(port = self.port, "stopped local PostgreSQL");
        Ok(())
    }

    /// Starts the server again on the same port (stopping it first if it is running) and waits until
    /// it accepts connections.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        match self.start_server().await? {
            Started::Yes => {
                tracing::info!(url = %self.url(), "restarted local PostgreSQL");
                Ok(())
            }
            Started::PortTaken(log_tail) => Err(DevEnvError::PortTaken {
                what: "PostgreSQL",
                port: self.port,
                log_tail,
            }),
        }
    }

    /// Stops the server politely and deletes its directory. Errors are logged, not returned: there is
    /// nothing a caller could do about them, and `Drop` still forces the server down if the stop failed.
    pub async fn shutdown(mut self) {
        if let Err(e) = self.stop().await {
            tracing::warn!(error = %e, "could not stop local PostgreSQL cleanly; killing it");
            return; // Drop kills it and removes the directory.
        }
        self.watchdog = None;
        if let Err(e) = tokio::fs::remove_dir_all(&self.dir).await {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove PostgreSQL directory");
        }
    }

    /// Asks `pg_ctl status`, which exits with 3 when no server runs on the data directory; anything
    /// else (including failing to ask) is treated as "may be running".
    async fn is_running(&self) -> bool {
        let argv = self.tools.argv("pg_ctl");
        let status = tokio::process::Command::new(&argv[0])
            .args(&argv[1..])
            .arg("status")
            .arg("-D")
            .arg(self.data_dir())
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        !matches!(status.map(|s| s.code()), Ok(Some(3)))
    }

    /// `pg_ctl stop` with the given shutdown mode, waiting at most `timeout_secs` for the server to exit.
    fn stop_argv(&self, mode: &str, timeout_secs: &str) -> Vec<OsString> {
        let mut argv = self.tools.argv("pg_ctl");
        argv.extend(["stop".into(), "-D".into(), self.data_dir().into_os_string()]);
        argv.extend(["-m", mode, "-w", "-t", timeout_secs].map(OsString::from));
        argv
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn socket_dir(&self) -> PathBuf {
        self.dir.join("sock")
    }

    /// Everything up to a stopped, configured cluster: privileges, watchdog, `initdb`, config.
    async fn prepare(&mut self) -> Result<()> {
        let socket_dir = self.socket_dir();
        fs::create_dir(&socket_dir).map_err(|source| DevEnvError::Io {
            action: "creating directory",
            path: socket_dir.clone(),
            source,
        })?;

        if created_by_root(&self.dir)? {
            self.tools.run_as = Some(UNPRIVILEGED_USER);
            check_unprivileged_user().await?;
            let argv: Vec<OsString> = vec![
                "chown".into(),
                "-R".into(),
                UNPRIVILEGED_USER.into(),
                self.dir.clone().into(),
            ];
            run(
                &argv,
                &self.dir,
                "check that the temp directory is on a local file system",
            )
            .await?;
        }

        // Armed before initdb so that even a SIGKILL during startup leaves nothing behind.
        let stop = self.stop_argv("immediate", "10");
        let mut args: Vec<&OsStr> = vec![self.dir.as_os_str()];
        args.extend(stop.iter().map(OsString::as_os_str));
        self.watchdog = Some(Watchdog::spawn(
            r#"d=$1; shift; "$@" >/dev/null 2>&1; rm -rf "$d""#,
            &args,
        )?);

        let mut initdb = self.tools.argv("initdb");
        initdb.extend(["-D".into(), self.data_dir().into_os_string()]);
        // --no-locale: the C locale exists everywhere and is compatible with UTF8, whatever the caller's
        // LANG says; it also makes text ordering byte-wise and identical on every machine.
        let flags = "-A trust -U postgres --no-sync -E UTF8 --no-locale";
        initdb.extend(flags.split(' ').map(OsString::from));
        let hint = if self.tools.run_as.is_some() {
            "if it says `Permission denied`, set TMPDIR to a directory the `postgres` user can reach, e.g. /tmp"
        } else {
            "check that TMPDIR is writable and has a few hundred MB free"
        };
        run(&initdb, &self.dir, hint).await?;

        // Settings go in the config file rather than on the pg_ctl command line, which pg_ctl passes
        // through a shell; the port stays on the command line so a retry can change it.
        let conf = format!(
            "\n# bazaar-devenv: a throwaway server, reachable only from this machine\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n",
            socket_dir.display().to_string().replace('\'', "''"),
        );
        let conf_path = self.data_dir().join("postgresql.conf");
        fs::OpenOptions::new()
            .append(true)
            .open(&conf_path)
            .and_then(|mut file| file.write_all(conf.as_bytes()))
            .map_err(|source| DevEnvError::Io {
                action: "appending to",
                path: conf_path,
                source,
            })
    }

    async fn start_on_free_port(&mut self) -> Result<()> {
        for _ in 0..PORT_ATTEMPTS {
            self.port = pick_port().ok_or(DevEnvError::NoFreePort {
                what: "PostgreSQL",
                attempts: PORT_ATTEMPTS,
            })?;
            match self.start_server().await? {
                Started::Yes => return Ok(()),
                Started::PortTaken(_) => {
                    tracing::debug!(
                        port = self.port,
                        "port taken before PostgreSQL could bind it; trying another"
                    );
                }
            }
        }
        Err(DevEnvError::NoFreePort {
            what: "PostgreSQL",
            attempts: PORT_ATTEMPTS,
        })
    }

    /// Starts the server on `self.port` and waits until it accepts TCP connections.
    async fn start_server(&mut self) -> Result<Started> {
        let log = self.log_file();
        let log_start = file_len(&log);
        let mut argv = self.tools.argv("pg_ctl");
        argv.extend(["start", "-w", "-t", PG_CTL_TIMEOUT_SECS].map(OsString::from));
        argv.extend([
            "-D".into(),
            self.data_dir().into_os_string(),
            "-l".into(),
            log.clone().into_os_string(),
        ]);
        argv.extend(["-o".into(), format!("-p {}", self.port).into()]);
        self.may_be_running = true;
        if let Err(e) = run(&argv, &self.dir, "see the PostgreSQL log above").await {
            let server_log = read_from(&log, log_start).unwrap_or_default();
            if server_log.contains("Address already in use") {
                return Ok(Started::PortTaken(log_tail(
                    &log,
                    log_start,
                    LOG_TAIL_LINES,
                )));
            }
            return Err(match e {
                DevEnvError::CommandFailed {
                    command,
                    status,
                    output,
                    ..
                } => DevEnvError::CommandFailed {
                    command,
                    status,
                    output: format!(
                        "{output}\nlast lines of {}:\n{}",
                        log.display(),
                        log_tail(&log, log_start, LOG_TAIL_LINES)
                    ),
                    hint: "fix what the PostgreSQL log complains about and try again",
                },
                other => other,
            });
        }

        // pg_ctl -w has already seen the server report "ready"; this confirms it from the client side.
        let timeout = Duration::from_secs(10);
        let deadline = tokio::time::Instant::now() + timeout;
        while !port_accepts(self.port).await {
            if tokio::time::Instant::now() >= deadline {
                return Err(DevEnvError::NotReady {
                    what: "PostgreSQL",
                    port: self.port,
                    timeout,
                    log_tail: log_tail(&log, log_start, LOG_TAIL_LINES),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Started::Yes)
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        if self.may_be_running {
            // Synchronous and immediate: we may be unwinding from a panic, with no runtime to await on.
            let argv = self.stop_argv("immediate", "10");
            let status = std::process::Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(&self.dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if let Err(e) = status {
                tracing::warn!(error = %e, "could not run pg_ctl to stop local PostgreSQL");
            }
        }
        self.watchdog = None;
        remove_dir_quietly(&self.dir);
    }
}

impl std::fmt::Debug for LocalPostgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalPostgres")
            .field("url", &self.url())
            .field("dir", &self.dir)
            .field("running", &self.may_be_running)
            .finish()
    }
}

enum Started {
    Yes,
    /// Something else bound the port first; carries the server's log tail.
    PortTaken(String),
}

/// How to invoke the server tools: from which directory, and as which user.
struct PgTools {
    bin_dir: PathBuf,
    run_as: Option<&'static str>,
}

impl PgTools {
    fn argv(&self, tool: &str) -> Vec<OsString> {
        let program = self.bin_dir.join(tool).into_os_string();
        match self.run_as {
            Some(user) => vec![
                "runuser".into(),
                "-u".into(),
                user.into(),
                "--".into(),
                program,
            ],
            None => vec![program],
        }
    }
}

/// Finds a directory holding both `initdb` and `pg_ctl`: on `PATH` first, else the newest
/// `<root>/<major>/bin`.
fn find_pg_bin_dir(path_var: Option<&OsStr>, distro_root: &Path) -> Option<PathBuf> {
    let complete =
        |dir: &Path| is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"));
    if let Some(dir) = find_in_path("initdb", path_var).and_then(|p| p.parent().map(Path::to_owned))
        && complete(&dir)
    {
        return Some(dir);
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(distro_root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            // Major versions: "15", or "9.6" for old ones; compare numerically so that 10 > 9.6.
            let version = name
                .split('.')
                .map(str::parse)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions
        .into_iter()
        .rev()
        .map(|(_, dir)| dir)
        .find(|dir| complete(dir))
}

/// Fails with a precise message if we cannot switch to the unprivileged user.
async fn check_unprivileged_user() -> Result<()> {
    let output = tokio::process::Command::new("runuser")
        .args(["-u", UNPRIVILEGED_USER, "--", "true"])
        .stdin(Stdio::null())
        .output()
        .await;
    let problem = match output {
        Ok(output) if output.status.success() => return Ok(()),
        Ok(output) => format!(
            "`runuser -u {UNPRIVILEGED_USER} -- true` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(e) => format!("`runuser` (from util-linux) could not be run: {e}"),
    };
    Err(DevEnvError::NoUnprivilegedUser {
        user: UNPRIVILEGED_USER,
        problem,
    })
}

/// Runs a command to completion, turning failure into an error that quotes its output.
async fn run(argv: &[OsString], cwd: &Path, hint: &'static str) -> Result<()> {
    let command = display_command(argv);
    tracing::debug!(%command, "running");
    let output = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        // The tools may run as another user who cannot enter our current directory (e.g. /root).
        .current_dir(cwd)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| DevEnvError::Spawn {
            program: argv[0].to_string_lossy().into_owned(),
            source,
        })?;
    if output.status.success() {
        return Ok(());
    }
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout).trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    Err(DevEnvError::CommandFailed {
        command,
        status: output.status,
        output: text.trim().to_owned(),
        hint,
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn fake_tool(dir: &Path, name: &str) {
        fs::create_dir_all(dir).expect("mkdir");
        let path = dir.join(name);
        fs::write(&path, "#!/bin/sh\n").expect("write");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn prefers_path_then_newest_distro_version() {
        let root = crate::process::unique_temp_dir("bazaar-test").expect("temp dir");
        let distro = root.join("lib");
        for version in ["9.6", "10", "15"] {
            let bin = distro.join(version).join("bin");
            fake_tool(&bin, "initdb");
            fake_tool(&bin, "pg_ctl");
        }
        // A newer directory without pg_ctl does not count.
        fake_tool(&distro.join("16").join("bin"), "initdb");

        assert_eq!(
            find_pg_bin_dir(None, &distro),
            Some(distro.join("15").join("bin"))
        );

        let on_path = root.join("path");
        fake_tool(&on_path, "initdb");
        fake_tool(&on_path, "pg_ctl");
        let path_var = std::env::join_paths([root.join("nothing"), on_path.clone()]).expect("join");
        assert_eq!(find_pg_bin_dir(Some(&path_var), &distro), Some(on_path));

        remove_dir_quietly(&root);
    }

    #[test]
    fn missing_binaries_are_reported_with_instructions() {
        let root = crate::process::unique_temp_dir("bazaar-test").expect("temp dir");
        assert_eq!(
            find_pg_bin_dir(Some(root.as_os_str()), &root.join("nope")),
            None
        );
        let message = DevEnvError::PostgresNotFound.to_string();
        assert!(
            message.contains("apt-get install -y postgresql"),
            "{message}"
        );
        assert!(message.contains("DATABASE_URL"), "{message}");
        remove_dir_quietly(&root);
    }
}
