//! The provider is called inside the inbox transaction. When that transaction rolls back after the call
//! (a crash, a lost connection), the event is delivered again and the call repeated: the provider must
//! answer the same key with the same answer, so the shopper is charged once.

use std::sync::Arc;
use std::time::Duration;

use bazaar_contracts::Envelope;
use bazaar_contracts::order::OrderId;
use bazaar_payment::metrics::PaymentMetrics;
use bazaar_payment::provider::{AuthorizeRequest, PaymentProvider, ProviderError};
use bazaar_payment::saga::PaymentSaga;
use bazaar_payment::simulated::SimulatedProvider;
use bazaar_platform::db;
use bazaar_platform::kafka::{EventHandler, IncomingEvent, Outbox};
use bazaar_platform::metrics::Metrics;
use bazaar_testkit::TestEnv;

mod common;

async fn payment_schema(env: &TestEnv) -> sqlx::PgPool {
    let schema = env.schema("payment");
    let pool = db::pool("payment", &env.database_url, &schema, 5).expect("pool");
    db::migrate(&pool, &schema, bazaar_payment::COMPONENT.migrations)
        .await
        .expect("migrations");
    pool
}

#[tokio::test]
async fn a_call_repeated_after_a_rollback_gets_the_same_answer() {
    let env = TestEnv::start().await.expect("infrastructure");
    let pool = payment_schema(&env).await;
    // As the component wires it: the provider, called inside the saga's transaction, has a pool of its own.
    let provider = Arc::new(SimulatedProvider::new(
        db::companion_pool(&pool, 2),
        Duration::ZERO,
        0.0,
    ));
    let saga = PaymentSaga {
        provider: provider.clone(),
        outbox: Outbox::new("payment"),
        metrics: PaymentMetrics::register(&Metrics::new()),
        pool: pool.clone(),
        provider_timeout: Duration::from_secs(5),
    };
    let order = OrderId::new();
    let event = IncomingEvent {
        envelope: Envelope::wrap("/bazaar/order", &common::request(order, "tok_visa", 1))
            .expect("envelope"),
        topic: "bazaar.order".to_owned(),
        partition: 0,
        offset: 0,
        key: Some(order.to_string()),
    };

    // First delivery: the provider authorizes, then our transaction is lost.
    let mut tx = pool.begin().await.expect("begin");
    saga.handle(&event, &mut tx).await.expect("handled");
    tx.rollback().await.expect("rollback");
    // Redelivery: the call is repeated with the same key.
    let mut tx = pool.begin().await.expect("begin");
    saga.handle(&event, &mut tx).await.expect("handled");
    tx.commit().await.expect("commit");

    let ledger: Vec<(String, i32, Option<String>)> = sqlx::query_as(
        "SELECT outcome, calls, provider_ref FROM simulated_provider_ledger WHERE reference = $1",
    )
    .bind(order.to_string())
    .fetch_all(&pool)
    .await
    .expect("ledger");
    assert_eq!(ledger.len(), 1, "one authorization at the provider");
    assert_eq!((ledger[0].0.as_str(), ledger[0].1), ("approved", 2));
    let stored: Option<String> =
        sqlx::query_scalar("SELECT provider_ref FROM payments WHERE order_id = $1")
            .bind(order.0)
            .fetch_one(&pool)
            .await
            .expect("payment");
    assert_eq!(
        stored, ledger[0].2,
        "the payment names the one authorization"
    );

    // Reusing a key for a different amount is refused, as a real provider would.
    let reused = provider
        .authorize(AuthorizeRequest {
            idempotency_key: format!("bazaar:{order}:authorize:1"),
            reference: order.to_string(),
            token: "tok_visa".to_owned(),
            amount: common::usd("1.00"),
        })
        .await;
    assert!(
        matches!(reused, Err(ProviderError::Conflict(_))),
        "{reused:?}"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn declines_are_remembered_per_key_and_follow_ups_need_a_known_authorization() {
    let env = TestEnv::start().await.expect("infrastructure");
    let pool = payment_schema(&env).await;
    let provider = SimulatedProvider::new(pool.clone(), Duration::ZERO, 0.0);
    let request = |token: &str| AuthorizeRequest {
        idempotency_key: "key-1".to_owned(),
        reference: "order-1".to_owned(),
        token: token.to_owned(),
        amount: common::usd("5.00"),
    };
    let first = provider.authorize(request("tok_declined")).await;
    assert!(
        matches!(first, Err(ProviderError::Refused { .. })),
        "{first:?}"
    );
    // Same key and request: the same answer, even though the shopper's token would now pass.
    let again = provider.authorize(request("tok_visa")).await;
    assert!(
        matches!(again, Err(ProviderError::Refused { .. })),
        "{again:?}"
    );

    let capture = provider
        .capture(bazaar_payment::provider::FollowUpRequest {
            idempotency_key: "key-2".to_owned(),
            reference: "order-1".to_owned(),
            authorization: "sim_unknown".to_owned(),
            amount: common::usd("5.00"),
        })
        .await;
    assert!(
        matches!(capture, Err(ProviderError::Conflict(_))),
        "{capture:?}"
    );
    env.cleanup().await;
}
