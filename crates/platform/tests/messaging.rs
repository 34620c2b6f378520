//! The messaging guarantees every component relies on, against real PostgreSQL and a real Kafka-protocol
//! broker: an event committed with a state change has its effect exactly once downstream, whatever crashes
//! in between; a rolled-back change announces nothing; a poison message is parked and the partition flows on.

use std::time::{Duration, Instant};

use bazaar_contracts::{DomainEvent, Topic};
use bazaar_platform::config::KafkaConfig;
use bazaar_platform::db;
use bazaar_platform::kafka::{
    Consumer, DLQ_REASON_HEADER, EventHandler, HandlerError, IncomingEvent, Kafka, Outbox, Outcome,
    Relay,
};
use bazaar_platform::metrics::Metrics;
use bazaar_testkit::{TestEnv, wait_for};
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Headers;
use rdkafka::producer::FutureRecord;
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

const PATIENCE: Duration = Duration::from_secs(60);

/// A stand-in domain event: a parcel was weighed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
struct ParcelWeighed {
    parcel: String,
    grams: i32,
}

impl DomainEvent for ParcelWeighed {
    const TYPE: &'static str = "test.parcel.weighed";
    const TOPIC: Topic = Topic::custom("test.parcels");
    fn key(&self) -> String {
        self.parcel.clone()
    }
}

/// Records every event it handles as a row in `effects`: a second row for one event is a double effect.
/// Parcels weighing nothing make it fail, to exercise retries and dead-lettering.
struct RecordEffects;

impl EventHandler for RecordEffects {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let parcel: ParcelWeighed = event.envelope.decode()?;
        if parcel.grams == 0 {
            return Err(HandlerError::transient(std::io::Error::other(
                "scale is broken",
            )));
        }
        sqlx::query(
            "INSERT INTO effects (event_id, parcel, grams, txid) VALUES ($1, $2, $3, txid_current())",
        )
            .bind(event.envelope.id())
            .bind(&parcel.parcel)
            .bind(parcel.grams)
            .execute(&mut *tx)
            .await?;
        Ok(())
    }
}

struct Rig {
    env: TestEnv,
    pool: PgPool,
    kafka: Kafka,
    metrics: Metrics,
    outbox: Outbox,
}

impl Rig {
    async fn new() -> Rig {
        Rig::polling_every(20).await
    }

    /// A rig whose relay polls its outbox every `outbox_poll_ms` when nothing wakes it.
    async fn polling_every(outbox_poll_ms: u64) -> Rig {
        let env = TestEnv::start().await.expect("test infrastructure");
        let schema = env.schema("shop");
        let pool = db::pool("shop", &env.database_url, &schema, 5).expect("pool");
        db::migrate(&pool, &schema, &Migrator::with_migrations(Vec::new()))
            .await
            .expect("messaging tables");
        sqlx::query("CREATE TABLE parcels (parcel text PRIMARY KEY, grams int NOT NULL)")
            .execute(&pool)
            .await
            .expect("parcels table");
        sqlx::query("CREATE TABLE effects (event_id text NOT NULL, parcel text NOT NULL, grams int NOT NULL, txid bigint NOT NULL)")
            .execute(&pool)
            .await
            .expect("effects table");
        let config = KafkaConfig {
            brokers: Some(env.kafka_brokers.clone()),
            topic_prefix: env.topic_prefix(),
            partitions: 2,
            max_attempts: 3,
            retry_backoff_ms: 20,
            outbox_poll_ms,
        };
        let kafka = Kafka::connect(&config, "messaging-test").expect("producer");
        kafka
            .ensure_topics(&[ParcelWeighed::TOPIC.name()])
            .await
            .expect("topics");
        Rig {
            env,
            pool,
            kafka,
            metrics: Metrics::new(),
            outbox: Outbox::new("shop"),
        }
    }

    /// Weighs a parcel: the state change and its event in one transaction.
    async fn weigh(&self, parcel: &str, grams: i32, commit: bool) {
        let mut tx = self.pool.begin().await.expect("begin");
        sqlx::query("INSERT INTO parcels (parcel, grams) VALUES ($1, $2)")
            .bind(parcel)
            .bind(grams)
            .execute(&mut *tx)
            .await
            .expect("state change");
        let event = ParcelWeighed {
            parcel: parcel.into(),
            grams,
        };
        self.outbox.enqueue(&mut tx, &event).await.expect("enqueue");
        if commit {
            tx.commit().await.expect("commit");
        } else {
            tx.rollback().await.expect("rollback");
        }
    }

