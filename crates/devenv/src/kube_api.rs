//! A throwaway Kubernetes API server: the real kube-apiserver (v1.36) with an embedded etcd, from the
//! `kube-api` binary that `scripts/install-kube-api` builds from Go modules (`tools/kube-api`).
//!
//! It is configured like a real cluster's control plane, minus what needs a cluster network: TLS with
//! a CA of its own, client-certificate and ServiceAccount-token authentication, `Node,RBAC`
//! authorization, ServiceAccount token issuing, the default admission plugins plus `NodeRestriction`.
//! CRDs, admission, RBAC, watches, finalizers, status subresources, Leases and Events all behave as in
//! a cluster. What controllers do happens only after
//! [`start_controller_manager`](LocalKubeApi::start_controller_manager) (the upstream
//! kube-controller-manager from the same binary, with the namespace, garbage-collector and
//! ServiceAccount controllers): without it a deleted namespace stays `Terminating`, nothing is garbage
//! collected and namespaces get no `default` ServiceAccount.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use sha2::{Digest, Sha256};
use tracing::instrument::WithSubscriber as _;

use crate::error::DevEnvError;
use crate::process::{
    PORT_ATTEMPTS, Watchdog, file_len, is_executable, kill_and_reap, log_tail, pick_port,
    read_from, remove_dir_quietly, unique_temp_dir,
};

/// The environment variable that names the `kube-api` binary (`scripts/install-kube-api` prints it).
pub const KUBE_API_BIN_ENV: &str = "BAZAAR_KUBE_API_BIN";

/// The API server is ready in about 5 s on an idle 2-core machine; the slack is for a loaded CI machine
/// starting several at once.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Log lines to quote in error messages.
const LOG_TAIL_LINES: usize = 30;

/// The admin's user name; its client certificate is in the `system:masters` group, as kubeadm's
/// `admin.conf` used to be.
pub const ADMIN_USER: &str = "bazaar-devenv-admin";

/// The `iss` of ServiceAccount tokens: what kubeadm clusters use.
const SERVICE_ACCOUNT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// How long minted ServiceAccount tokens are valid (longer than any test).
const TOKEN_SECONDS: i64 = 24 * 3600;

/// The controllers [`LocalKubeApi::start_controller_manager`] runs: what deleting things needs (a
/// namespace's contents, dependents by owner reference) and what every namespace gets (its `default`
/// ServiceAccount, token Secrets). Nothing that needs nodes or a cluster network.
const CONTROLLERS: &str = "namespace-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller";

/// The controller manager syncs its informers and creates the `default` ServiceAccount within a few
/// seconds; the slack is for a loaded CI machine.
const CONTROLLERS_READY_TIMEOUT: Duration = Duration::from_secs(120);

