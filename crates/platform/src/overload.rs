//! Load shedding. Work that is expensive in CPU or memory (password hashing, ...) passes a [`Gate`]: a
//! fixed number of permits, a bounded queue and a bounded wait. When the gate is saturated a request waits
//! briefly for its turn; if the queue is full or the wait runs out it is refused with [`Overloaded`], which
//! every component answers as 503 with `Retry-After` (through [`Problem::overloaded`]), never as a 500.
//!
//! The other overload answer, an exhausted database pool, needs no gate: the pool's acquire timeout is the
//! bounded wait, and [`Problem::from_db`] turns `PoolTimedOut` into the same 503.
//!
//! Every gate reports `bazaar_gate_in_use`, `_in_use_peak`, `_waiting`, `_capacity`, `_rejected_total`
//! and `_wait_seconds`, labelled with its name.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::Metrics;
use crate::problem::{Problem, Resource};

/// How much work a gate admits at once, and how long and how many may wait for a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GateLimits {
    /// Work running at once (at least 1).
    pub permits: usize,
    /// Requests that may wait for a permit; one more is refused at once.
    pub max_waiting: usize,
    /// How long a request waits for a permit before it is refused.
    pub max_wait: Duration,
}

/// A gate refused the request: it was saturated. Answer 503 with `Retry-After`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} is saturated; retry after {retry_after_secs} s", gate.name())]
pub struct Overloaded {
    /// The gate; its name is the `reason` of `bazaar_http_shed_total`.
    pub gate: &'static Resource,
    pub retry_after_secs: u64,
}

impl From<Overloaded> for Problem {
    fn from(overloaded: Overloaded) -> Self {
        Problem::overloaded(
            overloaded.gate,
            format!(
                "The service is busy ({} is saturated); retry after {} seconds.",
                overloaded.gate.name(),
                overloaded.retry_after_secs
            ),
            overloaded.retry_after_secs,
        )
    }
}

/// A bounded admission point for one kind of expensive work. Cheap to clone; clones share the permits.
#[derive(Clone)]
pub struct Gate(Arc<Inner>);

struct Inner {
    resource: &'static Resource,
    name: &'static str,
    limits: GateLimits,
    semaphore: Arc<Semaphore>,
    waiting: AtomicUsize,
    in_use: AtomicUsize,
    peak: AtomicUsize,
    metrics: Metrics,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("name", &self.0.name)
            .field("limits", &self.0.limits)
            .finish()
    }
}

impl Gate {
    /// A gate for `resource` (its name is the metric label and the shed reason), reporting into `metrics`.
    pub fn new(resource: &'static Resource, limits: GateLimits, metrics: &Metrics) -> Self {
        let name = resource.name();
        let limits = GateLimits {
            permits: limits.permits.max(1),
            ..limits
        };
        metrics
            .gate_capacity
            .with_label_values(&[name])
            .set(i64::try_from(limits.permits).unwrap_or(i64::MAX));
        for family in [
            &metrics.gate_in_use,
            &metrics.gate_in_use_peak,
            &metrics.gate_waiting,
        ] {
            family.with_label_values(&[name]).set(0);
        }
        metrics.gate_rejected.with_label_values(&[name]);
        Self(Arc::new(Inner {
            resource,
            name,
            limits,
            semaphore: Arc::new(Semaphore::new(limits.permits)),
            waiting: AtomicUsize::new(0),
            in_use: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            metrics: metrics.clone(),
        }))
    }

