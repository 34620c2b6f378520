//! The worker that makes every provider call, outside any database transaction.
//!
//! The saga's consumer ([`crate::saga`]) only records what is to be done: a row of `payment_tasks`. The
//! worker claims a due task (a short statement that leases it for the provider timeout plus
//! [`LEASE_MARGIN`]), calls the provider with no transaction or connection held, and then records the
//! outcome (payment row, the provider attempt, the event announcing it, the task's next state) in one short
//! transaction. A worker that dies between the call and that transaction leaves the task leased; once the
//! lease is over the task runs again, with the same idempotency key, and the provider answers as before:
//! nothing is charged, captured or refunded twice.
//!
//! - **Order.** An order's steps (authorize, capture, cancel) run one at a time, in the order their
//!   events were handled; a reconciliation runs beside them (it concerns an attempt the order gave up).
//! - **Unknown outcomes.** An authorization that timed out (or met a provider error) is announced as a
//!   retryable `payment.failed` at once, and a `reconcile` task asks the provider again with the same key
//!   until it answers: if the provider holds an authorization for it, that hold is voided (and
//!   `payment.voided` announced), so no shopper's funds stay held for an order that moved on. A provider that
//!   had not seen the first call decides it now; whatever it holds is voided the same way.
//! - **Failures.** A capture, void, refund or reconciliation that times out or meets a provider error is
//!   tried again after a back-off doubling from `PAYMENT_RETRY_BACKOFF_MS` (at most five minutes); after
//!   `PAYMENT_MAX_TRIES` tries, or at once when the provider refuses it, the task stops in state
//!   `attention`: `payment.attention_needed` tells the order (which shows "payment needs attention"),
//!   `GET /api/payments/attention` lists it for ops, `bazaar_payment_attention_total{operation}` counts it,
//!   and `POST /api/payments/attention/{taskId}/retry` sends it round again once ops fixed the cause.
//!   Nothing of this reaches the dead-letter topic.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bazaar_contracts::Money;
use bazaar_contracts::order::OrderId;
use bazaar_contracts::payment::{
    PaymentAttentionNeeded, PaymentAuthorized, PaymentCaptured, PaymentFailed, PaymentFailure,
    PaymentOperation, PaymentRefunded, PaymentVoided,
};
use bazaar_platform::kafka::Outbox;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::metrics::PaymentMetrics;
use crate::model::{AttemptResult, Operation, Payment, PaymentStatus, Transition};
use crate::provider::{
    AuthorizeRequest, FollowUpRequest, PaymentProvider, ProviderError, ProviderResult,
};
use crate::saga::{failure_code, fetch_payment, insert_attempt, lock_order};

/// Added to the provider timeout to lease a claimed task: a worker that stopped (crash, shutdown)
/// mid-call leaves its task to others after this.
pub const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// Tasks run at once per process.
pub const CONCURRENCY: usize = 4;
/// How often an idle worker looks for due tasks (it is also woken when the consumer records one).
const POLL: Duration = Duration::from_millis(200);
/// The longest pause between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// What a task is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "payment_task_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// `payment.requested`: authorize one attempt.
    Authorize,
    /// `order.confirmed`: capture the order's authorization.
    Capture,
    /// `order.cancelled`: void the order's authorization or refund its capture.
    Cancel,
    /// Settle an authorization whose outcome was unknown: ask again, void what the provider holds.
    Reconcile,
}

/// Where a task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type, utoipa::ToSchema)]
#[sqlx(type_name = "payment_task_state", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    Pending,
    Done,
    /// Stopped after failing: ops must look.
    Attention,
}

/// A claimed row of `payment_tasks`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Task {
    pub id: Uuid,
    pub order_id: Uuid,
    pub kind: TaskKind,
    pub attempt: Option<i32>,
    pub order_number: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub token: Option<String>,
    pub payment_id: Option<Uuid>,
    pub provider_ref: Option<String>,
    /// Claims so far, this one included.
    pub tries: i32,
}

const TASK_COLUMNS: &str = "id, order_id, kind, attempt, order_number, amount_minor, currency, token, \
     payment_id, provider_ref, tries";

/// One provider call and what came of it.
#[derive(Debug)]
pub struct Call {
    operation: Operation,
    key: String,
    outcome: ProviderResult,
    latency: Duration,
}

