//! `/api/payments`: for ops and admins only; bad input is a 4xx problem document.

mod common;

use bazaar_contracts::order::OrderId;
use common::{Payment, Subject, request};
use serde_json::Value;

#[tokio::test]
async fn ops_see_payments_with_every_provider_call_and_others_do_not() {
    let h = Payment::start(Payment::config()).await;
    let order = OrderId::new();
    h.publish(&request(order, "tok_timeout_once", 1)).await;
    h.wait_outbox(&order.to_string(), 1).await;
    h.publish(&request(order, "tok_timeout_once", 2)).await;
    h.wait_outbox(&order.to_string(), 2).await;

    let list = h.url(&format!("/api/payments?orderId={order}"));
    let anonymous = h.http.get(&list).send().await.expect("request");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    let customer = h
        .http
        .get(&list)
        .bearer_auth(h.shopper("user-1"))
        .send()
        .await
        .expect("request");
    assert_eq!(customer.status(), 403);
    let forged = h
        .http
        .get(&list)
        .bearer_auth("not.a.jwt")
        .send()
        .await
        .expect("request");
    assert_eq!(forged.status(), 401);

    let ops = h.ops();
    let page: Value = h
        .http
        .get(&list)
        .bearer_auth(&ops)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["attempt"], 2, "newest first");
    assert_eq!(items[0]["status"], "authorized");
    assert_eq!(items[0]["amount"]["amount"], "129.00");
    assert_eq!(items[1]["status"], "failed");
    assert_eq!(items[1]["failureReason"], "provider_unavailable");
    assert_eq!(items[1]["attempts"][0]["result"], "timed_out");
    assert_eq!(items[0]["attempts"][0]["operation"], "authorize");
    assert_eq!(items[0]["attempts"][0]["result"], "succeeded");
    assert_eq!(
        items[0]["attempts"][0]["idempotencyKey"],
        format!("bazaar:{order}:authorize:2")
    );

    // Pagination.
    let first: Value = h
        .http
        .get(format!("{list}&limit=1"))
        .bearer_auth(&ops)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    let before = first["nextBefore"].as_str().expect("a next page");
    let second: Value = h
        .http
        .get(format!("{list}&limit=1&before={before}"))
        .bearer_auth(&ops)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(second["items"][0]["attempt"], 1);
    assert!(second["nextBefore"].is_null());

    let id = items[0]["id"].as_str().expect("id");
    let one = h
        .http
        .get(h.url(&format!("/api/payments/{id}")))
        .bearer_auth(h.admin())
        .send()
        .await
        .expect("request");
    assert_eq!(one.status(), 200);
    let one: Value = one.json().await.expect("json");
    assert_eq!(one["orderId"], order.to_string());
    h.stop().await;
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx() {
    let h = Payment::start(Payment::config()).await;
    let ops = h.ops();
    for (path, status) in [
        ("/api/payments?orderId=not-a-uuid", 400),
        ("/api/payments?limit=0", 422),
        ("/api/payments?limit=1000", 422),
        ("/api/payments?limit=-1", 400),
        ("/api/payments?colour=red", 400),
        ("/api/payments/not-a-uuid", 400),
        ("/api/payments/0190a0c4-7c5e-7000-8000-000000000000", 404),
    ] {
        let response = h
            .http
            .get(h.url(path))
            .bearer_auth(&ops)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{path}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path}"
        );
        let body: Value = response.json().await.expect("problem");
        assert_eq!(body["status"], status, "{path}");
        assert!(body["detail"].is_string(), "{path}");
    }
    let empty: Value = h
        .http
        .get(h.url("/api/payments"))
        .bearer_auth(&ops)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(empty["items"], serde_json::json!([]));
    let openapi = reqwest::get(h.url("/api/payment/openapi.json"))
        .await
        .expect("openapi");
    assert_eq!(openapi.status(), 200);
    let doc: Value = openapi.json().await.expect("json");
    assert!(doc["paths"]["/api/payments/{id}"].is_object());
    h.stop().await;
}
