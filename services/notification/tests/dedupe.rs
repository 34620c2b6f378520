//! At most one message per (event, recipient, template), driven step by step through the windows where a
//! crash or a failed commit used to send twice: the delivery log refuses a second row whatever the inbox
//! does (a replay under another consumer name, or after the inbox was pruned), a commit that fails after
//! handling leaves nothing sent, and a sender that dies between sending and recording never sends again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bazaar_contracts::Envelope;
use bazaar_contracts::order::OrderId;
use bazaar_notification::notify::Notifier;
use bazaar_notification::send::Sender;
use bazaar_notification::templates::Templates;
use bazaar_notification::transport::{Email, Transport, TransportError};
use bazaar_platform::db;
use bazaar_platform::kafka::{EventHandler, IncomingEvent};
use bazaar_testkit::TestEnv;
use futures::FutureExt;
use futures::future::BoxFuture;
use prometheus::{IntCounterVec, Opts};

mod common;

/// Counts what it sends; fails while `down` is set, refuses while `refusing` is set.
#[derive(Clone, Default)]
struct Counting {
    sent: Arc<AtomicUsize>,
    down: Arc<std::sync::atomic::AtomicBool>,
    refusing: Arc<std::sync::atomic::AtomicBool>,
}

impl Transport for Counting {
    fn name(&self) -> &'static str {
        "log"
    }

    fn send<'a>(&'a self, _email: &'a Email) -> BoxFuture<'a, Result<(), TransportError>> {
        let result = if self.down.load(Ordering::SeqCst) {
            Err(TransportError::Unavailable("relay down".to_owned()))
        } else if self.refusing.load(Ordering::SeqCst) {
            Err(TransportError::Invalid("550 no such mailbox".to_owned()))
        } else {
            self.sent.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        futures::future::ready(result).boxed()
    }
}

struct Rig {
    env: TestEnv,
    pool: sqlx::PgPool,
    transport: Counting,
    notifier: Notifier,
    sender: Sender,
}

impl Rig {
    async fn start() -> Rig {
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
            Arc::new(transport.clone()),
            vec!["ops@shop.example".to_owned()],
            counter,
        );
        // Three attempts a minute apart (tests make a message due at once), a lease of a minute.
        let sender = notifier.sender(
            pool.clone(),
            3,
            Duration::from_secs(60),
            Duration::from_secs(60),
        );
        Rig {
            env,
            pool,
            transport,
            notifier,
            sender,
        }
    }

    /// The consumer's step: the event handled in an inbox transaction that commits or not.
    async fn handle(&self, event: &IncomingEvent, commit: bool) {
        let mut tx = self.pool.begin().await.expect("begin");
        self.notifier.handle(event, &mut tx).await.expect("handled");
        if commit {
            tx.commit().await.expect("commit");
        } else {
            tx.rollback().await.expect("the commit fails");
        }
    }

    fn sent(&self) -> usize {
        self.transport.sent.load(Ordering::SeqCst)
    }

    async fn states(&self) -> Vec<(String, i32)> {
        sqlx::query_as("SELECT state::text, attempts FROM deliveries ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .expect("deliveries")
    }
}

fn shipped_event() -> IncomingEvent {
    let order = OrderId::new();
    IncomingEvent {
        envelope: Envelope::wrap("/bazaar/order", &common::shipped(order, "BZ-5005"))
            .expect("envelope"),
        topic: "bazaar.order".to_owned(),
        partition: 0,
        offset: 0,
        key: Some(order.to_string()),
    }
}

#[tokio::test]
async fn a_commit_that_fails_after_handling_sends_nothing_and_the_redelivery_sends_once() {
    let rig = Rig::start().await;
    let event = shipped_event();

    // Handled, then the inbox transaction's commit fails: nothing may have left.
    rig.handle(&event, false).await;
    rig.sender.run_due().await.expect("sender");
    assert_eq!(
        rig.sent(),
        0,
        "sent inside a transaction that did not commit"
    );

    // The event comes again and commits; then it is replayed (as under another consumer name).
    rig.handle(&event, true).await;
    rig.handle(&event, true).await;
    rig.sender.run_due().await.expect("sender");
    rig.sender.run_due().await.expect("sender");
    assert_eq!(rig.sent(), 1);
    assert_eq!(rig.states().await, [("sent".to_owned(), 1)]);
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_sender_that_dies_between_sending_and_recording_never_sends_again() {
    let rig = Rig::start().await;
    let event = shipped_event();
    rig.handle(&event, true).await;

    // Claimed (committed before sending), sent, and the sender dies before recording it.
    let claimed = rig
        .sender
        .claim()
        .await
        .expect("claim")
        .expect("a due message");
    rig.sender.send(&claimed).await.expect("sent");
    assert_eq!(rig.sent(), 1);
    assert!(
        rig.sender.claim().await.expect("claim").is_none(),
        "a claimed message is not claimed again"
    );
    rig.sender.run_due().await.expect("sender");
    assert_eq!(rig.sent(), 1);

    // Its lease runs out: it is marked unknown, never sent again, whatever else is delivered.
    sqlx::query("UPDATE deliveries SET claimed_at = now() - interval '1 hour'")
        .execute(&rig.pool)
        .await
        .expect("lease over");
    assert_eq!(rig.sender.give_up_interrupted().await.expect("checked"), 1);
    rig.handle(&event, true).await;
    rig.sender.run_due().await.expect("sender");
    assert_eq!(rig.sent(), 1, "sent again after a crash");
    assert_eq!(rig.states().await, [("unknown".to_owned(), 1)]);
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_message_the_transport_did_not_take_is_tried_again_and_a_refused_one_fails() {
    let rig = Rig::start().await;
    let due_now = || async {
        sqlx::query("UPDATE deliveries SET next_try_at = now()")
            .execute(&rig.pool)
            .await
            .expect("due");
    };

    // The relay is down twice, then takes it: one message, three attempts.
    rig.transport.down.store(true, Ordering::SeqCst);
    rig.handle(&shipped_event(), true).await;
    rig.sender.run_due().await.expect("sender");
    assert_eq!(rig.states().await, [("pending".to_owned(), 1)]);
    rig.sender.run_due().await.expect("sender");
    assert_eq!(
        rig.states().await,
        [("pending".to_owned(), 1)],
        "not before its back-off"
    );
    due_now().await;
    rig.sender.run_due().await.expect("sender");
    assert_eq!(rig.states().await, [("pending".to_owned(), 2)]);
    rig.transport.down.store(false, Ordering::SeqCst);
    due_now().await;
    rig.sender.run_due().await.expect("sender");
    assert_eq!(rig.sent(), 1);
    assert_eq!(rig.states().await, [("sent".to_owned(), 3)]);

    // Refused (a 5xx answer): failed at once, not tried again, and on record.
    rig.transport.refusing.store(true, Ordering::SeqCst);
    rig.handle(&shipped_event(), true).await;
    rig.sender.run_due().await.expect("sender");
    rig.transport.refusing.store(false, Ordering::SeqCst);
    due_now().await;
    rig.sender.run_due().await.expect("sender");
    assert_eq!(rig.sent(), 1);
    assert_eq!(rig.states().await[1], ("failed".to_owned(), 1));

    // Down for every attempt (three here): failed, never sent.
    rig.transport.down.store(true, Ordering::SeqCst);
    rig.handle(&shipped_event(), true).await;
    for _ in 0..4 {
        rig.sender.run_due().await.expect("sender");
        due_now().await;
    }
    assert_eq!(rig.states().await[2], ("failed".to_owned(), 3));
    assert_eq!(rig.sent(), 1);
    rig.env.cleanup().await;
}
