//! Reconciliation against a mock Kubernetes API server: each test states the exact requests the operator
//! makes (finalizer patches, status patches, Events) and what reaches the catalog.

#![allow(clippy::unwrap_used)] // a test: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bazaar_catalog::write::{Applied, Removed, WriteError};
use bazaar_operator::metrics::Metrics;
use bazaar_operator::projection::{CatalogObject, CatalogProjection, Kind, ObjectKey};
use bazaar_operator::reconcile::{
    self, Context, Error, FINALIZER, Lookups, RESYNC, RETRY_REJECTED,
};
use bazaar_operator::resources::{Fulfillment, Product, Store};
use http::Method;
use kube::Resource;
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{reflector, watcher};
use serde_json::{Value, json};

mod support;
use support::ApiServer;

// ---------------------------------------------------------------------------------------------------------
// The catalog, replaced by a recording fake.

#[derive(Clone, Default)]
struct FakeCatalog(Arc<Recorded>);

impl std::ops::Deref for FakeCatalog {
    type Target = Recorded;
    fn deref(&self) -> &Recorded {
        &self.0
    }
}

#[derive(Default)]
struct Recorded {
    applied: Mutex<Vec<CatalogObject>>,
    removed: Mutex<Vec<ObjectKey>>,
    /// What the next `apply` or `remove` answers; `Ok(Created)` / `Ok(Deleted)` when unset.
    next_apply: Mutex<Option<Result<Applied, WriteError>>>,
    next_remove: Mutex<Option<Result<Removed, WriteError>>>,
}

impl CatalogProjection for FakeCatalog {
    async fn apply(&self, object: &CatalogObject) -> Result<Applied, WriteError> {
        self.applied.lock().unwrap().push(object.clone());
        self.next_apply
            .lock()
            .unwrap()
            .take()
            .unwrap_or(Ok(Applied::Created))
    }

    async fn remove(&self, key: &ObjectKey) -> Result<Removed, WriteError> {
        self.removed.lock().unwrap().push(key.clone());
        self.next_remove
            .lock()
            .unwrap()
            .take()
            .unwrap_or(Ok(Removed::Deleted))
    }
}

fn catalog_outage() -> WriteError {
    WriteError::Database(sqlx::Error::PoolTimedOut)
}

struct Harness {
    api: ApiServer,
    catalog: FakeCatalog,
    ctx: Arc<Context<FakeCatalog>>,
    stores: reflector::store::Writer<Store>,
}

fn harness() -> Harness {
    let (client, api) = support::mock_api();
    let catalog = FakeCatalog::default();
    let (stores_reader, stores) = reflector::store::<Store>();
    let (products_reader, _products) = reflector::store::<Product>();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "bazaar-operator".into(),
            instance: None,
        },
    );
    let lookups = Lookups {
        stores: stores_reader,
        products: products_reader,
    };
    let ctx = Arc::new(Context::new(
        client,
        catalog.clone(),
        recorder,
        lookups,
        Metrics::new(),
        4,
    ));
    Harness {
        api,
        catalog,
        ctx,
        stores,
    }
}

const PRODUCT_PATH: &str = "/apis/bazaar.dev/v1alpha1/namespaces/shop/products/trail-runner";
const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/shop/events";

fn trail_runner(extra_metadata: Value, status: Value) -> Product {
    let mut metadata = json!({
        "name": "trail-runner", "namespace": "shop", "uid": "0b8f7a2e-1", "generation": 2,
        "labels": {"collection": "summer"},
    });
    metadata
        .as_object_mut()
        .unwrap()
        .extend(extra_metadata.as_object().unwrap().clone());
    serde_json::from_value(json!({
        "apiVersion": "bazaar.dev/v1alpha1", "kind": "Product", "metadata": metadata,
        "spec": {
            "title": "Trail Runner", "category": "footwear/running", "lifecycle": "Active",
            "variants": [
                {"sku": "TR-42", "options": {"size": "42"}, "prices": {"USD": "129.00"}},
                {"sku": "TR-43", "options": {"size": "43"}, "prices": {"USD": "129.00"}},
            ],
        },
        "status": status,
    }))
    .expect("a valid Product")
}

fn with_finalizer() -> Value {
    json!({"finalizers": [FINALIZER]})
}

fn ready_status(generation: i64) -> Value {
    json!({
        "observedGeneration": generation,
        "conditions": [{
            "type": "Ready", "status": "True", "reason": "Projected",
            "message": "Active with 2 variants in the catalog", "observedGeneration": generation,
            "lastTransitionTime": "2026-06-01T00:00:00Z",
        }],
    })
}

