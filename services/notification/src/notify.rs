//! Turns events into messages. Each message is rendered and recorded in `deliveries` (state `pending`) in
//! the inbox transaction, under a unique (event, recipient, template): a redelivered or replayed event
//! finds its row and records nothing. Nothing is sent here: [`crate::send::Sender`] sends recorded messages
//! after that transaction committed, so a failed commit sends nothing, and a crash after a send never
//! sends it again (see that module for exactly what is guaranteed).

use std::sync::Arc;
use std::time::Duration;

use bazaar_contracts::identity::UserRegistered;
use bazaar_contracts::inventory::StockLow;
use bazaar_contracts::order::{
    Customer, OrderCancelled, OrderConfirmed, OrderDelivered, OrderId, OrderPacked, OrderPlaced,
    OrderShipped,
};
use bazaar_contracts::payment::PaymentRefunded;
use bazaar_contracts::{DomainEvent, Money};
use bazaar_platform::kafka::{EventHandler, HandlerError, IncomingEvent};
use prometheus::IntCounterVec;
use serde::Serialize;
use sqlx::{PgConnection, PgPool};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::send::Sender;
use crate::templates::{Template, Templates};
use crate::transport::Transport;

/// Shared by the component's consumers; cheap to clone.
#[derive(Clone)]
pub struct Notifier(Arc<Inner>);

struct Inner {
    templates: Templates,
    transport: Arc<dyn Transport>,
    ops_emails: Vec<String>,
    sent: IntCounterVec,
    /// Wakes the sender when a message was recorded (a hint: it also polls).
    wake: Arc<Notify>,
}

/// What `payment_refunded.txt` is rendered with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefundMessage<'a> {
    order_number: &'a str,
    amount: Money,
    payment_id: Uuid,
}

impl Notifier {
    pub fn new(
        templates: Templates,
        transport: Arc<dyn Transport>,
        ops_emails: Vec<String>,
        sent: IntCounterVec,
    ) -> Self {
        Self(Arc::new(Inner {
            templates,
            transport,
            ops_emails,
            sent,
            wake: Arc::new(Notify::new()),
        }))
    }

    /// The sender of the messages this notifier records: same transport and metric. `lease` is how long
    /// a send may take before a claim still unconfirmed counts as interrupted.
    pub fn sender(
        &self,
        pool: PgPool,
        max_attempts: u32,
        backoff: Duration,
        lease: Duration,
    ) -> Sender {
        Sender {
            pool,
            transport: self.0.transport.clone(),
            sent: self.0.sent.clone(),
            max_attempts,
            backoff,
            lease,
            wake: self.0.wake.clone(),
        }
    }

    /// Tells the order's customer about an order event, remembering how to reach them.
    async fn order_event<E: AboutOrder>(
        &self,
        tx: &mut PgConnection,
        event: &IncomingEvent,
        template: Template,
    ) -> Result<(), HandlerError> {
        let data: E = event.envelope.decode()?;
        let (order_id, order_number, customer) = data.order();
        remember_contact(tx, order_id, order_number, &customer.email).await?;
        self.deliver(tx, event, template, &customer.email, Some(order_id), &data)
            .await
    }

    /// Renders and records one message for the sender, unless one was recorded for this event, recipient
    /// and template before.
    async fn deliver(
        &self,
        tx: &mut PgConnection,
        event: &IncomingEvent,
        template: Template,
        recipient: &str,
        order_id: Option<OrderId>,
        data: &impl Serialize,
    ) -> Result<(), HandlerError> {
        let rendered = self
            .0
            .templates
            .render(template, data)
            .map_err(|e| HandlerError::permanent(e.to_string()))?;
        let recorded = sqlx::query(
            "INSERT INTO deliveries (id, event_id, event_type, template, recipient, transport, subject,
                                     body, order_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (event_id, recipient, template) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(event.envelope.id())
        .bind(event.envelope.event_type())
        .bind(template.name())
        .bind(recipient)
        .bind(self.0.transport.name())
        .bind(&rendered.subject)
        .bind(&rendered.body)
        .bind(order_id.map(|id| id.0))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if recorded == 0 {
            self.count(template, "duplicate");
            tracing::info!(
                template = template.name(),
                "already recorded for this event; not sending again"
            );
            return Ok(());
        }
        self.0.wake.notify_one();
        Ok(())
    }

    fn count(&self, template: Template, outcome: &str) {
        self.0
            .sent
            .with_label_values(&[template.name(), outcome])
            .inc();
    }
}

async fn remember_contact(
    tx: &mut PgConnection,
    order_id: OrderId,
    order_number: &str,
    email: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO order_contacts (order_id, order_number, email) VALUES ($1, $2, $3)
         ON CONFLICT (order_id) DO UPDATE
             SET order_number = EXCLUDED.order_number, email = EXCLUDED.email, updated_at = now()",
    )
    .bind(order_id.0)
    .bind(order_number)
    .bind(email)
    .execute(&mut *tx)
    .await
    .map(|_| ())
}

