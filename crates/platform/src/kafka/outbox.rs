//! The transactional outbox. A component writes its state change and the events announcing it in one
//! transaction ([`Outbox::enqueue`]); the [`Relay`] publishes unpublished rows in order and marks them, so
//! an event is published if and only if its transaction committed, and survives any crash in between.
//!
//! Ordering: writers lock the key (transaction-scoped advisory lock) before inserting, so for one key the
//! outbox sequence is commit order. The relay reads rows in sequence order and marks only the prefix of a
//! batch that was delivered; the idempotent producer keeps per-partition order. A crash after publishing and
//! before marking publishes the rows again: consumers' inboxes make that harmless.
//!
//! Wake-up: `enqueue` also queues a `NOTIFY` on [`OUTBOX_CHANNEL`] (payload: the schema), which PostgreSQL
//! delivers when the transaction commits, and only then. The relay LISTENs on a connection of its own and
//! starts a round at once instead of waiting for its next poll; polling every `--outbox-poll-ms` stays as
//! the fallback (a lost LISTEN connection, a row written by other means), so a missed notification delays
//! an event by at most one poll interval and never loses it.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contracts::{DomainEvent, Envelope, EnvelopeError};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::Kafka;
use crate::metrics::Metrics;
use crate::telemetry::{TRACEPARENT, current_traceparent};

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("outbox database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// The channel `enqueue` notifies at commit; the payload is the writer's schema, so a relay wakes only for
/// its own outbox when several schemas share a database.
pub const OUTBOX_CHANNEL: &str = "bazaar_outbox";

/// Writes events into a component's outbox table. One per component; cheap to clone.
#[derive(Debug, Clone)]
pub struct Outbox {
    source: String,
}

impl Outbox {
    /// `component` becomes the CloudEvents `source` of everything it writes: `/bazaar/<component>`.
    pub fn new(component: &str) -> Self {
        Self {
            source: format!("/bazaar/{component}"),
        }
    }

    /// Records `event` in the caller's transaction. It is published once that transaction commits, and
    /// never if it rolls back. Returns the event id.
    pub async fn enqueue<E: DomainEvent>(
        &self,
        tx: &mut PgConnection,
        event: &E,
    ) -> Result<Uuid, OutboxError> {
        let envelope = Envelope::wrap(&self.source, event)?;
        let key = event.key();
        let event_id = Uuid::parse_str(envelope.id()).unwrap_or_else(|_| Uuid::now_v7());
        // One round trip for three steps, in this order:
        // 1. Same-key writers queue on the advisory lock until the earlier one commits, so their sequence
        //    numbers (taken by the INSERT after the lock, `MATERIALIZED` keeps the lock from being folded
        //    away) follow commit order and the relay can never see a later event of a key before an
        //    earlier one. The schema is part of the lock: advisory locks are database-wide, and writers of
        //    other schemas (another environment, a parallel test) must not queue behind, or deadlock with,
        //    these.
        // 2. The row.
        // 3. A notification for the relay, delivered by PostgreSQL at commit (never on rollback).
        sqlx::query(
            "WITH locked AS MATERIALIZED (
                 SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || $1, 0))
             ), inserted AS (
                 INSERT INTO outbox (event_id, topic, message_key, event_type, payload, traceparent)
                 SELECT $2, $3, $4, $5, $6, $7 FROM locked
                 RETURNING seq
             )
             SELECT pg_notify($8, current_schema()) FROM inserted",
        )
        .bind(format!("{}/{key}", E::TOPIC))
        .bind(event_id)
        .bind(E::TOPIC.name())
        .bind(&key)
        .bind(E::TYPE)
        .bind(envelope.to_json_value())
        .bind(current_traceparent())
        .bind(OUTBOX_CHANNEL)
        .execute(&mut *tx)
        .await?;
        Ok(event_id)
    }
}

/// One outbox row waiting to be published.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingEvent {
    pub seq: i64,
    pub event_id: Uuid,
    pub topic: String,
    pub message_key: String,
    pub event_type: String,
    pub payload: serde_json::Value,
    pub traceparent: Option<String>,
}

/// Publishes a component's outbox to Kafka. Several replicas may run one each: the row locks taken per
/// batch make them take turns, so a row is never published by two relays at once.
pub struct Relay {
    component: String,
    pool: PgPool,
    kafka: Kafka,
    metrics: Metrics,
    batch_size: i64,
    retention: Duration,
}

