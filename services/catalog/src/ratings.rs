//! Product ratings from the review component: each `review.rating_summary.changed` (topic `bazaar.review`,
//! keyed by product slug) carries a product's whole summary of published reviews, and the catalog keeps
//! the newest one per product in `product_ratings`, which the listing sorts and filters on.
//!
//! The events are handled by the per-process cache consumer ([`crate::cache::Invalidate`]), which records
//! the summary in its inbox transaction and then drops this process's cached pages: every replica records
//! (idempotently) before it forgets, so no replica can serve a page computed from the old rating after the
//! event reached it. A summary older than the one held (`changedAt`) changes nothing, so redeliveries,
//! replays of the topic by a new process and late events are harmless.

use bazaar_contracts::review::RatingSummaryChanged;
use sqlx::PgConnection;

/// Keeps `summary` unless a newer one is held; true when it was written.
pub async fn record(conn: &mut PgConnection, summary: &RatingSummaryChanged) -> sqlx::Result<bool> {
    let written = sqlx::query(
        "INSERT INTO product_ratings (slug, average, count, histogram, changed_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (slug) DO UPDATE SET average = EXCLUDED.average, count = EXCLUDED.count,
             histogram = EXCLUDED.histogram, changed_at = EXCLUDED.changed_at
         WHERE product_ratings.changed_at <= EXCLUDED.changed_at",
    )
    .bind(&summary.product_slug)
    .bind(summary.average)
    .bind(i32::try_from(summary.count).unwrap_or(i32::MAX))
    .bind(sqlx::types::Json(&summary.histogram))
    .bind(summary.changed_at)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(written > 0)
}