/// Everything that can go wrong with a [`LocalKubeApi`].
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    /// The binary is not built (and `BAZAAR_KUBE_API_BIN` is not set).
    #[error(
        "the kube-api binary (a real kube-apiserver with etcd, built from tools/kube-api) is not built: \
         run `scripts/install-kube-api` (10-15 minutes the first time; it caches the binary as {}), \
         or set {KUBE_API_BIN_ENV} to a kube-api binary (`export {KUBE_API_BIN_ENV}=$(scripts/install-kube-api)`)",
        expected.display()
    )]
    NotBuilt {
        /// Where `scripts/install-kube-api` puts the binary for the current sources.
        expected: PathBuf,
    },

    /// `BAZAAR_KUBE_API_BIN` names no usable binary. We do not fall back to another one, because
    /// whoever set it expects that one to be used.
    #[error(
        "{KUBE_API_BIN_ENV} is set to {}, which {problem}: point it at the binary \
         scripts/install-kube-api prints, or unset it",
        path.display()
    )]
    BinInvalid {
        /// The value of the variable.
        path: PathBuf,
        /// Why it cannot be used.
        problem: &'static str,
    },

    /// Starting, stopping or preparing the server failed.
    #[error(transparent)]
    DevEnv(#[from] DevEnvError),

    /// Generating a key or certificate failed.
    #[error("generating certificates for the local API server: {0}")]
    Certificates(#[from] rcgen::Error),

    /// A kubeconfig could not be read or turned into a client configuration.
    #[error("kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        /// The kubeconfig file.
        path: PathBuf,
        /// What was wrong with it.
        #[source]
        source: kube::config::KubeconfigError,
    },

    /// A request to the API server failed.
    #[error("{action}: {source}")]
    Kube {
        /// What we were doing.
        action: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
}

/// Result alias for this module.
pub type Result<T, E = KubeApiError> = std::result::Result<T, E>;

/// A real kube-apiserver with its own etcd on 127.0.0.1, in a temp directory of its own.
///
/// The directory holds `pki/` (CA, serving certificate, ServiceAccount signing key), `etcd/` (the
/// data, kept across [`stop`](Self::stop)/[`restart`](Self::restart)), `kube-apiserver.log`, and the
/// kubeconfig files: `admin.kubeconfig` plus one per identity asked for. Dropping the value kills the
/// server and deletes the directory; if this process dies first, a watchdog process does that.
pub struct LocalKubeApi {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
    controller_manager: Option<Child>,
    watchdog: Option<Watchdog>,
    ca: Ca,
}

impl LocalKubeApi {
    /// Finds the binary (`BAZAAR_KUBE_API_BIN`, else the `scripts/install-kube-api` cache entry for the
    /// current `tools/kube-api` sources), starts the server on a free port and returns once `/readyz`
    /// answers `ok`.
    pub async fn start() -> Result<LocalKubeApi> {
        let bin = find_kube_api(
            std::env::var_os(KUBE_API_BIN_ENV),
            &tools_cache_dir(
                std::env::var_os("BAZAAR_TOOLS_DIR"),
                std::env::var_os("XDG_CACHE_HOME"),
                std::env::var_os("HOME"),
            ),
            &source_dir(),
        )?;
        Self::start_binary(&bin).await
    }

    /// Like [`start`](Self::start), with the given `kube-api` binary.
    pub async fn start_binary(bin: &Path) -> Result<LocalKubeApi> {
        let started = Instant::now();
        let dir = unique_temp_dir("bazaar-kube")?;
        // From here on `Drop` owns cleanup, so every early return below leaves nothing behind.
        let mut api = LocalKubeApi {
            bin: bin.to_owned(),
            dir,
            port: 0,
            child: None,
            controller_manager: None,
            watchdog: None,
            ca: Ca::new()?,
        };
        api.watchdog = Some(Watchdog::spawn(
            r#"for f in pid controller-manager.pid; do [ -f "$1/$f" ] && kill -9 "$(cat "$1/$f")" 2>/dev/null; done; rm -rf "$1""#,
            &[api.dir.as_os_str()],
        )?);
        api.write_pki()?;

        for _ in 0..PORT_ATTEMPTS {
            api.port = pick_port().ok_or(DevEnvError::NoFreePort {
                what: "kube-apiserver",
                attempts: PORT_ATTEMPTS,
            })?;
            let (cert, key) = api.ca.client_cert(ADMIN_USER, Some("system:masters"))?;
            api.write_kubeconfig(
                &api.kubeconfig_path(),
                ADMIN_USER,
                json_object([
                    ("client-certificate-data", BASE64.encode(cert)),
                    ("client-key-data", BASE64.encode(key)),
                ]),
                None,
            )?;
            match api.start_server().await? {
                Ready::Yes => {
                    tracing::info!(
                        url = %api.server_url(),
                        dir = %api.dir.display(),
                        seconds = started.elapsed().as_secs_f32(),
                        "started local kube-apiserver"
                    );
                    return Ok(api);
                }
                Ready::PortTaken(_) => tracing::debug!(
                    port = api.port,
                    "port taken before kube-apiserver could bind it; trying another"
                ),
            }
        }
        Err(DevEnvError::NoFreePort {
            what: "kube-apiserver",
            attempts: PORT_ATTEMPTS,
        }
        .into())
    }

    /// `https://127.0.0.1:PORT`, stable across [`stop`](Self::stop)/[`restart`](Self::restart).
    pub fn server_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The TCP port the API server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The instance's temp directory. It is deleted when the server is dropped or shut down.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin kubeconfig (user [`ADMIN_USER`], group `system:masters`): `KUBECONFIG=<this> kubectl ...`.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("admin.kubeconfig")
    }

    /// The CA certificate (PEM) that signed the serving certificate and every client certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca.pem
    }

    /// The kube-apiserver log (both runs, when restarted).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("kube-apiserver.log")
    }

    /// The kube-controller-manager log, once [`start_controller_manager`](Self::start_controller_manager)
    /// started it.
    pub fn controller_manager_log_path(&self) -> PathBuf {
        self.dir.join("kube-controller-manager.log")
    }

    /// A client with the admin's identity.
    pub async fn client(&self) -> Result<kube::Client> {
        Self::client_for(&self.kubeconfig_path()).await
    }

    /// A client for any kubeconfig file, e.g. one written by
    /// [`kubeconfig_for_service_account`](Self::kubeconfig_for_service_account).
    pub async fn client_for(kubeconfig: &Path) -> Result<kube::Client> {
        let config = Self::config_for(kubeconfig).await?;
        crate::install_tls_provider();
        kube::Client::try_from(config).map_err(|source| KubeApiError::Kube {
            action: format!("building a client from {}", kubeconfig.display()),
            source,
        })
    }

    /// The client configuration a kubeconfig file describes (to adjust timeouts before building a client).
    pub async fn config_for(kubeconfig: &Path) -> Result<kube::Config> {
        let wrap = |source| KubeApiError::Kubeconfig {
            path: kubeconfig.to_owned(),
            source,
        };
        let file = Kubeconfig::read_from(kubeconfig).map_err(wrap)?;
        kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
            .await
            .map_err(wrap)
    }

    /// Writes a kubeconfig for user `user` (in `group`, if given, and `system:authenticated`), who
    /// authenticates with a client certificate signed by this server's CA and may do what RBAC grants
    /// that user or group. Returns its path.
    ///
    /// One group at most: the certificate carries it as its single Organization. For more, bind RBAC
    /// to the user, or use a ServiceAccount.
    pub fn kubeconfig_for_user(&self, user: &str, group: Option<&str>) -> Result<PathBuf> {
        let (cert, key) = self.ca.client_cert(user, group)?;
        let path = self
            .dir
            .join(format!("user-{}.kubeconfig", file_name_part(user)));
        self.write_kubeconfig(
            &path,
            user,
            json_object([
                ("client-certificate-data", BASE64.encode(cert)),
                ("client-key-data", BASE64.encode(key)),
            ]),
            None,
        )?;
        Ok(path)
    }

    /// Writes a kubeconfig for ServiceAccount `name` in `namespace` (both created when missing), with a
    /// token minted by the API server's TokenRequest API, as the kubelet does for a pod: the identity
    /// `system:serviceaccount:<namespace>:<name>`, in the groups `system:serviceaccounts` and
    /// `system:serviceaccounts:<namespace>`, with what RBAC grants those. The token is valid for 24
    /// hours and across restarts; the kubeconfig's default namespace is `namespace`. Returns its path.
    pub async fn kubeconfig_for_service_account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<PathBuf> {
        let client = self.client().await?;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        create_if_missing(
            &namespaces,
            &Namespace {
                metadata: ObjectMeta {
                    name: Some(namespace.to_owned()),
                    ..ObjectMeta::default()
                },
                ..Namespace::default()
            },
        )
        .await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(client, namespace);
        create_if_missing(
            &accounts,
            &ServiceAccount {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    ..ObjectMeta::default()
                },
                ..ServiceAccount::default()
            },
        )
        .await?;
        let request = TokenRequest {
            spec: TokenRequestSpec {
                expiration_seconds: Some(TOKEN_SECONDS),
                ..TokenRequestSpec::default()
            },
            ..TokenRequest::default()
        };
        let token = accounts
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .map_err(|source| KubeApiError::Kube {
                action: format!("requesting a token for ServiceAccount {namespace}/{name}"),
                source,
            })?
            .status
            .map(|status| status.token)
            .unwrap_or_default();
        let path = self.dir.join(format!(
            "sa-{}-{}.kubeconfig",
            file_name_part(namespace),
            file_name_part(name)
        ));
        self.write_kubeconfig(
            &path,
            &format!("system:serviceaccount:{namespace}:{name}"),
            json_object([("token", token)]),
            Some(namespace),
        )?;
        Ok(path)
    }

    /// Starts the upstream kube-controller-manager (`kube-api controller-manager`) against this server
    /// with the namespace, garbage-collector and ServiceAccount controllers only, as the admin
    /// (`--use-service-account-credentials=false`), without leader election or a serving port, and
    /// returns once its ServiceAccount controller has created the `default` ServiceAccount of namespace
    /// `default`, which shows that it is connected and its controllers are at work. From then on
    /// deleting a namespace deletes what is in it (waiting for finalizers, as in a cluster) and
    /// dependents are garbage collected.
    ///
    /// It keeps running across [`stop`](Self::stop)/[`restart`](Self::restart) (it reconnects, as a
    /// cluster's controller manager does when its API server restarts) and is killed with the server on
    /// drop or [`shutdown`](Self::shutdown). A no-op if it runs already.
    pub async fn start_controller_manager(&mut self) -> Result<()> {
        if self.controller_manager.is_some() {
            return Ok(());
        }
        let started = Instant::now();
        let log = self.controller_manager_log_path();
        let log_start = file_len(&log);
        let argv = self.controller_manager_argv();
        let child = self.spawn_logged(&argv, &log)?;
        let pid_file = self.dir.join("controller-manager.pid");
        let pid_written = fs::write(&pid_file, child.id().to_string());
        self.controller_manager = Some(child);
        pid_written.map_err(|source| DevEnvError::Io {
            action: "writing",
            path: pid_file,
            source,
        })?;

        let accounts: Api<ServiceAccount> = Api::namespaced(self.client().await?, "default");
        let deadline = tokio::time::Instant::now() + CONTROLLERS_READY_TIMEOUT;
        loop {
            let exited = match self.controller_manager.as_mut().map(Child::try_wait) {
                Some(Ok(status)) => status,
                Some(Err(source)) => {
                    return Err(DevEnvError::Io {
                        action: "waiting for kube-controller-manager, logging to",
                        path: log,
                        source,
                    }
                    .into());
                }
                None => None,
            };
            if let Some(status) = exited {
                self.controller_manager = None;
                return Err(DevEnvError::Exited {
                    what: "kube-controller-manager",
                    port: self.port,
                    status,
                    log_tail: log_tail(&log, log_start, LOG_TAIL_LINES),
                }
                .into());
            }
            if let Ok(Ok(Some(_))) =
                tokio::time::timeout(Duration::from_secs(2), accounts.get_opt("default")).await
            {
                tracing::info!(
                    seconds = started.elapsed().as_secs_f32(),
                    controllers = CONTROLLERS,
                    "started kube-controller-manager"
                );
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.kill_controller_manager();
                return Err(DevEnvError::NotReady {
                    what: "kube-controller-manager",
                    port: self.port,
                    timeout: CONTROLLERS_READY_TIMEOUT,
                    log_tail: log_tail(&log, log_start, LOG_TAIL_LINES),
                }
                .into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the server, keeping its data, certificates and port, so that [`restart`](Self::restart)
    /// brings the same objects back (same uids and resourceVersions). A no-op if already stopped.
    ///
    /// The process is killed, as if its machine had lost power, minus the page cache: every open
    /// request and watch breaks at once, and nothing acknowledged is lost. (A graceful stop, SIGTERM,
    /// waits up to 60 s for open watches to end, which would make every restart of an operator test
    /// that long.)
    pub async fn stop(&mut self) -> Result<()> {
        if self.child.is_some() {
            self.kill();
            tracing::info!(port = self.port, "stopped local kube-apiserver");
        }
        Ok(())
    }

    /// Starts the server again (stopping it first if it runs) on the same port, data and certificates,
    /// and waits until `/readyz` answers `ok`. Clients and kubeconfigs made before keep working.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        let started = Instant::now();
        match self.start_server().await? {
            Ready::Yes => {
                tracing::info!(
                    url = %self.server_url(),
                    seconds = started.elapsed().as_secs_f32(),
                    "restarted local kube-apiserver"
                );
                Ok(())
            }
            Ready::PortTaken(log_tail) => Err(DevEnvError::PortTaken {
                what: "kube-apiserver",
                port: self.port,
                log_tail,
            }
            .into()),
        }
    }

    /// Stops the server and deletes its directory. Errors are logged: there is nothing a caller could
    /// do about them.
    pub async fn shutdown(mut self) {
        self.kill_controller_manager();
        self.kill();
        self.watchdog = None;
        if let Err(e) = tokio::fs::remove_dir_all(&self.dir).await {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not remove kube-apiserver directory");
        }
        tracing::info!(port = self.port, "shut down local kube-apiserver");
    }

    fn pki_dir(&self) -> PathBuf {
        self.dir.join("pki")
    }

    /// Writes the CA certificate, a serving certificate and the ServiceAccount signing key to `pki/`.
    fn write_pki(&self) -> Result<()> {
        let pki = self.pki_dir();
        fs::create_dir(&pki).map_err(|source| DevEnvError::Io {
            action: "creating directory",
            path: pki.clone(),
            source,
        })?;
        let (serving_cert, serving_key) = self.ca.serving_cert()?;
        let service_account_key = KeyPair::generate()?;
        write_private(&pki.join("ca.crt"), &self.ca.pem)?;
        write_private(&pki.join("apiserver.crt"), &serving_cert)?;
        write_private(&pki.join("apiserver.key"), &serving_key)?;
        write_private(&pki.join("sa.key"), &service_account_key.serialize_pem())?;
        write_private(&pki.join("sa.pub"), &service_account_key.public_key_pem())?;
        Ok(())
    }

    /// The `kube-api serve` command line: embedded etcd, then kube-apiserver set up like a kubeadm
    /// control plane, on 127.0.0.1 only.
    fn argv(&self) -> Vec<OsString> {
        let pki = self.pki_dir();
        let path = |name: &str| pki.join(name).into_os_string();
        let flag = |name: &str, value: OsString| {
            let mut arg = OsString::from(format!("--{name}="));
            arg.push(value);
            arg
        };
        vec![
            self.bin.clone().into_os_string(),
            "serve".into(),
            flag("etcd-data-dir", self.dir.join("etcd").into_os_string()),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={}", self.port).into(),
            flag("tls-cert-file", path("apiserver.crt")),
            flag("tls-private-key-file", path("apiserver.key")),
            flag("client-ca-file", path("ca.crt")),
            "--authorization-mode=Node,RBAC".into(),
            "--enable-admission-plugins=NodeRestriction".into(),
            format!("--service-account-issuer={SERVICE_ACCOUNT_ISSUER}").into(),
            flag("service-account-key-file", path("sa.pub")),
            flag("service-account-signing-key-file", path("sa.key")),
            "--service-cluster-ip-range=10.96.0.0/12".into(),
            // The `kubernetes` Service's endpoints would be 127.0.0.1, which Endpoints refuse (loopback).
            "--endpoint-reconciler-type=none".into(),
            // Unused (certificates are given), but kube-apiserver insists on a writable directory.
            flag("cert-dir", pki.join("generated").into_os_string()),
            "--profiling=false".into(),
        ]
    }

    /// The `kube-api controller-manager` command line: the `CONTROLLERS`, as the admin.
    fn controller_manager_argv(&self) -> Vec<OsString> {
        let pki = self.pki_dir();
        let flag = |name: &str, value: OsString| {
            let mut arg = OsString::from(format!("--{name}="));
            arg.push(value);
            arg
        };
        vec![
            self.bin.clone().into_os_string(),
            "controller-manager".into(),
            flag("kubeconfig", self.kubeconfig_path().into_os_string()),
            format!("--controllers={CONTROLLERS}").into(),
            "--use-service-account-credentials=false".into(),
            "--leader-elect=false".into(),
            // No health or metrics server: nothing polls it, and it would need a port of its own.
            "--secure-port=0".into(),
            // What the ServiceAccount token controller signs with and hands out, as kubeadm sets it up.
            flag(
                "service-account-private-key-file",
                pki.join("sa.key").into_os_string(),
            ),
            flag("root-ca-file", pki.join("ca.crt").into_os_string()),
            "--profiling=false".into(),
        ]
    }

    /// Starts the server process on `self.port` and waits until it is ready.
    async fn start_server(&mut self) -> Result<Ready> {
        let log = self.log_path();
        let log_start = file_len(&log);
        self.spawn(&log)?;
        let ready = self.wait_ready(&log, log_start).await;
        if !matches!(ready, Ok(Ready::Yes)) {
            self.kill();
        }
        ready
    }

    fn spawn(&mut self, log: &Path) -> Result<()> {
        let argv = self.argv();
        let child = self.spawn_logged(&argv, log)?;
        let pid_file = self.dir.join("pid");
        let pid_written = fs::write(&pid_file, child.id().to_string());
        self.child = Some(child);
        pid_written.map_err(|source| {
            DevEnvError::Io {
                action: "writing",
                path: pid_file,
                source,
            }
            .into()
        })
    }

    /// Runs `argv` in the instance's directory, out of our process group, appending its output to `log`.
    fn spawn_logged(&self, argv: &[OsString], log: &Path) -> Result<Child> {
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
        Command::new(&argv[0])
            .args(&argv[1..])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Out of our process group, so a Ctrl-C reaches only us, and we decide when it stops.
            .process_group(0)
            .spawn()
            .map_err(|source| {
                DevEnvError::Spawn {
                    program: self.bin.display().to_string(),
                    source,
                }
                .into()
            })
    }

    /// Polls `/readyz` with the admin's client until it answers `ok`. The client trusts only our CA,
    /// so another server on the port can never pass for ours.
    async fn wait_ready(&mut self, log: &Path, log_start: u64) -> Result<Ready> {
        let client = self.client().await?;
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            let exited = match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(status)) => status,
                Some(Err(source)) => {
                    return Err(DevEnvError::Io {
                        action: "waiting for kube-apiserver, logging to",
                        path: log.to_owned(),
                        source,
                    }
                    .into());
                }
                None => None,
            };
            if let Some(status) = exited {
                let text = read_from(log, log_start).unwrap_or_default();
                if text.contains("address already in use") {
                    return Ok(Ready::PortTaken(log_tail(log, log_start, LOG_TAIL_LINES)));
                }
                return Err(DevEnvError::Exited {
                    what: "kube-apiserver",
                    port: self.port,
                    status,
                    log_tail: log_tail(log, log_start, LOG_TAIL_LINES),
                }
                .into());
            }
            let request = http::Request::get("/readyz").body(Vec::new());
            // Refused connections and 500s are expected while the server starts; kube's client logs
            // each at ERROR, which would bury the output of `bazaar dev`, so this probe logs nothing.
            if let Ok(request) = request
                && let Ok(Ok(body)) = tokio::time::timeout(
                    Duration::from_secs(2),
                    client
                        .request_text(request)
                        .with_subscriber(tracing::subscriber::NoSubscriber::default()),
                )
                .await
                && body.trim() == "ok"
            {
                return Ok(Ready::Yes);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(DevEnvError::NotReady {
                    what: "kube-apiserver",
                    port: self.port,
                    timeout: READY_TIMEOUT,
                    log_tail: log_tail(log, log_start, LOG_TAIL_LINES),
                }
                .into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes a kubeconfig for this server with one user, `user` holding the given credentials.
    fn write_kubeconfig(
        &self,
        path: &Path,
        user: &str,
        credentials: serde_json::Value,
        namespace: Option<&str>,
    ) -> Result<()> {
        let mut context = serde_json::json!({ "cluster": "bazaar-devenv", "user": user });
        if let Some(namespace) = namespace {
            context["namespace"] = namespace.into();
        }
        // JSON is YAML, so kubectl, kube-rs and client-go all read this.
        let kubeconfig = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{
                "name": "bazaar-devenv",
                "cluster": {
                    "server": self.server_url(),
                    "certificate-authority-data": BASE64.encode(&self.ca.pem),
                },
            }],
            "users": [{ "name": user, "user": credentials }],
            "contexts": [{ "name": "bazaar-devenv", "context": context }],
            "current-context": "bazaar-devenv",
        });
        write_private(path, &format!("{kubeconfig:#}\n"))
    }

    /// Kills and reaps the server. SIGKILL makes the wait immediate, so blocking on it is fine.
    fn kill(&mut self) {
        kill_and_reap(&mut self.child);
    }

    /// Kills and reaps the controller manager, if it runs.
    fn kill_controller_manager(&mut self) {
        kill_and_reap(&mut self.controller_manager);
    }
}