    fn relay(&self) -> Relay {
        Relay::new(
            "shop",
            self.pool.clone(),
            self.kafka.clone(),
            self.metrics.clone(),
        )
    }

    fn consumer(&self) -> Consumer<RecordEffects> {
        Consumer::new(
            "effects",
            &[ParcelWeighed::TOPIC],
            RecordEffects,
            self.pool.clone(),
            &self.kafka,
            &self.metrics,
        )
        .expect("consumer")
    }

    async fn effects_of(&self, parcel: &str) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM effects WHERE parcel = $1")
            .bind(parcel)
            .fetch_one(&self.pool)
            .await
            .expect("count effects")
    }

    async fn unpublished(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .expect("count outbox")
    }

    fn consumed(&self, outcome: &str) -> u64 {
        let topic = self.kafka.topic(ParcelWeighed::TOPIC.name());
        self.metrics
            .consumed
            .with_label_values(&["effects", &topic, outcome])
            .get()
    }

    /// `bazaar_kafka_dead_lettered_total` of the test consumer on the test topic, for one reason.
    fn dead_lettered(&self, reason: &str) -> u64 {
        let topic = self.kafka.topic(ParcelWeighed::TOPIC.name());
        self.metrics
            .dead_lettered
            .with_label_values(&["effects", &topic, reason])
            .get()
    }

    /// Runs the relay and the consumer in the background until the returned token is cancelled.
    fn run_pipeline(&self) -> CancellationToken {
        let stop = CancellationToken::new();
        tokio::spawn(self.relay().run(stop.clone()));
        tokio::spawn(self.consumer().run(stop.clone()));
        stop
    }
}

