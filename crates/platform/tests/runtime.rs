//! Components can be run in-process over real HTTP, PostgreSQL and Kafka, as service tests do.

use bazaar_platform::auth::AuthConfig;
use bazaar_platform::runtime::{ServeConfig, spawn};
use bazaar_testkit::TestEnv;

#[tokio::test]
async fn spawned_components_answer_over_http_and_stop_cleanly() {
    let env = TestEnv::start().await.expect("infrastructure");
    let config = ServeConfig::local(
        &env.database_url,
        &env.kafka_brokers,
        &env.id,
        AuthConfig::default(),
    );
    let running = spawn(&[], config).await.expect("spawned");

    let ready = reqwest::get(format!("{}/readyz", running.base_url))
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    running.stop().await.expect("clean stop");
    env.cleanup().await;
}
