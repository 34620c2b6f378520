//! Live order status. Transitions are announced with PostgreSQL NOTIFY when their transaction commits, so
//! a shopper connected to any replica hears about a change made by any other; one LISTEN connection per
//! process fans the announcements out to the open event streams.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::Event;
use futures::{Stream, StreamExt};
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::StatusUpdate;
use super::store::{self, STATUS_CHANNEL};
use crate::state::OrderState;

/// Fans out "order changed" announcements to the streams of this process.
#[derive(Clone)]
pub struct LiveUpdates {
    changed: broadcast::Sender<Uuid>,
}

impl Default for LiveUpdates {
    fn default() -> Self {
        Self::new()
    }
}

impl LiveUpdates {
    pub fn new() -> Self {
        let (changed, _) = broadcast::channel(1024);
        Self { changed }
    }

    /// Listens for announcements until shutdown, reconnecting after database outages.
    ///
    /// The LISTEN connection is held for as long as the process runs, so it comes from a pool of its
    /// own: taken from the component's pool it would leave requests one connection short, for good.
    pub async fn listen(self, pool: PgPool, shutdown: CancellationToken) {
        let pool = bazaar_platform::db::companion_pool(&pool, 1);
        while !shutdown.is_cancelled() {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::warn!(%error, "order status listener cannot connect; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    }
                }
            };
            if let Err(error) = listener.listen(STATUS_CHANNEL).await {
                tracing::warn!(%error, "cannot LISTEN for order status");
                continue;
            }
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    notification = listener.recv() => match notification {
                        Ok(n) => {
                            if let Ok(id) = Uuid::parse_str(n.payload()) {
                                // No receiver just means nobody is watching right now.
                                let _ = self.changed.send(id);
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "order status listener lost; reconnecting");
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// The current status of order `id` at once, then each new one, ending after a final state.
pub async fn status_stream(
    pool: PgPool,
    live: LiveUpdates,
    id: Uuid,
) -> impl Stream<Item = Result<Event, Infallible>> {
    // Subscribe before reading the current state so that no change falls between the two.
    let changes = live.changed.subscribe();
    futures::stream::unfold(
        (pool, changes, None::<OrderState>, false),
        move |(pool, mut changes, last, done)| async move {
            if done {
                return None;
            }
            let mut first = last.is_none();
            loop {
                if !first {
                    match changes.recv().await {
                        Ok(changed) if changed != id => continue,
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
                first = false;
                let current = current_state(&pool, id).await?;
                if Some(current) == last {
                    continue;
                }
                let update = StatusUpdate {
                    state: current,
                    at: chrono::Utc::now(),
                };
                let event = Event::default().event("status").json_data(&update).ok()?;
                return Some((
                    Ok(event),
                    (pool, changes, Some(current), current.is_final()),
                ));
            }
        },
    )
    .boxed()
}

async fn current_state(pool: &PgPool, id: Uuid) -> Option<OrderState> {
    let mut conn = pool.acquire().await.ok()?;
    store::load(&mut conn, id).await.ok()??.state().ok()
}
