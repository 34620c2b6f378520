//! Consumers with an inbox. Each message is handled in a database transaction that also records the
//! event id in the `inbox` table; a redelivered event finds its id there and has no second effect.
//! Messages already fetched together share one such transaction (see [`Consumer::run`]). The offset is
//! committed only after that transaction committed (or after the message was parked in the dead-letter
//! topic), so a crash anywhere redelivers rather than loses.
//!
//! Failures: a handler error is retried with doubling back-off up to `--kafka-max-attempts`, then the
//! message goes to `<topic>.dlq` with the reason in headers and the partition moves on. A message that is
//! not a CloudEvent, or whose data breaks its contract, goes there at once. Outages of the database or the
//! broker are not the message's fault: they are retried without limit, holding the partition.

use std::future::Future;

use futures::FutureExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bazaar_contracts::{Envelope, EnvelopeError, Topic};
use rdkafka::client::ClientContext;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer as _, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{BorrowedMessage, Header, Headers, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rdkafka::statistics::Statistics;
use rdkafka::{Message, Offset, TopicPartitionList};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{DLQ_REASON_HEADER, Kafka, MessagingError};
use crate::metrics::Metrics;
use crate::telemetry::{TRACEPARENT, continue_trace};

/// How long handled event ids are remembered. Kafka keeps messages 7 days by default; twice that leaves
/// room for a consumer group reset to an old offset.
pub const INBOX_RETENTION: chrono::TimeDelta = chrono::TimeDelta::days(14);

/// Most messages handled in one transaction by [`Consumer::run`] (those already fetched when it looks).
pub const MAX_BATCH: usize = 32;

/// `fetch.wait.max.ms` of every consumer (see [`Consumer::new`]).
pub const FETCH_WAIT_MS: &str = "10";

/// An event as a handler sees it: the envelope plus where it came from.
#[derive(Debug, Clone)]
pub struct IncomingEvent {
    pub envelope: Envelope,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
}

/// Why a handler did not finish.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying: a conflict, a timeout, a dependency briefly away.
    #[error("{0}")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Retrying cannot help (the event makes no sense here): dead-letter it at once.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn transient(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Transient(Box::new(error))
    }

    pub fn permanent(reason: impl Into<String>) -> Self {
        Self::Permanent(reason.into())
    }

    /// Lost connections and exhausted pools are outages, not faults of the message.
    fn is_outage(&self) -> bool {
        match self {
            Self::Transient(error) => error.downcast_ref::<sqlx::Error>().is_some_and(|e| {
                matches!(
                    e,
                    sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed
                )
            }),
            Self::Permanent(_) => false,
        }
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(error: sqlx::Error) -> Self {
        Self::transient(error)
    }
}

impl From<EnvelopeError> for HandlerError {
    fn from(error: EnvelopeError) -> Self {
        Self::permanent(error.to_string())
    }
}

/// What a component does with the events it consumes.
pub trait EventHandler: Send + Sync + 'static {
    /// Handles one event inside the inbox transaction `tx`: write through `tx` only, so that the effect and
    /// the inbox record commit together. An error rolls both back.
    fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Called once the transaction `handle` wrote through has committed (not after a duplicate or a
    /// failure). The place to wake in-process workers for rows `handle` wrote: woken from `handle`, a
    /// worker can look before the commit, find nothing, and sleep until its next poll.
    fn committed(&self, _event: &IncomingEvent) {}
}

/// What became of one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handled now; its effect is committed.
    Processed,
    /// Handled before (redelivery); skipped.
    Duplicate,
    /// Parked in the dead-letter topic.
    DeadLettered,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Processed => "processed",
            Outcome::Duplicate => "duplicate",
            Outcome::DeadLettered => "dead_lettered",
        }
    }
}

/// Why a message was dead-lettered, as the `reason` label of `bazaar_kafka_dead_lettered_total` says it
/// (the full reason travels in the message's headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeadLetterCause {
    /// Not a CloudEvent, or its data breaks the contract.
    Undecodable,
    /// The handler said retrying cannot help.
    Rejected,
    /// The handler failed `--kafka-max-attempts` times.
    RetriesExhausted,
}