impl Drop for LocalKubeApi {
    fn drop(&mut self) {
        self.kill_controller_manager();
        self.kill();
        self.watchdog = None;
        remove_dir_quietly(&self.dir);
    }
}

impl std::fmt::Debug for LocalKubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalKubeApi")
            .field("server_url", &self.server_url())
            .field("dir", &self.dir)
            .field("running", &self.child.is_some())
            .field("controller_manager", &self.controller_manager.is_some())
            .finish()
    }
}

enum Ready {
    Yes,
    /// Something else bound the port first; carries the server's log tail.
    PortTaken(String),
}

/// The CA that signs the serving certificate and every client certificate.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new() -> Result<Ca> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "bazaar-devenv-ca");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let pem = params.self_signed(&key)?.pem();
        Ok(Ca {
            pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// A serving certificate for 127.0.0.1, localhost and the in-cluster names: (certificate, key) PEM.
    fn serving_cert(&self) -> Result<(String, String)> {
        let names = [
            "127.0.0.1",
            "::1",
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ];
        let mut params = CertificateParams::new(names.map(String::from).to_vec())?;
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(&params)
    }

    /// A client certificate: Kubernetes takes the user from the CommonName and groups from the
    /// Organizations. (certificate, key) PEM.
    fn client_cert(&self, user: &str, group: Option<&str>) -> Result<(String, String)> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, user);
        if let Some(group) = group {
            params
                .distinguished_name
                .push(DnType::OrganizationName, group);
        }
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(&params)
    }

    fn sign(&self, params: &CertificateParams) -> Result<(String, String)> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

