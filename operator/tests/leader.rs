//! Leader election against a mock API server: the exact Lease requests a replica makes.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::time::Duration;

use bazaar_operator::leader::{LeaseSettings, try_hold};
use http::{Method, StatusCode};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use serde_json::json;

mod support;
use support::{mock_api, status_body};

const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/bazaar/leases/bazaar-operator";
const LEASES_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/bazaar/leases";

fn settings() -> LeaseSettings {
    LeaseSettings {
        namespace: "bazaar".into(),
        name: "bazaar-operator".into(),
        identity: "operator-0".into(),
        duration: Duration::from_secs(15),
    }
}

fn lease(holder: &str, renewed: Timestamp) -> serde_json::Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "bazaar-operator", "namespace": "bazaar", "resourceVersion": "41"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 15, "leaseTransitions": 1,
                 "acquireTime": "2026-06-01T00:00:00.000000Z", "renewTime": renewed.to_string()},
    })
}

#[tokio::test]
async fn the_first_replica_creates_the_lease_and_leads() {
    let (client, mut server) = mock_api();
    let api: Api<Lease> = Api::namespaced(client, "bazaar");
    let attempt = tokio::spawn(async move { try_hold(&api, &settings()).await });

    server
        .expect_with_status(
            Method::GET,
            LEASE_PATH,
            StatusCode::NOT_FOUND,
            status_body(404, "NotFound"),
        )
        .await;
    let created = server
        .expect(
            Method::POST,
            LEASES_PATH,
            lease("operator-0", Timestamp::now()),
        )
        .await;
    assert_eq!(created["metadata"]["name"], "bazaar-operator");
    assert_eq!(created["spec"]["holderIdentity"], "operator-0");
    assert_eq!(created["spec"]["leaseDurationSeconds"], 15);
    assert_eq!(created["spec"]["leaseTransitions"], 0);
    assert!(attempt.await.unwrap().unwrap(), "it leads");
}

#[tokio::test]
async fn a_replica_waits_while_another_holds_a_valid_lease() {
    let (client, mut server) = mock_api();
    let api: Api<Lease> = Api::namespaced(client, "bazaar");
    let attempt = tokio::spawn(async move { try_hold(&api, &settings()).await });

    server
        .expect(
            Method::GET,
            LEASE_PATH,
            lease("operator-1", Timestamp::now()),
        )
        .await;
    assert!(
        !attempt.await.unwrap().unwrap(),
        "it does not lead, and writes nothing"
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_with_the_resource_version_read() {
    let (client, mut server) = mock_api();
    let api: Api<Lease> = Api::namespaced(client, "bazaar");
    let attempt = tokio::spawn(async move { try_hold(&api, &settings()).await });

    let long_ago = Timestamp::from_second(1_700_000_000).unwrap();
    server
        .expect(Method::GET, LEASE_PATH, lease("operator-1", long_ago))
        .await;
    let replaced = server
        .expect(
            Method::PUT,
            LEASE_PATH,
            lease("operator-0", Timestamp::now()),
        )
        .await;
    assert_eq!(
        replaced["metadata"]["resourceVersion"], "41",
        "a concurrent writer makes the write fail"
    );
    assert_eq!(replaced["spec"]["holderIdentity"], "operator-0");
    assert_eq!(replaced["spec"]["leaseTransitions"], 2);
    assert!(attempt.await.unwrap().unwrap());
}

#[tokio::test]
async fn losing_the_race_to_another_replica_is_not_an_error() {
    let (client, mut server) = mock_api();
    let api: Api<Lease> = Api::namespaced(client, "bazaar");
    let attempt = tokio::spawn(async move { try_hold(&api, &settings()).await });

    let long_ago = Timestamp::from_second(1_700_000_000).unwrap();
    server
        .expect(Method::GET, LEASE_PATH, lease("operator-1", long_ago))
        .await;
    server
        .expect_with_status(
            Method::PUT,
            LEASE_PATH,
            StatusCode::CONFLICT,
            status_body(409, "Conflict"),
        )
        .await;
    assert!(!attempt.await.unwrap().unwrap(), "someone else was faster");
}
