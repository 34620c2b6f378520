//! Bazaar's event contracts: the CloudEvents 1.0 envelope every message travels in, the topics, and the
//! event payload types. Producers and consumers depend on this crate and on nothing of each other.
//! JSON Schemas for the payloads are generated from the Rust types (see [`schema::generate`]).

pub mod catalog;
pub mod envelope;
pub mod identity;
pub mod inventory;
pub mod money;
pub mod order;
pub mod payment;
pub mod quote;
pub mod review;
pub mod schema;
pub mod topic;

pub use envelope::{DomainEvent, Envelope, EnvelopeError};
pub use money::{Currency, Money, MoneyError, Sku};
pub use topic::Topic;