/// The status a patch sent, without the condition's transition time (which is "now").
fn status_without_times(patch: &Value) -> Value {
    let mut status = patch["status"].clone();
    for condition in status["conditions"].as_array_mut().expect("conditions") {
        assert!(
            condition["lastTransitionTime"].is_string(),
            "conditions carry a transition time"
        );
        condition
            .as_object_mut()
            .unwrap()
            .remove("lastTransitionTime");
    }
    status
}

/// The fields of an Event that a person reads.
fn event_summary(event: &Value) -> Value {
    json!({
        "type": event["type"], "reason": event["reason"], "note": event["note"], "action": event["action"],
        "regarding": {"kind": event["regarding"]["kind"], "name": event["regarding"]["name"]},
        "reportingController": event["reportingController"],
    })
}

async fn reconcile_in_background<K: reconcile::Merchandise>(
    resource: K,
    ctx: &Arc<Context<FakeCatalog>>,
) -> tokio::task::JoinHandle<Result<Action, Error>> {
    tokio::spawn(reconcile::reconcile(Arc::new(resource), ctx.clone()))
}

// ---------------------------------------------------------------------------------------------------------
// Products

#[tokio::test]
async fn a_new_product_first_gets_the_finalizer_and_nothing_else() {
    let Harness {
        mut api,
        catalog,
        ctx,
        ..
    } = harness();
    let product = trail_runner(json!({}), Value::Null);
    let reconciling = reconcile_in_background(product.clone(), &ctx).await;

    let patch = api
        .expect(
            Method::PATCH,
            PRODUCT_PATH,
            serde_json::to_value(&product).unwrap(),
        )
        .await;
    assert_eq!(
        patch,
        json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
        ])
    );
    assert_eq!(reconciling.await.unwrap().unwrap(), Action::await_change());
    assert!(
        catalog.applied.lock().unwrap().is_empty(),
        "nothing is projected before the finalizer is on"
    );
}

#[tokio::test]
async fn a_product_is_projected_then_reported_ready_with_an_event() {
    let Harness {
        mut api,
        catalog,
        ctx,
        ..
    } = harness();
    let product = trail_runner(with_finalizer(), Value::Null);
    let reconciling = reconcile_in_background(product.clone(), &ctx).await;

    let patch = api
        .expect(
            Method::PATCH,
            &format!("{PRODUCT_PATH}/status"),
            serde_json::to_value(&product).unwrap(),
        )
        .await;
    assert_eq!(
        status_without_times(&patch),
        json!({
            "observedGeneration": 2,
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "Projected",
                "message": "Active with 2 variants in the catalog", "observedGeneration": 2,
            }],
            "summary": null,
        })
    );
    let event = api.expect(Method::POST, EVENTS_PATH, json!({})).await;
    assert_eq!(
        event_summary(&event),
        json!({
            "type": "Normal", "reason": "Projected", "note": "Active with 2 variants in the catalog",
            "action": "Project", "regarding": {"kind": "Product", "name": "trail-runner"},
            "reportingController": "bazaar-operator",
        })
    );
    assert_eq!(reconciling.await.unwrap().unwrap(), Action::requeue(RESYNC));

    let applied = catalog.applied.lock().unwrap();
    let [CatalogObject::Product(projected)] = applied.as_slice() else {
        panic!("one product projected, got {applied:?}");
    };
    assert_eq!(
        (projected.namespace.as_str(), projected.slug.as_str()),
        ("shop", "trail-runner")
    );
    assert_eq!(
        projected.labels.get("collection").map(String::as_str),
        Some("summer")
    );
    let prices: Vec<i64> = projected
        .variants
        .iter()
        .map(|v| v.prices[0].minor())
        .collect();
    assert_eq!(
        prices,
        [12900, 12900],
        "prices reach the catalog in minor units"
    );
}

#[tokio::test]
async fn reconciling_an_unchanged_product_makes_no_request() {
    let Harness { catalog, ctx, .. } = harness();
    *catalog.next_apply.lock().unwrap() = Some(Ok(Applied::Unchanged));
    let product = trail_runner(with_finalizer(), ready_status(2));
    // A request would wait forever for the (silent) mock server; finishing proves none was made.
    let action = tokio::time::timeout(
        Duration::from_secs(5),
        reconcile::reconcile(Arc::new(product), ctx),
    )
    .await
    .expect("no API request")
    .unwrap();
    assert_eq!(action, Action::requeue(RESYNC));
    assert_eq!(
        catalog.applied.lock().unwrap().len(),
        1,
        "the projection is still checked"
    );
}

