//! Per-shopper rate limit on writes, the way identity limits sign-ins: fixed-window counters in
//! PostgreSQL (`rate_limits`), so the limit holds across replicas. One upsert per write.

use std::time::Duration;

use bazaar_platform::Problem;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct RateLimiter {
    db: PgPool,
    max: u32,
    window: Duration,
}

impl RateLimiter {
    pub fn new(db: PgPool, max: u32, window: Duration) -> Self {
        Self { db, max, window }
    }

    /// Counts one write of `shopper`; past the limit answers 429 with the seconds left in the window.
    /// Takes and releases its own connection: call it before opening the write's transaction.
    pub async fn hit(&self, shopper: &str) -> Result<(), Problem> {
        let (hits, remaining): (i32, f64) = sqlx::query_as(
            "INSERT INTO rate_limits AS r (bucket, window_started_at, hits) VALUES ($1, now(), 1)
             ON CONFLICT (bucket) DO UPDATE SET
                 hits = CASE WHEN r.window_started_at + make_interval(secs => $2) <= now()
                             THEN 1 ELSE r.hits + 1 END,
                 window_started_at = CASE WHEN r.window_started_at + make_interval(secs => $2) <= now()
                                          THEN now() ELSE r.window_started_at END
             RETURNING hits,
                 EXTRACT(EPOCH FROM window_started_at + make_interval(secs => $2) - now())::float8",
        )
        .bind(format!("writes:{shopper}"))
        .bind(self.window.as_secs_f64())
        .fetch_one(&self.db)
        .await?;
        if i64::from(hits) > i64::from(self.max) {
            tracing::info!(%shopper, hits, "review write rate limit exceeded");
            // Rounded up and at least 1: `Retry-After: 0` would invite an immediate retry.
            return Err(Problem::too_many_requests(remaining.ceil().max(1.0) as u64));
        }
        Ok(())
    }
}
