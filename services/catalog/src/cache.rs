//! The in-process read cache and what invalidates it.
//!
//! Rendered responses (body + ETag) are kept per request (path and query) together with the cache
//! *generation* they were computed in. Every catalog event bumps the generation and empties the cache, so a
//! change reaches every reader as soon as its event arrives. A response computed while an event arrived is
//! not stored (its generation is stale), so a reader can never put pre-change data back after the
//! invalidation. Entries also expire after a short TTL, which bounds staleness if events are delayed and
//! lets time-dependent answers (promotion schedules) move on.
//!
//! Review's rating summaries change listings too: the same consumer records each one
//! ([`crate::ratings::record`]) in its inbox transaction and then drops the cache.
//!
//! The invalidating consumer must see *every* catalog event in *every* replica, so each process uses its
//! own consumer group ([`consumer_name`] carries a fresh id). The platform consumer records each event in
//! the inbox under that name; [`sweep_old_inbox_rows`] deletes the rows of earlier processes at start.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use bazaar_contracts::review::RatingSummaryChanged;
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent};
use sqlx::{PgConnection, PgPool};

use crate::read::Reference;

/// Prefix of the per-process consumer names.
pub const CONSUMER_PREFIX: &str = "catalog-cache-";

/// A unique consumer name for this process: `catalog-cache-<uuid>`.
pub fn consumer_name() -> String {
    format!("{CONSUMER_PREFIX}{}", uuid::Uuid::now_v7().simple())
}

/// A rendered response.
#[derive(Debug)]
pub struct Cached {
    /// Strong ETag, quoted.
    pub etag: String,
    pub body: Bytes,
}

struct Entry {
    generation: u64,
    stored: Instant,
    value: Arc<Cached>,
}

/// Responses and reference data, dropped whenever the catalog changes.
pub struct ResponseCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Entry>>,
    reference: Mutex<Option<(u64, Instant, Arc<Reference>)>>,
    ttl: Duration,
    max_entries: usize,
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(Duration::from_secs(60), 10_000)
    }
}

impl ResponseCache {
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            generation: AtomicU64::new(0),
            entries: Mutex::new(HashMap::new()),
            reference: Mutex::new(None),
            ttl,
            max_entries,
        }
    }

    /// The current generation; read it before computing something you mean to [`put`](Self::put).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Forgets everything: the catalog changed.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.lock_entries().clear();
        *self.lock_reference() = None;
    }

    pub fn len(&self) -> usize {
        self.lock_entries().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        let generation = self.generation();
        let entries = self.lock_entries();
        entries
            .get(key)
            .filter(|e| e.generation == generation && e.stored.elapsed() < self.ttl)
            .map(|e| e.value.clone())
    }

    /// Stores `value` unless the catalog changed since `generation` was read.
    pub fn put(&self, key: String, generation: u64, value: Arc<Cached>) {
        let mut entries = self.lock_entries();
        if generation != self.generation() {
            return;
        }
        if entries.len() >= self.max_entries {
            let ttl = self.ttl;
            entries.retain(|_, e| e.stored.elapsed() < ttl);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                generation,
                stored: Instant::now(),
                value,
            },
        );
    }

    pub(crate) fn reference(&self) -> Option<Arc<Reference>> {
        let generation = self.generation();
        self.lock_reference()
            .as_ref()
            .filter(|(g, stored, _)| *g == generation && stored.elapsed() < self.ttl)
            .map(|(_, _, r)| r.clone())
    }

    pub(crate) fn put_reference(&self, generation: u64, reference: Arc<Reference>) {
        let mut slot = self.lock_reference();
        if generation == self.generation() {
            *slot = Some((generation, Instant::now(), reference));
        }
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock leaves plain data behind; keep using it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_reference(&self) -> std::sync::MutexGuard<'_, Option<(u64, Instant, Arc<Reference>)>> {
        self.reference.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A strong ETag for a body: 64-bit FNV-1a plus the length, stable across processes and replicas.
pub fn etag_of(body: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in body {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{hash:016x}-{:x}\"", body.len())
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, lists and `*` allowed).
pub fn matches_if_none_match(header: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    header
        .split(',')
        .any(|candidate| candidate.trim() == "*" || bare(candidate) == bare(etag))
}

/// The consumer handler: any catalog event empties this process's cache.
pub struct Invalidate {
    cache: Arc<ResponseCache>,
}

impl Invalidate {
    pub fn new(cache: Arc<ResponseCache>) -> Self {
        Self { cache }
    }
}

impl EventHandler for Invalidate {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        if event.envelope.is::<RatingSummaryChanged>() {
            let summary: RatingSummaryChanged = event.envelope.decode()?;
            if crate::ratings::record(tx, &summary).await? {
                tracing::debug!(slug = summary.product_slug, "rating changed; cache dropped");
                self.cache.invalidate();
            }
        } else if event.envelope.event_type().starts_with("catalog.") {
            tracing::debug!(
                event_type = event.envelope.event_type(),
                "catalog changed; cache dropped"
            );
            self.cache.invalidate();
        }
        Ok(())
    }
}

/// Deletes inbox rows left by the cache consumers of earlier processes (older than a day).
pub async fn sweep_old_inbox_rows(pool: &PgPool, current: &str) {
    let swept = sqlx::query(
        "DELETE FROM inbox WHERE starts_with(consumer, $1) AND consumer <> $2
         AND processed_at < now() - interval '1 day'",
    )
    .bind(CONSUMER_PREFIX)
    .bind(current)
    .execute(pool)
    .await;
    if let Err(error) = swept {
        tracing::warn!(%error, "old cache-consumer inbox rows not swept");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(body: &'static str) -> Arc<Cached> {
        Arc::new(Cached {
            etag: etag_of(body.as_bytes()),
            body: Bytes::from_static(body.as_bytes()),
        })
    }

    #[test]
    fn invalidation_drops_entries_and_refuses_stale_puts() {
        let cache = ResponseCache::default();
        let before = cache.generation();
        cache.put("a".into(), before, cached("one"));
        assert!(cache.get("a").is_some());
        cache.invalidate();
        assert!(cache.get("a").is_none());
        // Computed before the invalidation, stored after: refused.
        cache.put("a".into(), before, cached("one"));
        assert!(cache.get("a").is_none());
        cache.put("a".into(), cache.generation(), cached("two"));
        assert_eq!(cache.get("a").expect("fresh").body, "two");
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = ResponseCache::new(Duration::ZERO, 10);
        cache.put("a".into(), cache.generation(), cached("one"));
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn etags_are_stable_and_if_none_match_accepts_lists_weak_tags_and_star() {
        let tag = etag_of(b"hello");
        assert_eq!(tag, etag_of(b"hello"));
        assert_ne!(tag, etag_of(b"hellO"));
        assert!(matches_if_none_match(&tag, &tag));
        assert!(matches_if_none_match(&format!("\"x\", W/{tag}"), &tag));
        assert!(matches_if_none_match("*", &tag));
        assert!(!matches_if_none_match("\"x\"", &tag));
    }
}
