//! Throwaway local infrastructure for `bazaar dev` and the test harness: a PostgreSQL server built from
//! the installed server binaries ([`LocalPostgres`]) and a tansu Kafka-protocol broker ([`LocalBroker`]).
//!
//! Both live in a unique directory under [`std::env::temp_dir`] and listen only on 127.0.0.1 on a free
//! port, so any number of them can run side by side (parallel tests, several `bazaar dev` sessions).
//!
//! Cleanup happens on three levels, from most to least orderly:
//! - `shutdown().await`, called by `bazaar dev` on Ctrl-C;
//! - `Drop`, which covers early returns and panics;
//! - a tiny watchdog shell process per instance which notices when this process is gone (however it
//!   died, `SIGKILL` included, or simply exited while the instance sat in a never-dropped `static`) and
//!   then stops the server and removes its directory.
//!
//! The servers run in their own process groups, so a Ctrl-C in the terminal reaches only `bazaar`, which
//! can then shut down its components before the infrastructure they are talking to goes away.
//!
//! Unix only: PostgreSQL is driven through `initdb`/`pg_ctl`, and the watchdog is a POSIX `sh` script.

mod broker;
mod error;
mod kube_api;
mod postgres;
mod process;

pub use broker::LocalBroker;
pub use error::{DevEnvError, Result};
pub use kube_api::{ADMIN_USER, KUBE_API_BIN_ENV, KubeApiError, LocalKubeApi};
pub use postgres::LocalPostgres;

/// Chooses rustls' crypto back-end for the whole process: ring, the one kube is built for.
///
/// The binary links both of rustls' back-ends (kube asks for ring, goose's reqwest for aws-lc-rs), and with
/// two of them rustls will not pick one itself: the first Kubernetes client would panic. Call this before
/// making one; calling it again does nothing.
pub fn install_tls_provider() {
    // Err means a provider is already installed, which is all this wants.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
