//! Shared plumbing: temp directories, free ports, binary lookup, log tails and the watchdog.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{DevEnvError, Result};

/// How many candidate ports a server gets before we give up. Each failed attempt means something else
/// bound the port between our check and the server's own bind, which is rare.
pub(crate) const PORT_ATTEMPTS: u32 = 5;

/// A random-enough `u64` without pulling in a RNG crate: std's `RandomState` is seeded from the OS
/// once per thread and re-keyed on every call, and mixing in time and pid separates processes.
pub(crate) fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    hasher.finish()
}

/// Creates a fresh, uniquely named directory under the system temp dir. Names stay short because
/// PostgreSQL puts its unix socket inside, and socket paths are limited to ~100 bytes.
pub(crate) fn unique_temp_dir(prefix: &str) -> Result<PathBuf> {
    let base = std::env::temp_dir();
    let mut last_error = None;
    for _ in 0..8 {
        let path = base.join(format!("{prefix}-{:012x}", random_u64() & 0xffff_ffff_ffff));
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
            Err(source) => {
                return Err(DevEnvError::Io {
                    action: "creating directory",
                    path,
                    source,
                });
            }
        }
    }
    Err(DevEnvError::Io {
        action: "creating a unique directory in",
        path: base,
        source: last_error.unwrap_or_else(|| io::Error::other("no unique name found")),
    })
}

/// Removes a directory tree, treating "already gone" as success.
pub(crate) fn remove_dir_quietly(path: &Path) {
    if let Err(e) = fs::remove_dir_all(path)
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not remove temporary directory");
    }
}

/// Whether `path` (which we just created) is owned by root, i.e. whether we run as root. Checking the
/// owner of a fresh file gives the effective uid without `libc`/`unsafe`, and works on Linux and macOS.
pub(crate) fn created_by_root(path: &Path) -> Result<bool> {
    let metadata = fs::metadata(path).map_err(|source| DevEnvError::Io {
        action: "inspecting",
        path: path.to_owned(),
        source,
    })?;
    Ok(metadata.uid() == 0)
}

/// Picks a port on 127.0.0.1 that is free right now.
///
/// Ports come from 20000..32000 rather than from the kernel (`bind(0)`) because kernel-assigned ports
/// are drawn from the ephemeral range that outgoing connections also use, which makes it more likely
/// that something else grabs the port before the server binds it. Callers still retry on a bind failure.
pub(crate) fn pick_port() -> Option<u16> {
    (0..64).find_map(|_| {
        let port = 20_000 + u16::try_from(random_u64() % 12_000).ok()?;
        TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .ok()
            .map(|_| port)
    })
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) async fn port_accepts(port: u16) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(1),
            tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)),
        )
        .await,
        Ok(Ok(_))
    )
}

/// Whether `path` is a regular file with an execute bit set.
pub(crate) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Looks `name` up in a `PATH`-style list of directories.
pub(crate) fn find_in_path(name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Reads a log file from byte `from` on and returns its last `lines` lines, for error messages.
pub(crate) fn log_tail(path: &Path, from: u64, lines: usize) -> String {
    let text = read_from(path, from)
        .unwrap_or_else(|e| format!("(could not read {}: {e})", path.display()));
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    if tail.trim().is_empty() {
        format!("(nothing in {})", path.display())
    } else {
        tail
    }
}

/// Reads a (small) log file from byte `from` on; a missing file reads as empty.
pub(crate) fn read_from(path: &Path, from: u64) -> io::Result<String> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(String::new()),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The current size of a file, 0 if it does not exist yet: where the next server run's log starts.
pub(crate) fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Renders an argv for error messages.
pub(crate) fn display_command(argv: &[OsString]) -> String {
    argv.iter()
        .map(|arg| arg.to_string_lossy())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `sh` process that runs a cleanup script once this process is gone.
///
/// It blocks reading a pipe whose only write end we hold (Rust opens pipes close-on-exec, so no other
/// child inherits it). The kernel closes that end when this process dies, however it dies, so the
/// `read` returns and the script cleans up. It runs in its own process group so that a Ctrl-C (or
/// nextest killing a test's process group) does not take it down before it has done its job.
///
/// Dropping the `Watchdog` kills it without running the script: the owner has cleaned up itself.
pub(crate) struct Watchdog {
    child: Child,
}

impl Watchdog {
    /// Starts a watchdog that runs `script` (POSIX sh, positional parameters `$1..` = `args`).
    pub(crate) fn spawn(script: &str, args: &[&OsStr]) -> Result<Self> {
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("read -r _; {script}"))
            .arg("bazaar-devenv-watchdog")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|source| DevEnvError::Spawn {
                program: "sh".into(),
                source,
            })?;
        Ok(Self { child })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        // SIGKILL while we still hold the pipe, so the script never sees EOF and never runs.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills and reaps `child`, if there is one. SIGKILL makes the wait immediate, so blocking on it is fine
/// (also from `Drop`). Errors mean the process is already gone, which is what we want.
pub fn kill_and_reap(child: &mut Option<Child>) {
    if let Some(mut child) = child.take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_dirs_are_unique() {
        let a = unique_temp_dir("bazaar-test").expect("temp dir");
        let b = unique_temp_dir("bazaar-test").expect("temp dir");
        assert_ne!(a, b);
        remove_dir_quietly(&a);
        remove_dir_quietly(&b);
        assert!(!a.exists());
    }

    #[test]
    fn picked_port_is_bindable() {
        let port = pick_port().expect("a free port");
        assert!((20_000..32_000).contains(&port));
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).expect("bind the picked port");
    }

    #[test]
    fn log_tail_reads_from_offset_and_keeps_last_lines() {
        let dir = unique_temp_dir("bazaar-test").expect("temp dir");
        let log = dir.join("log");
        fs::write(&log, "old\n").expect("write");
        let offset = file_len(&log);
        fs::write(&log, "old\none\ntwo\nthree\n").expect("write");
        assert_eq!(log_tail(&log, offset, 2), "two\nthree");
        assert!(log_tail(&dir.join("missing"), 0, 5).contains("nothing in"));
        remove_dir_quietly(&dir);
    }

    #[test]
    fn watchdog_runs_script_only_when_owner_is_gone() {
        let dir = unique_temp_dir("bazaar-test").expect("temp dir");
        let marker = dir.join("marker");

        // Disarmed by drop: the script must not run.
        drop(Watchdog::spawn(r#"touch "$1""#, &[marker.as_os_str()]).expect("spawn"));
        std::thread::sleep(Duration::from_millis(200));
        assert!(!marker.exists());

        // Closing the pipe is what the kernel does when we die.
        let mut watchdog = Watchdog::spawn(r#"touch "$1""#, &[marker.as_os_str()]).expect("spawn");
        drop(watchdog.child.stdin.take());
        watchdog.child.wait().expect("wait");
        assert!(marker.exists());
        remove_dir_quietly(&dir);
    }
}
