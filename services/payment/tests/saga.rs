//! The payment component's part in the order saga, against real PostgreSQL and a real Kafka-protocol
//! broker: the order topic's events go in, payment events come out (read from the component's outbox).

mod common;

use bazaar_contracts::order::{CancellationReason, OrderId, PaymentRequested};
use bazaar_payment::PaymentConfig;
use common::{Payment, Subject, cancelled, confirmed, ledger, request, statuses};
use serde_json::{Value, json};

#[tokio::test]
async fn the_test_token_decides_the_authorization() {
    let h = Payment::start(Payment::config()).await;
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
        let events = h.wait_outbox(&order.to_string(), 1).await;
        let (kind, data) = &events[0];
        match failure {
            None => {
                assert_eq!(kind, "payment.authorized", "{token}");
                assert_eq!(
                    data["amount"],
                    json!({"amount": "129.00", "currency": "USD"})
                );
                assert_eq!(statuses(&h, *order).await, [(1, "authorized".to_owned())]);
            }
            Some((reason, retryable)) => {
                assert_eq!(kind, "payment.failed", "{token}");
                assert_eq!(data["reason"], *reason, "{token}");
                assert_eq!(data["retryable"], *retryable, "{token}");
                assert_eq!(data["attempt"], 1);
                assert!(!data["message"].as_str().unwrap_or_default().is_empty());
                assert_eq!(statuses(&h, *order).await, [(1, "failed".to_owned())]);
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
    ] {
        assert!(metrics.contains(line), "missing {line}");
    }
    // Asking a timed-out authorization again is a reconciliation's call, not a new authorization.
    assert!(
        metrics.contains(
            r#"bazaar_payment_outcomes_total{operation="authorize",result="timed_out"} 1"#
        )
    );
    assert!(metrics.contains("bazaar_payment_provider_duration_seconds_bucket"));
    h.stop().await;
}

#[tokio::test]
async fn a_provider_timeout_once_fails_retryably_the_retry_authorizes_and_the_first_is_reconciled()
{
    let h = Payment::start(Payment::config()).await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_timeout_once", 1)).await;
    let events = h.wait_outbox(&order.to_string(), 1).await;
    assert_eq!(events[0].0, "payment.failed");
    assert_eq!(events[0].1["reason"], "provider_unavailable");
    assert_eq!(events[0].1["retryable"], true);
    let timed_out = events[0].1["paymentId"].clone();

    // The order saga retries with the next attempt: a new authorization, which succeeds.
    h.publish(&request(order, "tok_timeout_once", 2)).await;
    let events = h.wait_outbox(&order.to_string(), 3).await;
    let kinds: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
    assert!(kinds.contains(&"payment.authorized"), "{kinds:?}");
    // Meanwhile the first attempt's key is asked again: whatever the provider holds for it is voided.
    let voided = events
        .iter()
        .find(|(kind, _)| kind == "payment.voided")
        .expect("the timed-out attempt reconciled");
    assert_eq!(voided.1["paymentId"], timed_out);
    assert_eq!(
        statuses(&h, order).await,
        [(1, "failed".to_owned()), (2, "authorized".to_owned())]
    );
    let mut ledger = ledger(&h, order).await;
    ledger.sort();
    assert_eq!(
        ledger,
        [
            ("authorize".to_owned(), "approved".to_owned(), 1),
            ("authorize".to_owned(), "approved".to_owned(), 2),
            ("void".to_owned(), "approved".to_owned(), 1),
        ],
        "one hold kept (attempt 2), the other voided"
    );
    h.stop().await;
}

#[tokio::test]
async fn an_authorization_whose_answer_was_lost_is_found_and_voided() {
    let h = Payment::start(PaymentConfig {
        retry_backoff_ms: 50,
        ..Payment::config()
    })
    .await;
    let order = OrderId::new();
    // The provider holds the amount but its answer never arrives.
    h.publish(&request(order, "tok_timeout_after_hold", 1))
        .await;
    let events = h.wait_outbox(&order.to_string(), 2).await;
    assert_eq!(events[0].0, "payment.failed");
    assert_eq!(events[0].1["retryable"], true);
    assert_eq!(events[1].0, "payment.voided", "the hold is released");
    assert_eq!(events[1].1["paymentId"], events[0].1["paymentId"]);
    assert_eq!(statuses(&h, order).await, [(1, "failed".to_owned())]);
    let metrics = h.http.get(h.url("/metrics")).send().await.expect("metrics");
    let metrics = metrics.text().await.expect("text");
    for line in [
        r#"bazaar_payment_outcomes_total{operation="authorize",result="timed_out"} 1"#,
        r#"bazaar_payment_outcomes_total{operation="reconcile_authorize",result="succeeded"} 1"#,
        r#"bazaar_payment_outcomes_total{operation="reconcile_void",result="succeeded"} 1"#,
    ] {
        assert!(metrics.contains(line), "missing {line}");
    }
    assert_eq!(
        ledger(&h, order).await,
        [
            ("authorize".to_owned(), "approved".to_owned(), 2),
            ("void".to_owned(), "approved".to_owned(), 1),
        ],
        "the provider was asked again with the same key, then the hold voided"
    );
    let tries: Vec<(String, String)> = sqlx::query_as(
        "SELECT a.operation::text, a.result::text FROM payment_attempts a JOIN payments p ON p.id = a.payment_id
         WHERE p.order_id = $1 ORDER BY a.created_at, a.id",
    )
    .bind(order.0)
    .fetch_all(&h.db)
    .await
    .expect("attempts");
    let tries: Vec<(&str, &str)> = tries
        .iter()
        .map(|(o, r)| (o.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        tries,
        [
            ("authorize", "timed_out"),
            ("authorize", "succeeded"),
            ("void", "succeeded")
        ]
    );
    h.stop().await;
}

#[tokio::test]
async fn captures_that_keep_failing_ask_ops_for_attention_instead_of_dead_lettering() {
    let h = Payment::start(PaymentConfig {
        retry_backoff_ms: 20,
        max_tries: 3,
        ..Payment::config()
    })
    .await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_settle_unavailable", 1))
        .await;
    h.wait_outbox(&order.to_string(), 1).await;
    h.publish(&confirmed(order)).await;

    let events = h.wait_outbox(&order.to_string(), 2).await;
    assert_eq!(events[1].0, "payment.attention_needed");
    let attention = &events[1].1;
    assert_eq!(attention["operation"], "capture");
    assert_eq!(attention["tries"], 3);
    assert_eq!(attention["paymentId"], events[0].1["paymentId"]);
    assert!(
        attention["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("unavailable"),
        "{attention}"
    );
    assert_eq!(statuses(&h, order).await, [(1, "authorized".to_owned())]);

    // Ops see it, with what went wrong; shoppers do not.
    let ops = h.ops();
    let listed: Value = h
        .http
        .get(h.url("/api/payments/attention"))
        .bearer_auth(&ops)
        .send()
        .await
        .expect("attention list")
        .json()
        .await
        .expect("json");
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["orderId"], json!(order.to_string()));
    assert_eq!(items[0]["kind"], "capture");
    assert_eq!(items[0]["tries"], 3);
    assert_eq!(items[0]["taskId"], attention["taskId"]);
    let shopper = h
        .http
        .get(h.url("/api/payments/attention"))
        .bearer_auth(h.shopper("user-1"))
        .send()
        .await
        .expect("answer");
    assert_eq!(shopper.status(), 403);

    let metrics = h
        .http
        .get(h.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"bazaar_payment_attention_total{operation="capture"} 1"#),
        "attention not counted"
    );
    assert!(
        !metrics.contains(r#"outcome="dead_lettered""#),
        "nothing went to the dead-letter topic"
    );

    // Ops send it round again: tried again (the outage goes on here), and announced again.
    let task = attention["taskId"].as_str().expect("task id");
    let retried = h
        .http
        .post(h.url(&format!("/api/payments/attention/{task}/retry")))
        .bearer_auth(&ops)
        .send()
        .await
        .expect("retry");
    assert_eq!(retried.status(), 202);
    let events = h.wait_outbox(&order.to_string(), 3).await;
    assert_eq!(events[2].0, "payment.attention_needed");
    let unknown = h
        .http
        .post(h.url(&format!(
            "/api/payments/attention/{}/retry",
            uuid::Uuid::now_v7()
        )))
        .bearer_auth(&ops)
        .send()
        .await
        .expect("retry");
    assert_eq!(unknown.status(), 404);

    // Both retries are staff actions on record: the one that queued the work and the refused one.
    let trail: Value = h
        .http
        .get(h.url("/api/payment/audit"))
        .bearer_auth(h.admin())
        .send()
        .await
        .expect("audit trail")
        .json()
        .await
        .expect("json");
    let entries: Vec<(&str, &str)> = trail["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["action"].as_str().expect("action"),
                e["outcome"].as_str().expect("outcome"),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("payment_task.retry", "refused"),
            ("payment_task.retry", "succeeded")
        ],
        "{trail}"
    );
    let queued = &trail["items"][1];
    assert_eq!(queued["resourceId"], json!(task));
    assert_eq!(queued["before"], json!({"state": "attention", "tries": 3}));
    assert_eq!(queued["after"], json!({"state": "pending", "tries": 0}));
    let captures: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM payment_attempts WHERE operation = 'capture' AND result = 'error'",
    )
    .fetch_one(&h.db)
    .await
    .expect("attempts");
    assert_eq!(captures, 6, "every try is on record");
    h.stop().await;
}

#[tokio::test]
async fn confirmation_captures_and_a_later_cancellation_refunds() {
    let h = Payment::start(Payment::config()).await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_visa", 1)).await;
    h.wait_outbox(&order.to_string(), 1).await;

    h.publish(&confirmed(order)).await;
    let events = h.wait_outbox(&order.to_string(), 2).await;
    assert_eq!(events[1].0, "payment.captured");
    assert_eq!(events[1].1["amount"]["amount"], "129.00");
    assert_eq!(events[1].1["paymentId"], events[0].1["paymentId"]);
    assert_eq!(statuses(&h, order).await, [(1, "captured".to_owned())]);

    h.publish(&cancelled(order, CancellationReason::RequestedByCustomer))
        .await;
    let events = h.wait_outbox(&order.to_string(), 3).await;
    assert_eq!(events[2].0, "payment.refunded");
    assert_eq!(events[2].1["amount"]["amount"], "129.00");
    assert_eq!(statuses(&h, order).await, [(1, "refunded".to_owned())]);

    let operations: Vec<String> = ledger(&h, order)
        .await
        .into_iter()
        .map(|(op, _, _)| op)
        .collect();
    assert_eq!(operations, ["authorize", "capture", "refund"]);
    h.stop().await;
}

#[tokio::test]
async fn cancellation_before_capture_voids_and_without_a_hold_does_nothing() {
    let h = Payment::start(Payment::config()).await;
    let held = OrderId::new();
    let declined = OrderId::new();
    h.publish(&request(held, "tok_visa", 1)).await;
    h.publish(&request(declined, "tok_declined", 1)).await;
    h.wait_outbox(&held.to_string(), 1).await;
    h.wait_outbox(&declined.to_string(), 1).await;

    h.publish(&cancelled(held, CancellationReason::ReservationExpired))
        .await;
    h.publish(&cancelled(declined, CancellationReason::PaymentFailed))
        .await;
    let events = h.wait_outbox(&held.to_string(), 2).await;
    assert_eq!(events[1].0, "payment.voided");
    assert_eq!(statuses(&h, held).await, [(1, "voided".to_owned())]);

    h.wait_handled(4).await;
    assert_eq!(
        h.outbox(&declined.to_string()).await.len(),
        1,
        "only the failure"
    );
    assert_eq!(statuses(&h, declined).await, [(1, "failed".to_owned())]);
    let operations: Vec<String> = ledger(&h, declined)
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
    assert!(statuses(&h, late).await.is_empty());
    assert!(ledger(&h, late).await.is_empty());
    h.stop().await;
}

#[tokio::test]
async fn a_redelivered_payment_request_authorizes_once() {
    let h = Payment::start(Payment::config()).await;
    let order = OrderId::new();
    let envelope = h.publish(&request(order, "tok_visa", 1)).await;
    h.wait_outbox(&order.to_string(), 1).await;

    // The same event again (the broker redelivers): the inbox absorbs it.
    h.deliver::<PaymentRequested>(&envelope).await;
    // The same request as a new event (the order asked again): answered again, not authorized again.
    h.publish(&request(order, "tok_visa", 1)).await;
    let events = h.wait_outbox(&order.to_string(), 2).await;
    assert_eq!(events[0].0, "payment.authorized");
    assert_eq!(events[1].0, "payment.authorized");
    assert_eq!(events[1].1["paymentId"], events[0].1["paymentId"]);
    h.wait_handled(2).await;

    assert_eq!(statuses(&h, order).await, [(1, "authorized".to_owned())]);
    assert_eq!(
        ledger(&h, order).await,
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
    let h = Payment::start(PaymentConfig {
        simulated_latency_ms: 400,
        provider_timeout_ms: 100,
        ..Payment::config()
    })
    .await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_visa", 1)).await;
    let events = h.wait_outbox(&order.to_string(), 1).await;
    assert_eq!(events[0].0, "payment.failed");
    assert_eq!(events[0].1["reason"], "provider_unavailable");
    assert_eq!(events[0].1["retryable"], true);
    h.stop().await;
}

#[tokio::test]
async fn a_failure_rate_of_one_makes_every_call_time_out() {
    let h = Payment::start(PaymentConfig {
        simulated_failure_rate: 1.0,
        ..Payment::config()
    })
    .await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_visa", 1)).await;
    let events = h.wait_outbox(&order.to_string(), 1).await;
    assert_eq!(events[0].0, "payment.failed");
    assert_eq!(events[0].1["retryable"], true);
    h.stop().await;
}
