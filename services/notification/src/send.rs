//! Sending recorded messages, apart from the event's transaction.
//!
//! A delivery is recorded as `pending` in the inbox transaction of its event ([`crate::notify`]). The
//! sender then, for each due `pending` row:
//!
//! 1. **claims** it: one statement sets it `sending` (attempts + 1) and commits, *before* the message
//!    leaves;
//! 2. **sends** it through the transport, holding no connection or transaction;
//! 3. **records** the result: `sent`; or, when the transport reports the message not sent (SMTP server
//!    unreachable or answering 4xx), `pending` again after a back-off doubling from
//!    `NOTIFICATION_RETRY_BACKOFF_MS` (at most five minutes), until `NOTIFICATION_MAX_ATTEMPTS`; or `failed`
//!    (refused, e.g. a malformed address or a 5xx answer, or out of attempts).
//!
//! A claim still `sending` once its lease (twice the SMTP timeout plus 30 s) is over means the sender
//! stopped between steps 1 and 3: the message may or may not have left, and it is marked `unknown`,
//! never sent again.
//!
//! **What is guaranteed.** At most one message per (event, recipient, template): the unique key makes a
//! redelivered or replayed event record nothing, a commit that fails after handling leaves nothing to
//! send, and a crash after a send never repeats it. A message is sent as long as the transport eventually
//! takes it within the attempts; every message that was not (`failed`) or may not have been (`unknown`)
//! sent is visible in the delivery log (`GET /api/notifications/deliveries?state=...`) and counted in
//! `bazaar_notifications_total{outcome}`. The one way to get a message twice is outside Bazaar: an SMTP
//! server that took a message but whose answer was lost (the connection broke after the data) is reported
//! by the SMTP client as a failure, and the retry sends it again; SMTP has no idempotency key to prevent
//! that.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus::IntCounterVec;
use sqlx::PgPool;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::transport::{Email, Transport, TransportError};

/// How often an idle sender looks for due messages (it is also woken when one is recorded).
const POLL: Duration = Duration::from_millis(200);
/// The longest pause between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Sends at once per process.
pub const CONCURRENCY: usize = 2;

/// Sends what [`crate::notify::Notifier`] recorded. Built by [`crate::notify::Notifier::sender`].
#[derive(Clone)]
pub struct Sender {
    pub pool: PgPool,
    pub transport: Arc<dyn Transport>,
    pub sent: IntCounterVec,
    pub max_attempts: u32,
    pub backoff: Duration,
    /// How long a claim may stay unconfirmed before it counts as interrupted.
    pub lease: Duration,
    pub wake: Arc<Notify>,
}

/// A delivery claimed for sending (state `sending`, committed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: Uuid,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i32,
}