#[tokio::test]
async fn a_sku_owned_by_another_product_is_reported_with_a_warning() {
    let Harness {
        mut api,
        catalog,
        ctx,
        ..
    } = harness();
    *catalog.next_apply.lock().unwrap() = Some(Err(WriteError::SkuOwnedByOtherProduct {
        sku: "TR-42".parse().unwrap(),
        owner: "shop/road-runner".into(),
    }));
    let product = trail_runner(with_finalizer(), ready_status(1));
    let reconciling = reconcile_in_background(product.clone(), &ctx).await;

    let message = "SKU TR-42 already belongs to Product shop/road-runner; remove it there first or choose another SKU";
    let patch = api
        .expect(
            Method::PATCH,
            &format!("{PRODUCT_PATH}/status"),
            serde_json::to_value(&product).unwrap(),
        )
        .await;
    assert_eq!(
        status_without_times(&patch),
        json!({
            "observedGeneration": 2,
            "conditions": [{
                "type": "Ready", "status": "False", "reason": "SkuConflict", "message": message,
                "observedGeneration": 2,
            }],
            "summary": null,
        })
    );
    let event = api.expect(Method::POST, EVENTS_PATH, json!({})).await;
    assert_eq!(
        (&event["type"], &event["reason"], &event["note"]),
        (&json!("Warning"), &json!("SkuConflict"), &json!(message))
    );
    assert_eq!(
        reconciling.await.unwrap().unwrap(),
        Action::requeue(RETRY_REJECTED)
    );
}

#[tokio::test]
async fn a_catalog_outage_changes_no_status_and_retries_with_growing_backoff() {
    let Harness { catalog, ctx, .. } = harness();
    let product = Arc::new(trail_runner(with_finalizer(), ready_status(2)));

    let mut waits = Vec::new();
    for _ in 0..3 {
        *catalog.next_apply.lock().unwrap() = Some(Err(catalog_outage()));
        let error = tokio::time::timeout(
            Duration::from_secs(5),
            reconcile::reconcile(product.clone(), ctx.clone()),
        )
        .await
        .expect("no API request")
        .expect_err("an outage fails the reconciliation");
        assert!(
            error.to_string().contains("the catalog is unavailable"),
            "{error}"
        );
        waits.push(reconcile::error_policy(
            product.clone(),
            &error,
            ctx.clone(),
        ));
    }
    assert_eq!(
        waits,
        [5, 10, 20].map(|secs| Action::requeue(Duration::from_secs(secs))),
        "each failure waits twice as long"
    );

    // A success resets the backoff.
    *catalog.next_apply.lock().unwrap() = Some(Ok(Applied::Unchanged));
    tokio::time::timeout(
        Duration::from_secs(5),
        reconcile::reconcile(product.clone(), ctx.clone()),
    )
    .await
    .expect("no API request")
    .unwrap();
    let error = Error::NoNamespace("x".into());
    assert_eq!(
        reconcile::error_policy(product, &error, ctx),
        Action::requeue(Duration::from_secs(5))
    );
}