impl DeadLetterCause {
    fn label(self) -> &'static str {
        match self {
            DeadLetterCause::Undecodable => "undecodable",
            DeadLetterCause::Rejected => "rejected",
            DeadLetterCause::RetriesExhausted => "retries_exhausted",
        }
    }
}

/// A message whose outcome is final, with its offset not yet committed.
#[derive(Debug)]
pub struct Handled {
    pub outcome: Outcome,
    pub event_id: Option<String>,
    topic: String,
    partition: i32,
    offset: i64,
}

/// A consumer group member running one handler over some topics.
pub struct Consumer<H> {
    name: String,
    handler: H,
    consumer: StreamConsumer<LagReporter>,
    pool: PgPool,
    kafka: Kafka,
    metrics: Metrics,
}

impl<H: EventHandler> Consumer<H> {
    /// Joins the group named after `name` (one group per consumer name, prefixed per deployment) and
    /// subscribes to the logical `topics`, which must exist (see `Kafka::ensure_topics`).
    pub fn new(
        name: &str,
        topics: &[Topic],
        handler: H,
        pool: PgPool,
        kafka: &Kafka,
        metrics: &Metrics,
    ) -> Result<Self, MessagingError> {
        let reporter = LagReporter {
            consumer: name.to_owned(),
            metrics: metrics.clone(),
            joined: AtomicBool::new(false),
        };
        let consumer: StreamConsumer<LagReporter> = kafka
            .client_config()
            .set("group.id", kafka.config().group(name))
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            // Short timeouts make a joining or departing member noticed in seconds, not tens of seconds.
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            // Also the rebalance timeout: how long the coordinator waits for members during a rebalance.
            // librdkafka's default (5 minutes) leaves a group stuck that long when a member dies mid-join.
            .set("max.poll.interval.ms", "30000")
            .set("statistics.interval.ms", "5000")
            // How long the broker may hold a fetch. Kafka answers as soon as `fetch.min.bytes` (1) are
            // there, but tansu 0.6 sleeps after every read (half the wait, or all of it under 250 ms),
            // data or not: with librdkafka's 500 ms each hop of the saga cost 250-500 ms. Held to
            // FETCH_WAIT_MS a message waits about 1.5x that; the price is an empty fetch per consumer
            // every FETCH_WAIT_MS while idle, paid in the broker's CPU (not measured idle; tansu had 11%
            // of the samples of a saga profile, docs/benchmarks.md).
            .set("fetch.wait.max.ms", FETCH_WAIT_MS)
            .create_with_context(reporter)?;
        let physical: Vec<String> = topics.iter().map(|t| kafka.topic(t.name())).collect();
        let names: Vec<&str> = physical.iter().map(String::as_str).collect();
        consumer.subscribe(&names)?;
        Ok(Self {
            name: name.to_owned(),
            handler,
            consumer,
            pool,
            kafka: kafka.clone(),
            metrics: metrics.clone(),
        })
    }

