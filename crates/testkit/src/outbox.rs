//! What a component announced: the rows of its outbox (the platform's `outbox` table in its schema), which
//! its relay publishes. Reading the outbox tells a test what the component decided, in its transaction,
//! without a consumer of its own on the topic.

use serde_json::Value;
use sqlx::PgPool;

use crate::component::Harness;
use crate::env::eventually;

/// Events written for `key` (an aggregate id: an order id, a SKU...), oldest first: (type, data).
pub async fn events(pool: &PgPool, key: &str) -> Vec<(String, Value)> {
    sqlx::query_as(
        "SELECT event_type, payload->'data' FROM outbox WHERE message_key = $1 ORDER BY seq",
    )
    .bind(key)
    .fetch_all(pool)
    .await
    .expect("outbox rows")
}

/// Every event written, oldest first: (type, key).
pub async fn all(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT event_type, message_key FROM outbox ORDER BY seq")
        .fetch_all(pool)
        .await
        .expect("outbox rows")
}

/// Waits until at least `count` events were written for `key`; returns them all.
pub async fn wait_events(pool: &PgPool, key: &str, count: usize) -> Vec<(String, Value)> {
    eventually(&format!("{count} events for {key}"), || async {
        let events = events(pool, key).await;
        (events.len() >= count).then_some(events)
    })
    .await
}

/// Waits until an event of `event_type` was written for `key`; returns its data.
pub async fn wait_event(pool: &PgPool, key: &str, event_type: &str) -> Value {
    eventually(&format!("{event_type} for {key}"), || async {
        events(pool, key)
            .await
            .into_iter()
            .find(|(t, _)| t == event_type)
            .map(|(_, data)| data)
    })
    .await
}

impl Harness {
    /// The subject's events for `key`, oldest first: (type, data).
    pub async fn outbox(&self, key: &str) -> Vec<(String, Value)> {
        events(&self.db, key).await
    }

    /// Waits until the subject wrote at least `count` events for `key`.
    pub async fn wait_outbox(&self, key: &str, count: usize) -> Vec<(String, Value)> {
        wait_events(&self.db, key, count).await
    }

    /// Waits until the subject wrote an event of `event_type` for `key`; returns its data.
    pub async fn wait_event(&self, key: &str, event_type: &str) -> Value {
        wait_event(&self.db, key, event_type).await
    }
}
