//! The payment suite's adapter to the shared harness (`bazaar_testkit`): which component it is about, its
//! tables to look at, and order events to send it.

#![allow(dead_code, unused_imports)] // each test binary uses a different part

use bazaar_contracts::order::{
    CancellationReason, Customer, OrderCancelled, OrderConfirmed, OrderId, PaymentRequested,
};
use bazaar_contracts::{Currency, Money};
use bazaar_payment::PaymentConfig;
use bazaar_platform::component::ComponentSpec;
pub use bazaar_testkit::{Harness, Subject};

/// The payment component, as the harness's subject.
pub struct Payment;

impl Subject for Payment {
    type Config = PaymentConfig;
    fn spec() -> &'static ComponentSpec {
        &bazaar_payment::COMPONENT
    }
}

/// The statuses of the order's payments, by attempt.
pub async fn statuses(h: &Harness, order: OrderId) -> Vec<(i32, String)> {
    sqlx::query_as::<_, (i32, String)>(
        "SELECT attempt, status::text FROM payments WHERE order_id = $1 ORDER BY attempt",
    )
    .bind(order.0)
    .fetch_all(&h.db)
    .await
    .expect("payments")
}

/// The simulated provider's ledger rows for the order: (operation, outcome, calls).
pub async fn ledger(h: &Harness, order: OrderId) -> Vec<(String, String, i32)> {
    sqlx::query_as::<_, (String, String, i32)>(
        "SELECT operation, outcome, calls FROM simulated_provider_ledger WHERE reference = $1
         ORDER BY created_at",
    )
    .bind(order.to_string())
    .fetch_all(&h.db)
    .await
    .expect("ledger")
}

pub fn usd(amount: &str) -> Money {
    Money::parse(amount, Currency::USD).expect("amount")
}

pub fn request(order: OrderId, token: &str, attempt: u32) -> PaymentRequested {
    PaymentRequested {
        order_id: order,
        order_number: format!("BZ-{}", &order.to_string()[..8]),
        amount: usd("129.00"),
        payment_token: token.to_owned(),
        idempotency_key: format!("{order}:{attempt}"),
        attempt,
    }
}

fn customer() -> Customer {
    Customer {
        user_id: Some("user-1".to_owned()),
        email: "shopper@example.com".to_owned(),
    }
}

pub fn confirmed(order: OrderId) -> OrderConfirmed {
    OrderConfirmed {
        order_id: order,
        order_number: "BZ-1".to_owned(),
        customer: customer(),
        lines: Vec::new(),
        total: usd("129.00"),
    }
}

pub fn cancelled(order: OrderId, reason: CancellationReason) -> OrderCancelled {
    OrderCancelled {
        order_id: order,
        order_number: "BZ-1".to_owned(),
        customer: customer(),
        reason,
        detail: "Cancelled.".to_owned(),
        lines: Vec::new(),
        restock: false,
    }
}