#[tokio::test]
async fn an_event_committed_with_its_state_change_has_exactly_one_effect_and_a_rolled_back_one_none()
 {
    let rig = Rig::new().await;
    rig.weigh("kept", 310, true).await;
    rig.weigh("abandoned", 500, false).await;

    let stop = rig.run_pipeline();
    wait_for(PATIENCE, "the committed event's effect", || async {
        (rig.effects_of("kept").await == 1).then_some(())
    })
    .await
    .expect("effect");
    assert_eq!(
        rig.unpublished().await,
        0,
        "the relay marks what it published"
    );

    // Give a stray second delivery or the rolled-back event time to show up.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rig.effects_of("kept").await, 1);
    assert_eq!(
        rig.effects_of("abandoned").await,
        0,
        "a rolled-back change announces nothing"
    );
    stop.cancel();
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_relay_killed_between_publishing_and_marking_publishes_again_and_the_inbox_absorbs_it() {
    let rig = Rig::new().await;
    rig.weigh("crate-1", 1200, true).await;

    // The relay publishes, then dies before marking: the batch is dropped with its transaction open.
    let relay = rig.relay();
    let batch = relay.next_batch().await.expect("batch");
    assert_eq!(batch.events.len(), 1);
    let outcomes = relay.publish(&batch.events).await;
    assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    drop(batch);
    assert_eq!(rig.unpublished().await, 1, "nothing was marked");

    // A restarted relay publishes the row again; the consumer sees the event twice.
    let stop = rig.run_pipeline();
    wait_for(PATIENCE, "both deliveries to be consumed", || async {
        (rig.consumed("processed") + rig.consumed("duplicate") >= 2).then_some(())
    })
    .await
    .expect("two deliveries");
    assert_eq!(rig.consumed("processed"), 1);
    assert_eq!(rig.consumed("duplicate"), 1);
    assert_eq!(
        rig.effects_of("crate-1").await,
        1,
        "the redelivery had no second effect"
    );
    assert_eq!(rig.unpublished().await, 0);
    stop.cancel();
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_consumer_killed_before_committing_its_offset_gets_the_event_again_without_a_second_effect()
 {
    let rig = Rig::new().await;
    rig.weigh("box-7", 800, true).await;
    rig.relay().relay_once().await.expect("publish");

    let never = CancellationToken::new();
    let first = rig.consumer();
    let handled = first
        .process_next(&never)
        .await
        .expect("receive")
        .expect("handled");
    assert_eq!(handled.outcome, Outcome::Processed);
    drop(first); // dies here: its transaction committed, its offset did not

    let second = rig.consumer();
    let redelivered = second
        .process_next(&never)
        .await
        .expect("receive")
        .expect("handled");
    assert_eq!(
        redelivered.event_id, handled.event_id,
        "the same event came back"
    );
    assert_eq!(redelivered.outcome, Outcome::Duplicate);
    assert_eq!(rig.effects_of("box-7").await, 1);
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dead_letter_topic_with_its_reason_and_the_partition_keeps_flowing()
 {
    let rig = Rig::new().await;
    let topic = rig.kafka.topic(ParcelWeighed::TOPIC.name());

    // All with one key, so all on one partition, in this order: garbage, an event the handler always
    // fails on, then a good event that must still get through.
    let garbage = FutureRecord::to(&topic)
        .key("pallet")
        .payload("this is not a CloudEvent");
    rig.kafka
        .producer()
        .send(garbage, Duration::from_secs(10))
        .await
        .expect("produce garbage");
    rig.weigh("pallet", 0, true).await;
    rig.relay()
        .relay_once()
        .await
        .expect("publish failing event");
    sqlx::query("DELETE FROM parcels")
        .execute(&rig.pool)
        .await
        .expect("reset");
    rig.weigh("pallet", 900, true).await;

    let stop = rig.run_pipeline();
    wait_for(
        PATIENCE,
        "the good event behind the poison ones",
        || async { (rig.effects_of("pallet").await == 1).then_some(()) },
    )
    .await
    .expect("partition kept flowing");
    assert_eq!(rig.consumed("dead_lettered"), 2);
    assert_eq!(rig.dead_lettered("undecodable"), 1, "the garbage");
    assert_eq!(
        rig.dead_lettered("retries_exhausted"),
        1,
        "the event the handler kept failing on"
    );
    assert_eq!(rig.dead_lettered("rejected"), 0);
    stop.cancel();

    let reasons = dead_letter_reasons(&rig, &format!("{topic}.dlq"), 2).await;
    assert!(reasons[0].starts_with("undecodable message"), "{reasons:?}");
    assert!(reasons[1].starts_with("failed 3 times"), "{reasons:?}");
    assert!(reasons[1].contains("scale is broken"), "{reasons:?}");
    rig.env.cleanup().await;
}

/// Reads `count` messages from the dead-letter topic, in order, and returns their reason headers.
async fn dead_letter_reasons(rig: &Rig, dlq: &str, count: usize) -> Vec<String> {
    let reader: BaseConsumer = rig
        .kafka
        .client_config()
        .set("group.id", format!("{}reader", rig.env.topic_prefix()))
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    let metadata = reader
        .fetch_metadata(Some(dlq), Duration::from_secs(10))
        .expect("metadata");
    let mut assignment = TopicPartitionList::new();
    for partition in metadata.topics()[0].partitions() {
        assignment
            .add_partition_offset(dlq, partition.id(), Offset::Beginning)
            .expect("assign");
    }
    reader.assign(&assignment).expect("assign");
    tokio::task::spawn_blocking(move || {
        let mut reasons = Vec::new();
        let deadline = std::time::Instant::now() + PATIENCE;
        while reasons.len() < count && std::time::Instant::now() < deadline {
            if let Some(Ok(message)) = reader.poll(Duration::from_millis(200)) {
                let reason = message
                    .headers()
                    .and_then(|h| h.iter().find(|h| h.key == DLQ_REASON_HEADER))
                    .and_then(|h| h.value)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
                    .unwrap_or_default();
                reasons.push(reason);
            }
        }
        reasons
    })
    .await
    .expect("reader task")
}

#[tokio::test]
async fn a_consumer_stopped_gracefully_and_started_again_resumes_where_it_left_off() {
    let rig = Rig::new().await;
    rig.weigh("first", 100, true).await;
    let stop = CancellationToken::new();
    tokio::spawn(rig.relay().run(stop.clone()));

    let first_run = CancellationToken::new();
    let running = tokio::spawn(rig.consumer().run(first_run.clone()));
    wait_for(PATIENCE, "the first event", || async {
        (rig.effects_of("first").await == 1).then_some(())
    })
    .await
    .expect("first run consumed");
    first_run.cancel();
    running.await.expect("consumer stopped");

    // Published while no consumer runs; the restarted member must pick it up.
    rig.weigh("second", 200, true).await;
    let second_run = CancellationToken::new();
    tokio::spawn(rig.consumer().run(second_run.clone()));
    wait_for(PATIENCE, "the event published while stopped", || async {
        (rig.effects_of("second").await == 1).then_some(())
    })
    .await
    .expect("restarted consumer resumed");
    assert_eq!(rig.effects_of("first").await, 1, "nothing consumed twice");
    second_run.cancel();
    stop.cancel();
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_consumer_stopped_while_still_joining_its_group_does_not_block_the_next_member() {
    let rig = Rig::new().await;
    let stop = CancellationToken::new();
    tokio::spawn(rig.relay().run(stop.clone()));

    let first_run = CancellationToken::new();
    let running = tokio::spawn(rig.consumer().run(first_run.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    first_run.cancel();
    running.await.expect("consumer stopped");

    rig.weigh("late", 300, true).await;
    let second_run = CancellationToken::new();
    tokio::spawn(rig.consumer().run(second_run.clone()));
    wait_for(PATIENCE, "the next member to consume", || async {
        (rig.effects_of("late").await == 1).then_some(())
    })
    .await
    .expect("the group recovered");
    second_run.cancel();
    stop.cancel();
    rig.env.cleanup().await;
}

#[tokio::test]
async fn a_relay_publishes_a_committed_event_at_once_not_at_its_next_poll() {
    // A poll interval far longer than the test's patience: only the commit's notification can wake it.
    let rig = Rig::polling_every(60_000).await;
    let stop = CancellationToken::new();
    tokio::spawn(rig.relay().run(stop.clone()));
    // Let the relay finish its first (empty) round and go to sleep.
    tokio::time::sleep(Duration::from_secs(1)).await;

    for parcel in ["woken-1", "woken-2"] {
        rig.weigh(parcel, 700, true).await;
        wait_for(
            Duration::from_secs(10),
            "the relay to publish on commit",
            || async { (rig.unpublished().await == 0).then_some(()) },
        )
        .await
        .expect("published long before the next poll");
    }
    stop.cancel();
    rig.env.cleanup().await;
}

#[tokio::test]
async fn an_event_reaches_its_handler_a_fraction_of_a_second_after_its_commit() {
    let rig = Rig::polling_every(60_000).await;
    let stop = rig.run_pipeline();
    rig.weigh("warm-up", 100, true).await;
    wait_for(
        PATIENCE,
        "the consumer to join and handle a first event",
        || async { (rig.effects_of("warm-up").await == 1).then_some(()) },
    )
    .await
    .expect("first event");

    // One hop of the saga: commit, relay, broker, consumer, handler's commit; one event at a time.
    let mut hops = Vec::new();
    for i in 0..7 {
        let parcel = format!("timed-{i}");
        let committed = Instant::now();
        rig.weigh(&parcel, 100 + i, true).await;
        wait_for(Duration::from_secs(10), "the effect", || async {
            (rig.effects_of(&parcel).await == 1).then_some(())
        })
        .await
        .expect("effect");
        hops.push(committed.elapsed());
    }
    hops.sort();
    let median = hops[hops.len() / 2];
    // The broker holds each fetch at most `FETCH_WAIT_MS`, and the relay wakes on commit: tens of ms on an
    // idle machine. With librdkafka's fetch wait (500 ms, which tansu sleeps half of after every read)
    // or a polling relay, the median was 250 ms or more.
    assert!(
        median < Duration::from_millis(200),
        "median commit-to-effect {median:?} (all: {hops:?})"
    );
    stop.cancel();
    rig.env.cleanup().await;
}

#[tokio::test]
async fn events_waiting_together_are_handled_in_shared_transactions_each_exactly_once() {
    let rig = Rig::new().await;
    // Twenty events on the broker before the consumer starts: they arrive together.
    for i in 0..20 {
        rig.weigh(&format!("pallet-{i}"), 50 + i, true).await;
    }
    while rig.relay().relay_once().await.expect("publish") > 0 {}
    // One that fails every time, among them: it must not take the others' effects down with it.
    rig.weigh("pallet-broken", 0, true).await;
    for i in 20..30 {
        rig.weigh(&format!("pallet-{i}"), 50 + i, true).await;
    }
    while rig.relay().relay_once().await.expect("publish") > 0 {}

    let stop = CancellationToken::new();
    tokio::spawn(rig.consumer().run(stop.clone()));
    wait_for(PATIENCE, "every good event's effect", || async {
        let effects: i64 = sqlx::query_scalar("SELECT count(*) FROM effects")
            .fetch_one(&rig.pool)
            .await
            .expect("count");
        (effects >= 30 && rig.dead_lettered("retries_exhausted") == 1).then_some(())
    })
    .await
    .expect("all handled");
    for i in 0..30 {
        assert_eq!(
            rig.effects_of(&format!("pallet-{i}")).await,
            1,
            "pallet-{i}"
        );
    }
    let transactions: i64 = sqlx::query_scalar("SELECT count(DISTINCT txid) FROM effects")
        .fetch_one(&rig.pool)
        .await
        .expect("transactions");
    assert!(
        transactions < 30,
        "30 effects in {transactions} transactions: events that waited together were not batched"
    );
    stop.cancel();
    rig.env.cleanup().await;
}