#[tokio::test]
async fn a_deleted_product_leaves_the_catalog_before_its_finalizer_is_removed() {
    let Harness {
        mut api,
        catalog,
        ctx,
        ..
    } = harness();
    let product = trail_runner(
        json!({"finalizers": ["other.example/keep", FINALIZER], "deletionTimestamp": "2026-06-02T00:00:00Z"}),
        ready_status(2),
    );
    let reconciling = reconcile_in_background(product.clone(), &ctx).await;

    let event = api.expect(Method::POST, EVENTS_PATH, json!({})).await;
    assert_eq!(
        (&event["type"], &event["reason"], &event["note"]),
        (
            &json!("Normal"),
            &json!("Removed"),
            &json!("Product removed from the catalog")
        )
    );
    let patch = api
        .expect(
            Method::PATCH,
            PRODUCT_PATH,
            serde_json::to_value(&product).unwrap(),
        )
        .await;
    assert_eq!(
        patch,
        json!([
            {"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
            {"op": "remove", "path": "/metadata/finalizers/1"},
        ]),
        "only our finalizer is removed"
    );
    assert_eq!(reconciling.await.unwrap().unwrap(), Action::await_change());
    assert_eq!(
        *catalog.removed.lock().unwrap(),
        [ObjectKey {
            kind: Kind::Product,
            namespace: "shop".into(),
            name: "trail-runner".into()
        }]
    );
}

#[tokio::test]
async fn a_deleted_product_keeps_its_finalizer_while_the_catalog_is_down() {
    let Harness { catalog, ctx, .. } = harness();
    *catalog.next_remove.lock().unwrap() = Some(Err(catalog_outage()));
    let product = trail_runner(
        json!({"finalizers": [FINALIZER], "deletionTimestamp": "2026-06-02T00:00:00Z"}),
        ready_status(2),
    );
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        reconcile::reconcile(Arc::new(product), ctx),
    )
    .await
    .expect("no API request: the finalizer stays");
    assert!(result.is_err());
    assert_eq!(catalog.removed.lock().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------------------------
// Fulfillments: sources resolve against the Stores in the watch cache.

const FULFILLMENT_PATH: &str = "/apis/bazaar.dev/v1alpha1/namespaces/shop/fulfillments/us-domestic";

fn us_domestic() -> Fulfillment {
    serde_json::from_value(json!({
        "apiVersion": "bazaar.dev/v1alpha1", "kind": "Fulfillment",
        "metadata": {"name": "us-domestic", "namespace": "shop", "generation": 1, "finalizers": [FINALIZER]},
        "spec": {
            "zones": [{"countries": ["US"]}],
            "sources": {"storeSelector": {"matchLabels": {"ships": "true"}}},
            "methods": [{"code": "standard", "name": "Standard", "rates": {"USD": "4.99"},
                         "deliveryDays": {"min": 3, "max": 5}}],
        },
    }))
    .expect("a valid Fulfillment")
}

fn store(name: &str, namespace: &str, labels: Value) -> Store {
    serde_json::from_value(json!({
        "apiVersion": "bazaar.dev/v1alpha1", "kind": "Store",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "displayName": name, "type": "Warehouse",
            "address": {"lines": ["1 Main St"], "city": "Reno", "country": "US"},
            "location": {"lat": 39.5, "lon": -119.8}, "timeZone": "America/Los_Angeles",
        },
    }))
    .expect("a valid Store")
}

#[tokio::test]
async fn a_fulfillment_that_selects_no_store_is_not_ready_and_says_what_to_do() {
    let Harness {
        mut api,
        catalog,
        ctx,
        mut stores,
    } = harness();
    stores.apply_watcher_event(&watcher::Event::Apply(store(
        "unlabelled",
        "shop",
        json!({}),
    )));
    stores.apply_watcher_event(&watcher::Event::Apply(store(
        "elsewhere",
        "other",
        json!({"ships": "true"}),
    )));
    let fulfillment = us_domestic();
    let reconciling = reconcile_in_background(fulfillment.clone(), &ctx).await;

    let patch = api
        .expect(
            Method::PATCH,
            &format!("{FULFILLMENT_PATH}/status"),
            serde_json::to_value(&fulfillment).unwrap(),
        )
        .await;
    let status = status_without_times(&patch);
    assert_eq!(status["conditions"][0]["status"], "False");
    assert_eq!(status["conditions"][0]["reason"], "NoStoreSelected");
    assert_eq!(
        status["conditions"][0]["message"],
        "sources.storeSelector selects no active Store in namespace shop; label a Store to match or change the selector"
    );
    let event = api.expect(Method::POST, EVENTS_PATH, json!({})).await;
    assert_eq!(
        (&event["type"], &event["reason"]),
        (&json!("Warning"), &json!("NoStoreSelected"))
    );
    assert_eq!(
        reconciling.await.unwrap().unwrap(),
        Action::requeue(RETRY_REJECTED)
    );
    assert!(
        catalog.applied.lock().unwrap().is_empty(),
        "nothing reaches the catalog"
    );
}

#[tokio::test]
async fn a_fulfillment_ships_from_the_stores_its_selector_matches() {
    let Harness {
        mut api,
        catalog,
        ctx,
        mut stores,
    } = harness();
    for name in ["reno", "downtown"] {
        stores.apply_watcher_event(&watcher::Event::Apply(store(
            name,
            "shop",
            json!({"ships": "true"}),
        )));
    }
    stores.apply_watcher_event(&watcher::Event::Apply(store("brooklyn", "shop", json!({}))));
    let fulfillment = us_domestic();
    let reconciling = reconcile_in_background(fulfillment.clone(), &ctx).await;

    let patch = api
        .expect(
            Method::PATCH,
            &format!("{FULFILLMENT_PATH}/status"),
            serde_json::to_value(&fulfillment).unwrap(),
        )
        .await;
    assert_eq!(
        patch["status"]["summary"], "US; standard; from downtown, reno",
        "every destination, method and source, for `kubectl get`"
    );
    assert_eq!(
        patch["status"]["conditions"][0]["message"],
        "ships from downtown, reno"
    );
    api.expect(Method::POST, EVENTS_PATH, json!({})).await;
    reconciling.await.unwrap().unwrap();
    let applied = catalog.applied.lock().unwrap();
    let [CatalogObject::Fulfillment(projected)] = applied.as_slice() else {
        panic!("one fulfillment projected, got {applied:?}");
    };
    assert_eq!(projected.source_stores, ["downtown", "reno"]);
    assert_eq!(projected.methods[0].rates[0].minor(), 499);
}

#[test]
fn the_finalizer_is_namespaced_to_bazaar() {
    assert_eq!(FINALIZER, "bazaar.dev/catalog-projection");
    assert_eq!(Product::kind(&()), "Product");
}