    /// Consumes until `shutdown` is cancelled, then leaves the group. A message being retried when
    /// shutdown comes is left uncommitted, to be redelivered.
    ///
    /// Messages already fetched when a message arrives (up to [`MAX_BATCH`]) are handled together, in
    /// order, in one transaction: one BEGIN and one COMMIT for all instead of one pair each, which is
    /// most of a short handler's round trips under load. Each still gets its inbox row, so the batch has
    /// the guarantees of one message at a time; if anything in it fails, nothing of it is committed and
    /// its messages go through [`Consumer::process`] one by one (with retries and dead-lettering).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut next_cleanup = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_cleanup {
                self.forget_old_events().await;
                next_cleanup = tokio::time::Instant::now() + Duration::from_secs(3600);
            }
            let received = tokio::select! {
                _ = shutdown.cancelled() => break,
                received = self.consumer.recv() => received,
            };
            let mut batch = match received {
                Ok(message) => vec![message],
                Err(error) => {
                    tracing::warn!(consumer = %self.name, %error, "receiving failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                    continue;
                }
            };
            while batch.len() < MAX_BATCH {
                match self.consumer.recv().now_or_never() {
                    Some(Ok(message)) => batch.push(message),
                    _ => break,
                }
            }
            let (handled, stopping) = self.handle_all(&batch, &shutdown).await;
            if let Err(error) = self.commit_all(&handled) {
                // The next commit covers these offsets too; at worst the messages are redelivered.
                tracing::warn!(consumer = %self.name, %error, "offset commit failed");
            }
            if stopping {
                break;
            }
        }
        self.leave().await;
    }

    /// Brings every message of `batch` to its outcome, in order: runs of good messages in shared
    /// transactions, a message that fails on its own (retries, dead-lettering). Returns what was handled
    /// and whether shutdown interrupted it (what is not handled yet is then redelivered).
    async fn handle_all(
        &self,
        batch: &[BorrowedMessage<'_>],
        shutdown: &CancellationToken,
    ) -> (Vec<Handled>, bool) {
        let mut handled = Vec::with_capacity(batch.len());
        let mut rest = batch;
        while !rest.is_empty() {
            let alone = if rest.len() == 1 {
                0
            } else {
                match self.handle_batch(rest).await {
                    Ok(done) => {
                        handled.extend(done);
                        break;
                    }
                    // The messages before the failing one succeeded: most likely they will again.
                    Err(failed) => {
                        if failed > 1 {
                            match self.handle_batch(&rest[..failed]).await {
                                Ok(done) => handled.extend(done),
                                Err(_) => return self.one_by_one(rest, handled, shutdown).await,
                            }
                        } else if failed == 1 {
                            let (done, stopping) =
                                self.one_by_one(&rest[..1], Vec::new(), shutdown).await;
                            handled.extend(done);
                            if stopping {
                                return (handled, true);
                            }
                        }
                        failed
                    }
                }
            };
            let (done, stopping) = self
                .one_by_one(&rest[alone..=alone], Vec::new(), shutdown)
                .await;
            handled.extend(done);
            if stopping {
                return (handled, true);
            }
            rest = &rest[alone + 1..];
        }
        (handled, false)
    }

    /// Handles `messages` one at a time, each in its own transaction, appending to `handled`.
    async fn one_by_one(
        &self,
        messages: &[BorrowedMessage<'_>],
        mut handled: Vec<Handled>,
        shutdown: &CancellationToken,
    ) -> (Vec<Handled>, bool) {
        for message in messages {
            let one = tokio::select! {
                _ = shutdown.cancelled() => None,
                one = self.process_traced(message, shutdown) => Some(one),
            };
            match one {
                Some(Ok(Some(one))) => handled.push(one),
                Some(Ok(None)) | None => return (handled, true),
                Some(Err(error)) => {
                    tracing::warn!(consumer = %self.name, %error, "handling failed; going on");
                }
            }
        }
        (handled, false)
    }

    /// Handles `messages` (in order) in one transaction. When one fails, nothing is committed and the
    /// error is the index of the message that failed.
    async fn handle_batch(&self, messages: &[BorrowedMessage<'_>]) -> Result<Vec<Handled>, usize> {
        let started = Instant::now();
        let mut events = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            // Anything undecodable is for the dead-letter path of one message at a time.
            let envelope =
                Envelope::from_json(message.payload().unwrap_or_default()).map_err(|_| index)?;
            events.push(IncomingEvent {
                envelope,
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                key: message
                    .key()
                    .map(|key| String::from_utf8_lossy(key).into_owned()),
            });
        }
        let mut tx = self.pool.begin().await.map_err(|_| 0usize)?;
        let mut outcomes = Vec::with_capacity(events.len());
        for (index, (message, event)) in messages.iter().zip(&events).enumerate() {
            let span = self.span(message);
            span.record("event_id", event.envelope.id());
            span.record("event_type", event.envelope.event_type());
            let outcome = async {
                if self.record_in_inbox(event, &mut tx).await? {
                    self.handler.handle(event, &mut tx).await?;
                    Ok::<_, HandlerError>(Outcome::Processed)
                } else {
                    tracing::debug!("event already handled; skipping the redelivery");
                    Ok(Outcome::Duplicate)
                }
            }
            .instrument(span)
            .await;
            match outcome {
                Ok(outcome) => outcomes.push(outcome),
                Err(error) => {
                    tracing::debug!(consumer = %self.name, %error, "batch failed; one at a time");
                    let _ = tx.rollback().await;
                    return Err(index);
                }
            }
        }
        // A failed commit: nothing or everything committed; one by one, the inbox sorts it out.
        tx.commit().await.map_err(|_| 0usize)?;
        let each = started.elapsed().as_secs_f64() / events.len() as f64;
        let mut handled = Vec::with_capacity(events.len());
        for ((message, event), outcome) in messages.iter().zip(&events).zip(outcomes) {
            if outcome == Outcome::Processed {
                self.handler.committed(event);
            }
            self.metrics
                .handler_duration
                .with_label_values(&[&self.name])
                .observe(each);
            handled.push(self.finish(message, Some(event.envelope.id()), outcome));
        }
        Ok(handled)
    }

    /// Leaves the group. A member still joining first completes the join (for a bounded time): a member
    /// that leaves between its join and the group's sync can leave some coordinators (tansu 0.6) waiting
    /// for it forever. Messages received meanwhile are not handled or committed, so they are redelivered.
    async fn leave(self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.consumer.context().joined.load(Ordering::Acquire)
            && tokio::time::Instant::now() < deadline
        {
            let _ = tokio::time::timeout(Duration::from_millis(200), self.consumer.recv()).await;
        }
        self.consumer.unsubscribe();
    }

    /// Deletes inbox rows older than [`INBOX_RETENTION`]: long past the broker's retention, so such an
    /// event can no longer be redelivered.
    async fn forget_old_events(&self) {
        let cutoff = chrono::Utc::now() - INBOX_RETENTION;
        if let Err(error) =
            sqlx::query("DELETE FROM inbox WHERE consumer = $1 AND processed_at < $2")
                .bind(&self.name)
                .bind(cutoff)
                .execute(&self.pool)
                .await
        {
            tracing::warn!(consumer = %self.name, %error, "old inbox rows not deleted");
        }
    }

    /// Receives one message and brings it to a final outcome, without committing its offset: that is the
    /// caller's next step ([`Consumer::commit`]). `None` when `shutdown` came first.
    pub async fn process_next(
        &self,
        shutdown: &CancellationToken,
    ) -> Result<Option<Handled>, MessagingError> {
        let message = self.consumer.recv().await?;
        self.process_traced(&message, shutdown).await
    }

    /// [`Consumer::process`] in the message's span, continuing the trace its headers carry.
    async fn process_traced(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
    ) -> Result<Option<Handled>, MessagingError> {
        let span = self.span(message);
        self.process(message, shutdown).instrument(span).await
    }

    fn span(&self, message: &BorrowedMessage<'_>) -> tracing::Span {
        let traceparent = header(message, TRACEPARENT);
        let span = tracing::info_span!(
            "consume",
            consumer = %self.name,
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            event_id = tracing::field::Empty,
            event_type = tracing::field::Empty,
        );
        continue_trace(&span, traceparent.as_deref());
        span
    }

    async fn process(
        &self,
        message: &BorrowedMessage<'_>,
        shutdown: &CancellationToken,
    ) -> Result<Option<Handled>, MessagingError> {
        let started = Instant::now();
        let envelope = match Envelope::from_json(message.payload().unwrap_or_default()) {
            Ok(envelope) => envelope,
            Err(error) => {
                let reason = format!("undecodable message: {error}");
                let cause = DeadLetterCause::Undecodable;
                return self
                    .dead_letter(message, None, cause, &reason, 0, shutdown)
                    .await;
            }
        };
        let span = tracing::Span::current();
        span.record("event_id", envelope.id());
        span.record("event_type", envelope.event_type());
        let event = IncomingEvent {
            envelope,
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
            key: message
                .key()
                .map(|key| String::from_utf8_lossy(key).into_owned()),
        };

        let max_attempts = self.kafka.config().max_attempts;
        let base = self.kafka.config().retry_backoff();
        let mut attempts = 0u32;
        let mut outages = 0u32;
        let outcome = loop {
            match self.handle_once(&event).await {
                Ok(outcome) => break outcome,
                Err(error) if error.is_outage() => {
                    outages = outages.saturating_add(1);
                    tracing::warn!(%error, "database unavailable; holding the partition and retrying");
                }
                Err(HandlerError::Permanent(reason)) => {
                    self.count_failure();
                    let reason = format!("rejected by handler: {reason}");
                    let cause = DeadLetterCause::Rejected;
                    return self
                        .dead_letter(
                            message,
                            Some(&event),
                            cause,
                            &reason,
                            attempts + 1,
                            shutdown,
                        )
                        .await;
                }
                Err(error) => {
                    attempts += 1;
                    self.count_failure();
                    if attempts >= max_attempts {
                        let reason = format!("failed {attempts} times; last error: {error}");
                        let cause = DeadLetterCause::RetriesExhausted;
                        return self
                            .dead_letter(message, Some(&event), cause, &reason, attempts, shutdown)
                            .await;
                    }
                    tracing::warn!(%error, attempts, "handler failed; retrying");
                }
            }
            let pause = super::outbox::backoff(base, attempts.max(outages).saturating_sub(1));
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(None),
                _ = tokio::time::sleep(pause) => {}
            }
        };
        self.metrics
            .handler_duration
            .with_label_values(&[&self.name])
            .observe(started.elapsed().as_secs_f64());
        Ok(Some(self.finish(
            message,
            Some(event.envelope.id()),
            outcome,
        )))
    }

    /// One attempt: inbox row and handler effect in one transaction.
    async fn handle_once(&self, event: &IncomingEvent) -> Result<Outcome, HandlerError> {
        let mut tx = self.pool.begin().await?;
        if !self.record_in_inbox(event, &mut tx).await? {
            tx.rollback().await?;
            tracing::debug!("event already handled; skipping the redelivery");
            return Ok(Outcome::Duplicate);
        }
        self.handler.handle(event, &mut tx).await?;
        tx.commit().await?;
        self.handler.committed(event);
        Ok(Outcome::Processed)
    }

    /// Records `event` as handled by this consumer; false if it already was (a redelivery).
    async fn record_in_inbox(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<bool, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO inbox (consumer, event_id, event_type, topic, kafka_partition, kafka_offset)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&self.name)
        .bind(event.envelope.id())
        .bind(event.envelope.event_type())
        .bind(&event.topic)
        .bind(event.partition)
        .bind(event.offset)
        .execute(&mut *tx)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Parks the message in `<topic>.dlq` with the reason; retries the broker until it accepts.
    async fn dead_letter(
        &self,
        message: &BorrowedMessage<'_>,
        event: Option<&IncomingEvent>,
        cause: DeadLetterCause,
        reason: &str,
        attempts: u32,
        shutdown: &CancellationToken,
    ) -> Result<Option<Handled>, MessagingError> {
        tracing::error!(reason, attempts, "message sent to the dead-letter topic");
        let dlq_topic = format!("{}.dlq", message.topic());
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let attempts_text = attempts.to_string();
        let mut failures = 0u32;
        loop {
            let mut headers = OwnedHeaders::new();
            if let Some(original) = message.headers() {
                for h in original.iter() {
                    headers = headers.insert(Header {
                        key: h.key,
                        value: h.value,
                    });
                }
            }
            let headers = headers
                .insert(Header {
                    key: DLQ_REASON_HEADER,
                    value: Some(reason),
                })
                .insert(Header {
                    key: "bazaar-dlq-consumer",
                    value: Some(self.name.as_str()),
                })
                .insert(Header {
                    key: "bazaar-dlq-attempts",
                    value: Some(attempts_text.as_str()),
                })
                .insert(Header {
                    key: "bazaar-dlq-original-topic",
                    value: Some(message.topic()),
                })
                .insert(Header {
                    key: "bazaar-dlq-original-partition",
                    value: Some(partition.as_str()),
                })
                .insert(Header {
                    key: "bazaar-dlq-original-offset",
                    value: Some(offset.as_str()),
                });
            let mut record = FutureRecord::to(&dlq_topic)
                .payload(message.payload().unwrap_or_default())
                .headers(headers);
            if let Some(key) = message.key() {
                record = record.key(key);
            }
            match self
                .kafka
                .producer()
                .send(record, Duration::from_secs(10))
                .await
            {
                Ok(_) => break,
                Err((error, _)) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(%error, "dead-letter topic unavailable; retrying");
                    let pause = super::outbox::backoff(Duration::from_millis(500), failures);
                    tokio::select! {
                        _ = shutdown.cancelled() => return Ok(None),
                        _ = tokio::time::sleep(pause) => {}
                    }
                }
            }
        }
        self.metrics
            .dead_lettered
            .with_label_values(&[&self.name, message.topic(), cause.label()])
            .inc();
        let event_id = event.map(|e| e.envelope.id());
        Ok(Some(self.finish(message, event_id, Outcome::DeadLettered)))
    }

    fn finish(
        &self,
        message: &BorrowedMessage<'_>,
        event_id: Option<&str>,
        outcome: Outcome,
    ) -> Handled {
        self.metrics
            .consumed
            .with_label_values(&[&self.name, message.topic(), outcome.label()])
            .inc();
        Handled {
            outcome,
            event_id: event_id.map(str::to_owned),
            topic: message.topic().to_owned(),
            partition: message.partition(),
            offset: message.offset(),
        }
    }

    fn count_failure(&self) {
        self.metrics
            .handler_failures
            .with_label_values(&[&self.name])
            .inc();
    }

    /// Commits the offsets after everything in `handled`: one request for all partitions.
    fn commit_all(&self, handled: &[Handled]) -> Result<(), MessagingError> {
        let mut next: std::collections::BTreeMap<(&str, i32), i64> = Default::default();
        for h in handled {
            let offset = next.entry((h.topic.as_str(), h.partition)).or_insert(0);
            *offset = (*offset).max(h.offset + 1);
        }
        if next.is_empty() {
            return Ok(());
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            offsets.add_partition_offset(topic, partition, Offset::Offset(offset))?;
        }
        self.consumer.commit(&offsets, CommitMode::Async)?;
        Ok(())
    }

    /// Commits the offset after `handled`, so the group resumes behind it.
    pub fn commit(&self, handled: &Handled) -> Result<(), MessagingError> {
        let mut offsets = TopicPartitionList::new();
        offsets.add_partition_offset(
            &handled.topic,
            handled.partition,
            Offset::Offset(handled.offset + 1),
        )?;
        self.consumer.commit(&offsets, CommitMode::Async)?;
        Ok(())
    }
}

fn header(message: &BorrowedMessage<'_>, name: &str) -> Option<String> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|h| h.key.eq_ignore_ascii_case(name))
        .and_then(|h| h.value)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// Turns librdkafka's periodic statistics into the consumer-lag gauge, and notes when the member has
/// completed its first join of the group.
struct LagReporter {
    consumer: String,
    metrics: Metrics,
    joined: AtomicBool,
}

impl ClientContext for LagReporter {
    fn stats(&self, statistics: Statistics) {
        for (topic, stats) in &statistics.topics {
            for (partition, p) in &stats.partitions {
                // -1 is librdkafka's internal "unassigned" partition; negative lag means unknown.
                if *partition >= 0 && p.consumer_lag >= 0 {
                    self.metrics
                        .consumer_lag
                        .with_label_values(&[&self.consumer, topic, &partition.to_string()])
                        .set(p.consumer_lag);
                }
            }
        }
    }
}

impl ConsumerContext for LagReporter {
    fn post_rebalance(&self, _base: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if matches!(rebalance, Rebalance::Assign(_)) {
            self.joined.store(true, Ordering::Release);
        }
    }
}
