//! Checkout admission: backpressure from the saga's backlog.
//!
//! Accepting a checkout is cheap (a quote and one transaction); confirming it is not (inventory reserves,
//! payment authorizes, each a round through Kafka). Clients posting checkouts faster than the saga confirms
//! them would grow the backlog, and every order's confirmation time with it, without limit (measured: 50
//! accepted/s against 18 confirmed/s left 1,913 orders waiting after a minute and a median of 57 s to
//! confirm). So a checkout is admitted only while the backlog, orders placed but neither confirmed nor
//! cancelled yet, is under `--checkout-max-pending`; past it checkout answers 503 with a `Retry-After`
//! estimated from how fast the saga is draining the backlog, and accepts again as soon as it falls below.
//!
//! The backlog has one stage per component the saga waits for: `placed` orders wait for inventory,
//! `awaiting_payment` ones for payment, whatever the cause (a slow consumer, a lagging relay, a stopped
//! component, the broker). It is counted from the orders table every `--checkout-backlog-refresh-ms`;
//! checkouts admitted since are added to the count, and so are those in progress, so the estimate is never
//! below the real backlog and the bound holds for concurrent checkouts on one replica. Each replica applies
//! the bound to the whole backlog (the count includes every replica's orders), so N replicas can overshoot
//! by at most what they admit in one refresh interval.
//!
//! Metrics: `bazaar_checkout_backlog{stage}` (last count per stage), `bazaar_checkout_backlog_estimate`
//! (what admission compares), `bazaar_checkout_backlog_limit`, `bazaar_checkout_drain_per_second`; refused
//! checkouts count in `bazaar_http_shed_total{reason="checkout_backlog"}`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bazaar_platform::Problem;
use bazaar_platform::problem::Resource;
use prometheus::{Gauge, IntGauge, IntGaugeVec, Opts, Registry};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// What a refused checkout found full (the shed reason in metrics).
pub static BACKLOG: Resource = Resource("checkout_backlog");

/// `Retry-After` bounds, in seconds.
const MIN_RETRY_AFTER: u64 = 1;
const MAX_RETRY_AFTER: u64 = 30;
/// When the drain rate is not known yet (nothing drained since start).
const UNKNOWN_RATE_RETRY_AFTER: u64 = 2;

/// Weight of the newest measurement in the drain-rate average.
const RATE_SMOOTHING: f64 = 0.3;

/// Admits checkouts while the saga's backlog is under the bound. Cheap to clone.
#[derive(Clone)]
pub struct Admission(Arc<Inner>);

struct Inner {
    /// 0: no bound.
    max_pending: u64,
    refresh: Duration,
    backlog: Mutex<Backlog>,
    gauges: Gauges,
}

#[derive(Clone)]
struct Gauges {
    by_stage: IntGaugeVec,
    estimate: IntGauge,
    drain: Gauge,
}

#[derive(Debug, Default)]
struct Backlog {
    /// Orders in the saga at the last count.
    measured: u64,
    /// Checkouts committed since the last count began.
    admitted_since: u64,
    /// Checkouts admitted and still running (neither committed nor given up).
    in_flight: u64,
    /// Orders the saga finishes per second (smoothed); `None` until known.
    drain_per_sec: Option<f64>,
    measured_at: Option<Instant>,
}

impl Backlog {
    fn estimate(&self) -> u64 {
        self.measured + self.admitted_since + self.in_flight
    }
}

/// A checkout admitted into the backlog. Call [`Slot::placed`] once its order is committed; dropping it
/// otherwise (validation failed, a retry found its order, an error) gives the place back.
#[must_use = "an admitted checkout holds a place in the backlog until placed or dropped"]
pub struct Slot {
    admission: Admission,
    placed: bool,
}

impl Slot {
    /// The order is committed: it is part of the backlog now.
    pub fn placed(mut self) {
        let mut backlog = self.admission.lock();
        backlog.in_flight = backlog.in_flight.saturating_sub(1);
        backlog.admitted_since += 1;
        self.placed = true;
        self.admission.publish(&backlog);
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if !self.placed {
            let mut backlog = self.admission.lock();
            backlog.in_flight = backlog.in_flight.saturating_sub(1);
            self.admission.publish(&backlog);
        }
    }
}

impl Admission {
    /// Admission with at most `max_pending` orders in the saga (0: no bound), counted every `refresh`.
    pub fn new(
        max_pending: u64,
        refresh: Duration,
        registry: &Registry,
    ) -> Result<Self, prometheus::Error> {
        let by_stage = IntGaugeVec::new(
            Opts::new(
                "bazaar_checkout_backlog",
                "Orders the saga has not finished, by the component it waits for (inventory, payment)",
            ),
            &["stage"],
        )?;
        let estimate = IntGauge::new(
            "bazaar_checkout_backlog_estimate",
            "Orders in the saga as checkout admission counts them (last count, plus admitted since)",
        )?;
        let limit = IntGauge::new(
            "bazaar_checkout_backlog_limit",
            "Backlog at which checkout answers 503 (0: no limit)",
        )?;
        let drain = Gauge::new(
            "bazaar_checkout_drain_per_second",
            "Orders the saga confirms or cancels per second (smoothed)",
        )?;
        registry.register(Box::new(by_stage.clone()))?;
        registry.register(Box::new(estimate.clone()))?;
        registry.register(Box::new(limit.clone()))?;
        registry.register(Box::new(drain.clone()))?;
        limit.set(i64::try_from(max_pending).unwrap_or(i64::MAX));
        Ok(Self(Arc::new(Inner {
            max_pending,
            refresh,
            backlog: Mutex::new(Backlog::default()),
            gauges: Gauges {
                by_stage,
                estimate,
                drain,
            },
        })))
    }

