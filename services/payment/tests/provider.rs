//! Provider calls and transactions. The saga's consumer only records work in its inbox transaction; the
//! worker calls the provider with no transaction open and records the outcome afterwards. When a worker
//! dies between the call and that record, the task runs again after its lease with the same idempotency
//! key: the provider must answer it the same, so the shopper is charged once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bazaar_contracts::Envelope;
use bazaar_contracts::order::OrderId;
use bazaar_payment::metrics::PaymentMetrics;
use bazaar_payment::provider::{
    AuthorizeRequest, FollowUpRequest, PaymentProvider, ProviderError, ProviderResult,
};
use bazaar_payment::saga::PaymentSaga;
use bazaar_payment::simulated::SimulatedProvider;
use bazaar_payment::worker::Worker;
use bazaar_platform::db;
use bazaar_platform::kafka::{EventHandler, IncomingEvent, Outbox};
use bazaar_platform::metrics::Metrics;
use bazaar_testkit::TestEnv;
use futures::future::BoxFuture;
use tokio::sync::Notify;

mod common;

async fn payment_schema(env: &TestEnv) -> sqlx::PgPool {
    let schema = env.schema("payment");
    let pool = db::pool("payment", &env.database_url, &schema, 5).expect("pool");
    db::migrate(&pool, &schema, bazaar_payment::COMPONENT.migrations)
        .await
        .expect("migrations");
    pool
}

/// The simulated provider, counting the calls made to it.
struct Counting {
    inner: SimulatedProvider,
    calls: AtomicUsize,
}

impl PaymentProvider for Counting {
    fn name(&self) -> &'static str {
        "simulated"
    }
    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, ProviderResult> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.authorize(request)
    }
    fn capture(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.capture(request)
    }
    fn void(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.void(request)
    }
    fn refund(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.refund(request)
    }
}

fn wire(pool: &sqlx::PgPool) -> (PaymentSaga, Worker, Arc<Counting>) {
    // As the component wires it: the provider stands for an external service with a pool of its own.
    let provider = Arc::new(Counting {
        inner: SimulatedProvider::new(db::companion_pool(pool, 2), Duration::ZERO, 0.0),
        calls: AtomicUsize::new(0),
    });
    let wake = Arc::new(Notify::new());
    let saga = PaymentSaga {
        outbox: Outbox::new("payment"),
        wake: wake.clone(),
    };
    let worker = Worker {
        provider: provider.clone(),
        outbox: Outbox::new("payment"),
        metrics: PaymentMetrics::register(&Metrics::new()),
        pool: pool.clone(),
        provider_timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(10),
        max_tries: 3,
        wake,
    };
    (saga, worker, provider)
}

fn incoming<E: bazaar_contracts::DomainEvent>(order: OrderId, event: &E) -> IncomingEvent {
    IncomingEvent {
        envelope: Envelope::wrap("/bazaar/order", event).expect("envelope"),
        topic: "bazaar.order".to_owned(),
        partition: 0,
        offset: 0,
        key: Some(order.to_string()),
    }
}

#[tokio::test]
async fn no_transaction_is_open_while_the_provider_is_called() {
    let env = TestEnv::start().await.expect("infrastructure");
    let pool = payment_schema(&env).await;
    let (saga, worker, provider) = wire(&pool);
    let order = OrderId::new();

    // The consumer's inbox transaction records the request and calls nobody.
    let mut tx = pool.begin().await.expect("begin");
    saga.handle(
        &incoming(order, &common::request(order, "tok_visa", 1)),
        &mut tx,
    )
    .await
    .expect("handled");
    assert_eq!(
        provider.calls.load(Ordering::SeqCst),
        0,
        "the provider was called inside the inbox transaction"
    );
    tx.commit().await.expect("commit");

    // The worker calls it afterwards, holding no transaction (it claims in one statement).
    assert_eq!(worker.run_due().await.expect("ran"), 1);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 1);
    let status: String =
        sqlx::query_scalar("SELECT status::text FROM payments WHERE order_id = $1")
            .bind(order.0)
            .fetch_one(&pool)
            .await
            .expect("payment");
    assert_eq!(status, "authorized");
    env.cleanup().await;
}

#[tokio::test]
async fn a_call_repeated_after_a_crash_gets_the_same_answer() {
    let env = TestEnv::start().await.expect("infrastructure");
    let pool = payment_schema(&env).await;
    let (saga, worker, provider) = wire(&pool);
    let order = OrderId::new();
    let mut tx = pool.begin().await.expect("begin");
    saga.handle(
        &incoming(order, &common::request(order, "tok_visa", 1)),
        &mut tx,
    )
    .await
    .expect("handled");
    tx.commit().await.expect("commit");

    // First run: the provider authorizes, then the worker dies before recording the outcome.
    let task = worker.claim().await.expect("claim").expect("a due task");
    let lost = worker.execute(&task).await.expect("called");
    drop(lost);
    assert!(
        worker.claim().await.expect("claim").is_none(),
        "a leased task is not claimed twice"
    );
    // Its lease runs out; the next run calls again with the same key.
    sqlx::query("UPDATE payment_tasks SET next_try_at = now()")
        .execute(&pool)
        .await
        .expect("lease over");
    assert_eq!(worker.run_due().await.expect("ran"), 1);
    assert_eq!(provider.calls.load(Ordering::SeqCst), 2);

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
    let announced: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .expect("outbox");
    assert_eq!(announced, 1, "announced once");

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
