//! Saga and business metrics of the order component.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::orders::Advanced;
use crate::orders::store::OrderRow;
use crate::state::OrderState;

#[derive(Clone)]
pub struct OrderMetrics {
    /// Orders placed, and orders ending confirmed or cancelled.
    outcomes: IntCounterVec,
    /// Time an order spent in a state before the saga moved it on.
    step_seconds: HistogramVec,
    /// Orders per state right now.
    by_state: IntGaugeVec,
}

impl OrderMetrics {
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let outcomes = IntCounterVec::new(
            Opts::new(
                "bazaar_order_outcomes_total",
                "Orders placed, confirmed and cancelled",
            ),
            &["outcome"],
        )?;
        let step_seconds = HistogramVec::new(
            HistogramOpts::new(
                "bazaar_order_saga_step_seconds",
                "Time an order spent in a state before moving on",
            )
            .buckets(vec![
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0,
            ]),
            &["from", "to"],
        )?;
        let by_state = IntGaugeVec::new(Opts::new("bazaar_orders", "Orders by state"), &["state"])?;
        registry.register(Box::new(outcomes.clone()))?;
        registry.register(Box::new(step_seconds.clone()))?;
        registry.register(Box::new(by_state.clone()))?;
        Ok(Self {
            outcomes,
            step_seconds,
            by_state,
        })
    }

    pub fn placed(&self) {
        self.outcomes.with_label_values(&["placed"]).inc();
    }

    pub fn stepped(&self, advanced: &Advanced) {
        let waited = (chrono::Utc::now() - advanced.order.updated_at)
            .to_std()
            .unwrap_or_default();
        self.step_seconds
            .with_label_values(&[advanced.from.as_str(), advanced.to.as_str()])
            .observe(waited.as_secs_f64());
        if advanced.to == OrderState::Confirmed {
            self.outcomes.with_label_values(&["confirmed"]).inc();
        }
    }

    pub fn finished(&self, _order: &OrderRow, state: OrderState) {
        self.outcomes.with_label_values(&[state.as_str()]).inc();
    }

    /// Refreshes the per-state gauge every 15 s until shutdown.
    pub async fn refresh(self, pool: PgPool, shutdown: CancellationToken) {
        loop {
            let counts: Result<Vec<(String, i64)>, _> =
                sqlx::query_as("SELECT state, count(*) FROM orders GROUP BY state")
                    .fetch_all(&pool)
                    .await;
            if let Ok(counts) = counts {
                self.by_state.reset();
                for (state, count) in counts {
                    self.by_state.with_label_values(&[&state]).set(count);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            }
        }
    }
}
