//! Prometheus metrics: one registry per process, holding the families every component shares (RED metrics
//! per route, outbox and consumer metrics). Components register their business metrics in the same registry.

use std::sync::Arc;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Latency buckets (seconds) fit for API calls and event handlers alike.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Cheap to clone; every clone records into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Families>);

pub struct Families {
    registry: Registry,
    /// Requests by method, matched route and status code.
    pub http_requests: IntCounterVec,
    /// Request latency by method and matched route.
    pub http_duration: HistogramVec,
    /// Outbox rows not yet published, by component.
    pub outbox_backlog: IntGaugeVec,
    /// Outbox rows published, by component and topic.
    pub outbox_published: IntCounterVec,
    /// Failed publish attempts, by component.
    pub outbox_publish_failures: IntCounterVec,
    /// Messages consumed, by consumer, topic and outcome (`processed`, `duplicate`, `dead_lettered`).
    pub consumed: IntCounterVec,
    /// Messages parked in a dead-letter topic, by consumer, original topic and reason (`undecodable`,
    /// `rejected` by the handler, `retries_exhausted`).
    pub dead_lettered: IntCounterVec,
    /// Handler latency by consumer, including the inbox transaction.
    pub handler_duration: HistogramVec,
    /// Whether the last `/readyz` check of a dependency (`postgres:<component>`, `kafka`) succeeded: 1 or 0.
    pub dependency_up: IntGaugeVec,
    /// Unix time this process started (a change means a restart).
    pub process_start_time: prometheus::IntGauge,
    /// Handler attempts that failed, by consumer.
    pub handler_failures: IntCounterVec,
    /// Messages behind the partition end, by consumer, topic and partition.
    pub consumer_lag: IntGaugeVec,
    /// Requests answered 503 because a bounded resource was exhausted, by route and resource (`db_pool`,
    /// `password_hashing`, `checkout_backlog`, ...).
    pub http_shed: IntCounterVec,
    /// Database connections per component pool: `in_use`, `idle` and `max` (refreshed at each scrape).
    pub db_pool_connections: IntGaugeVec,
    /// Work admitted through a [`Gate`](crate::overload::Gate) and running now, by gate.
    pub gate_in_use: IntGaugeVec,
    /// The most work a gate has run at once since the process started, by gate.
    pub gate_in_use_peak: IntGaugeVec,
    /// Requests queued at a gate for a permit, by gate.
    pub gate_waiting: IntGaugeVec,
    /// Permits of a gate (how much work it runs at once), by gate.
    pub gate_capacity: IntGaugeVec,
    /// Requests a gate turned away (queue full or waited too long), by gate.
    pub gate_rejected: IntCounterVec,
    /// Time spent waiting for a gate's permit, by gate (admitted requests only).
    pub gate_wait: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let families = Families {
            http_requests: counter(
                &registry,
                "bazaar_http_requests_total",
                "HTTP requests by method, route and status",
                &["method", "route", "status"],
            ),
            http_duration: histogram(
                &registry,
                "bazaar_http_request_duration_seconds",
                "HTTP request latency by method and route",
                &["method", "route"],
            ),
            outbox_backlog: gauge(
                &registry,
                "bazaar_outbox_backlog",
                "Outbox rows not yet published",
                &["component"],
            ),
            outbox_published: counter(
                &registry,
                "bazaar_outbox_published_total",
                "Outbox rows published to Kafka",
                &["component", "topic"],
            ),
            outbox_publish_failures: counter(
                &registry,
                "bazaar_outbox_publish_failures_total",
                "Outbox publish attempts that failed",
                &["component"],
            ),
            consumed: counter(
                &registry,
                "bazaar_kafka_consumed_total",
                "Kafka messages consumed by outcome",
                &["consumer", "topic", "outcome"],
            ),
            dead_lettered: counter(
                &registry,
                "bazaar_kafka_dead_lettered_total",
                "Messages parked in the dead-letter topic, by original topic and reason",
                &["consumer", "topic", "reason"],
            ),
            handler_duration: histogram(
                &registry,
                "bazaar_kafka_handler_duration_seconds",
                "Event handler latency, inbox transaction included",
                &["consumer"],
            ),
            dependency_up: gauge(
                &registry,
                "bazaar_dependency_up",
                "Whether the last readiness check of a dependency succeeded (1) or not (0)",
                &["dependency"],
            ),
            process_start_time: start_time(&registry),
            handler_failures: counter(
                &registry,
                "bazaar_kafka_handler_failures_total",
                "Event handler attempts that failed",
                &["consumer"],
            ),
            consumer_lag: gauge(
                &registry,
                "bazaar_kafka_consumer_lag",
                "Messages between a consumer's position and the partition end",
                &["consumer", "topic", "partition"],
            ),
            http_shed: counter(
                &registry,
                "bazaar_http_shed_total",
                "Requests answered 503 because a pool, queue or backlog was exhausted",
                &["route", "reason"],
            ),
            db_pool_connections: gauge(
                &registry,
                "bazaar_db_pool_connections",
                "Database connections of each component pool by state (in_use, idle, max)",
                &["component", "state"],
            ),
            gate_in_use: gauge(
                &registry,
                "bazaar_gate_in_use",
                "Work admitted through a load-shedding gate and running now",
                &["gate"],
            ),
            gate_in_use_peak: gauge(
                &registry,
                "bazaar_gate_in_use_peak",
                "Most work a load-shedding gate has run at once since start",
                &["gate"],
            ),
            gate_waiting: gauge(
                &registry,
                "bazaar_gate_waiting",
                "Requests queued at a load-shedding gate",
                &["gate"],
            ),
            gate_capacity: gauge(
                &registry,
                "bazaar_gate_capacity",
                "Permits of a load-shedding gate",
                &["gate"],
            ),
            gate_rejected: counter(
                &registry,
                "bazaar_gate_rejected_total",
                "Requests a load-shedding gate turned away with 503",
                &["gate"],
            ),
            gate_wait: histogram(
                &registry,
                "bazaar_gate_wait_seconds",
                "Time admitted requests waited at a load-shedding gate",
                &["gate"],
            ),
            registry,
        };
        Metrics(Arc::new(families))
    }

    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.0.registry.gather(), &mut buffer) {
            tracing::error!(%error, "metrics could not be encoded");
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl std::ops::Deref for Metrics {
    type Target = Families;
    fn deref(&self) -> &Families {
        &self.0
    }
}

// The names and labels below are constants, so registration can only fail on a programming error
// (a duplicate name), which the unit test catches; the fallbacks keep the process running regardless.
fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let family = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    register(registry, name, Box::new(family.clone()));
    family
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let family = IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    register(registry, name, Box::new(family.clone()));
    family
}

