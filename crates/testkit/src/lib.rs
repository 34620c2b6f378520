//! The test harness of every Bazaar component, in one place.
//!
//! - [`env`]: real PostgreSQL and a real Kafka-protocol broker, isolated per test ([`TestEnv`]), and
//!   [`wait_for`] / [`eventually`] instead of sleeping.
//! - [`component`]: a component served in-process over real HTTP, PostgreSQL and Kafka ([`Harness`]),
//!   started and stopped around the platform runtime; each service's `tests/common` says which component
//!   it is about by implementing [`Subject`] in a few lines.
//! - [`tokens`]: tokens for a shopper, ops and an admin from the harness's test issuer.
//! - [`events`]: publish a domain event to its own topic ([`DomainEvent::TOPIC`](bazaar_contracts::DomainEvent::TOPIC)),
//!   deliver the same envelope again, and wait until the component's consumer has handled events.
//! - [`outbox`]: what a component announced (its outbox), and waiting for an announcement.
//! - [`http`]: one HTTP answer type ([`Answer`]) for calls over the network and to an in-process router.
//! - [`config`]: a component's settings as clap's defaults, for tests to override fields of.
//!
//! ```ignore
//! struct Payment;
//! impl Subject for Payment {
//!     type Config = PaymentConfig;
//!     fn spec() -> &'static ComponentSpec { &bazaar_payment::COMPONENT }
//! }
//! let h = Harness::start::<Payment>(Payment::config()).await;
//! let envelope = h.publish(&requested).await;   // to bazaar.order, as the order component would
//! h.deliver::<PaymentRequested>(&envelope).await; // the same message again
//! h.wait_handled(2).await;
//! h.stop().await;
//! ```
//!
//! The crate depends on the platform and the contracts, never on a service: services depend on it (as a
//! dev-dependency), so it cannot name them.

pub mod component;
pub mod config;
pub mod env;
pub mod events;
pub mod http;
pub mod outbox;
pub mod tokens;

pub use component::{Harness, NoSettings, Subject};
pub use env::{PATIENCE, TestEnv, eventually, wait_for};
pub use http::Answer;