    /// A place in the backlog for one checkout, or 503 with `Retry-After` when the backlog is full.
    pub fn admit(&self) -> Result<Slot, Problem> {
        let mut backlog = self.lock();
        let estimate = backlog.estimate();
        let max = self.0.max_pending;
        if max > 0 && estimate >= max {
            let retry_after = retry_after(estimate + 1 - max, backlog.drain_per_sec);
            drop(backlog);
            tracing::info!(
                backlog = estimate,
                limit = max,
                retry_after,
                "checkout refused: the saga's backlog is full"
            );
            return Err(Problem::overloaded(
                &BACKLOG,
                format!(
                    "{estimate} orders are waiting for confirmation; checkout resumes when fewer than \
                     {max} are. Retry after {retry_after} seconds."
                ),
                retry_after,
            ));
        }
        backlog.in_flight += 1;
        self.publish(&backlog);
        drop(backlog);
        Ok(Slot {
            admission: self.clone(),
            placed: false,
        })
    }

    /// The current estimate (what [`admit`](Self::admit) compares with the bound).
    pub fn estimate(&self) -> u64 {
        self.lock().estimate()
    }

    /// Counts the backlog every refresh interval until shutdown.
    pub async fn watch(self, pool: PgPool, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.measure(&pool).await {
                tracing::warn!(%error, "counting the checkout backlog failed; keeping the last count");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.0.refresh) => {}
            }
        }
    }

    /// Counts the orders in the saga once.
    pub async fn measure(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let admitted_before = self.lock().admitted_since;
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT state, count(*) FROM orders WHERE state IN ('placed', 'awaiting_payment')
             GROUP BY state",
        )
        .fetch_all(pool)
        .await?;
        let count_of = |state: &str| {
            counts
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0))
        };
        let (inventory, payment) = (count_of("placed"), count_of("awaiting_payment"));
        let now = Instant::now();
        let mut backlog = self.lock();
        let measured = inventory + payment;
        // Orders in the saga at the last count plus those placed since, minus those in it now: finished.
        let finished = (backlog.measured + admitted_before).saturating_sub(measured);
        if let Some(then) = backlog.measured_at {
            let seconds = now.duration_since(then).as_secs_f64();
            if seconds > 0.0 {
                let rate = finished as f64 / seconds;
                backlog.drain_per_sec = Some(match backlog.drain_per_sec {
                    Some(previous) => previous + RATE_SMOOTHING * (rate - previous),
                    None => rate,
                });
            }
        }
        backlog.measured = measured;
        backlog.admitted_since = backlog.admitted_since.saturating_sub(admitted_before);
        backlog.measured_at = Some(now);
        let gauges = &self.0.gauges;
        gauges
            .by_stage
            .with_label_values(&["inventory"])
            .set(to_i64(inventory));
        gauges
            .by_stage
            .with_label_values(&["payment"])
            .set(to_i64(payment));
        gauges.drain.set(backlog.drain_per_sec.unwrap_or(0.0));
        self.publish(&backlog);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Backlog> {
        // The counters stay meaningful even if a holder panicked.
        self.0
            .backlog
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn publish(&self, backlog: &Backlog) {
        self.0.gauges.estimate.set(to_i64(backlog.estimate()));
    }
}

/// Seconds until `excess` orders have drained at `rate` per second, within [1, 30].
fn retry_after(excess: u64, rate: Option<f64>) -> u64 {
    match rate {
        Some(rate) if rate > 0.01 => {
            let seconds = (excess as f64 / rate).ceil();
            if seconds.is_finite() {
                (seconds as u64).clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER)
            } else {
                MAX_RETRY_AFTER
            }
        }
        _ => UNKNOWN_RATE_RETRY_AFTER,
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission(max: u64) -> Admission {
        Admission::new(max, Duration::from_secs(1), &Registry::new()).expect("metrics")
    }

    #[test]
    fn checkouts_are_admitted_up_to_the_bound_then_refused_with_503_and_retry_after() {
        let admission = admission(2);
        let first = admission.admit().expect("first");
        let second = admission.admit().expect("second");
        let refused = admission.admit().err().expect("third is over the bound");
        assert_eq!(refused.status, 503);
        assert_eq!(
            refused.retry_after_secs.map(u64::from),
            Some(UNKNOWN_RATE_RETRY_AFTER)
        );
        assert_eq!(refused.shed, Some(&BACKLOG));
        first.placed();
        drop(second);
        assert_eq!(
            admission.estimate(),
            1,
            "a placed order stays, a dropped slot goes"
        );
        let _third = admission.admit().expect("room again");
    }

    #[test]
    fn no_bound_admits_everything() {
        let admission = admission(0);
        let slots: Vec<Slot> = (0..1000)
            .map(|_| admission.admit().expect("admitted"))
            .collect();
        assert_eq!(admission.estimate(), 1000);
        drop(slots);
        assert_eq!(admission.estimate(), 0);
    }

    #[test]
    fn retry_after_follows_the_drain_rate_within_bounds() {
        assert_eq!(retry_after(10, Some(5.0)), 2);
        assert_eq!(retry_after(1, Some(100.0)), 1);
        assert_eq!(retry_after(10_000, Some(1.0)), 30);
        assert_eq!(retry_after(10, None), UNKNOWN_RATE_RETRY_AFTER);
        assert_eq!(retry_after(10, Some(0.0)), UNKNOWN_RATE_RETRY_AFTER);
    }
}