/// A batch read and locked by a relay; dropping it without [`Batch::complete`] releases the rows unmarked,
/// exactly as a crash would.
pub struct Batch {
    tx: sqlx::Transaction<'static, sqlx::Postgres>,
    pub events: Vec<PendingEvent>,
}

impl Relay {
    pub fn new(component: &str, pool: PgPool, kafka: Kafka, metrics: Metrics) -> Self {
        Self {
            component: component.to_owned(),
            pool,
            kafka,
            metrics,
            batch_size: 256,
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }

    /// Publishes until `shutdown` is cancelled: a round at once after any commit that wrote to this outbox
    /// (see the module docs), otherwise every `--outbox-poll-ms`. Database or broker outages are logged and
    /// retried; the loop itself never gives up.
    pub async fn run(self, shutdown: CancellationToken) {
        let idle = self.kafka.config().outbox_poll();
        let wake = Arc::new(Notify::new());
        let listener = tokio::spawn(listen_for_commits(
            self.component.clone(),
            crate::db::companion_pool(&self.pool, 1),
            wake.clone(),
            shutdown.clone(),
        ));
        let mut failures: u32 = 0;
        let mut next_cleanup = tokio::time::Instant::now();
        let mut next_backlog = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            let pause = match self.relay_once_quiet().await {
                Ok(published) => {
                    failures = 0;
                    // A full batch means more is waiting: go on at once.
                    if published as i64 >= self.batch_size {
                        Duration::ZERO
                    } else {
                        idle
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(component = %self.component, %error, "outbox relay failed; retrying");
                    backoff(idle, failures)
                }
            };
            // The backlog gauge costs a count: at most once a second, not once per round.
            let now = tokio::time::Instant::now();
            if now >= next_backlog {
                self.update_backlog().await;
                next_backlog = now + BACKLOG_EVERY;
            }
            if now >= next_cleanup {
                self.delete_old_published().await;
                next_cleanup = tokio::time::Instant::now() + Duration::from_secs(3600);
            }
            if !pause.is_zero() {
                // After a failure, wait out the back-off even if commits keep announcing rows.
                let woken = async {
                    if failures == 0 {
                        wake.notified().await
                    } else {
                        std::future::pending().await
                    }
                };
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                    _ = woken => {}
                }
            }
        }
        listener.abort();
    }

    /// One round: read a batch, publish it, mark what was delivered, update the backlog gauge. Returns how
    /// many were published.
    pub async fn relay_once(&self) -> Result<usize, OutboxError> {
        let published = self.relay_once_quiet().await?;
        self.update_backlog().await;
        Ok(published)
    }

    /// [`Relay::relay_once`] without the gauge.
    async fn relay_once_quiet(&self) -> Result<usize, OutboxError> {
        let batch = self.next_batch().await?;
        if batch.events.is_empty() {
            batch.tx.commit().await?;
            return Ok(0);
        }
        let delivered = self.publish(&batch.events).await;
        batch.complete(delivered).await
    }

    /// Reads and locks the oldest unpublished rows.
    pub async fn next_batch(&self) -> Result<Batch, OutboxError> {
        let mut tx = self.pool.begin().await?;
        let events = sqlx::query_as::<_, PendingEvent>(
            "SELECT seq, event_id, topic, message_key, event_type, payload, traceparent
             FROM outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE",
        )
        .bind(self.batch_size)
        .fetch_all(&mut *tx)
        .await?;
        Ok(Batch { tx, events })
    }

