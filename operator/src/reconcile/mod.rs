//! One reconciler for every kind: the finalizer first, then the projection into the catalog, the status
//! and the Events. What a resource should become in the catalog is decided by [`Merchandise::desired`]
//! (pure, per kind); this module performs the calls that follow from it.

mod kinds;
pub mod status;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bazaar_catalog::write::WriteError;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer::{self, finalizer};
use kube::runtime::reflector;
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::mapping::Rejection;
use crate::metrics::{Metrics, ReconcileResult};
use crate::projection::{CatalogObject, CatalogProjection, Kind, ObjectKey};
use crate::resources::{Product, ResourceStatus, Store};
use status::{Outcome, event_for, next_status, status_patch};

/// The finalizer that keeps a resource until its projection is removed from the catalog.
pub const FINALIZER: &str = "bazaar.dev/catalog-projection";

/// How often a projected resource is reconciled again without a change (heals drift in the catalog).
pub const RESYNC: Duration = Duration::from_secs(15 * 60);
/// How soon a rejected resource is looked at again: conflicts with other resources may have resolved, and a
/// reference to a resource applied in the same `kubectl apply` (a Fulfillment's Store) may have been checked
/// before that resource was projected. The Store watch re-triggers Fulfillments in most orders of events; this
/// covers the rest within seconds, not minutes (seen under load: a Fulfillment stuck `StoreNotFound` for the
/// two minutes this used to be). A rejected resource costs one catalog read per retry.
pub const RETRY_REJECTED: Duration = Duration::from_secs(10);
/// How soon a resource is looked at again when the finalizer could not be added because the watch cache
/// was behind (see [`reconcile`]).
pub const RETRY_STALE: Duration = Duration::from_secs(1);
/// Backoff after failures: doubling from the first to the last.
pub const BACKOFF_FIRST: Duration = Duration::from_secs(5);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);

/// What the catalog should hold for a resource.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub object: CatalogObject,
    /// The `Ready` message once projected, e.g. `4 variants in the catalog`.
    pub message: String,
    /// The status summary, e.g. the Stores a Fulfillment ships from.
    pub summary: Option<String>,
}

/// The other resources a reconciliation may look at (read from watch caches, never from the API).
#[derive(Clone)]
pub struct Lookups {
    pub stores: reflector::Store<Store>,
    pub products: reflector::Store<Product>,
}

impl Lookups {
    pub fn stores(&self) -> Vec<Store> {
        self.stores
            .state()
            .iter()
            .map(|store| (**store).clone())
            .collect()
    }

    pub fn products(&self) -> Vec<Product> {
        self.products
            .state()
            .iter()
            .map(|product| (**product).clone())
            .collect()
    }
}

/// A resource kind the operator projects.
pub trait Merchandise:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    const KIND: Kind;

    fn status(&self) -> Option<&ResourceStatus>;

    /// What the catalog should hold for this resource, or why it cannot.
    fn desired(&self, lookups: &Lookups) -> Result<Desired, Rejection>;
}

/// What every reconciliation shares.
pub struct Context<P> {
    pub client: Client,
    pub projection: P,
    pub recorder: Recorder,
    pub lookups: Lookups,
    pub metrics: Metrics,
    failures: Mutex<HashMap<ObjectKey, u32>>,
    /// One permit per catalog write that may run at once. Sized to the catalog pool, so that a burst
    /// (1,000 Products applied together) queues here, in order and without a deadline, instead of timing
    /// out on the pool and turning load alone into failed reconciliations and Warning events.
    projections: tokio::sync::Semaphore,
}

impl<P: CatalogProjection> Context<P> {
    pub fn new(
        client: Client,
        projection: P,
        recorder: Recorder,
        lookups: Lookups,
        metrics: Metrics,
        max_concurrent_projections: usize,
    ) -> Self {
        Context {
            client,
            projection,
            recorder,
            lookups,
            metrics,
            failures: Mutex::default(),
            projections: tokio::sync::Semaphore::new(max_concurrent_projections.max(1)),
        }
    }

