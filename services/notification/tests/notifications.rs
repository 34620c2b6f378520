//! Notifications from events, against real PostgreSQL and a real Kafka-protocol broker: every template
//! renders with its event's data, nobody is told twice, and the log is for admins only.

mod common;

use bazaar_contracts::order::{OrderId, OrderShipped};
use bazaar_notification::NotificationConfig;
use bazaar_notification::config::{SmtpTls, TransportKind};
use bazaar_platform::auth::Role;
use bazaar_testkit::wait_for;
use common::*;
use serde_json::Value;

fn ops_pair() -> NotificationConfig {
    NotificationConfig {
        ops_emails: vec![
            "ops@shop.example".to_owned(),
            "buyer@shop.example".to_owned(),
        ],
        ..Notification::config()
    }
}

#[tokio::test]
async fn every_template_renders_with_its_events_data() {
    let h = Notification::start(ops_pair()).await;
    let order = OrderId::new();
    h.publish(&placed(order, "BZ-1001")).await;
    h.publish(&confirmed(order, "BZ-1001")).await;
    h.publish(&packed(order, "BZ-1001")).await;
    h.publish(&shipped(order, "BZ-1001")).await;
    h.publish(&delivered(order, "BZ-1001")).await;
    h.publish(&cancelled(order, "BZ-1001")).await;
    h.publish(&refunded(order)).await;
    h.publish(&stock_low()).await;
    h.publish(&registered()).await;
    let rows = wait_deliveries(&h, 10).await;
    let find =
        |template: &str| -> Vec<&Row> { rows.iter().filter(|r| r.template == template).collect() };

    let placed = find("order_placed")[0];
    assert_eq!(placed.recipient, SHOPPER);
    assert_eq!(placed.subject, "We received your order BZ-1001");
    for text in [
        "2 x TR-42-BLK",
        "258.00 USD",
        "Discount: -25.80 USD",
        "Shipping (standard): 4.99 USD",
        "Total: 237.19 USD",
        "Ada Lovelace",
        "N1 9GU London",
        "GB",
    ] {
        assert!(
            placed.body.contains(text),
            "order_placed lacks {text:?}:\n{}",
            placed.body
        );
    }
    assert_eq!(placed.transport, "log");
    let confirmed = find("order_confirmed")[0];
    assert_eq!(confirmed.subject, "Your order BZ-1001 is confirmed");
    assert!(confirmed.body.contains("237.19 USD"), "{}", confirmed.body);
    let packed = find("order_packed")[0];
    assert_eq!(
        (packed.recipient.as_str(), packed.subject.as_str()),
        (SHOPPER, "Your order BZ-1001 is packed")
    );
    assert!(
        packed.body.contains("waits for the carrier"),
        "{}",
        packed.body
    );
    let shipped = find("order_shipped")[0];
    assert!(
        shipped.body.contains("Parcelforce") && shipped.body.contains("PF123456789GB"),
        "{}",
        shipped.body
    );
    assert_eq!(
        find("order_delivered")[0].subject,
        "Your order BZ-1001 was delivered"
    );
    let cancelled = find("order_cancelled")[0];
    assert!(
        cancelled.body.contains("You asked us to cancel it."),
        "{}",
        cancelled.body
    );
    let refund = find("payment_refunded")[0];
    assert_eq!(
        refund.recipient, SHOPPER,
        "found through the order.placed projection"
    );
    assert_eq!(refund.subject, "Your refund for order BZ-1001");
    assert!(refund.body.contains("237.19 USD"), "{}", refund.body);
    let stock: Vec<&str> = find("stock_low")
        .iter()
        .map(|r| r.recipient.as_str())
        .collect();
    assert_eq!(stock.len(), 2, "one per ops address");
    assert!(stock.contains(&"ops@shop.example") && stock.contains(&"buyer@shop.example"));
    assert_eq!(
        find("stock_low")[0].subject,
        "Low stock: TR-42-BLK (3 left)"
    );
    let welcome = find("welcome")[0];
    assert_eq!(
        (welcome.recipient.as_str(), welcome.subject.as_str()),
        ("grace@example.com", "Welcome to Bazaar, Grace")
    );

    let metrics = reqwest::get(h.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains(r#"bazaar_notifications_total{outcome="sent",template="stock_low"} 2"#),
        "{metrics}"
    );
    h.stop().await;
}

#[tokio::test]
async fn a_redelivered_event_notifies_each_recipient_once() {
    let h = Notification::start(ops_pair()).await;
    let order = OrderId::new();
    let envelope = h.publish(&shipped(order, "BZ-2002")).await;
    let low = h.publish(&stock_low()).await;
    wait_deliveries(&h, 3).await;
    h.deliver::<OrderShipped>(&envelope).await;
    h.deliver::<bazaar_contracts::inventory::StockLow>(&low)
        .await;
    // A marker event after the redeliveries on the same topic and key shows they were consumed.
    h.publish(&delivered(order, "BZ-2002")).await;
    wait_deliveries(&h, 4).await;
    wait_for(PATIENCE, "the redelivered stock signal", || async {
        let consumed = reqwest::get(h.url("/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        consumed.contains(r#"outcome="duplicate""#).then_some(())
    })
    .await
    .expect("redeliveries seen");
    let rows = deliveries(&h).await;
    assert_eq!(
        rows.iter()
            .filter(|r| r.template == "order_shipped")
            .count(),
        1
    );
    assert_eq!(rows.iter().filter(|r| r.template == "stock_low").count(), 2);
    assert_eq!(rows.len(), 4);
    h.stop().await;
}

#[tokio::test]
async fn the_delivery_log_is_for_admins_and_paginated() {
    let h = Notification::start(Notification::config()).await;
    let order = OrderId::new();
    h.publish(&placed(order, "BZ-3003")).await;
    h.publish(&confirmed(order, "BZ-3003")).await;
    h.publish(&shipped(order, "BZ-3003")).await;
    wait_deliveries(&h, 3).await;

    let url = h.url("/api/notifications/deliveries");
    assert_eq!(
        h.http.get(&url).send().await.expect("request").status(),
        401
    );
    for role in [Role::Customer, Role::Ops] {
        let response = h
            .http
            .get(&url)
            .bearer_auth(h.token("user-1", &[role]))
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 403, "{role}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let admin = h.admin();
    let page: Value = h
        .http
        .get(format!("{url}?limit=2"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let items = page["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["template"], "order_shipped", "newest first");
    assert_eq!(items[0]["orderId"], order.to_string());
    let before = page["nextBefore"].as_str().expect("another page");
    let rest: Value = h
        .http
        .get(format!("{url}?limit=2&before={before}"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["items"][0]["template"], "order_placed");
    assert!(rest["nextBefore"].is_null());
    let filtered: Value = h
        .http
        .get(format!(
            "{url}?template=order_confirmed&recipient={SHOPPER}"
        ))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(1));

    for (query, status) in [
        ("?limit=0", 422),
        ("?limit=abc", 400),
        ("?before=nope", 400),
        ("?colour=red", 400),
    ] {
        let response = h
            .http
            .get(format!("{url}{query}"))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), status, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{query}"
        );
    }
    h.stop().await;
}

#[tokio::test]
async fn smtp_transport_hands_the_message_to_the_server() {
    let sink = SmtpSink::start().await;
    let h = Notification::start(NotificationConfig {
        transport: TransportKind::Smtp,
        smtp_host: "127.0.0.1".to_owned(),
        smtp_port: Some(sink.port),
        smtp_tls: SmtpTls::None,
        from: "Bazaar <no-reply@shop.example>".to_owned(),
        ..Notification::config()
    })
    .await;
    let order = OrderId::new();
    h.publish(&shipped(order, "BZ-4004")).await;
    let rows = wait_deliveries(&h, 1).await;
    assert_eq!(rows[0].transport, "smtp");
    let message = wait_for(PATIENCE, "the message at the SMTP sink", || async {
        sink.messages().into_iter().next()
    })
    .await
    .expect("received");
    assert_eq!(message.mail_from, "<no-reply@shop.example>");
    assert_eq!(message.rcpt_to, [format!("<{SHOPPER}>")]);
    assert!(
        message
            .data
            .contains("Subject: Your order BZ-4004 is on its way"),
        "{}",
        message.data
    );
    assert!(
        message.data.contains(&format!("To: {SHOPPER}")),
        "{}",
        message.data
    );
    assert!(message.data.contains("PF123456789GB"), "{}", message.data);
    h.stop().await;
}