/// What running a task came to, before it is recorded ([`Worker::record`]).
#[derive(Debug)]
pub enum Ran {
    /// Nothing to ask the provider; the reason is logged.
    Nothing(&'static str),
    /// Another attempt of the order holds money already: announce it again.
    AlreadyAuthorized(Box<Payment>),
    /// Stopped before calling: the request contradicts the payment's state.
    Contradiction(Option<Uuid>, PaymentOperation, String),
    Authorized(Call),
    Settled {
        payment: Box<Payment>,
        transition: Transition,
        call: Call,
    },
    Reconciled {
        payment: Box<Payment>,
        /// The authorization asked again (absent when an earlier try learned it).
        replay: Option<Call>,
        /// The void of what the provider holds.
        void: Option<Call>,
    },
}

/// Runs the provider calls recorded as tasks. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    pub provider: Arc<dyn PaymentProvider>,
    pub outbox: Outbox,
    pub metrics: PaymentMetrics,
    pub pool: PgPool,
    pub provider_timeout: Duration,
    pub retry_backoff: Duration,
    pub max_tries: u32,
    /// Notified when a task was recorded, so the worker need not wait for its next poll.
    pub wake: Arc<Notify>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Outbox(#[from] bazaar_platform::kafka::OutboxError),
    #[error("stored payment data is invalid: {0}")]
    Invalid(String),
}

impl Worker {
    /// Runs due tasks with [`CONCURRENCY`] loops until `shutdown` completes. Tasks interrupted by the
    /// shutdown mid-call are released at once (not left to their lease): whatever the provider did, the
    /// next worker's call with the same key gets the same answer. An interrupted record rolls back.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let in_flight = Mutex::new(HashSet::new());
        let loops = (0..CONCURRENCY).map(|_| {
            let worker = self.clone();
            let in_flight = &in_flight;
            async move {
                loop {
                    if let Err(error) = worker.run_due_noting(in_flight).await {
                        tracing::warn!(%error, "payment tasks failed; trying again");
                    }
                    tokio::select! {
                        _ = worker.wake.notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
            }
        });
        tokio::select! {
            _ = shutdown => {}
            _ = futures::future::join_all(loops) => {}
        }
        let interrupted: Vec<Uuid> = lock(&in_flight).drain().collect();
        if !interrupted.is_empty() {
            tracing::info!(
                count = interrupted.len(),
                "releasing payment tasks interrupted by shutdown"
            );
            if let Err(error) = sqlx::query(
                "UPDATE payment_tasks SET next_try_at = now() WHERE id = ANY($1) AND state = 'pending'",
            )
            .bind(&interrupted)
            .execute(&self.pool)
            .await
            {
                tracing::warn!(%error, "interrupted payment tasks not released; they run after their lease");
            }
        }
    }

    /// Runs tasks until none is due; returns how many ran.
    pub async fn run_due(&self) -> Result<usize, WorkerError> {
        self.run_due_noting(&Mutex::new(HashSet::new())).await
    }

    /// [`Worker::run_due`], noting the task being run in `in_flight` meanwhile.
    async fn run_due_noting(&self, in_flight: &Mutex<HashSet<Uuid>>) -> Result<usize, WorkerError> {
        let mut ran = 0;
        while let Some(task) = self.claim().await? {
            lock(in_flight).insert(task.id);
            let done = async {
                let outcome = self.execute(&task).await?;
                self.record(&task, outcome).await
            }
            .await;
            lock(in_flight).remove(&task.id);
            done?;
            ran += 1;
        }
        Ok(ran)
    }

    /// Leases the next due task: the oldest pending step of an order with no earlier step pending, or a
    /// due reconciliation. One statement, no transaction left open.
    pub async fn claim(&self) -> Result<Option<Task>, WorkerError> {
        let lease = self.provider_timeout + LEASE_MARGIN;
        let sql = format!(
            "UPDATE payment_tasks SET tries = tries + 1, updated_at = now(),
                    next_try_at = now() + $1 * interval '1 millisecond'
             WHERE id = (
                 SELECT t.id FROM payment_tasks t
                 WHERE t.state = 'pending' AND t.next_try_at <= now()
                   AND (t.kind = 'reconcile' OR NOT EXISTS (
                       SELECT 1 FROM payment_tasks e
                       WHERE e.order_id = t.order_id AND e.state = 'pending' AND e.kind <> 'reconcile'
                         AND e.seq < t.seq))
                 ORDER BY t.next_try_at, t.seq
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED)
             RETURNING {TASK_COLUMNS}"
        );
        Ok(sqlx::query_as::<_, Task>(sqlx::AssertSqlSafe(sql))
            .bind(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX))
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Decides what the task asks of the provider and asks it. Reads the payment first on a connection
    /// returned to the pool before the call: nothing is held while the provider thinks.
    pub async fn execute(&self, task: &Task) -> Result<Ran, WorkerError> {
        let order_id = task.order_id;
        match task.kind {
            TaskKind::Authorize => {
                let attempt = task.attempt.unwrap_or_default();
                {
                    let mut conn = self.pool.acquire().await?;
                    let cancelled: bool = sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM cancelled_orders WHERE order_id = $1)",
                    )
                    .bind(order_id)
                    .fetch_one(&mut *conn)
                    .await?;
                    if cancelled {
                        return Ok(Ran::Nothing("order cancelled before its authorization"));
                    }
                    let live = fetch_payment(
                        &mut conn,
                        "WHERE order_id = $1 AND status <> 'failed'",
                        order_id,
                        None,
                    )
                    .await?;
                    if let Some(live) = live {
                        return Ok(Ran::AlreadyAuthorized(Box::new(live)));
                    }
                }
                let call = self
                    .call(
                        Operation::Authorize,
                        "authorize",
                        Operation::Authorize.idempotency_key(order_id, attempt),
                        |key| {
                            Ok(self.provider.authorize(AuthorizeRequest {
                                idempotency_key: key,
                                reference: order_id.to_string(),
                                token: task.token.clone().unwrap_or_default(),
                                amount: requested_amount(task)?,
                            }))
                        },
                    )
                    .await?;
                Ok(Ran::Authorized(call))
            }
            TaskKind::Capture | TaskKind::Cancel => {
                let live = {
                    let mut conn = self.pool.acquire().await?;
                    fetch_payment(
                        &mut conn,
                        "WHERE order_id = $1 AND status <> 'failed'",
                        order_id,
                        None,
                    )
                    .await?
                };
                let Some(payment) = live else {
                    return Ok(Ran::Nothing("no money held for this order"));
                };
                let transition = match (task.kind, payment.status) {
                    (TaskKind::Capture, PaymentStatus::Authorized) => Transition::Capture,
                    (TaskKind::Capture, PaymentStatus::Captured | PaymentStatus::Refunded) => {
                        return Ok(Ran::Nothing("captured before"));
                    }
                    (TaskKind::Capture, status) => {
                        return Ok(Ran::Contradiction(
                            Some(payment.id),
                            PaymentOperation::Capture,
                            format!("the order was confirmed but its payment is {status:?}"),
                        ));
                    }
                    (_, status) => match Transition::on_cancellation(status) {
                        Some(transition) => transition,
                        None => return Ok(Ran::Nothing("no money held for this order")),
                    },
                };
                let operation = transition.operation();
                let amount = amount_of(&payment)?;
                let authorization = payment.provider_ref.clone().unwrap_or_default();
                let call = self
                    .call(
                        operation,
                        operation.as_str(),
                        operation.idempotency_key(order_id, payment.attempt),
                        |key| {
                            let request = FollowUpRequest {
                                idempotency_key: key,
                                reference: order_id.to_string(),
                                authorization: authorization.clone(),
                                amount,
                            };
                            Ok(match transition {
                                Transition::Capture => self.provider.capture(request),
                                Transition::Void => self.provider.void(request),
                                Transition::Refund => self.provider.refund(request),
                            })
                        },
                    )
                    .await?;
                Ok(Ran::Settled {
                    payment: Box::new(payment),
                    transition,
                    call,
                })
            }
            TaskKind::Reconcile => {
                let payment_id = task.payment_id.unwrap_or_default();
                let payment = {
                    let mut conn = self.pool.acquire().await?;
                    fetch_payment(&mut conn, "WHERE id = $1", payment_id, None).await?
                }
                .ok_or_else(|| WorkerError::Invalid(format!("no payment {payment_id}")))?;
                let amount = amount_of(&payment)?;
                let (replay, authorization) = match &task.provider_ref {
                    Some(known) => (None, known.clone()),
                    None => {
                        let replay = self
                            .call(
                                Operation::Authorize,
                                "reconcile_authorize",
                                Operation::Authorize.idempotency_key(order_id, payment.attempt),
                                |key| {
                                    Ok(self.provider.authorize(AuthorizeRequest {
                                        idempotency_key: key,
                                        reference: order_id.to_string(),
                                        token: task.token.clone().unwrap_or_default(),
                                        amount,
                                    }))
                                },
                            )
                            .await?;
                        let Ok(approval) = &replay.outcome else {
                            return Ok(Ran::Reconciled {
                                payment: Box::new(payment),
                                replay: Some(replay),
                                void: None,
                            });
                        };
                        let authorization = approval.provider_ref.clone();
                        (Some(replay), authorization)
                    }
                };
                let void = self
                    .call(
                        Operation::Void,
                        "reconcile_void",
                        Operation::Void.idempotency_key(order_id, payment.attempt),
                        |key| {
                            Ok(self.provider.void(FollowUpRequest {
                                idempotency_key: key,
                                reference: order_id.to_string(),
                                authorization: authorization.clone(),
                                amount,
                            }))
                        },
                    )
                    .await?;
                Ok(Ran::Reconciled {
                    payment: Box::new(payment),
                    replay,
                    void: Some(void),
                })
            }
        }
    }

