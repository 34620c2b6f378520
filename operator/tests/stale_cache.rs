//! A reconciliation that runs on a copy from the watch cache older than the operator's own finalizer
//! patch: the finalizer patch tests the finalizers it saw, the API server refuses it (422), and that is
//! no failure. Found by `tests/operator_cluster.rs` against a real API server, where a Promotion
//! reconciled because of a Product change raced its own finalizer patch.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use bazaar_catalog::write::{Applied, Removed, WriteError};
use bazaar_operator::metrics::Metrics;
use bazaar_operator::projection::{CatalogObject, CatalogProjection, ObjectKey};
use bazaar_operator::reconcile::{self, Context, FINALIZER, Lookups, RETRY_STALE};
use bazaar_operator::resources::{Product, Store};
use http::{Method, StatusCode};
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector;
use serde_json::json;

mod support;

/// A catalog that only records what reaches it.
#[derive(Clone, Default)]
struct RecordingCatalog(Arc<Mutex<Vec<String>>>);

impl CatalogProjection for RecordingCatalog {
    async fn apply(&self, object: &CatalogObject) -> Result<Applied, WriteError> {
        self.0.lock().unwrap().push(format!("apply {object:?}"));
        Ok(Applied::Created)
    }

    async fn remove(&self, key: &ObjectKey) -> Result<Removed, WriteError> {
        self.0.lock().unwrap().push(format!("remove {key}"));
        Ok(Removed::Deleted)
    }
}

#[tokio::test]
async fn a_finalizer_patch_refused_because_the_cache_was_behind_is_retried_soon_and_is_no_failure()
{
    let (client, mut api) = support::mock_api();
    let catalog = RecordingCatalog::default();
    let metrics = Metrics::new();
    let (stores, _) = reflector::store::<Store>();
    let (products, _) = reflector::store::<Product>();
    let ctx = Arc::new(Context::new(
        client.clone(),
        catalog.clone(),
        Recorder::new(
            client,
            Reporter {
                controller: "bazaar-operator".into(),
                instance: None,
            },
        ),
        Lookups { stores, products },
        metrics.clone(),
        2,
    ));
    // As the cache shows it: no finalizer yet (the API server's copy has it already).
    let stale: Product = serde_json::from_value(json!({
        "apiVersion": "bazaar.dev/v1alpha1", "kind": "Product",
        "metadata": {"name": "steel-bottle", "namespace": "shop", "uid": "7c1d", "generation": 1},
        "spec": {
            "title": "Steel Bottle", "category": "equipment/hydration", "lifecycle": "Active",
            "variants": [{"sku": "SB-750", "prices": {"USD": "29.00"}}],
        },
    }))
    .unwrap();
    let reconciling = tokio::spawn(reconcile::reconcile(Arc::new(stale), ctx.clone()));

    let patch = api
        .expect_with_status(
            Method::PATCH,
            "/apis/bazaar.dev/v1alpha1/namespaces/shop/products/steel-bottle",
            StatusCode::UNPROCESSABLE_ENTITY,
            support::status_body(422, "Invalid"),
        )
        .await;
    assert_eq!(
        patch,
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ])
    );
    assert_eq!(
        reconciling.await.unwrap().unwrap(),
        Action::requeue(RETRY_STALE),
        "looked at again soon, without the failure backoff"
    );
    assert!(catalog.0.lock().unwrap().is_empty(), "nothing projected");
    let text = metrics.render();
    assert!(
        !text.contains(r#"result="error"} 1"#),
        "not counted as a failed reconciliation:\n{text}"
    );
}

#[tokio::test]
async fn any_other_refusal_of_the_finalizer_patch_is_a_failure() {
    let (client, mut api) = support::mock_api();
    let (stores, _) = reflector::store::<Store>();
    let (products, _) = reflector::store::<Product>();
    let ctx = Arc::new(Context::new(
        client.clone(),
        RecordingCatalog::default(),
        Recorder::new(
            client,
            Reporter {
                controller: "bazaar-operator".into(),
                instance: None,
            },
        ),
        Lookups { stores, products },
        Metrics::new(),
        2,
    ));
    let product: Product = serde_json::from_value(json!({
        "apiVersion": "bazaar.dev/v1alpha1", "kind": "Product",
        "metadata": {"name": "steel-bottle", "namespace": "shop", "uid": "7c1d", "generation": 1},
        "spec": {
            "title": "Steel Bottle", "category": "equipment/hydration",
            "variants": [{"sku": "SB-750", "prices": {"USD": "29.00"}}],
        },
    }))
    .unwrap();
    let reconciling = tokio::spawn(reconcile::reconcile(Arc::new(product), ctx));
    api.expect_with_status(
        Method::PATCH,
        "/apis/bazaar.dev/v1alpha1/namespaces/shop/products/steel-bottle",
        StatusCode::FORBIDDEN,
        support::status_body(403, "Forbidden"),
    )
    .await;
    assert!(reconciling.await.unwrap().is_err());
}
