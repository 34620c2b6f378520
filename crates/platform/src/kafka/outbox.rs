//! The transactional outbox. A component writes its state change and the events announcing it in one
//! transaction ([`Outbox::enqueue`]); the [`Relay`] publishes unpublished rows in order and marks them, so
//! an event is published if and only if its transaction committed, and survives any crash in between.
//!
//! Ordering: writers lock the key (transaction-scoped advisory lock) before inserting, so for one key the
//! outbox sequence is commit order. The relay reads rows in sequence order and marks only the prefix of a
//! batch that was delivered; the idempotent producer keeps per-partition order. A crash after publishing and
//! before marking publishes the rows again: consumers' inboxes make that harmless.

use std::time::Duration;

use bazaar_contracts::{DomainEvent, Envelope, EnvelopeError};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use sqlx::{PgConnection, PgPool};
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
        // Same-key writers queue here until the earlier one commits, so their sequence numbers follow
        // commit order and the relay can never see a later event of a key before an earlier one. The
        // schema is part of the lock: advisory locks are database-wide, and writers of other schemas
        // (another environment, a parallel test) must not queue behind, or deadlock with, these.
        sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtextextended(current_schema() || '/' || $1, 0))",
        )
        .bind(format!("{}/{key}", E::TOPIC))
        .execute(&mut *tx)
        .await?;
        let event_id = Uuid::parse_str(envelope.id()).unwrap_or_else(|_| Uuid::now_v7());
        sqlx::query(
            "INSERT INTO outbox (event_id, topic, message_key, event_type, payload, traceparent)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(event_id)
        .bind(E::TOPIC.name())
        .bind(&key)
        .bind(E::TYPE)
        .bind(envelope.to_json_value())
        .bind(current_traceparent())
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

    /// Publishes until `shutdown` is cancelled. Database or broker outages are logged and retried; the
    /// loop itself never gives up.
    pub async fn run(self, shutdown: CancellationToken) {
        let idle = self.kafka.config().outbox_poll();
        let mut failures: u32 = 0;
        let mut next_cleanup = tokio::time::Instant::now();
        while !shutdown.is_cancelled() {
            let pause = match self.relay_once().await {
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
            if tokio::time::Instant::now() >= next_cleanup {
                self.delete_old_published().await;
                next_cleanup = tokio::time::Instant::now() + Duration::from_secs(3600);
            }
            if !pause.is_zero() {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }

    /// One round: read a batch, publish it, mark what was delivered. Returns how many were published.
    pub async fn relay_once(&self) -> Result<usize, OutboxError> {
        let batch = self.next_batch().await?;
        if batch.events.is_empty() {
            batch.tx.commit().await?;
            self.update_backlog().await;
            return Ok(0);
        }
        let delivered = self.publish(&batch.events).await;
        let published = batch.complete(delivered).await?;
        self.update_backlog().await;
        Ok(published)
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

/// Doubling pause after consecutive failures, capped at 30 s.
pub(crate) fn backoff(base: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.min(10));
    base.saturating_mul(factor).min(Duration::from_secs(30))
}
