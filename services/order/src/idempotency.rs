//! Checkout idempotency keys, Stripe-style: one order per (shopper, `Idempotency-Key`), and every retry
//! with the same key and body is answered with that order, however it races with the first attempt.
//!
//! The first request with a key [`claim`]s it with a committed row in `checkout_keys` before it reads the
//! cart or asks the catalog for prices; the row names the order the attempt will place. Then:
//!
//! - the attempt places the order and marks the claim completed in the order's own transaction
//!   ([`complete`]); a retry that finds a completed claim answers with its order;
//! - a retry that finds the claim in progress waits (polling with back-off, holding no connection) for up to
//!   [`RETRY_WAIT`], then answers 409 with `Retry-After` ([`OrderError::CheckoutInProgress`]);
//! - an attempt that fails (an empty cart, a refused quote, an outage) deletes its claim ([`abandon`]), so
//!   a later retry runs again and meets the same refusal or succeeds;
//! - a claim left by a process that died mid-checkout is taken over once it is [`STALE_AFTER`] old: same
//!   order id, a new attempt id. Completing checks the attempt id, so if the old attempt was only slow, one
//!   of the two places the order and the other answers with it.
//!
//! The same key with a different body is refused ([`OrderError::IdempotencyKeyReused`]).

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use tokio::time::Instant;
use uuid::Uuid;

use crate::error::OrderError;

/// How long a retry waits for the attempt in progress before answering 409 with `Retry-After`.
pub const RETRY_WAIT: Duration = Duration::from_secs(10);
/// How old an unfinished claim must be before a retry takes it over (its process is presumed dead). Longer
/// than any attempt can take: the catalog call times out after 5 s, a connection wait after 3 s.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);
const MAX_POLL: Duration = Duration::from_millis(250);

#[derive(sqlx::FromRow)]
struct ClaimRow {
    request_hash: Vec<u8>,
    order_id: Uuid,
    attempt: Option<Uuid>,
    completed: bool,
    stale: bool,
}

/// This request's right to place the key's order.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub user_id: String,
    pub key: String,
    /// The order this attempt places (the same for an attempt that takes over a dead one).
    pub order_id: Uuid,
    attempt: Uuid,
}

/// What a request with a key is to do.
#[derive(Debug)]
pub enum Claim {
    /// Place the order.
    Mine(Attempt),
    /// Answer with this order, placed by an earlier attempt.
    Placed(Uuid),
}

/// Claims `key` for `user_id`, or finds (waiting if need be) the order an earlier attempt placed with it.
pub async fn claim(
    pool: &PgPool,
    user_id: &str,
    key: &str,
    request_hash: &[u8],
    wait: Duration,
) -> Result<Claim, OrderError> {
    let deadline = Instant::now() + wait;
    let mut pause = POLL;
    loop {
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            // A waiter that cannot get a connection keeps waiting: the attempt it waits for may need one.
            Err(sqlx::Error::PoolTimedOut) if pause > POLL && Instant::now() < deadline => {
                continue;
            }
            Err(error) => return Err(error.into()),
        };
        let attempt = Attempt {
            user_id: user_id.to_owned(),
            key: key.to_owned(),
            order_id: Uuid::now_v7(),
            attempt: Uuid::now_v7(),
        };
        let claimed = sqlx::query(
            "INSERT INTO checkout_keys (user_id, idempotency_key, request_hash, order_id, attempt)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(key)
        .bind(request_hash)
        .bind(attempt.order_id)
        .bind(attempt.attempt)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1;
        if claimed {
            return Ok(Claim::Mine(attempt));
        }
        let earlier: Option<ClaimRow> = sqlx::query_as(
            "SELECT request_hash, order_id, attempt, completed_at IS NOT NULL AS completed,
                    started_at < now() - make_interval(secs => $3) AS stale
             FROM checkout_keys WHERE user_id = $1 AND idempotency_key = $2",
        )
        .bind(user_id)
        .bind(key)
        .bind(STALE_AFTER.as_secs_f64())
        .fetch_optional(&mut *conn)
        .await?;
        match earlier {
            // The earlier attempt failed and gave the key up between our two statements: claim again.
            None => continue,
            Some(row) if row.request_hash != request_hash => {
                return Err(OrderError::IdempotencyKeyReused);
            }
            Some(row) if row.completed => return Ok(Claim::Placed(row.order_id)),
            Some(row) if row.stale => {
                let taken = sqlx::query(
                    "UPDATE checkout_keys SET attempt = $3, started_at = now()
                     WHERE user_id = $1 AND idempotency_key = $2 AND attempt IS NOT DISTINCT FROM $4
                       AND completed_at IS NULL",
                )
                .bind(user_id)
                .bind(key)
                .bind(attempt.attempt)
                .bind(row.attempt)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1;
                if taken {
                    tracing::warn!(user_id, order_id = %row.order_id, "checkout attempt taken over from one that never finished");
                    return Ok(Claim::Mine(Attempt {
                        order_id: row.order_id,
                        ..attempt
                    }));
                }
            }
            Some(_) => {}
        }
        // In progress: wait for it without holding a connection.
        drop(conn);
        if Instant::now() >= deadline {
            return Err(OrderError::CheckoutInProgress);
        }
        tokio::time::sleep(pause).await;
        // Retries back off, so that many of them do not crowd out the attempt they wait for.
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Marks the claim completed inside the order's transaction. False when the claim is no longer this
/// attempt's (it was taken over): the caller must roll back and answer with the other attempt's order.
pub async fn complete(tx: &mut PgConnection, attempt: &Attempt) -> Result<bool, OrderError> {
    Ok(sqlx::query(
        "UPDATE checkout_keys SET completed_at = now()
         WHERE user_id = $1 AND idempotency_key = $2 AND attempt = $3 AND completed_at IS NULL",
    )
    .bind(&attempt.user_id)
    .bind(&attempt.key)
    .bind(attempt.attempt)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1)
}

/// Gives the key up after a failed attempt, so that a retry runs again. True when the claim was still this
/// attempt's (only then may the caller undo what it did on the order's behalf, such as a reservation).
pub async fn abandon(pool: &PgPool, attempt: &Attempt) -> Result<bool, OrderError> {
    let mut conn = pool.acquire().await?;
    Ok(sqlx::query(
        "DELETE FROM checkout_keys
         WHERE user_id = $1 AND idempotency_key = $2 AND attempt = $3 AND completed_at IS NULL",
    )
    .bind(&attempt.user_id)
    .bind(&attempt.key)
    .bind(attempt.attempt)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}
