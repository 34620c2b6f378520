//! The CRDs against a real kube-apiserver (v1.36, `bazaar_devenv::LocalKubeApi`): `crds/*.yaml` are
//! accepted and become Established, every resource in `crds/examples/` is admitted, and every file in
//! `crds/examples/invalid/` is refused with the message its `# expect:` line quotes: the real API
//! server is the authority on what a merchandiser reads. Objects
//! are sent as `kubectl apply --server-side` sends them (server-side apply, strict field validation),
//! so an unknown field is refused too. `rbac.yaml` is accepted, and the API server's own RBAC evaluation grants the
//! operator's ServiceAccount what the operator needs and nothing more.
//!
//! Needs the kube-api binary: `scripts/install-kube-api`, or `BAZAAR_KUBE_API_BIN` pointing at a build.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bazaar_devenv::LocalKubeApi;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::{Scope, pinned_kind};
use serde_json::Value;

const FIELD_MANAGER: &str = "bazaar-real-apiserver-test";

fn crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds")
}

fn yaml_files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap_or_else(|e| panic!("{}: {e}", directory.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

fn yaml_documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

/// The `# expect: ...` line of an invalid example: part of the message kube-apiserver refuses it with.
fn expectation(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .expect("readable")
        .lines()
        .find_map(|line| line.strip_prefix("# expect: "))
        .map(str::to_owned)
}

fn name_of(document: &Value) -> String {
    format!(
        "{}/{}",
        document["kind"].as_str().unwrap_or("?"),
        document["metadata"]["name"].as_str().unwrap_or("?")
    )
}

fn create_namespace(name: &str) -> Namespace {
    let mut namespace = Namespace::default();
    namespace.metadata.name = Some(name.into());
    namespace
}

/// A running API server with the CRDs installed and Established, and the namespace `shop`.
async fn server_with_crds() -> (LocalKubeApi, kube::Client) {
    let api = LocalKubeApi::start()
        .await
        .unwrap_or_else(|e| panic!("start the local kube-apiserver: {e}"));
    let client = api.client().await.expect("admin client");

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for path in yaml_files(&crds_dir()) {
        for document in yaml_documents(&path) {
            let crd: CustomResourceDefinition = serde_json::from_value(document)
                .unwrap_or_else(|e| panic!("{} is not a CRD: {e}", path.display()));
            let name = crd.metadata.name.clone().expect("CRD name");
            crds.patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).validation_strict(),
                &Patch::Apply(&crd),
            )
            .await
            .unwrap_or_else(|e| panic!("{} is refused by the API server: {e}", path.display()));
            names.push(name);
        }
    }
    assert_eq!(names.len(), 4, "four CRDs in crds/: {names:?}");
    for name in &names {
        let established = kube::runtime::wait::await_condition(
            crds.clone(),
            name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(Duration::from_secs(30), established)
            .await
            .unwrap_or_else(|_| panic!("CRD {name} not Established within 30 s"))
            .unwrap_or_else(|e| panic!("watching CRD {name}: {e}"));
    }

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(&PostParams::default(), &create_namespace("shop"))
        .await
        .expect("create namespace shop");
    (api, client)
}

/// Sends `document` as `kubectl apply --server-side` does; `dry_run` leaves nothing behind.
async fn apply(client: &kube::Client, document: &Value, dry_run: bool) -> Result<(), kube::Error> {
    let api_version = document["apiVersion"].as_str().expect("apiVersion");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, document["kind"].as_str().expect("kind"));
    let (resource, capabilities) = pinned_kind(client, &gvk).await?;
    let objects: Api<DynamicObject> = match capabilities.scope {
        Scope::Namespaced => {
            let namespace = document["metadata"]["namespace"]
                .as_str()
                .expect("namespaced objects name their namespace");
            Api::namespaced_with(client.clone(), namespace, &resource)
        }
        Scope::Cluster => Api::all_with(client.clone(), &resource),
    };
    let mut params = PatchParams::apply(FIELD_MANAGER).validation_strict();
    if dry_run {
        params = params.dry_run();
    }
    let name = document["metadata"]["name"].as_str().expect("name");
    objects
        .patch(name, &params, &Patch::Apply(document))
        .await
        .map(drop)
}

#[tokio::test]
async fn the_api_server_admits_every_example() {
    let (_api, client) = server_with_crds().await;
    let examples = yaml_files(&crds_dir().join("examples"));
    assert!(examples.len() >= 4, "the example shop is there");
    let mut refused = Vec::new();
    for path in examples {
        for document in yaml_documents(&path) {
            if let Err(e) = apply(&client, &document, false).await {
                refused.push(format!("{}: {e}", name_of(&document)));
            }
        }
    }
    assert!(refused.is_empty(), "refused: {refused:#?}");
}

