//! Plumbing shared by every Bazaar component, written once: configuration, telemetry, the HTTP scaffold,
//! PostgreSQL pools and migrations, the Kafka producer, transactional outbox and inbox consumer, and JWT auth.

pub mod audit;
pub mod auth;
pub mod component;
pub mod config;
pub mod db;
pub mod edge;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod openapi;
pub mod overload;
pub mod problem;
pub mod runtime;
pub mod shutdown;
pub mod storefront;
pub mod telemetry;

pub use problem::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