impl Sender {
    /// Sends due messages until `shutdown` completes; then claims nothing more and lets the messages
    /// being sent finish (bounded by the lease), so that a graceful stop leaves none `unknown`.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let stopping = AtomicBool::new(false);
        let loops = (0..CONCURRENCY).map(|_| {
            let sender = self.clone();
            let stopping = &stopping;
            async move {
                while !stopping.load(Ordering::Acquire) {
                    if let Err(error) = sender.give_up_interrupted().await {
                        tracing::warn!(%error, "interrupted sends not checked");
                    }
                    if let Err(error) = sender.send_due(stopping).await {
                        tracing::warn!(%error, "sending notifications failed; trying again");
                    }
                    tokio::select! {
                        _ = sender.wake.notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                    }
                }
            }
        });
        let mut all = std::pin::pin!(futures::future::join_all(loops));
        tokio::select! {
            _ = shutdown => {}
            _ = &mut all => return,
        }
        stopping.store(true, Ordering::Release);
        self.wake.notify_waiters();
        if tokio::time::timeout(self.lease, all).await.is_err() {
            tracing::warn!("notification sends still running at shutdown; they end unknown");
        }
    }

    /// Claims, sends and records due messages until none is due; returns how many were tried.
    pub async fn run_due(&self) -> Result<usize, sqlx::Error> {
        self.send_due(&AtomicBool::new(false)).await
    }

    /// [`Sender::run_due`], claiming nothing more once `stopping` is set.
    async fn send_due(&self, stopping: &AtomicBool) -> Result<usize, sqlx::Error> {
        let mut tried = 0;
        while !stopping.load(Ordering::Acquire) {
            let Some(claimed) = self.claim().await? else {
                break;
            };
            let result = self.send(&claimed).await;
            self.record(&claimed, result).await?;
            tried += 1;
        }
        Ok(tried)
    }

    /// Step 1: marks the next due message `sending`, committed before anything is sent.
    pub async fn claim(&self) -> Result<Option<Claimed>, sqlx::Error> {
        sqlx::query_as::<_, Claimed>(
            "UPDATE deliveries SET state = 'sending', attempts = attempts + 1, claimed_at = now()
             WHERE id = (SELECT id FROM deliveries WHERE state = 'pending' AND next_try_at <= now()
                         ORDER BY next_try_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, template, recipient, subject, body, attempts",
        )
        .fetch_optional(&self.pool)
        .await
    }

    /// Step 2: hands the message to the transport.
    pub async fn send(&self, claimed: &Claimed) -> Result<(), TransportError> {
        self.transport
            .send(&Email {
                to: claimed.recipient.clone(),
                subject: claimed.subject.clone(),
                body: claimed.body.clone(),
            })
            .await
    }

    /// Step 3: records what the transport said.
    pub async fn record(
        &self,
        claimed: &Claimed,
        result: Result<(), TransportError>,
    ) -> Result<(), sqlx::Error> {
        let outcome = match &result {
            Ok(()) => {
                // Also from `unknown`: a send that outlived its lease did leave after all.
                sqlx::query(
                    "UPDATE deliveries SET state = 'sent', sent_at = now(), last_error = NULL
                     WHERE id = $1 AND attempts = $2 AND state IN ('sending', 'unknown')",
                )
                .bind(claimed.id)
                .bind(claimed.attempts)
                .execute(&self.pool)
                .await?;
                "sent"
            }
            Err(error) => {
                let attempts = u32::try_from(claimed.attempts).unwrap_or(u32::MAX);
                let again =
                    matches!(error, TransportError::Unavailable(_)) && attempts < self.max_attempts;
                let pause = self.pause(attempts);
                tracing::warn!(template = claimed.template, %error, attempts, again, "notification not sent");
                sqlx::query(
                    "UPDATE deliveries
                     SET state = CASE WHEN $3 THEN 'pending' ELSE 'failed' END::delivery_state,
                         next_try_at = now() + $4 * interval '1 millisecond', last_error = $5
                     WHERE id = $1 AND attempts = $2 AND state = 'sending'",
                )
                .bind(claimed.id)
                .bind(claimed.attempts)
                .bind(again)
                .bind(i64::try_from(pause.as_millis()).unwrap_or(i64::MAX))
                .bind(error.to_string())
                .execute(&self.pool)
                .await?;
                if again { "retried" } else { "failed" }
            }
        };
        self.sent
            .with_label_values(&[claimed.template.as_str(), outcome])
            .inc();
        Ok(())
    }

    /// Marks claims whose lease is over `unknown`: the sender stopped after claiming them, so the
    /// message may have left; it is not sent again. Returns how many.
    pub async fn give_up_interrupted(&self) -> Result<u64, sqlx::Error> {
        let given_up: Vec<(String,)> = sqlx::query_as(
            "UPDATE deliveries SET state = 'unknown',
                    last_error = 'interrupted between claim and confirmation; not sent again'
             WHERE state = 'sending' AND claimed_at < now() - $1 * interval '1 millisecond'
             RETURNING template",
        )
        .bind(i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        for (template,) in &given_up {
            tracing::error!(
                template,
                "notification interrupted mid-send; marked unknown, not resent"
            );
            self.sent
                .with_label_values(&[template.as_str(), "unknown"])
                .inc();
        }
        Ok(given_up.len() as u64)
    }

    fn pause(&self, attempts: u32) -> Duration {
        let factor = 1u32 << attempts.saturating_sub(1).min(16);
        self.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}