/// Order events, which all name the order and its customer.
trait AboutOrder: DomainEvent + Send {
    fn order(&self) -> (OrderId, &str, &Customer);
}

macro_rules! about_order {
    ($($event:ty),+) => {
        $(impl AboutOrder for $event {
            fn order(&self) -> (OrderId, &str, &Customer) {
                (self.order_id, &self.order_number, &self.customer)
            }
        })+
    };
}

about_order!(
    OrderPlaced,
    OrderConfirmed,
    OrderCancelled,
    OrderPacked,
    OrderShipped,
    OrderDelivered
);

#[derive(Debug, thiserror::Error)]
#[error("no contact known yet for order {0}; waiting for its order events")]
struct UnknownOrder(OrderId);

impl EventHandler for Notifier {
    async fn handle(
        &self,
        event: &IncomingEvent,
        tx: &mut PgConnection,
    ) -> Result<(), HandlerError> {
        let envelope = &event.envelope;
        match envelope.event_type() {
            OrderPlaced::TYPE => {
                self.order_event::<OrderPlaced>(tx, event, Template::OrderPlaced)
                    .await
            }
            OrderConfirmed::TYPE => {
                self.order_event::<OrderConfirmed>(tx, event, Template::OrderConfirmed)
                    .await
            }
            OrderCancelled::TYPE => {
                self.order_event::<OrderCancelled>(tx, event, Template::OrderCancelled)
                    .await
            }
            OrderPacked::TYPE => {
                self.order_event::<OrderPacked>(tx, event, Template::OrderPacked)
                    .await
            }
            OrderShipped::TYPE => {
                self.order_event::<OrderShipped>(tx, event, Template::OrderShipped)
                    .await
            }
            OrderDelivered::TYPE => {
                self.order_event::<OrderDelivered>(tx, event, Template::OrderDelivered)
                    .await
            }
            PaymentRefunded::TYPE => {
                let e: PaymentRefunded = envelope.decode()?;
                let contact: Option<(String, String)> = sqlx::query_as(
                    "SELECT order_number, email FROM order_contacts WHERE order_id = $1",
                )
                .bind(e.order_id.0)
                .fetch_optional(&mut *tx)
                .await?;
                // Order events travel on another topic and may lag: retry until the contact is known.
                let (order_number, email) =
                    contact.ok_or_else(|| HandlerError::transient(UnknownOrder(e.order_id)))?;
                let message = RefundMessage {
                    order_number: &order_number,
                    amount: e.amount,
                    payment_id: e.payment_id,
                };
                self.deliver(
                    tx,
                    event,
                    Template::PaymentRefunded,
                    &email,
                    Some(e.order_id),
                    &message,
                )
                .await
            }
            StockLow::TYPE => {
                let e: StockLow = envelope.decode()?;
                for recipient in &self.0.ops_emails {
                    self.deliver(tx, event, Template::StockLow, recipient, None, &e)
                        .await?;
                }
                Ok(())
            }
            UserRegistered::TYPE => {
                let e: UserRegistered = envelope.decode()?;
                self.deliver(tx, event, Template::Welcome, &e.email, None, &e)
                    .await
            }
            _ => Ok(()),
        }
    }
}
