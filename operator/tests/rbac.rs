//! `operator/rbac.yaml` grants what the operator does (as the mock API tests show it) and no more.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

fn documents() -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rbac.yaml"))
        .expect("rbac.yaml");
    serde_saphyr::from_multiple(&text).expect("YAML")
}

/// Every (group, resource, verb) a role of `kind` named `name` grants.
fn grants(kind: &str, name: &str) -> BTreeSet<(String, String, String)> {
    let role = documents()
        .into_iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind} {name} in rbac.yaml"));
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        for group in strings(&rule["apiGroups"]) {
            for resource in strings(&rule["resources"]) {
                for verb in strings(&rule["verbs"]) {
                    granted.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    granted
}

fn grant(group: &str, resource: &str, verb: &str) -> (String, String, String) {
    (group.into(), resource.into(), verb.into())
}

#[test]
fn the_cluster_role_covers_watching_finalizers_status_and_events_of_every_kind() {
    let mut expected = BTreeSet::new();
    for crd in bazaar_operator::crdgen::definitions() {
        let plural = crd.spec.names.plural;
        for verb in ["list", "watch", "patch"] {
            expected.insert(grant("bazaar.dev", &plural, verb));
        }
        expected.insert(grant("bazaar.dev", &format!("{plural}/status"), "patch"));
    }
    expected.insert(grant("events.k8s.io", "events", "create"));
    expected.insert(grant("events.k8s.io", "events", "patch"));
    assert_eq!(grants("ClusterRole", "bazaar-operator"), expected);
}

#[test]
fn the_leader_election_role_covers_reading_creating_and_renewing_the_lease() {
    let expected: BTreeSet<_> = ["create", "get", "update"]
        .into_iter()
        .map(|verb| grant("coordination.k8s.io", "leases", verb))
        .collect();
    assert_eq!(grants("Role", "bazaar-operator-leader-election"), expected);
}