fn start_time(registry: &Registry) -> prometheus::IntGauge {
    let name = "bazaar_process_start_time_seconds";
    let family = prometheus::IntGauge::new(name, "Unix time the process started, in seconds")
        .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        });
    family.set(now);
    register(registry, name, Box::new(family.clone()));
    family
}

fn histogram(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    let family = HistogramVec::new(
        HistogramOpts::new(name, help).buckets(LATENCY_BUCKETS.to_vec()),
        labels,
    )
    .unwrap_or_else(|e| panic!("metric {name}: {e}"));
    register(registry, name, Box::new(family.clone()));
    family
}

fn register(registry: &Registry, name: &str, collector: Box<dyn prometheus::core::Collector>) {
    if let Err(error) = registry.register(collector) {
        tracing::error!(%error, metric = name, "metric not registered");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_registers_and_renders() {
        let metrics = Metrics::new();
        metrics
            .http_requests
            .with_label_values(&["GET", "/healthz", "200"])
            .inc();
        metrics
            .consumer_lag
            .with_label_values(&["c", "t", "0"])
            .set(3);
        let text = metrics.render();
        assert!(text.contains(
            r#"bazaar_http_requests_total{method="GET",route="/healthz",status="200"} 1"#
        ));
        assert!(
            text.contains(r#"bazaar_kafka_consumer_lag{consumer="c",partition="0",topic="t"} 3"#)
        );
    }
}