    /// Sends `events` in order and returns what happened to each, in the same order. Sending everything
    /// first and then awaiting keeps the producer's pipeline full.
    pub async fn publish(&self, events: &[PendingEvent]) -> Vec<Result<(), String>> {
        let mut deliveries = Vec::with_capacity(events.len());
        for event in events {
            let topic = self.kafka.topic(&event.topic);
            let payload = event.payload.to_string();
            let mut headers = OwnedHeaders::new().insert(Header {
                key: "content-type",
                value: Some("application/cloudevents+json; charset=utf-8"),
            });
            if let Some(traceparent) = &event.traceparent {
                headers = headers.insert(Header {
                    key: TRACEPARENT,
                    value: Some(traceparent.as_str()),
                });
            }
            let record = FutureRecord::to(&topic)
                .key(&event.message_key)
                .payload(&payload)
                .headers(headers);
            deliveries.push(
                self.kafka
                    .producer()
                    .send_result(record)
                    .map_err(|(e, _)| e),
            );
        }
        let mut outcomes = Vec::with_capacity(events.len());
        for (event, delivery) in events.iter().zip(deliveries) {
            let outcome = match delivery {
                Err(error) => Err(error.to_string()),
                Ok(future) => match future.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((error, _))) => Err(error.to_string()),
                    Err(_) => Err("producer dropped the delivery".to_owned()),
                },
            };
            match &outcome {
                Ok(()) => self
                    .metrics
                    .outbox_published
                    .with_label_values(&[&self.component, &event.topic])
                    .inc(),
                Err(_) => self
                    .metrics
                    .outbox_publish_failures
                    .with_label_values(&[&self.component])
                    .inc(),
            }
            outcomes.push(outcome);
        }
        outcomes
    }

    async fn update_backlog(&self) {
        let backlog: Result<i64, _> =
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                .fetch_one(&self.pool)
                .await;
        if let Ok(backlog) = backlog {
            self.metrics
                .outbox_backlog
                .with_label_values(&[&self.component])
                .set(backlog);
        }
    }

    async fn delete_old_published(&self) {
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(self.retention).unwrap_or(chrono::Duration::days(7));
        if let Err(error) = sqlx::query("DELETE FROM outbox WHERE published_at < $1")
            .bind(cutoff)
            .execute(&self.pool)
            .await
        {
            tracing::warn!(component = %self.component, %error, "old outbox rows not deleted");
        }
    }
}

impl Batch {
    /// Marks the delivered prefix as published and records the first failure; later rows stay pending so
    /// that they are retried after it, keeping order. Returns how many were marked.
    pub async fn complete(
        mut self,
        outcomes: Vec<Result<(), String>>,
    ) -> Result<usize, OutboxError> {
        let delivered = outcomes.iter().take_while(|o| o.is_ok()).count();
        let published: Vec<i64> = self.events[..delivered].iter().map(|e| e.seq).collect();
        if !published.is_empty() {
            sqlx::query("UPDATE outbox SET published_at = now() WHERE seq = ANY($1)")
                .bind(&published)
                .execute(&mut *self.tx)
                .await?;
        }
        if let (Some(Err(error)), Some(event)) =
            (outcomes.get(delivered), self.events.get(delivered))
        {
            tracing::warn!(event_id = %event.event_id, %error, "outbox event not delivered; will retry");
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE seq = $1",
            )
            .bind(event.seq)
            .bind(error)
            .execute(&mut *self.tx)
            .await?;
        }
        self.tx.commit().await?;
        Ok(delivered)
    }
}

/// How often a running relay refreshes `bazaar_outbox_backlog`.
const BACKLOG_EVERY: Duration = Duration::from_secs(1);

/// LISTENs on [`OUTBOX_CHANNEL`] with a connection of `pool` (a companion pool: the connection is held for
/// good) and wakes the relay for each notification from its own schema. Reconnects after outages and wakes
/// the relay after every (re)connection, since notifications sent while it was away are lost.
async fn listen_for_commits(
    component: String,
    pool: PgPool,
    wake: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut failures: u32 = 0;
    while !shutdown.is_cancelled() {
        let listening = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(OUTBOX_CHANNEL).await?;
            let schema: String = sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(&mut listener)
                .await?;
            Ok::<_, sqlx::Error>((listener, schema))
        };
        let (mut listener, schema) = match listening.await {
            Ok(listening) => listening,
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::debug!(%component, %error, "outbox listener cannot connect; polling meanwhile");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(backoff(Duration::from_millis(500), failures)) => continue,
                }
            }
        };
        failures = 0;
        wake.notify_one();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                notification = listener.try_recv() => match notification {
                    Ok(Some(n)) if n.payload() == schema => wake.notify_one(),
                    Ok(Some(_)) => {}
                    // The connection was lost and made again: what was sent meanwhile is lost.
                    Ok(None) => wake.notify_one(),
                    Err(error) => {
                        tracing::debug!(%component, %error, "outbox listener lost; reconnecting");
                        break;
                    }
                }
            }
        }
    }
}

/// Doubling pause after consecutive failures, capped at 30 s.
pub(crate) fn backoff(base: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.min(10));
    base.saturating_mul(factor).min(Duration::from_secs(30))
}