#[tokio::test]
async fn the_api_server_refuses_every_invalid_example_for_the_reason_it_names() {
    let (_api, client) = server_with_crds().await;
    let files = yaml_files(&crds_dir().join("examples/invalid"));
    assert!(files.len() >= 20, "the invalid examples are there");
    let mut wrong = Vec::new();
    for path in files {
        let expected = expectation(&path);
        let documents = yaml_documents(&path);
        assert_eq!(documents.len(), 1, "{}: one resource", path.display());
        let file = path.file_name().unwrap_or_default().to_string_lossy();
        match (apply(&client, &documents[0], true).await, expected) {
            (Ok(()), _) => wrong.push(format!("{file}: admitted")),
            (Err(kube::Error::Api(status)), expected) if status.code == 422 => {
                eprintln!("{file}: {}", status.message);
                match expected {
                    None => wrong.push(format!(
                        "{file}: has no `# expect:` line; the API server said: {}",
                        status.message
                    )),
                    Some(expected) if !status.message.contains(&expected) => {
                        wrong.push(format!(
                            "{file}: expected `{expected}`, the API server said: {}",
                            status.message
                        ));
                    }
                    Some(_) => {}
                }
            }
            (Err(e), _) => wrong.push(format!("{file}: not refused as invalid: {e}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether the client's identity may do `verb` on `resource` (`group`, optional `subresource`, `name`)
/// in `namespace` (`""`: every namespace), by the API server's own RBAC evaluation (`kubectl auth can-i`).
async fn can_i(
    client: &kube::Client,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: &str,
) -> bool {
    let (resource, name) = resource.split_once(':').unwrap_or((resource, ""));
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    let some = |value: &str| (!value.is_empty()).then(|| value.to_owned());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: some(verb),
                group: Some(group.to_owned()),
                resource: some(resource),
                subresource: some(subresource),
                name: some(name),
                namespace: some(namespace),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .expect("SelfSubjectAccessReview")
        .status
        .is_some_and(|status| status.allowed)
}

#[tokio::test]
async fn the_api_server_grants_the_operator_service_account_what_rbac_yaml_says() {
    let (api, admin) = server_with_crds().await;
    Api::<Namespace>::all(admin.clone())
        .create(&PostParams::default(), &create_namespace("bazaar"))
        .await
        .expect("create namespace bazaar");
    for document in yaml_documents(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rbac.yaml")) {
        apply(&admin, &document, false)
            .await
            .unwrap_or_else(|e| panic!("rbac.yaml: {} is refused: {e}", name_of(&document)));
    }
    let kubeconfig = api
        .kubeconfig_for_service_account("bazaar", "bazaar-operator")
        .await
        .expect("a token for the operator's ServiceAccount");
    let operator = LocalKubeApi::client_for(&kubeconfig)
        .await
        .expect("operator client");

    // (verb, group, resource[/subresource][:name], namespace, allowed)
    let expectations = [
        ("list", "bazaar.dev", "products", "", true),
        ("watch", "bazaar.dev", "promotions", "", true),
        ("patch", "bazaar.dev", "stores", "shop", true),
        ("patch", "bazaar.dev", "fulfillments/status", "shop", true),
        ("create", "events.k8s.io", "events", "shop", true),
        ("patch", "events.k8s.io", "events", "shop", true),
        ("create", "coordination.k8s.io", "leases", "bazaar", true),
        (
            "get",
            "coordination.k8s.io",
            "leases:bazaar-operator",
            "bazaar",
            true,
        ),
        (
            "update",
            "coordination.k8s.io",
            "leases:bazaar-operator",
            "bazaar",
            true,
        ),
        // Nothing more.
        ("get", "bazaar.dev", "products", "shop", false),
        ("update", "bazaar.dev", "products", "shop", false),
        ("delete", "bazaar.dev", "products", "shop", false),
        ("create", "bazaar.dev", "products", "shop", false),
        ("update", "bazaar.dev", "products/status", "shop", false),
        ("create", "", "events", "shop", false),
        (
            "get",
            "coordination.k8s.io",
            "leases:someone-else",
            "bazaar",
            false,
        ),
        ("create", "coordination.k8s.io", "leases", "shop", false),
        ("get", "", "secrets", "bazaar", false),
        ("list", "", "configmaps", "", false),
    ];
    let mut wrong = Vec::new();
    for (verb, group, resource, namespace, allowed) in expectations {
        if can_i(&operator, verb, group, resource, namespace).await != allowed {
            wrong.push(format!(
                "{verb} {group}/{resource} in {namespace:?}: expected allowed={allowed}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
