//! Message templates (MiniJinja), embedded from `templates/`. A template renders to a first line
//! `Subject: ...`, a blank line, and the body. Undefined variables are errors, so a template that names a
//! field its event does not have fails in tests, not in a shopper's inbox.

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

/// Every message Bazaar sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Template {
    OrderPlaced,
    OrderConfirmed,
    OrderCancelled,
    OrderPacked,
    OrderShipped,
    OrderDelivered,
    PaymentRefunded,
    StockLow,
    Welcome,
}

impl Template {
    pub const ALL: [Template; 9] = [
        Template::OrderPlaced,
        Template::OrderConfirmed,
        Template::OrderCancelled,
        Template::OrderPacked,
        Template::OrderShipped,
        Template::OrderDelivered,
        Template::PaymentRefunded,
        Template::StockLow,
        Template::Welcome,
    ];

    /// The template's name in the delivery log and in metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Template::OrderPlaced => "order_placed",
            Template::OrderConfirmed => "order_confirmed",
            Template::OrderCancelled => "order_cancelled",
            Template::OrderPacked => "order_packed",
            Template::OrderShipped => "order_shipped",
            Template::OrderDelivered => "order_delivered",
            Template::PaymentRefunded => "payment_refunded",
            Template::StockLow => "stock_low",
            Template::Welcome => "welcome",
        }
    }

    const fn source(self) -> &'static str {
        match self {
            Template::OrderPlaced => include_str!("../templates/order_placed.txt"),
            Template::OrderConfirmed => include_str!("../templates/order_confirmed.txt"),
            Template::OrderCancelled => include_str!("../templates/order_cancelled.txt"),
            Template::OrderPacked => include_str!("../templates/order_packed.txt"),
            Template::OrderShipped => include_str!("../templates/order_shipped.txt"),
            Template::OrderDelivered => include_str!("../templates/order_delivered.txt"),
            Template::PaymentRefunded => include_str!("../templates/payment_refunded.txt"),
            Template::StockLow => include_str!("../templates/stock_low.txt"),
            Template::Welcome => include_str!("../templates/welcome.txt"),
        }
    }
}

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {template}: {source}")]
    Template {
        template: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("template {0} does not start with a `Subject:` line")]
    NoSubject(&'static str),
}

/// All templates, parsed once.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn load() -> Result<Self, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for template in Template::ALL {
            env.add_template(template.name(), template.source())
                .map_err(|source| RenderError::Template {
                    template: template.name(),
                    source,
                })?;
        }
        Ok(Self { env })
    }

    /// Renders `template` with `data` (serialized field by field, as on the wire: camelCase).
    pub fn render(
        &self,
        template: Template,
        data: &impl Serialize,
    ) -> Result<Rendered, RenderError> {
        let error = |source| RenderError::Template {
            template: template.name(),
            source,
        };
        let text = self
            .env
            .get_template(template.name())
            .and_then(|t| t.render(Value::from(minijinja::value::Serde(data))))
            .map_err(error)?;
        let (first, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let subject = first
            .strip_prefix("Subject:")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or(RenderError::NoSubject(template.name()))?;
        Ok(Rendered {
            subject: subject.to_owned(),
            body: body.trim_start_matches('\n').trim_end().to_owned() + "\n",
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn money(amount: &str) -> serde_json::Value {
        json!({"amount": amount, "currency": "USD"})
    }

    #[test]
    fn an_order_placed_message_lists_lines_totals_and_address() {
        let templates = Templates::load().expect("templates parse");
        let data = json!({
            "orderId": "0190a0c4-7c5e-7000-8000-000000000000",
            "orderNumber": "BZ-1",
            "customer": {"email": "a@example.com"},
            "lines": [{"sku": "TR-42-BLK", "quantity": 2, "unitPrice": money("1.00"), "lineTotal": money("2.00")}],
            "subtotal": money("2.00"), "discount": money("0.00"), "shipping": money("4.99"), "total": money("6.99"),
            "shippingAddress": {"name": "Ada", "line1": "1 Row", "city": "London", "postalCode": "N1", "country": "GB"},
            "shippingMethod": "standard",
            "placedAt": "2026-01-01T00:00:00Z",
        });
        let rendered = templates
            .render(Template::OrderPlaced, &data)
            .expect("renders");
        assert_eq!(rendered.subject, "We received your order BZ-1");
        assert!(
            rendered.body.contains("2 x TR-42-BLK  2.00 USD"),
            "{}",
            rendered.body
        );
        assert!(
            !rendered.body.contains("Discount"),
            "no discount line for zero: {}",
            rendered.body
        );
        assert!(
            rendered.body.contains("N1 London\n  GB"),
            "{}",
            rendered.body
        );
    }

    #[test]
    fn a_field_the_event_lacks_is_an_error_not_a_blank() {
        let templates = Templates::load().expect("templates parse");
        let error = templates
            .render(Template::OrderShipped, &json!({"orderNumber": "BZ-1"}))
            .expect_err("carrier is missing");
        assert!(error.to_string().contains("order_shipped"), "{error}");
    }
}
