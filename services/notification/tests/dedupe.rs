//! The delivery log itself refuses a second message for an event and recipient, whatever the inbox
//! does: a replay under another consumer name, or after the inbox was pruned, still tells nobody twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bazaar_contracts::Envelope;
use bazaar_contracts::order::OrderId;
use bazaar_notification::notify::Notifier;
use bazaar_notification::templates::Templates;
use bazaar_notification::transport::{Email, Transport, TransportError};
use bazaar_platform::db;
use bazaar_platform::kafka::{EventHandler, IncomingEvent};
use bazaar_testkit::TestEnv;
use futures::FutureExt;
use futures::future::BoxFuture;
use prometheus::{IntCounterVec, Opts};

mod common;

/// Counts what it sends; fails while `down` is set.
#[derive(Clone, Default)]
struct Counting {
    sent: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
}

impl Transport for Counting {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send<'a>(&'a self, _email: &'a Email) -> BoxFuture<'a, Result<(), TransportError>> {
        let result = if self.down.load(Ordering::SeqCst) {
            Err(TransportError::Unavailable("relay down".to_owned()))
        } else {
            self.sent.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        futures::future::ready(result).boxed()
    }
}

#[tokio::test]
async fn a_replayed_event_is_sent_once_and_a_failed_send_leaves_no_delivery() {
    let env = TestEnv::start().await.expect("infrastructure");
    let schema = env.schema("notification");
    let pool = db::pool("notification", &env.database_url, &schema, 5).expect("pool");
    db::migrate(&pool, &schema, bazaar_notification::COMPONENT.migrations)
        .await
        .expect("migrations");
    let transport = Counting::default();
    let counter =
        IntCounterVec::new(Opts::new("n", "n"), &["template", "outcome"]).expect("metric");
    let notifier = Notifier::new(
        Templates::load().expect("templates"),
        Box::new(transport.clone()),
        vec!["ops@shop.example".to_owned()],
        counter,
    );
    let order = OrderId::new();
    let event = IncomingEvent {
        envelope: Envelope::wrap("/bazaar/order", &common::shipped(order, "BZ-5005"))
            .expect("envelope"),
        topic: "bazaar.order".to_owned(),
        partition: 0,
        offset: 0,
        key: Some(order.to_string()),
    };

    // The relay is down: the send fails, the transaction rolls back, nothing is logged as delivered.
    transport.down.store(true, Ordering::SeqCst);
    let mut tx = pool.begin().await.expect("begin");
    assert!(notifier.handle(&event, &mut tx).await.is_err());
    tx.rollback().await.expect("rollback");
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(logged, 0);

    // Back up: sent once; replayed: not sent again.
    transport.down.store(false, Ordering::SeqCst);
    for _ in 0..2 {
        let mut tx = pool.begin().await.expect("begin");
        notifier.handle(&event, &mut tx).await.expect("handled");
        tx.commit().await.expect("commit");
    }
    assert_eq!(transport.sent.load(Ordering::SeqCst), 1);
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(logged, 1);
    env.cleanup().await;
}