    /// Calls the provider under the configured timeout, recording latency and outcome in the metrics
    /// under `label` (the operation, or `reconcile_authorize` / `reconcile_void` for a reconciliation's
    /// calls, so that asking a timed-out authorization again does not count as a new authorization).
    async fn call<'a, F>(
        &'a self,
        operation: Operation,
        label: &'static str,
        key: String,
        request: impl FnOnce(String) -> Result<F, WorkerError>,
    ) -> Result<Call, WorkerError>
    where
        F: Future<Output = ProviderResult> + 'a,
    {
        let call = request(key.clone())?;
        let started = Instant::now();
        let outcome = match tokio::time::timeout(self.provider_timeout, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ProviderError::Timeout),
        };
        let latency = started.elapsed();
        self.metrics
            .provider_latency
            .with_label_values(&[self.provider.name(), label])
            .observe(latency.as_secs_f64());
        let result = match &outcome {
            Ok(_) => AttemptResult::Succeeded,
            Err(error) => error.result(),
        };
        self.metrics
            .outcomes
            .with_label_values(&[label, result.as_str()])
            .inc();
        Ok(Call {
            operation,
            key,
            outcome,
            latency,
        })
    }

    /// Records what a task came to in one transaction: provider attempts, the payment's change, the event
    /// announcing it and the task's next state. A task whose lease was lost meanwhile (another worker
    /// claimed it again) records nothing: that worker's call, with the same key, got the same answer.
    pub async fn record(&self, task: &Task, ran: Ran) -> Result<(), WorkerError> {
        let mut tx = self.pool.begin().await?;
        lock_order(&mut tx, task.order_id).await?;
        let still_ours: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM payment_tasks WHERE id = $1 AND tries = $2 AND state = 'pending')",
        )
        .bind(task.id)
        .bind(task.tries)
        .fetch_one(&mut *tx)
        .await?;
        if !still_ours {
            tracing::warn!(task_id = %task.id, "payment task claimed again meanwhile; not recording");
            return Ok(());
        }
        let order_id = OrderId(task.order_id);
        let attention = match ran {
            Ran::Nothing(why) => {
                tracing::info!(%order_id, kind = ?task.kind, why, "payment task needs no provider call");
                self.finish(&mut tx, task).await?;
                None
            }
            Ran::AlreadyAuthorized(payment) => {
                tracing::info!(%order_id, payment_id = %payment.id, "payment already authorized; announcing it again");
                self.outbox
                    .enqueue(
                        &mut tx,
                        &PaymentAuthorized {
                            order_id,
                            payment_id: payment.id,
                            amount: amount_of(&payment)?,
                        },
                    )
                    .await?;
                self.finish(&mut tx, task).await?;
                None
            }
            Ran::Contradiction(payment_id, operation, detail) => Some(
                self.attention(&mut tx, task, payment_id, operation, detail)
                    .await?,
            ),
            Ran::Authorized(call) => self.record_authorization(&mut tx, task, call).await?,
            Ran::Settled {
                payment,
                transition,
                call,
            } => {
                self.record_settlement(&mut tx, task, &payment, transition, call)
                    .await?
            }
            Ran::Reconciled {
                payment,
                replay,
                void,
            } => {
                self.record_reconciliation(&mut tx, task, &payment, replay, void)
                    .await?
            }
        };
        tx.commit().await?;
        if let Some(operation) = attention {
            self.metrics
                .attention
                .with_label_values(&[operation_label(operation)])
                .inc();
        }
        Ok(())
    }

    async fn record_authorization(
        &self,
        tx: &mut PgConnection,
        task: &Task,
        call: Call,
    ) -> Result<Option<PaymentOperation>, WorkerError> {
        let order_id = OrderId(task.order_id);
        let attempt = task.attempt.unwrap_or_default();
        let amount = requested_amount(task)?;
        let (status, failure, provider_ref) = match &call.outcome {
            Ok(approval) => (
                PaymentStatus::Authorized,
                None,
                Some(approval.provider_ref.clone()),
            ),
            Err(ProviderError::Conflict(reason)) => {
                let detail =
                    format!("the provider refused the authorization as contradictory: {reason}");
                let operation = self
                    .attention(tx, task, None, PaymentOperation::Authorize, detail)
                    .await?;
                return Ok(Some(operation));
            }
            Err(ProviderError::Refused { reason, message }) => (
                PaymentStatus::Failed,
                Some((*reason, message.clone(), false)),
                None,
            ),
            Err(error @ (ProviderError::Timeout | ProviderError::Unavailable(_))) => {
                tracing::warn!(%order_id, attempt, %error, "authorization outcome unknown; failing it and reconciling");
                let message = match error {
                    ProviderError::Timeout => {
                        "The payment provider did not answer in time; please try again."
                    }
                    _ => "The payment provider is unavailable; please try again.",
                };
                (
                    PaymentStatus::Failed,
                    Some((
                        PaymentFailure::ProviderUnavailable,
                        message.to_owned(),
                        true,
                    )),
                    None,
                )
            }
        };
        let payment_id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO payments (id, order_id, order_number, attempt, amount_minor, currency, status,
                                   failure_reason, provider, provider_ref)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(payment_id)
        .bind(task.order_id)
        .bind(task.order_number.as_deref().unwrap_or_default())
        .bind(attempt)
        .bind(amount.minor())
        .bind(amount.currency().code())
        .bind(status)
        .bind(failure.as_ref().map(|(reason, _, _)| failure_code(*reason)))
        .bind(self.provider.name())
        .bind(&provider_ref)
        .execute(&mut *tx)
        .await?;
        self.insert_call(tx, payment_id, &call).await?;
        match failure {
            None => {
                tracing::info!(%order_id, attempt, %payment_id, %amount, "payment authorized");
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentAuthorized {
                            order_id,
                            payment_id,
                            amount,
                        },
                    )
                    .await?;
            }
            Some((reason, message, retryable)) => {
                tracing::info!(%order_id, attempt, %payment_id, ?reason, retryable, "payment failed");
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentFailed {
                            order_id,
                            payment_id,
                            reason,
                            retryable,
                            message,
                            attempt: u32::try_from(attempt).unwrap_or_default(),
                        },
                    )
                    .await?;
                if retryable {
                    // The provider may hold the amount although we never heard so: find out, and void it.
                    sqlx::query(
                        "INSERT INTO payment_tasks (id, order_id, kind, attempt, order_number, amount_minor,
                                                    currency, token, payment_id, next_try_at)
                         VALUES ($1, $2, 'reconcile', $3, $4, $5, $6, $7, $8,
                                 now() + $9 * interval '1 millisecond')",
                    )
                    .bind(Uuid::now_v7())
                    .bind(task.order_id)
                    .bind(attempt)
                    .bind(&task.order_number)
                    .bind(amount.minor())
                    .bind(amount.currency().code())
                    .bind(&task.token)
                    .bind(payment_id)
                    .bind(millis(self.backoff(1)))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        self.finish(tx, task).await?;
        Ok(None)
    }

    async fn record_settlement(
        &self,
        tx: &mut PgConnection,
        task: &Task,
        payment: &Payment,
        transition: Transition,
        call: Call,
    ) -> Result<Option<PaymentOperation>, WorkerError> {
        self.insert_call(tx, payment.id, &call).await?;
        let operation = contract_operation(call.operation);
        if let Err(error) = &call.outcome {
            let detail = format!(
                "{} of payment {}: {error}",
                call.operation.as_str(),
                payment.id
            );
            return self
                .retry_or_attention(tx, task, Some(payment.id), operation, error, detail)
                .await;
        }
        let updated = sqlx::query("UPDATE payments SET status = $3 WHERE id = $1 AND status = $2")
            .bind(payment.id)
            .bind(transition.from())
            .bind(transition.to())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated != 1 {
            return Err(WorkerError::Invalid(format!(
                "payment {} changed while its {} ran",
                payment.id,
                call.operation.as_str()
            )));
        }
        let order_id = OrderId(payment.order_id);
        let amount = amount_of(payment)?;
        tracing::info!(%order_id, payment_id = %payment.id, operation = call.operation.as_str(), "payment updated");
        match transition {
            Transition::Capture => {
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentCaptured {
                            order_id,
                            payment_id: payment.id,
                            amount,
                        },
                    )
                    .await?
            }
            Transition::Void => {
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentVoided {
                            order_id,
                            payment_id: payment.id,
                        },
                    )
                    .await?
            }
            Transition::Refund => {
                self.outbox
                    .enqueue(
                        tx,
                        &PaymentRefunded {
                            order_id,
                            payment_id: payment.id,
                            amount,
                        },
                    )
                    .await?
            }
        };
        self.finish(tx, task).await?;
        Ok(None)
    }

    async fn record_reconciliation(
        &self,
        tx: &mut PgConnection,
        task: &Task,
        payment: &Payment,
        replay: Option<Call>,
        void: Option<Call>,
    ) -> Result<Option<PaymentOperation>, WorkerError> {
        let order_id = OrderId(payment.order_id);
        if let Some(replay) = &replay {
            self.insert_call(tx, payment.id, replay).await?;
            match &replay.outcome {
                Ok(approval) => {
                    tracing::warn!(%order_id, payment_id = %payment.id, "the provider holds an authorization we never heard of; voiding it");
                    sqlx::query("UPDATE payments SET provider_ref = $2 WHERE id = $1")
                        .bind(payment.id)
                        .bind(&approval.provider_ref)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE payment_tasks SET provider_ref = $2 WHERE id = $1")
                        .bind(task.id)
                        .bind(&approval.provider_ref)
                        .execute(&mut *tx)
                        .await?;
                }
                Err(ProviderError::Refused { .. }) => {
                    tracing::info!(%order_id, payment_id = %payment.id, "the provider holds nothing for the timed-out authorization");
                    self.finish(tx, task).await?;
                    return Ok(None);
                }
                Err(error) => {
                    let detail = format!(
                        "reconciling authorization of payment {}: {error}",
                        payment.id
                    );
                    return self
                        .retry_or_attention(
                            tx,
                            task,
                            Some(payment.id),
                            PaymentOperation::Reconcile,
                            error,
                            detail,
                        )
                        .await;
                }
            }
        }
        let Some(void) = void else {
            return Err(WorkerError::Invalid(
                "a reconciliation that learned of an authorization must void it".to_owned(),
            ));
        };
        self.insert_call(tx, payment.id, &void).await?;
        if let Err(error) = &void.outcome {
            let detail = format!(
                "voiding the late authorization of payment {}: {error}",
                payment.id
            );
            return self
                .retry_or_attention(
                    tx,
                    task,
                    Some(payment.id),
                    PaymentOperation::Reconcile,
                    error,
                    detail,
                )
                .await;
        }
        tracing::info!(%order_id, payment_id = %payment.id, "late authorization voided");
        self.outbox
            .enqueue(
                tx,
                &PaymentVoided {
                    order_id,
                    payment_id: payment.id,
                },
            )
            .await?;
        self.finish(tx, task).await?;
        Ok(None)
    }

    async fn insert_call(
        &self,
        tx: &mut PgConnection,
        payment_id: Uuid,
        call: &Call,
    ) -> Result<(), sqlx::Error> {
        insert_attempt(
            &mut *tx,
            payment_id,
            call.operation,
            &call.key,
            &call.outcome,
            call.latency,
        )
        .await
    }

    /// A failed call: tried again after a back-off when the provider may answer better later, else (or
    /// after the last try) stopped for ops.
    async fn retry_or_attention(
        &self,
        tx: &mut PgConnection,
        task: &Task,
        payment_id: Option<Uuid>,
        operation: PaymentOperation,
        error: &ProviderError,
        detail: String,
    ) -> Result<Option<PaymentOperation>, WorkerError> {
        let worth_retrying = matches!(
            error,
            ProviderError::Timeout | ProviderError::Unavailable(_)
        );
        let tries = u32::try_from(task.tries).unwrap_or(u32::MAX);
        if !worth_retrying || tries >= self.max_tries {
            return self
                .attention(tx, task, payment_id, operation, detail)
                .await
                .map(Some);
        }
        let pause = self.backoff(tries);
        tracing::warn!(order_id = %task.order_id, tries, ?pause, detail, "payment task failed; trying again later");
        sqlx::query(
            "UPDATE payment_tasks SET next_try_at = now() + $2 * interval '1 millisecond', last_error = $3,
                    updated_at = now()
             WHERE id = $1",
        )
        .bind(task.id)
        .bind(millis(pause))
        .bind(&detail)
        .execute(&mut *tx)
        .await?;
        Ok(None)
    }

    /// Stops the task and tells the order and ops.
    async fn attention(
        &self,
        tx: &mut PgConnection,
        task: &Task,
        payment_id: Option<Uuid>,
        operation: PaymentOperation,
        detail: String,
    ) -> Result<PaymentOperation, WorkerError> {
        tracing::error!(order_id = %task.order_id, task_id = %task.id, ?operation, tries = task.tries, detail,
            "payment needs attention");
        sqlx::query(
            "UPDATE payment_tasks SET state = 'attention', last_error = $2, payment_id = COALESCE(payment_id, $3),
                    updated_at = now()
             WHERE id = $1",
        )
        .bind(task.id)
        .bind(&detail)
        .bind(payment_id)
        .execute(&mut *tx)
        .await?;
        self.outbox
            .enqueue(
                tx,
                &PaymentAttentionNeeded {
                    order_id: OrderId(task.order_id),
                    payment_id,
                    task_id: task.id,
                    operation,
                    tries: u32::try_from(task.tries).unwrap_or_default(),
                    detail,
                },
            )
            .await?;
        Ok(operation)
    }

    async fn finish(&self, tx: &mut PgConnection, task: &Task) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE payment_tasks SET state = 'done', token = NULL, last_error = NULL, updated_at = now()
             WHERE id = $1",
        )
        .bind(task.id)
        .execute(&mut *tx)
        .await
        .map(|_| ())
    }

    /// The pause after `tries` failed tries: the base, doubled per try, at most [`MAX_BACKOFF`].
    fn backoff(&self, tries: u32) -> Duration {
        let factor = 1u32 << tries.saturating_sub(1).min(16);
        self.retry_backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn requested_amount(task: &Task) -> Result<Money, WorkerError> {
    let currency = bazaar_contracts::money::currency(task.currency.as_deref().unwrap_or_default())
        .map_err(|error| WorkerError::Invalid(error.to_string()))?;
    Ok(Money::from_minor(
        task.amount_minor.unwrap_or_default(),
        currency,
    ))
}

fn amount_of(payment: &Payment) -> Result<Money, WorkerError> {
    bazaar_contracts::money::currency(&payment.currency)
        .map(|currency| Money::from_minor(payment.amount_minor, currency))
        .map_err(|error| WorkerError::Invalid(error.to_string()))
}

fn contract_operation(operation: Operation) -> PaymentOperation {
    match operation {
        Operation::Authorize => PaymentOperation::Authorize,
        Operation::Capture => PaymentOperation::Capture,
        Operation::Void => PaymentOperation::Void,
        Operation::Refund => PaymentOperation::Refund,
    }
}

/// The `operation` label of `bazaar_payment_attention_total`.
pub fn operation_label(operation: PaymentOperation) -> &'static str {
    match operation {
        PaymentOperation::Authorize => "authorize",
        PaymentOperation::Capture => "capture",
        PaymentOperation::Void => "void",
        PaymentOperation::Refund => "refund",
        PaymentOperation::Reconcile => "reconcile",
    }
}
