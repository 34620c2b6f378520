//! The operator's Prometheus metrics: reconciliations by kind and result, their durations, how many
//! resources of each kind are Ready, and whether this replica leads (holds the lease and reconciles).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::projection::{Kind, ObjectKey};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    reconciliations: IntCounterVec,
    duration: HistogramVec,
    resources: IntGaugeVec,
    leader: IntGauge,
    ready: Arc<Mutex<HashMap<ObjectKey, bool>>>,
}

/// How a reconciliation ended, as the `result` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileResult {
    /// The catalog holds the resource.
    Projected,
    /// The resource cannot be projected as it stands (see its Ready condition).
    Rejected,
    /// The resource was deleted and its projection removed.
    Removed,
    /// Something failed (catalog or API server); retried with backoff.
    Error,
}

impl ReconcileResult {
    fn as_str(self) -> &'static str {
        match self {
            ReconcileResult::Projected => "projected",
            ReconcileResult::Rejected => "rejected",
            ReconcileResult::Removed => "removed",
            ReconcileResult::Error => "error",
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let reconciliations = IntCounterVec::new(
            Opts::new(
                "bazaar_operator_reconciliations_total",
                "Reconciliations by kind and result.",
            ),
            &["kind", "result"],
        )
        .expect("valid metric definition");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "bazaar_operator_reconcile_duration_seconds",
                "Time one reconciliation takes.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["kind"],
        )
        .expect("valid metric definition");
        let resources = IntGaugeVec::new(
            Opts::new(
                "bazaar_operator_resources",
                "Resources the operator reconciled, by kind and Ready state.",
            ),
            &["kind", "ready"],
        )
        .expect("valid metric definition");
        let leader = IntGauge::new(
            "bazaar_operator_leader",
            "1 while this replica holds the leader lease and reconciles, else 0.",
        )
        .expect("valid metric definition");
        for collector in [
            Box::new(reconciliations.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(resources.clone()),
            Box::new(leader.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        for kind in Kind::ALL {
            for ready in ["true", "false"] {
                resources.with_label_values(&[kind.as_str(), ready]).set(0);
            }
        }
        Metrics {
            registry,
            reconciliations,
            duration,
            resources,
            leader,
            ready: Arc::default(),
        }
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    pub fn reconciled(&self, kind: Kind, result: ReconcileResult) {
        self.reconciliations
            .with_label_values(&[kind.as_str(), result.as_str()])
            .inc();
    }

    pub fn observe_duration(&self, kind: Kind, elapsed: Duration) {
        self.duration
            .with_label_values(&[kind.as_str()])
            .observe(elapsed.as_secs_f64());
    }

    /// Records whether a resource is Ready.
    pub fn set_ready(&self, key: ObjectKey, ready: bool) {
        let kind = key.kind;
        let mut states = self
            .ready
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        states.insert(key, ready);
        self.refresh(kind, &states);
    }

    /// Forgets a deleted resource.
    pub fn forget(&self, key: &ObjectKey) {
        let mut states = self
            .ready
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        states.remove(key);
        self.refresh(key.kind, &states);
    }

    fn refresh(&self, kind: Kind, states: &HashMap<ObjectKey, bool>) {
        let ready = states
            .iter()
            .filter(|(key, ready)| key.kind == kind && **ready)
            .count();
        let unready = states
            .iter()
            .filter(|(key, ready)| key.kind == kind && !**ready)
            .count();
        let gauge = |label: &str, count: usize| {
            self.resources
                .with_label_values(&[kind.as_str(), label])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        };
        gauge("true", ready);
        gauge("false", unready);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kind: Kind, name: &str) -> ObjectKey {
        ObjectKey {
            kind,
            namespace: "shop".into(),
            name: name.into(),
        }
    }

    #[test]
    fn leadership_is_exported_as_one_or_zero() {
        let metrics = Metrics::new();
        assert!(metrics.render().contains("bazaar_operator_leader 0\n"));
        metrics.set_leader(true);
        assert!(metrics.render().contains("bazaar_operator_leader 1\n"));
        metrics.set_leader(false);
        assert!(metrics.render().contains("bazaar_operator_leader 0\n"));
    }

    #[test]
    fn resources_are_counted_by_ready_state_and_forgotten_when_deleted() {
        let metrics = Metrics::new();
        metrics.set_ready(key(Kind::Product, "a"), true);
        metrics.set_ready(key(Kind::Product, "b"), false);
        metrics.set_ready(key(Kind::Product, "b"), true);
        metrics.set_ready(key(Kind::Store, "s"), false);
        let text = metrics.render();
        assert!(
            text.contains(r#"bazaar_operator_resources{kind="Product",ready="true"} 2"#),
            "{text}"
        );
        assert!(
            text.contains(r#"bazaar_operator_resources{kind="Product",ready="false"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"bazaar_operator_resources{kind="Store",ready="false"} 1"#),
            "{text}"
        );
        metrics.forget(&key(Kind::Product, "a"));
        assert!(
            metrics
                .render()
                .contains(r#"bazaar_operator_resources{kind="Product",ready="true"} 1"#)
        );
    }

    #[test]
    fn reconciliations_are_counted_by_kind_and_result() {
        let metrics = Metrics::new();
        metrics.reconciled(Kind::Promotion, ReconcileResult::Rejected);
        metrics.observe_duration(Kind::Promotion, Duration::from_millis(20));
        let text = metrics.render();
        assert!(text.contains(
            r#"bazaar_operator_reconciliations_total{kind="Promotion",result="rejected"} 1"#
        ));
        assert!(
            text.contains(
                r#"bazaar_operator_reconcile_duration_seconds_count{kind="Promotion"} 1"#
            )
        );
    }
}