    /// Waits for a turn to write to the catalog. The semaphore is never closed, so waiting cannot fail.
    async fn projection_turn(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.projections.acquire().await.ok()
    }

    /// Counts a failure of `key` and returns how long to wait before the next attempt.
    fn backoff(&self, key: ObjectKey) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let attempts = failures.entry(key).or_insert(0);
        *attempts = attempts.saturating_add(1);
        backoff_after(*attempts)
    }

    fn succeeded(&self, key: &ObjectKey) {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(key);
    }
}

/// The wait after `attempts` consecutive failures: 5 s, 10 s, 20 s, ... at most 5 minutes.
pub fn backoff_after(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(BACKOFF_MAX)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the catalog is unavailable: {0}")]
    Catalog(#[source] WriteError),
    #[error("Kubernetes API request failed: {0}")]
    Kube(#[source] kube::Error),
    #[error("{0}")]
    Finalizer(#[source] Box<finalizer::Error<Error>>),
    #[error("{0} has no namespace")]
    NoNamespace(String),
}

fn key_of<K: Merchandise>(resource: &K) -> ObjectKey {
    ObjectKey {
        kind: K::KIND,
        namespace: resource.namespace().unwrap_or_default(),
        name: resource.name_any(),
    }
}

/// Reconciles one resource: keeps the finalizer, projects it (or removes its projection when it is being
/// deleted), and reports the result in its status and Events.
pub async fn reconcile<K: Merchandise, P: CatalogProjection>(
    resource: Arc<K>,
    ctx: Arc<Context<P>>,
) -> Result<Action, Error> {
    let started = Instant::now();
    let key = key_of(&*resource);
    let namespace = resource
        .namespace()
        .ok_or_else(|| Error::NoNamespace(resource.name_any()))?;
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = match finalizer(&api, FINALIZER, resource, |event| async {
        match event {
            finalizer::Event::Apply(resource) => apply(&api, &*resource, &ctx).await,
            finalizer::Event::Cleanup(resource) => cleanup(&*resource, &ctx).await,
        }
    })
    .await
    {
        // Adding the finalizer is a JSON patch that first tests the finalizers as the watch cache shows
        // them. A reconciliation triggered by a related object (a Product for a Promotion, a Store for a
        // Fulfillment) can run on a copy from before our own finalizer patch came back through the watch:
        // the test fails and the API server answers 422 (or it refuses a finalizer on an object being
        // deleted). Nothing is wrong; the next attempt sees the current object.
        Err(finalizer::Error::AddFinalizer(kube::Error::Api(status)))
            if status.code == 422 || status.code == 409 =>
        {
            tracing::debug!(resource = %key, message = %status.message, "finalizers changed since the watch cache saw them; looking again");
            Ok(Action::requeue(RETRY_STALE))
        }
        other => other.map_err(|error| Error::Finalizer(Box::new(error))),
    };
    ctx.metrics.observe_duration(K::KIND, started.elapsed());
    match &result {
        Ok(_) => ctx.succeeded(&key),
        Err(_) => ctx.metrics.reconciled(K::KIND, ReconcileResult::Error),
    }
    result
}

/// After a failed reconciliation: try again later, waiting longer after each consecutive failure.
pub fn error_policy<K: Merchandise, P: CatalogProjection>(
    resource: Arc<K>,
    error: &Error,
    ctx: Arc<Context<P>>,
) -> Action {
    let key = key_of(&*resource);
    let wait = ctx.backoff(key.clone());
    tracing::warn!(resource = %key, %error, retry_in = ?wait, "reconciliation failed");
    Action::requeue(wait)
}

fn rejection_for(error: &WriteError) -> Rejection {
    let reason = match error {
        WriteError::Invalid { .. } => "InvalidSpec",
        WriteError::SkuOwnedByOtherProduct { .. } => "SkuConflict",
        WriteError::SlugTaken { .. } => "SlugConflict",
        WriteError::CouponCodeTaken { .. } => "CouponCodeConflict",
        WriteError::UnknownStore { .. } => "StoreNotInCatalog",
        _ => "CatalogUnavailable",
    };
    Rejection::new(reason, error.to_string())
}

/// Projects `resource` into the catalog: what it should become (pure, per kind), then the write. A
/// rejection is an outcome; only a catalog that cannot be reached is an error. This is all the operator
/// does with a resource apart from Kubernetes API calls (and what `offline` runs without a cluster).
pub async fn project<K: Merchandise, P: CatalogProjection>(
    resource: &K,
    lookups: &Lookups,
    projection: &P,
) -> Result<Outcome, WriteError> {
    let desired = match resource.desired(lookups) {
        Ok(desired) => desired,
        Err(rejection) => {
            return Ok(Outcome::Rejected {
                rejection,
                summary: None,
            });
        }
    };
    match projection.apply(&desired.object).await {
        Ok(applied) => Ok(Outcome::Projected {
            changed: applied.changed(),
            message: desired.message,
            summary: desired.summary,
        }),
        Err(error) if error.is_transient() => Err(error),
        Err(error) => Ok(Outcome::Rejected {
            rejection: rejection_for(&error),
            summary: desired.summary,
        }),
    }
}

async fn apply<K: Merchandise, P: CatalogProjection>(
    api: &Api<K>,
    resource: &K,
    ctx: &Context<P>,
) -> Result<Action, Error> {
    let outcome = {
        let _turn = ctx.projection_turn().await;
        project(resource, &ctx.lookups, &ctx.projection)
            .await
            .map_err(Error::Catalog)?
    };

    let previous = resource.status();
    let status = next_status(
        previous,
        resource.meta().generation,
        &outcome,
        Time(Timestamp::now()),
    );
    if previous != Some(&status) {
        api.patch_status(
            &resource.name_any(),
            &PatchParams::default(),
            &Patch::Merge(status_patch(&status)),
        )
        .await
        .map_err(Error::Kube)?;
    }
    if let Some(event) = event_for(previous, &outcome) {
        publish(ctx, resource, &event).await;
    }

    let key = key_of(resource);
    ctx.metrics.set_ready(key.clone(), outcome.is_projected());
    if outcome.is_projected() {
        ctx.metrics.reconciled(K::KIND, ReconcileResult::Projected);
        tracing::debug!(resource = %key, "projected");
        Ok(Action::requeue(RESYNC))
    } else {
        ctx.metrics.reconciled(K::KIND, ReconcileResult::Rejected);
        tracing::info!(resource = %key, ?outcome, "rejected");
        Ok(Action::requeue(RETRY_REJECTED))
    }
}

async fn cleanup<K: Merchandise, P: CatalogProjection>(
    resource: &K,
    ctx: &Context<P>,
) -> Result<Action, Error> {
    let key = key_of(resource);
    {
        let _turn = ctx.projection_turn().await;
        ctx.projection.remove(&key).await.map_err(Error::Catalog)?;
    }
    let event = Event {
        type_: EventType::Normal,
        reason: "Removed".to_owned(),
        note: Some(format!("{} removed from the catalog", K::KIND)),
        action: "Remove".to_owned(),
        secondary: None,
    };
    publish(ctx, resource, &event).await;
    ctx.metrics.forget(&key);
    ctx.metrics.reconciled(K::KIND, ReconcileResult::Removed);
    Ok(Action::await_change())
}

/// Records an Event. Events are for people; failing to record one does not fail the reconciliation.
async fn publish<K: Merchandise, P>(ctx: &Context<P>, resource: &K, event: &Event) {
    if let Err(error) = ctx.recorder.publish(event, &resource.object_ref(&())).await {
        tracing::warn!(resource = %key_of(resource), %error, reason = %event.reason, "cannot record event");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_five_seconds_up_to_five_minutes() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff_after(n).as_secs()).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(backoff_after(u32::MAX), BACKOFF_MAX);
    }
}
