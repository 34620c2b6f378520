//! Exercises the harness against real servers (found or started as the crate docs describe).

use std::time::Duration;

use bazaar_testkit::{TestEnv, wait_for};
use rdkafka::Message;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

#[tokio::test]
async fn environments_are_isolated_by_id() {
    let (a, b) = (
        TestEnv::start().await.expect("env a"),
        TestEnv::start().await.expect("env b"),
    );
    assert_ne!(a.id, b.id);
    assert_eq!(
        a.database_url, b.database_url,
        "servers are shared within a process"
    );
    assert_eq!(a.id.len(), 11);
    assert!(
        a.id.starts_with('t')
            && a.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    );
    assert_eq!(a.schema("order"), format!("{}_order", a.id));
    assert_ne!(a.schema("order"), b.schema("order"));
    assert_eq!(a.topic_prefix(), format!("{}.", a.id));
    assert_eq!(a.group("projector"), format!("{}.projector", a.id));
}

#[tokio::test]
#[should_panic(expected = "not a plain SQL identifier")]
async fn schema_rejects_names_that_would_need_quoting() {
    let env = TestEnv::start().await.expect("env");
    env.schema("Order-Service");
}

#[tokio::test]
async fn pool_uses_the_schema_and_cleanup_drops_it() {
    let env = TestEnv::start().await.expect("env");
    let schema = env.schema("catalog");
    let pool = env.pool(&schema).await.expect("pool");

    let current: String = sqlx::query_scalar("SELECT current_schema()::text")
        .fetch_one(&pool)
        .await
        .expect("query");
    assert_eq!(current, schema);
    sqlx::query("CREATE TABLE widgets (id int PRIMARY KEY)")
        .execute(&pool)
        .await
        .expect("create");
    let found: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'widgets'",
    )
    .bind(&schema)
    .fetch_one(&pool)
    .await
    .expect("query");
    assert_eq!(found, 1);

    // A second pool on the same schema (e.g. a restarted component) sees the same data.
    let again = env.pool(&schema).await.expect("second pool");
    sqlx::query("INSERT INTO widgets VALUES (1)")
        .execute(&again)
        .await
        .expect("insert");
    pool.close().await;
    again.close().await;

    let url = env.database_url.clone();
    env.cleanup().await;
    let admin = sqlx::PgPool::connect(&url).await.expect("connect");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_namespace WHERE nspname = $1")
        .bind(&schema)
        .fetch_one(&admin)
        .await
        .expect("query");
    assert_eq!(left, 0, "cleanup left {schema} behind");
}

#[tokio::test]
async fn pool_rejects_unsafe_schema_names() {
    let env = TestEnv::start().await.expect("env");
    let err = env
        .pool("x\"; DROP SCHEMA public; --")
        .await
        .expect_err("must refuse");
    assert!(
        err.to_string()
            .contains("not a plain lowercase SQL identifier"),
        "{err}"
    );
}

#[tokio::test]
async fn kafka_round_trip_with_prefixed_topic_and_group() {
    let env = TestEnv::start().await.expect("env");
    let topic = format!("{}ping", env.topic_prefix());

    let admin: AdminClient<DefaultClientContext> =
        env.kafka_config().create().expect("admin client");
    let created = admin
        .create_topics(
            [&NewTopic::new(&topic, 1, TopicReplication::Fixed(1))],
            &AdminOptions::new(),
        )
        .await
        .expect("create topics");
    assert!(created.iter().all(Result::is_ok), "{created:?}");

    let producer: FutureProducer = env.kafka_config().create().expect("producer");
    producer
        .send(
            FutureRecord::to(&topic).key("k").payload("hello"),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produce");

    let consumer: StreamConsumer = env.consumer_config("ping").create().expect("consumer");
    consumer.subscribe(&[&topic]).expect("subscribe");
    // Within the 2-minute test budget but far below it: the join takes ~half the session timeout.
    let payload = wait_for(Duration::from_secs(30), "the ping message", || async {
        match tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
            Ok(Ok(message)) => message.payload().map(<[u8]>::to_vec),
            _ => None,
        }
    })
    .await
    .expect("consume");
    assert_eq!(payload, b"hello");
    env.cleanup().await;
}
