//! The payment component's part in the order saga, against real PostgreSQL and a real Kafka-protocol
//! broker: the order topic's events go in, payment events come out (read from the component's outbox).

mod common;

use bazaar_contracts::order::{CancellationReason, OrderId};
use bazaar_payment::PaymentConfig;
use common::{Harness, cancelled, confirmed, request};
use serde_json::json;

#[tokio::test]
async fn the_test_token_decides_the_authorization() {
    let h = Harness::start(PaymentConfig::default()).await;
    let cases = [
        ("tok_visa", None),
        ("tok_declined", Some(("declined", false))),
        (
            "tok_insufficient_funds",
            Some(("insufficient_funds", false)),
        ),
        ("tok_timeout", Some(("provider_unavailable", true))),
        ("tok_made_up", Some(("invalid_token", false))),
    ];
    let orders: Vec<OrderId> = cases.iter().map(|_| OrderId::new()).collect();
    for (order, (token, _)) in orders.iter().zip(&cases) {
        h.publish(&request(*order, token, 1)).await;
    }
    for (order, (token, failure)) in orders.iter().zip(&cases) {
        let events = h.wait_announced(*order, 1).await;
        let (kind, data) = &events[0];
        match failure {
            None => {
                assert_eq!(kind, "payment.authorized", "{token}");
                assert_eq!(
                    data["amount"],
                    json!({"amount": "129.00", "currency": "USD"})
                );
                assert_eq!(h.statuses(*order).await, [(1, "authorized".to_owned())]);
            }
            Some((reason, retryable)) => {
                assert_eq!(kind, "payment.failed", "{token}");
                assert_eq!(data["reason"], *reason, "{token}");
                assert_eq!(data["retryable"], *retryable, "{token}");
                assert_eq!(data["attempt"], 1);
                assert!(!data["message"].as_str().unwrap_or_default().is_empty());
                assert_eq!(h.statuses(*order).await, [(1, "failed".to_owned())]);
            }
        }
    }
    let metrics = reqwest::get(h.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for line in [
        r#"bazaar_payment_outcomes_total{operation="authorize",result="succeeded"} 1"#,
        r#"bazaar_payment_outcomes_total{operation="authorize",result="declined"} 1"#,
        r#"bazaar_payment_outcomes_total{operation="authorize",result="timed_out"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line}");
    }
    assert!(metrics.contains("bazaar_payment_provider_duration_seconds_bucket"));
    h.stop().await;
}

#[tokio::test]
async fn a_provider_timeout_once_fails_retryably_and_the_retry_authorizes() {
    let h = Harness::start(PaymentConfig::default()).await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_timeout_once", 1)).await;
    let events = h.wait_announced(order, 1).await;
    assert_eq!(events[0].0, "payment.failed");
    assert_eq!(events[0].1["reason"], "provider_unavailable");
    assert_eq!(events[0].1["retryable"], true);

    // The order saga retries with the next attempt: a new authorization, which succeeds.
    h.publish(&request(order, "tok_timeout_once", 2)).await;
    let events = h.wait_announced(order, 2).await;
    assert_eq!(events[1].0, "payment.authorized");
    assert_eq!(
        h.statuses(order).await,
        [(1, "failed".to_owned()), (2, "authorized".to_owned())]
    );
    assert_eq!(
        h.ledger(order).await,
        [
            ("authorize".to_owned(), "timed_out".to_owned(), 1),
            ("authorize".to_owned(), "approved".to_owned(), 1)
        ]
    );
    h.stop().await;
}

#[tokio::test]
async fn confirmation_captures_and_a_later_cancellation_refunds() {
    let h = Harness::start(PaymentConfig::default()).await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_visa", 1)).await;
    h.wait_announced(order, 1).await;

    h.publish(&confirmed(order)).await;
    let events = h.wait_announced(order, 2).await;
    assert_eq!(events[1].0, "payment.captured");
    assert_eq!(events[1].1["amount"]["amount"], "129.00");
    assert_eq!(events[1].1["paymentId"], events[0].1["paymentId"]);
    assert_eq!(h.statuses(order).await, [(1, "captured".to_owned())]);

    h.publish(&cancelled(order, CancellationReason::RequestedByCustomer))
        .await;
    let events = h.wait_announced(order, 3).await;
    assert_eq!(events[2].0, "payment.refunded");
    assert_eq!(events[2].1["amount"]["amount"], "129.00");
    assert_eq!(h.statuses(order).await, [(1, "refunded".to_owned())]);

    let operations: Vec<String> = h
        .ledger(order)
        .await
        .into_iter()
        .map(|(op, _, _)| op)
        .collect();
    assert_eq!(operations, ["authorize", "capture", "refund"]);
    h.stop().await;
}

#[tokio::test]
async fn cancellation_before_capture_voids_and_without_a_hold_does_nothing() {
    let h = Harness::start(PaymentConfig::default()).await;
    let held = OrderId::new();
    let declined = OrderId::new();
    h.publish(&request(held, "tok_visa", 1)).await;
    h.publish(&request(declined, "tok_declined", 1)).await;
    h.wait_announced(held, 1).await;
    h.wait_announced(declined, 1).await;

    h.publish(&cancelled(held, CancellationReason::ReservationExpired))
        .await;
    h.publish(&cancelled(declined, CancellationReason::PaymentFailed))
        .await;
    let events = h.wait_announced(held, 2).await;
    assert_eq!(events[1].0, "payment.voided");
    assert_eq!(h.statuses(held).await, [(1, "voided".to_owned())]);

    h.wait_handled(4).await;
    assert_eq!(h.announced(declined).await.len(), 1, "only the failure");
    assert_eq!(h.statuses(declined).await, [(1, "failed".to_owned())]);
    let operations: Vec<String> = h
        .ledger(declined)
        .await
        .into_iter()
        .map(|(op, _, _)| op)
        .collect();
    assert_eq!(operations, ["authorize"], "nothing to void");

    // A request arriving after the cancellation is not authorized.
    let late = OrderId::new();
    h.publish(&cancelled(late, CancellationReason::RequestedByCustomer))
        .await;
    h.publish(&request(late, "tok_visa", 1)).await;
    h.wait_handled(6).await;
    assert!(h.statuses(late).await.is_empty());
    assert!(h.ledger(late).await.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn a_redelivered_payment_request_authorizes_once() {
    let h = Harness::start(PaymentConfig::default()).await;
    let order = OrderId::new();
    let envelope = h.publish(&request(order, "tok_visa", 1)).await;
    h.wait_announced(order, 1).await;

    // The same event again (the broker redelivers): the inbox absorbs it.
    h.deliver(&envelope, &order.to_string()).await;
    // The same request as a new event (the order asked again): answered again, not authorized again.
    h.publish(&request(order, "tok_visa", 1)).await;
    let events = h.wait_announced(order, 2).await;
    assert_eq!(events[0].0, "payment.authorized");
    assert_eq!(events[1].0, "payment.authorized");
    assert_eq!(events[1].1["paymentId"], events[0].1["paymentId"]);
    h.wait_handled(2).await;

    assert_eq!(h.statuses(order).await, [(1, "authorized".to_owned())]);
    assert_eq!(
        h.ledger(order).await,
        [("authorize".to_owned(), "approved".to_owned(), 1)],
        "the provider saw one authorization"
    );
    let duplicates: i64 = sqlx::query_scalar("SELECT count(*) FROM inbox")
        .fetch_one(&h.db)
        .await
        .expect("inbox");
    assert_eq!(
        duplicates, 2,
        "the redelivery was not handled a second time"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_slow_provider_counts_as_a_retryable_timeout() {
    let h = Harness::start(PaymentConfig {
        simulated_latency_ms: 400,
        provider_timeout_ms: 100,
        ..PaymentConfig::default()
    })
    .await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_visa", 1)).await;
    let events = h.wait_announced(order, 1).await;
    assert_eq!(events[0].0, "payment.failed");
    assert_eq!(events[0].1["reason"], "provider_unavailable");
    assert_eq!(events[0].1["retryable"], true);
    h.stop().await;
}

#[tokio::test]
async fn a_failure_rate_of_one_makes_every_call_time_out() {
    let h = Harness::start(PaymentConfig {
        simulated_failure_rate: 1.0,
        ..PaymentConfig::default()
    })
    .await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_visa", 1)).await;
    let events = h.wait_announced(order, 1).await;
    assert_eq!(events[0].0, "payment.failed");
    assert_eq!(events[0].1["retryable"], true);
    h.stop().await;
}