    pub fn name(&self) -> &'static str {
        self.0.name
    }

    pub fn limits(&self) -> GateLimits {
        self.0.limits
    }

    /// The most work this gate has run at once so far.
    pub fn peak_in_use(&self) -> usize {
        self.0.peak.load(Ordering::Relaxed)
    }

    /// Waits for a permit: at once when one is free, else in a queue of at most `max_waiting` for at most
    /// `max_wait`. The work runs while the returned [`Pass`] lives; move it into a blocking task so that
    /// the permit is held until the work is really done, even if the request is abandoned meanwhile.
    pub async fn enter(&self) -> Result<Pass, Overloaded> {
        let inner = &self.0;
        if let Ok(permit) = inner.semaphore.clone().try_acquire_owned() {
            return Ok(self.admitted(permit, Duration::ZERO));
        }
        let waiting = Waiting::join(self);
        if waiting.position > inner.limits.max_waiting {
            return Err(self.refuse("queue full"));
        }
        let started = Instant::now();
        match tokio::time::timeout(
            inner.limits.max_wait,
            inner.semaphore.clone().acquire_owned(),
        )
        .await
        {
            Ok(Ok(permit)) => {
                drop(waiting);
                Ok(self.admitted(permit, started.elapsed()))
            }
            // The semaphore is never closed; a closed one would mean no more work anyway.
            Ok(Err(_)) | Err(_) => Err(self.refuse("waited too long")),
        }
    }

    fn admitted(&self, permit: OwnedSemaphorePermit, waited: Duration) -> Pass {
        let inner = &self.0;
        let running = inner.in_use.fetch_add(1, Ordering::SeqCst) + 1;
        let peak = inner.peak.fetch_max(running, Ordering::SeqCst).max(running);
        let label = [inner.name];
        inner
            .metrics
            .gate_in_use
            .with_label_values(&label)
            .set(to_i64(running));
        inner
            .metrics
            .gate_in_use_peak
            .with_label_values(&label)
            .set(to_i64(peak));
        inner
            .metrics
            .gate_wait
            .with_label_values(&label)
            .observe(waited.as_secs_f64());
        Pass {
            gate: self.clone(),
            _permit: permit,
        }
    }

    fn refuse(&self, why: &'static str) -> Overloaded {
        let inner = &self.0;
        inner
            .metrics
            .gate_rejected
            .with_label_values(&[inner.name])
            .inc();
        tracing::warn!(
            gate = inner.name,
            why,
            "gate saturated; shedding the request"
        );
        // A client should come back after about the time the queue takes to drain.
        let retry_after_secs = inner.limits.max_wait.as_secs().max(1);
        Overloaded {
            gate: inner.resource,
            retry_after_secs,
        }
    }
}

/// Admission through a [`Gate`]: the work may run while this lives.
#[must_use = "the permit is released when the pass is dropped"]
#[derive(Debug)]
pub struct Pass {
    gate: Gate,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let inner = &self.gate.0;
        let running = inner
            .in_use
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1);
        inner
            .metrics
            .gate_in_use
            .with_label_values(&[inner.name])
            .set(to_i64(running));
    }
}

/// One place in a gate's queue, given up when dropped (admitted, refused or abandoned).
struct Waiting<'a> {
    gate: &'a Gate,
    position: usize,
}

impl<'a> Waiting<'a> {
    fn join(gate: &'a Gate) -> Self {
        let position = gate.0.waiting.fetch_add(1, Ordering::SeqCst) + 1;
        gate.0
            .metrics
            .gate_waiting
            .with_label_values(&[gate.0.name])
            .set(to_i64(position));
        Self { gate, position }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let inner = &self.gate.0;
        let left = inner
            .waiting
            .fetch_sub(1, Ordering::SeqCst)
            .saturating_sub(1);
        inner
            .metrics
            .gate_waiting
            .with_label_values(&[inner.name])
            .set(to_i64(left));
    }
}

fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    static TEST: Resource = Resource("test");

    fn gate(permits: usize, max_waiting: usize, max_wait_ms: u64) -> Gate {
        Gate::new(
            &TEST,
            GateLimits {
                permits,
                max_waiting,
                max_wait: Duration::from_millis(max_wait_ms),
            },
            &Metrics::new(),
        )
    }

    #[tokio::test]
    async fn a_free_permit_admits_at_once_and_is_given_back_when_the_pass_drops() {
        let gate = gate(1, 0, 10);
        let pass = gate.enter().await.expect("admitted");
        assert_eq!(gate.0.in_use.load(Ordering::SeqCst), 1);
        drop(pass);
        assert_eq!(gate.0.in_use.load(Ordering::SeqCst), 0);
        let _again = gate.enter().await.expect("admitted again");
        assert_eq!(gate.peak_in_use(), 1);
    }

    #[tokio::test]
    async fn a_saturated_gate_queues_briefly_then_refuses_with_a_retry_hint() {
        let gate = gate(1, 4, 50);
        let held = gate.enter().await.expect("admitted");
        let refused = gate.enter().await.expect_err("waited too long");
        assert_eq!(refused.gate, &TEST);
        assert!(refused.retry_after_secs >= 1);
        let problem = Problem::from(refused);
        assert_eq!(problem.status, 503);
        assert_eq!(problem.retry_after_secs, Some(1));
        assert_eq!(problem.shed, Some(&TEST));
        drop(held);
        assert_eq!(gate.0.waiting.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let gate = gate(1, 0, 60_000);
        let _held = gate.enter().await.expect("admitted");
        let started = Instant::now();
        gate.enter().await.expect_err("queue of zero is full");
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_waiter_is_admitted_when_a_permit_comes_back_and_never_more_run_than_permits() {
        let gate = gate(2, 100, 10_000);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    let _pass = gate.enter().await.expect("admitted within the wait");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        assert_eq!(gate.peak_in_use(), 2);
        assert_eq!(gate.0.in_use.load(Ordering::SeqCst), 0);
    }
}
