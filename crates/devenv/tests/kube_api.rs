//! Starts a real kube-apiserver (with etcd) from the `kube-api` binary. Fails, saying how to build it,
//! when it is not built: `scripts/install-kube-api`, or `BAZAAR_KUBE_API_BIN` pointing at a build.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bazaar_devenv::{ADMIN_USER, LocalKubeApi};
use futures::StreamExt;
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, SelfSubjectReviewStatus};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt, watcher};

fn named(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

async fn start() -> LocalKubeApi {
    let started = Instant::now();
    let api = LocalKubeApi::start()
        .await
        .unwrap_or_else(|e| panic!("start the local kube-apiserver: {e}"));
    eprintln!(
        "kube-apiserver ready at {} after {:.1} s",
        api.server_url(),
        started.elapsed().as_secs_f32()
    );
    api
}

/// Who the API server thinks the client is (`kubectl auth whoami`).
async fn whoami(client: kube::Client) -> (String, Vec<String>) {
    let reviews: Api<SelfSubjectReview> = Api::all(client);
    let review = reviews
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview");
    let info = review
        .status
        .and_then(|SelfSubjectReviewStatus { user_info }| user_info)
        .expect("user info");
    (
        info.username.unwrap_or_default(),
        info.groups.unwrap_or_default(),
    )
}

#[tokio::test]
async fn objects_survive_an_api_server_restart() {
    let mut api = start().await;
    assert_eq!(
        api.server_url(),
        format!("https://127.0.0.1:{}", api.port())
    );
    let client = api.client().await.expect("admin client");
    // A release's version, as `kubectl version` and Helm's kubeVersion checks see it (not v0.0.0-master).
    let version = client.apiserver_version().await.expect("GET /version");
    assert_eq!(version.major, "1", "{version:?}");
    assert!(version.git_version.starts_with("v1."), "{version:?}");
    let (user, groups) = whoami(client.clone()).await;
    assert_eq!(user, ADMIN_USER);
    assert!(groups.contains(&"system:masters".to_owned()), "{groups:?}");

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: named("shop"),
                ..Namespace::default()
            },
        )
        .await
        .expect("create namespace");
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "shop");
    let created = config_maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: named("settings"),
                data: Some(BTreeMap::from([("currency".to_owned(), "EUR".to_owned())])),
                ..ConfigMap::default()
            },
        )
        .await
        .expect("create ConfigMap");

    let started = Instant::now();
    api.restart().await.expect("restart");
    eprintln!(
        "kube-apiserver restarted in {:.1} s",
        started.elapsed().as_secs_f32()
    );

    // The client made before the restart still works: same URL, same CA, same credentials.
    let read = config_maps.get("settings").await.expect("read back");
    assert_eq!(read.data, created.data);
    assert_eq!(read.metadata.uid, created.metadata.uid);
    assert_eq!(
        read.metadata.resource_version,
        created.metadata.resource_version
    );

    api.stop().await.expect("stop");
    let refused = tokio::time::timeout(Duration::from_secs(10), config_maps.get("settings")).await;
    assert!(
        matches!(refused, Ok(Err(_))),
        "a stopped server answered: {refused:?}"
    );
    api.stop().await.expect("stopping twice is a no-op");

    let dir = api.dir().to_owned();
    api.shutdown().await;
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[tokio::test]
async fn identities_get_only_what_rbac_grants() {
    let api = start().await;
    let admin = api.client().await.expect("admin client");

    // A ServiceAccount with a token from the TokenRequest API, as a pod would get.
    let sa_config = api
        .kubeconfig_for_service_account("shop", "reader")
        .await
        .expect("ServiceAccount kubeconfig");
    let sa = LocalKubeApi::client_for(&sa_config)
        .await
        .expect("ServiceAccount client");
    let (user, groups) = whoami(sa.clone()).await;
    assert_eq!(user, "system:serviceaccount:shop:reader");
    assert!(
        groups.contains(&"system:serviceaccounts:shop".to_owned()),
        "{groups:?}"
    );
    // The kubeconfig's namespace is the ServiceAccount's: default_namespace is what clients use.
    assert_eq!(sa.default_namespace(), "shop");

    let sa_config_maps: Api<ConfigMap> = Api::namespaced(sa.clone(), "shop");
    let denied = sa_config_maps.list(&Default::default()).await;
    assert!(
        matches!(&denied, Err(kube::Error::Api(status)) if status.code == 403),
        "no RBAC yet, must be forbidden: {denied:?}"
    );

    // A user with a client certificate, in one group.
    let user_config = api
        .kubeconfig_for_user("jane", Some("shop-staff"))
        .expect("user kubeconfig");
    let jane = LocalKubeApi::client_for(&user_config)
        .await
        .expect("user client");
    assert_eq!(
        whoami(jane.clone()).await,
        (
            "jane".to_owned(),
            vec!["shop-staff".to_owned(), "system:authenticated".to_owned()]
        )
    );

    // Grant reading ConfigMaps in `shop` to the ServiceAccount and the group.
    let roles: Api<Role> = Api::namespaced(admin.clone(), "shop");
    roles
        .create(
            &PostParams::default(),
            &Role {
                metadata: named("config-reader"),
                rules: Some(vec![PolicyRule {
                    api_groups: Some(vec![String::new()]),
                    resources: Some(vec!["configmaps".to_owned()]),
                    verbs: vec!["get".to_owned(), "list".to_owned()],
                    ..PolicyRule::default()
                }]),
            },
        )
        .await
        .expect("create Role");
    let bindings: Api<RoleBinding> = Api::namespaced(admin, "shop");
    bindings
        .create(
            &PostParams::default(),
            &RoleBinding {
                metadata: named("config-reader"),
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".to_owned(),
                    kind: "Role".to_owned(),
                    name: "config-reader".to_owned(),
                },
                subjects: Some(vec![
                    Subject {
                        kind: "ServiceAccount".to_owned(),
                        name: "reader".to_owned(),
                        namespace: Some("shop".to_owned()),
                        ..Subject::default()
                    },
                    Subject {
                        kind: "Group".to_owned(),
                        name: "shop-staff".to_owned(),
                        api_group: Some("rbac.authorization.k8s.io".to_owned()),
                        ..Subject::default()
                    },
                ]),
            },
        )
        .await
        .expect("create RoleBinding");

    // The server authorizes from its informer caches: a new RoleBinding takes effect within moments,
    // not at once.
    async fn eventually_listed(api: &Api<ConfigMap>) -> Result<(), kube::Error> {
        let mut attempts = 0;
        loop {
            match api.list(&Default::default()).await {
                Ok(_) => return Ok(()),
                Err(error) if attempts >= 100 => return Err(error),
                Err(_) => attempts += 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    eventually_listed(&sa_config_maps)
        .await
        .expect("granted to the ServiceAccount");
    let jane_config_maps: Api<ConfigMap> = Api::namespaced(jane.clone(), "shop");
    eventually_listed(&jane_config_maps)
        .await
        .expect("granted to the group");
    // Only reading, and only in `shop`.
    let write = jane_config_maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: named("nope"),
                ..ConfigMap::default()
            },
        )
        .await;
    assert!(
        matches!(&write, Err(kube::Error::Api(status)) if status.code == 403),
        "{write:?}"
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(jane, "default");
    let other = elsewhere.list(&Default::default()).await;
    assert!(
        matches!(&other, Err(kube::Error::Api(status)) if status.code == 403),
        "{other:?}"
    );
}

#[tokio::test]
async fn a_watch_carries_on_across_a_restart() {
    let mut api = start().await;
    let client = api.client().await.expect("admin client");
    let config_maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let create = |name: &'static str| {
        let config_maps = config_maps.clone();
        async move {
            config_maps
                .create(
                    &PostParams::default(),
                    &ConfigMap {
                        metadata: named(name),
                        ..ConfigMap::default()
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("create {name}: {e}"));
        }
    };
    // What an operator does: a watcher that re-lists and re-watches after errors, with backoff.
    let mut names = watcher(config_maps.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .filter_map(|object| async move { object.ok().and_then(|cm| cm.metadata.name) })
        .boxed();
    let mut next_name = async || {
        tokio::time::timeout(Duration::from_secs(60), names.next())
            .await
            .expect("a watch event within 60 s")
            .expect("the watch goes on")
    };

    create("before").await;
    while next_name().await != "before" {}
    api.restart().await.expect("restart");
    create("after").await;
    while next_name().await != "after" {}
}

#[tokio::test]
async fn with_the_controller_manager_a_deleted_namespace_takes_its_contents_with_it() {
    let mut api = start().await;
    let started = Instant::now();
    api.start_controller_manager()
        .await
        .unwrap_or_else(|e| panic!("start kube-controller-manager: {e}"));
    eprintln!(
        "kube-controller-manager ready after {:.1} s",
        started.elapsed().as_secs_f32()
    );
    let client = api.client().await.expect("admin client");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: named("doomed"),
                ..Namespace::default()
            },
        )
        .await
        .expect("create namespace");
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    config_maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: named("contents"),
                ..ConfigMap::default()
            },
        )
        .await
        .expect("create a ConfigMap in it");
    // The ServiceAccount controller gives every new namespace its `default` ServiceAccount.
    let accounts: Api<ServiceAccount> = Api::namespaced(client, "doomed");
    let deadline = Instant::now() + Duration::from_secs(60);
    while accounts.get_opt("default").await.expect("get").is_none() {
        assert!(
            Instant::now() < deadline,
            "no default ServiceAccount in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    namespaces
        .delete("doomed", &Default::default())
        .await
        .expect("delete namespace");
    let deleted = Instant::now();
    while namespaces.get_opt("doomed").await.expect("get").is_some() {
        assert!(
            deleted.elapsed() < Duration::from_secs(60),
            "namespace still there after 60 s: {:?}",
            namespaces.get_opt("doomed").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "namespace deleted with its contents in {:.1} s",
        deleted.elapsed().as_secs_f32()
    );
    assert!(
        config_maps
            .get_opt("contents")
            .await
            .expect("get")
            .is_none()
    );
}

/// Tells the helper test below that it runs as a subprocess of `a_killed_owner_leaves_nothing_behind`.
const HELPER_ENV: &str = "BAZAAR_DEVENV_TEST_KUBE_API_HELPER";

#[tokio::test]
#[ignore = "run in a subprocess by a_killed_owner_leaves_nothing_behind"]
async fn helper_starts_a_kube_api_then_waits_to_be_killed() {
    if std::env::var_os(HELPER_ENV).is_none() {
        return;
    }
    let mut api = start().await;
    api.start_controller_manager()
        .await
        .expect("start kube-controller-manager");
    let controller_manager = std::fs::read_to_string(api.dir().join("controller-manager.pid"))
        .expect("the controller manager's pid file");
    println!(
        "READY {} {} {}",
        api.port(),
        api.dir().display(),
        controller_manager.trim()
    );
    std::future::pending::<()>().await;
}

#[test]
fn a_killed_owner_leaves_nothing_behind() {
    let mut child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "helper_starts_a_kube_api_then_waits_to_be_killed",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, "1")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn helper");
    let stdout = child.stdout.take().expect("piped stdout");
    let line = BufReader::new(stdout)
        .lines()
        .map(|line| line.expect("read helper output"))
        .find(|line| line.starts_with("READY "))
        .expect("the helper never got its API server up");
    let mut fields = line.split(' ').skip(1);
    let port: u16 = fields.next().and_then(|p| p.parse().ok()).expect("port");
    let dir = PathBuf::from(fields.next().expect("dir"));
    let controller_manager = fields.next().expect("controller manager pid").to_owned();
    let accepts = || TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok();
    // Running, that is: listed, and not a zombie waiting for its new parent to reap it.
    let controller_manager_runs = || {
        Command::new("ps")
            .args(["-o", "stat=", "-p", &controller_manager])
            .output()
            .is_ok_and(|output| {
                let state = String::from_utf8_lossy(&output.stdout);
                output.status.success() && !state.trim().starts_with('Z')
            })
    };
    assert!(accepts(), "not listening: {line}");
    assert!(controller_manager_runs(), "no controller manager: {line}");

    child.kill().expect("SIGKILL the helper");
    child.wait().expect("reap the helper");
    let deadline = Instant::now() + Duration::from_secs(20);
    while accepts() || dir.exists() || controller_manager_runs() {
        assert!(
            Instant::now() < deadline,
            "left behind: listening {}, {} on disk {}, controller manager running {}",
            accepts(),
            dir.display(),
            dir.exists(),
            controller_manager_runs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