/// Creates `object` unless one of that name exists.
async fn create_if_missing<K>(api: &Api<K>, object: &K) -> Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    K::DynamicType: Default,
{
    match api.create(&PostParams::default(), object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(source) => Err(KubeApiError::Kube {
            action: format!(
                "creating {} {}",
                K::kind(&K::DynamicType::default()),
                object.meta().name.as_deref().unwrap_or_default()
            ),
            source,
        }),
    }
}

/// A JSON object from string pairs.
fn json_object<const N: usize>(pairs: [(&str, String); N]) -> serde_json::Value {
    serde_json::Value::Object(
        pairs
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value.into()))
            .collect(),
    )
}

/// `name` with everything but `[A-Za-z0-9._-]` replaced, for use in a file name.
fn file_name_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes a file only its owner can read (keys, tokens).
fn write_private(path: &Path, contents: &str) -> Result<()> {
    let io_error = |source| DevEnvError::Io {
        action: "writing",
        path: path.to_owned(),
        source,
    };
    fs::write(path, contents).map_err(io_error)?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(io_error)?;
    Ok(())
}

/// `tools/kube-api` in this source tree.
fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/kube-api")
}

/// `${BAZAAR_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/bazaar/tools}`, as in `scripts/install-kube-api`.
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

/// The hash `scripts/install-kube-api` names the binary by: one line `<sha256 hex> <name>` for
/// go.mod, go.sum and every `*.go` (byte order), then the first 16 hex digits of that text's sha256.
fn source_hash(src: &Path) -> io::Result<String> {
    let mut go_files: Vec<String> = fs::read_dir(src)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".go") && !name.starts_with('.'))
        .collect();
    go_files.sort();
    let mut lines = String::new();
    for name in ["go.mod".to_owned(), "go.sum".to_owned()]
        .into_iter()
        .chain(go_files)
    {
        let digest = Sha256::digest(fs::read(src.join(&name))?);
        let _ = writeln!(lines, "{} {name}", hex(&digest));
    }
    let mut hash = hex(&Sha256::digest(lines.as_bytes()));
    hash.truncate(16);
    Ok(hash)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

