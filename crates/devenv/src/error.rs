use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Result alias for this crate.
pub type Result<T, E = DevEnvError> = std::result::Result<T, E>;

/// Everything that can go wrong while bringing local infrastructure up or down.
///
/// Each message says what to do about it, because the person reading it is usually someone running
/// `bazaar dev` or the tests for the first time on a new machine.
#[derive(Debug, thiserror::Error)]
pub enum DevEnvError {
    /// `initdb`/`pg_ctl` are not installed where we look.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin: \
         install them as root with `apt-get update && apt-get install -y postgresql` (Debian/Ubuntu; \
         `scripts/install-postgres` does it when run as root) or `brew install postgresql` (macOS), \
         or set DATABASE_URL to an existing server"
    )]
    PostgresNotFound,

    /// We run as root, PostgreSQL refuses to, and we cannot switch to the unprivileged `postgres` user.
    #[error(
        "running as root, and PostgreSQL refuses to run as root, so it is run as the unprivileged \
         `{user}` user through `runuser`, but {problem}: create that user (`apt-get install postgresql` does), \
         run as a non-root user, or set DATABASE_URL to an existing server"
    )]
    NoUnprivilegedUser {
        /// The user we tried to switch to.
        user: &'static str,
        /// What failed.
        problem: String,
    },

    /// `TANSU_BIN` is set but does not name a usable binary. We do not silently fall back, because the
    /// person who set it expects that binary to be used.
    #[error(
        "TANSU_BIN is set to {}, which {problem}: point TANSU_BIN at the tansu binary \
         (scripts/install-tansu prints its path) or unset it",
        path.display()
    )]
    TansuBinInvalid {
        /// The value of `TANSU_BIN`.
        path: PathBuf,
        /// Why it cannot be used.
        problem: &'static str,
    },

    /// No tansu binary anywhere we look.
    #[error(
        "tansu broker binary not found (looked at TANSU_BIN, `tansu` on PATH and {}): \
         run scripts/install-tansu, put `tansu` on PATH or set TANSU_BIN, or set KAFKA_BROKERS to an existing Kafka",
        cache.display()
    )]
    TansuNotFound {
        /// Where `scripts/install-tansu` would have put it.
        cache: PathBuf,
    },

    /// A helper program could not be started at all.
    #[error("could not run `{program}`: {source}; check that it is installed and executable")]
    Spawn {
        /// The program we tried to run.
        program: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// A helper program ran and failed.
    #[error("`{command}` failed ({status}): {output}\n{hint}")]
    CommandFailed {
        /// The command line, for copy-pasting.
        command: String,
        /// How it exited.
        status: ExitStatus,
        /// Its (trimmed) stdout and stderr, or the relevant log tail.
        output: String,
        /// What to try next.
        hint: &'static str,
    },

    /// A local file-system operation failed.
    #[error("{action} {}: {source}; check that the directory is writable and the disk is not full", path.display())]
    Io {
        /// What we were doing, e.g. "creating directory".
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// Every port we tried on 127.0.0.1 was taken (or taken again before the server could bind it).
    #[error(
        "could not find a free TCP port on 127.0.0.1 for {what} after {attempts} attempts: \
         stop leftover servers (`ps aux | grep -e postgres -e tansu`) and try again"
    )]
    NoFreePort {
        /// Which server needed the port.
        what: &'static str,
        /// How many ports we tried.
        attempts: u32,
    },

    /// A stopped server could not come back because its port was taken in the meantime.
    #[error(
        "127.0.0.1:{port} was taken by another process while {what} was stopped, so it cannot come back on \
         the same port: stop that process (`ss -ltnp | grep {port}` shows it) or start a new instance; \
         its last log lines:\n{log_tail}"
    )]
    PortTaken {
        /// Which server.
        what: &'static str,
        /// Its port.
        port: u16,
        /// The end of its log.
        log_tail: String,
    },

    /// The server process started but never became ready.
    #[error(
        "{what} did not become ready on 127.0.0.1:{port} within {timeout:?}; \
         its last log lines follow, fix what they complain about and try again:\n{log_tail}"
    )]
    NotReady {
        /// Which server.
        what: &'static str,
        /// The port it should have listened on.
        port: u16,
        /// How long we waited.
        timeout: Duration,
        /// The end of its log.
        log_tail: String,
    },

    /// The server process exited while we waited for it to become ready.
    #[error(
        "{what} exited ({status}) before becoming ready on 127.0.0.1:{port}; \
         its last log lines follow, fix what they complain about and try again:\n{log_tail}"
    )]
    Exited {
        /// Which server.
        what: &'static str,
        /// The port it should have listened on.
        port: u16,
        /// How it exited.
        status: ExitStatus,
        /// The end of its log.
        log_tail: String,
    },
}
