//! Saga and business metrics of the order component.

use std::time::Duration;

use bazaar_contracts::money;
use bazaar_contracts::order::CancellationReason;
use prometheus::{
    CounterVec, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::lifecycle::Advanced;
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
    /// Seconds since the longest-waiting order of each state last moved (refreshed with `by_state`).
    oldest_age: GaugeVec,
    /// Orders cancelled (by the saga, the shopper or staff), by reason.
    cancellations: IntCounterVec,
    /// Totals of confirmed orders, in the currency's major unit (dollars, not cents), by currency.
    revenue: CounterVec,
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
        let oldest_age = GaugeVec::new(
            Opts::new(
                "bazaar_orders_oldest_age_seconds",
                "Seconds since the longest-waiting order in each state entered it",
            ),
            &["state"],
        )?;
        let cancellations = IntCounterVec::new(
            Opts::new(
                "bazaar_order_cancellations_total",
                "Orders cancelled, by reason",
            ),
            &["reason"],
        )?;
        let revenue = CounterVec::new(
            Opts::new(
                "bazaar_order_revenue_total",
                "Totals of confirmed orders (tax and shipping included), in major units, by currency",
            ),
            &["currency"],
        )?;
        registry.register(Box::new(outcomes.clone()))?;
        registry.register(Box::new(step_seconds.clone()))?;
        registry.register(Box::new(by_state.clone()))?;
        registry.register(Box::new(oldest_age.clone()))?;
        registry.register(Box::new(cancellations.clone()))?;
        registry.register(Box::new(revenue.clone()))?;
        Ok(Self {
            outcomes,
            step_seconds,
            by_state,
            oldest_age,
            cancellations,
            revenue,
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
            self.confirmed_revenue(&advanced.order);
        }
    }

    fn confirmed_revenue(&self, order: &OrderRow) {
        // A stored currency is one checkout accepted; an unknown one would only lose this sample.
        let Ok(currency) = money::currency(&order.currency) else {
            return;
        };
        let scale = 10f64.powi(i32::try_from(money::minor_places(currency)).unwrap_or(2));
        #[allow(clippy::cast_precision_loss)] // order totals are far below 2^53 minor units
        let amount = order.total_minor as f64 / scale;
        self.revenue
            .with_label_values(&[&order.currency])
            .inc_by(amount.max(0.0));
    }

    /// An order was cancelled for `reason`.
    pub fn cancelled(&self, reason: CancellationReason) {
        self.outcomes
            .with_label_values(&[OrderState::Cancelled.as_str()])
            .inc();
        let label = serde_json::to_value(reason)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "other".to_owned());
        self.cancellations.with_label_values(&[&label]).inc();
    }

    /// Refreshes the per-state gauge every 15 s until shutdown.
    pub async fn refresh(self, pool: PgPool, shutdown: CancellationToken) {
        loop {
            let counts: Result<Vec<(String, i64, f64)>, _> = sqlx::query_as(
                "SELECT state, count(*),
                        extract(epoch FROM now() - min(updated_at))::float8
                 FROM orders GROUP BY state",
            )
            .fetch_all(&pool)
            .await;
            if let Ok(counts) = counts {
                self.by_state.reset();
                self.oldest_age.reset();
                for (state, count, oldest) in counts {
                    self.by_state.with_label_values(&[&state]).set(count);
                    self.oldest_age.with_label_values(&[&state]).set(oldest);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(15)) => {}
            }
        }
    }
}
