//! `bazaar dev` with a real Kubernetes control plane: a local kube-apiserver (built from Go modules by
//! `scripts/install-kube-api`), the CRDs applied, and the operator running against it exactly as it runs
//! in a cluster. A merchandiser can then `kubectl apply -f crds/examples/` on a laptop with no cluster.
//! The operator serves its `/metrics` (reconciliations, resources Ready, leader) on `--dev-operator-addr`,
//! printed in the guide, so a local Prometheus can scrape it next to the platform's.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use anyhow::Context as _;
use bazaar_devenv::{KubeApiError, LocalKubeApi};
use bazaar_operator::offline::Manifests;
use bazaar_operator::projection::PostgresCatalog;
use bazaar_operator::run::Settings;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cli::KubeApiMode;

/// Server-side apply's field manager for what `bazaar dev` applies.
const FIELD_MANAGER: &str = "bazaar-dev";

/// How long the API server may take to establish a freshly applied CRD.
const CRD_ESTABLISHED_TIMEOUT: Duration = Duration::from_secs(30);

/// The local API server and the operator running against it; stopped by [`ControlPlane::shutdown`].
pub struct ControlPlane {
    api: LocalKubeApi,
    client: Client,
    operator: JoinHandle<anyhow::Result<()>>,
    stop_operator: CancellationToken,
    operator_addr: SocketAddr,
}

/// Starts the control plane as `mode` asks: `auto` when the kube-api binary is built (and says how to
/// build it otherwise), `always` or fail, `never` not at all. The operator's health and metrics server
/// listens on `operator_addr` (port 0: a free port, chosen here so that the guide can print it).
pub async fn start(
    mode: KubeApiMode,
    catalog: PostgresCatalog,
    operator_addr: SocketAddr,
) -> anyhow::Result<Option<ControlPlane>> {
    if mode == KubeApiMode::Never {
        return Ok(None);
    }
    let api = match LocalKubeApi::start().await {
        Ok(api) => api,
        Err(error @ KubeApiError::NotBuilt { .. }) if mode == KubeApiMode::Auto => {
            eprintln!(
                "No local Kubernetes API server: {error}. The example shop is loaded without one."
            );
            return Ok(None);
        }
        Err(error) => return Err(error.into()),
    };
    eprintln!("  Kubernetes API: {}", api.server_url());
    let client = api.client().await?;
    apply_crds(&client).await?;
    let operator_addr = concrete(operator_addr)?;

    let stop_operator = CancellationToken::new();
    let settings = Settings {
        namespace: None,
        lease: bazaar_operator::leader::LeaseSettings {
            namespace: "default".to_owned(),
            name: "bazaar-operator".to_owned(),
            identity: "bazaar-dev".to_owned(),
            duration: Duration::from_secs(15),
        },
        // The operator's own health and metrics server; `bazaar dev` serves the platform's elsewhere.
        addr: operator_addr,
    };
    let operator = tokio::spawn({
        let client = client.clone();
        let stop = stop_operator.clone();
        async move {
            bazaar_operator::run::run(client, catalog, settings, stop)
                .await
                .context("the operator stopped")
        }
    });
    Ok(Some(ControlPlane {
        api,
        client,
        operator,
        stop_operator,
        operator_addr,
    }))
}

/// `addr` itself, or with port 0 the same host on a port free now. The operator binds it a moment later;
/// should another process take the port in between, the operator fails with "cannot listen on".
fn concrete(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    TcpListener::bind(addr)
        .and_then(|listener| listener.local_addr())
        .with_context(|| format!("finding a free port on {} for the operator", addr.ip()))
}

impl ControlPlane {
    /// The admin kubeconfig, for `export KUBECONFIG=...`.
    pub fn kubeconfig(&self) -> std::path::PathBuf {
        self.api.kubeconfig_path()
    }

    /// Where the operator serves `/metrics` (and `/healthz`, `/readyz`).
    pub fn operator_addr(&self) -> SocketAddr {
        self.operator_addr
    }

    /// Applies `manifests` (server-side apply, namespaces created first), as `kubectl apply` would; the
    /// operator then projects them into the catalog.
    pub async fn apply(&self, manifests: &Manifests) -> anyhow::Result<usize> {
        let namespaces: std::collections::BTreeSet<String> = manifests
            .products
            .iter()
            .filter_map(|r| r.namespace())
            .chain(manifests.stores.iter().filter_map(|r| r.namespace()))
            .chain(manifests.fulfillments.iter().filter_map(|r| r.namespace()))
            .chain(manifests.promotions.iter().filter_map(|r| r.namespace()))
            .collect();
        let namespace_api: Api<Namespace> = Api::all(self.client.clone());
        for name in &namespaces {
            let namespace = serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name},
            });
            namespace_api
                .patch(name, &apply_params(), &Patch::Apply(namespace))
                .await
                .with_context(|| format!("creating namespace {name}"))?;
        }
        let mut applied = 0;
        applied += self.apply_all(&manifests.stores).await?;
        applied += self.apply_all(&manifests.products).await?;
        applied += self.apply_all(&manifests.fulfillments).await?;
        applied += self.apply_all(&manifests.promotions).await?;
        Ok(applied)
    }

    async fn apply_all<K>(&self, resources: &[K]) -> anyhow::Result<usize>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + std::fmt::Debug
            + Serialize
            + DeserializeOwned,
    {
        for resource in resources {
            let namespace = resource.namespace().unwrap_or_else(|| "default".to_owned());
            let api: Api<K> = Api::namespaced(self.client.clone(), &namespace);
            api.patch(
                &resource.name_any(),
                &apply_params(),
                &Patch::Apply(resource),
            )
            .await
            .with_context(|| {
                format!(
                    "applying {} {namespace}/{}",
                    K::kind(&()),
                    resource.name_any()
                )
            })?;
        }
        Ok(resources.len())
    }

    /// Stops the operator, then the API server.
    pub async fn shutdown(self) {
        self.stop_operator.cancel();
        match self.operator.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("warning: {error:#}"),
            Err(error) => eprintln!("warning: the operator task failed: {error}"),
        }
        self.api.shutdown().await;
    }
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER).force()
}

/// Applies the generated CRDs and waits until the API server serves them.
async fn apply_crds(client: &Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in bazaar_operator::crdgen::definitions() {
        let name = crd.name_any();
        crds.patch(&name, &apply_params(), &Patch::Apply(&crd))
            .await
            .with_context(|| format!("applying CRD {name}"))?;
        tokio::time::timeout(
            CRD_ESTABLISHED_TIMEOUT,
            await_condition(crds.clone(), &name, conditions::is_crd_established()),
        )
        .await
        .with_context(|| {
            format!("CRD {name} was not established within {CRD_ESTABLISHED_TIMEOUT:?}")
        })?
        .with_context(|| format!("waiting for CRD {name}"))?;
    }
    Ok(())
}