/// Resolves the binary. An explicit `BAZAAR_KUBE_API_BIN` must be usable; otherwise the cache entry
/// for the current sources must exist. There is no fallback to an older build, whose behaviour may
/// differ from what the sources say.
fn find_kube_api(env_bin: Option<OsString>, cache_dir: &Path, src: &Path) -> Result<PathBuf> {
    if let Some(path) = env_bin.filter(|v| !v.is_empty()).map(PathBuf::from) {
        return match fs::metadata(&path) {
            Err(_) => Err(KubeApiError::BinInvalid {
                path,
                problem: "does not exist",
            }),
            Ok(_) if !is_executable(&path) => Err(KubeApiError::BinInvalid {
                path,
                problem: "is not an executable file",
            }),
            Ok(_) => Ok(path),
        };
    }
    let expected = match source_hash(src) {
        Ok(hash) => cache_dir.join(format!("kube-api-{hash}")),
        // Not in a source tree: say where the binaries live, the name is unknown.
        Err(_) => cache_dir.join("kube-api-<hash>"),
    };
    if is_executable(&expected) {
        Ok(expected)
    } else {
        Err(KubeApiError::NotBuilt { expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    #[test]
    fn binary_name_matches_install_script() {
        let cache = unique_temp_dir("bazaar-test").expect("temp dir");
        let output = Command::new(repo_root().join("scripts/install-kube-api"))
            .arg("--path-only")
            .env("BAZAAR_TOOLS_DIR", &cache)
            .output()
            .expect("run scripts/install-kube-api --path-only");
        assert!(output.status.success(), "{output:?}");
        let script_path = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let err = find_kube_api(None, &cache, &source_dir()).expect_err("nothing built there");
        let KubeApiError::NotBuilt { expected } = &err else {
            panic!("unexpected error {err}");
        };
        assert_eq!(PathBuf::from(script_path), *expected);
        remove_dir_quietly(&cache);
    }

    #[test]
    fn missing_binary_says_how_to_build_it() {
        let err = find_kube_api(
            None,
            Path::new("/nonexistent/cache"),
            Path::new("/nonexistent/src"),
        )
        .expect_err("nothing to find");
        let message = err.to_string();
        for expected in [
            "scripts/install-kube-api",
            KUBE_API_BIN_ENV,
            "/nonexistent/cache/kube-api-",
        ] {
            assert!(
                message.contains(expected),
                "{expected:?} missing from: {message}"
            );
        }
    }

    #[test]
    fn env_var_pointing_nowhere_is_an_error_naming_it() {
        let err = find_kube_api(
            Some("/nonexistent/kube-api".into()),
            Path::new("/nonexistent/cache"),
            &source_dir(),
        )
        .expect_err("must not fall back");
        let message = err.to_string();
        assert!(message.contains(KUBE_API_BIN_ENV), "{message}");
        assert!(message.contains("does not exist"), "{message}");
    }

    #[test]
    fn client_certificates_name_user_and_group() {
        let ca = Ca::new().expect("CA");
        let (cert, key) = ca.client_cert("jane", Some("shop-admins")).expect("cert");
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        assert!(key.contains("PRIVATE KEY"), "{key}");
        let (serving, _) = ca.serving_cert().expect("serving cert");
        assert_ne!(serving, cert);
    }

    #[test]
    fn file_name_part_keeps_safe_characters() {
        assert_eq!(file_name_part("system:admin/x"), "system_admin_x");
        assert_eq!(file_name_part("a.b-c_d"), "a.b-c_d");
    }
}
