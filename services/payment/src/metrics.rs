//! Payment business metrics, registered in the process registry next to the platform's families.

use bazaar_platform::metrics::Metrics;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

/// Cheap to clone.
#[derive(Clone)]
pub struct PaymentMetrics {
    /// Provider calls by operation (`authorize`, `capture`, `void`, `refund`, and a reconciliation's
    /// `reconcile_authorize` and `reconcile_void`) and result (`succeeded`, `declined`, `timed_out`, ...).
    pub outcomes: IntCounterVec,
    /// Provider call latency by provider and operation.
    pub provider_latency: HistogramVec,
    /// Provider work that payment stopped retrying and handed to ops, by operation (`capture`, `void`,
    /// `refund`, `reconcile`, `authorize`).
    pub attention: IntCounterVec,
}

const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl PaymentMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let outcomes = IntCounterVec::new(
            Opts::new(
                "bazaar_payment_outcomes_total",
                "Payment provider calls by operation and result",
            ),
            &["operation", "result"],
        )
        .unwrap_or_else(|e| panic!("payment outcome metric: {e}"));
        let provider_latency = HistogramVec::new(
            HistogramOpts::new(
                "bazaar_payment_provider_duration_seconds",
                "Payment provider call latency by provider and operation",
            )
            .buckets(BUCKETS.to_vec()),
            &["provider", "operation"],
        )
        .unwrap_or_else(|e| panic!("payment latency metric: {e}"));
        let attention = IntCounterVec::new(
            Opts::new(
                "bazaar_payment_attention_total",
                "Payment provider work stopped after failing and handed to ops, by operation",
            ),
            &["operation"],
        )
        .unwrap_or_else(|e| panic!("payment attention metric: {e}"));
        for collector in [
            Box::new(outcomes.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(provider_latency.clone()),
            Box::new(attention.clone()),
        ] {
            if let Err(error) = metrics.registry().register(collector) {
                tracing::warn!(%error, "payment metric not registered");
            }
        }
        Self {
            outcomes,
            provider_latency,
            attention,
        }
    }
}
