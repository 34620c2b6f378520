//! The notification suite's adapter to the shared harness (`bazaar_testkit`): which component it is about,
//! its delivery log, sample events of every kind it mails about, and a tiny SMTP sink.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::sync::{Arc, Mutex};

use bazaar_contracts::identity::UserRegistered;
use bazaar_contracts::inventory::StockLow;
use bazaar_contracts::order::{
    CancellationReason, Customer, OrderCancelled, OrderConfirmed, OrderDelivered, OrderId,
    OrderLine, OrderPacked, OrderPlaced, OrderShipped, ShippingAddress,
};
use bazaar_contracts::payment::PaymentRefunded;
use bazaar_contracts::{Currency, Money};
use bazaar_notification::NotificationConfig;
use bazaar_platform::component::ComponentSpec;
pub use bazaar_testkit::{Harness, PATIENCE, Subject, eventually};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub const SHOPPER: &str = "shopper@example.com";

/// The notification component, as the harness's subject.
pub struct Notification;

impl Subject for Notification {
    type Config = NotificationConfig;
    fn spec() -> &'static ComponentSpec {
        &bazaar_notification::COMPONENT
    }
}

/// One row of the delivery log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Row {
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub transport: String,
}

/// The messages sent, in order.
pub async fn deliveries(h: &Harness) -> Vec<Row> {
    sqlx::query_as::<_, Row>(
        "SELECT template, recipient, subject, body, transport FROM deliveries WHERE state = 'sent'
         ORDER BY id",
    )
    .fetch_all(&h.db)
    .await
    .expect("deliveries")
}

/// Waits until at least `count` messages were sent; returns them all.
pub async fn wait_deliveries(h: &Harness, count: usize) -> Vec<Row> {
    eventually(&format!("{count} deliveries"), || async {
        let rows = deliveries(h).await;
        (rows.len() >= count).then_some(rows)
    })
    .await
}

pub fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::USD).expect("amount")
}

pub fn customer() -> Customer {
    Customer {
        user_id: None,
        email: SHOPPER.to_owned(),
    }
}

pub fn lines() -> Vec<OrderLine> {
    vec![OrderLine {
        sku: "TR-42-BLK".parse().expect("sku"),
        quantity: 2,
        unit_price: usd("129.00"),
        line_total: usd("258.00"),
    }]
}

pub fn placed(order: OrderId, number: &str) -> OrderPlaced {
    OrderPlaced {
        order_id: order,
        order_number: number.to_owned(),
        customer: customer(),
        lines: lines(),
        subtotal: usd("258.00"),
        discount: usd("25.80"),
        shipping: usd("4.99"),
        tax: None,
        total: usd("237.19"),
        shipping_address: ShippingAddress {
            name: "Ada Lovelace".to_owned(),
            line1: "12 Analytical Row".to_owned(),
            line2: None,
            city: "London".to_owned(),
            region: None,
            postal_code: "N1 9GU".to_owned(),
            country: "GB".to_owned(),
        },
        shipping_method: "standard".to_owned(),
        placed_at: chrono::Utc::now(),
        promotions: Vec::new(),
    }
}

pub fn confirmed(order: OrderId, number: &str) -> OrderConfirmed {
    OrderConfirmed {
        order_id: order,
        order_number: number.to_owned(),
        customer: customer(),
        lines: lines(),
        total: usd("237.19"),
    }
}

pub fn cancelled(order: OrderId, number: &str) -> OrderCancelled {
    OrderCancelled {
        order_id: order,
        order_number: number.to_owned(),
        customer: customer(),
        reason: CancellationReason::RequestedByCustomer,
        detail: "You asked us to cancel it.".to_owned(),
        lines: lines(),
        restock: true,
    }
}

pub fn packed(order: OrderId, number: &str) -> OrderPacked {
    OrderPacked {
        order_id: order,
        order_number: number.to_owned(),
        customer: customer(),
    }
}

pub fn shipped(order: OrderId, number: &str) -> OrderShipped {
    OrderShipped {
        order_id: order,
        order_number: number.to_owned(),
        customer: customer(),
        carrier: "Parcelforce".to_owned(),
        tracking_number: "PF123456789GB".to_owned(),
    }
}

pub fn delivered(order: OrderId, number: &str) -> OrderDelivered {
    OrderDelivered {
        order_id: order,
        order_number: number.to_owned(),
        customer: customer(),
    }
}

pub fn refunded(order: OrderId) -> PaymentRefunded {
    PaymentRefunded {
        order_id: order,
        payment_id: uuid::Uuid::now_v7(),
        amount: usd("237.19"),
    }
}

pub fn stock_low() -> StockLow {
    StockLow {
        sku: "TR-42-BLK".parse().expect("sku"),
        available: 3,
        threshold: 5,
    }
}

pub fn registered() -> UserRegistered {
    UserRegistered {
        user_id: uuid::Uuid::now_v7(),
        email: "grace@example.com".to_owned(),
        name: "Grace".to_owned(),
        registered_at: chrono::Utc::now(),
    }
}

/// One message an SMTP client handed over.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

/// A minimal SMTP server on 127.0.0.1 that accepts everything and records it.
pub struct SmtpSink {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(session(socket, store.clone()));
            }
        });
        SmtpSink { port, received }
    }

    pub fn messages(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }
}

async fn session(socket: tokio::net::TcpStream, store: Arc<Mutex<Vec<Received>>>) {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink ESMTP ready\r\n").await;
    let mut current = Received {
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: String::new(),
    };
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            current.mail_from = command[10..].trim().to_owned();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            current.rcpt_to.push(command[8..].trim().to_owned());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            current.data = data;
            store.lock().expect("lock").push(current.clone());
            current.rcpt_to.clear();
            b"250 queued\r\n"
        } else if upper == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
