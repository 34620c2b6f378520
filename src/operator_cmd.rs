//! `bazaar crdgen` and `bazaar operator`: the merchandising resources' definitions and their operator
//! (the `bazaar-operator` crate does the work).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug)]
pub struct CrdgenArgs {
    /// Directory to write one `<plural>.yaml` per resource into.
    #[arg(
        long = "output-dir",
        env = "BAZAAR_CRDGEN_OUTPUT_DIR",
        default_value = "crds"
    )]
    pub output_dir: PathBuf,

    /// Print every definition to standard output as one YAML stream instead (e.g. for `kubectl apply -f -`).
    #[arg(long = "stdout", env = "BAZAAR_CRDGEN_STDOUT")]
    pub stdout: bool,
}

/// Writes (or prints) the CustomResourceDefinitions generated from the resource types.
pub fn crdgen(args: CrdgenArgs) -> anyhow::Result<()> {
    if args.stdout {
        let files = bazaar_operator::crdgen::render()?;
        // Each file starts its own YAML document, so that concatenating them gives one stream.
        let stream: String = files.iter().map(|file| file.contents.as_str()).collect();
        std::io::stdout().write_all(stream.as_bytes())?;
        return Ok(());
    }
    std::fs::create_dir_all(&args.output_dir)?;
    for file in bazaar_operator::crdgen::write_to(&args.output_dir)? {
        println!("wrote {}", args.output_dir.join(file.file_name).display());
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct OperatorArgs {
    /// Watch only this namespace (needs only a Role there); every namespace when omitted (needs a
    /// ClusterRole).
    #[arg(long = "watch-namespace", env = "BAZAAR_OPERATOR_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,

    /// Namespace of the leader-election Lease; the pod's own namespace in a cluster.
    #[arg(
        long = "lease-namespace",
        env = "POD_NAMESPACE",
        default_value = "default"
    )]
    pub lease_namespace: String,

    /// Name of the leader-election Lease.
    #[arg(
        long = "lease-name",
        env = "BAZAAR_OPERATOR_LEASE_NAME",
        default_value = "bazaar-operator"
    )]
    pub lease_name: String,

    /// Seconds a leader's lease stays valid without renewal; a standby takes over after that.
    #[arg(
        long = "lease-seconds",
        env = "BAZAAR_OPERATOR_LEASE_SECONDS",
        default_value_t = 15,
        value_parser = clap::value_parser!(u64).range(3..=300)
    )]
    pub lease_seconds: u64,

    /// This replica's identity in the Lease; the pod name in a cluster.
    #[arg(long = "identity", env = "POD_NAME")]
    pub identity: Option<String>,

    /// Address `/healthz`, `/readyz` and `/metrics` are served on.
    #[arg(
        long = "http-addr",
        env = "BAZAAR_HTTP_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    pub addr: std::net::SocketAddr,

    #[command(flatten)]
    pub db: bazaar_platform::config::DatabaseConfig,
}

/// Runs the operator until SIGTERM/SIGINT. The catalog schema must be migrated (`bazaar migrate catalog`).
pub async fn operator(args: OperatorArgs) -> anyhow::Result<()> {
    use bazaar_operator::leader::LeaseSettings;
    use bazaar_operator::run::{self, Settings};

    let url = args.db.url_for("catalog")?;
    let pool = bazaar_platform::db::pool(
        "operator",
        &url,
        &args.db.schema_for("catalog"),
        args.db.max_connections,
    )?;
    let client = kube::Client::try_default().await.map_err(|error| {
        anyhow::anyhow!(
            "cannot reach the Kubernetes API (in-cluster config or KUBECONFIG): {error}"
        )
    })?;
    let identity = args.identity.unwrap_or_else(|| {
        std::env::var("HOSTNAME")
            .unwrap_or_else(|_| format!("bazaar-operator-{}", std::process::id()))
    });
    let settings = Settings {
        namespace: args.watch_namespace,
        lease: LeaseSettings {
            namespace: args.lease_namespace,
            name: args.lease_name,
            identity,
            duration: std::time::Duration::from_secs(args.lease_seconds),
        },
        addr: args.addr,
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    bazaar_platform::shutdown::cancel_on_signal(shutdown.clone());
    let catalog = bazaar_operator::projection::PostgresCatalog::new(pool);
    run::run(client, catalog, settings, shutdown).await?;
    Ok(())
}
