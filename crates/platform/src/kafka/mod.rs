//! Kafka through rdkafka: an idempotent producer (`acks=all`), topic creation, the transactional outbox and
//! its relay, and consumers that record handled events in an inbox and park failing ones in a dead-letter
//! topic. Every message is a CloudEvent (see `bazaar_contracts::Envelope`) keyed by its aggregate id.

pub mod consumer;
pub mod outbox;

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{FutureProducer, Producer};

use crate::config::{ConfigError, KafkaConfig};

pub use consumer::{Consumer, EventHandler, HandlerError, IncomingEvent, Outcome};
pub use outbox::{Outbox, OutboxError, Relay};

/// Header naming why a message was dead-lettered.
pub const DLQ_REASON_HEADER: &str = "bazaar-dlq-reason";

#[derive(Debug, thiserror::Error)]
pub enum MessagingError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("kafka: {0}")]
    Kafka(#[from] KafkaError),
    #[error("creating topic {topic} failed: {code}")]
    CreateTopic {
        topic: String,
        code: RDKafkaErrorCode,
    },
    #[error("kafka broker unreachable: {0}")]
    Unreachable(String),
}

/// A connection to the cluster shared by a process: settings plus the one producer everything publishes
/// through. Cheap to clone.
#[derive(Clone)]
pub struct Kafka {
    config: KafkaConfig,
    brokers: String,
    client_id: String,
    producer: FutureProducer,
}

impl Kafka {
    /// Builds the producer; it connects lazily, so this succeeds while the broker is still starting.
    pub fn connect(config: &KafkaConfig, client_id: &str) -> Result<Self, MessagingError> {
        let brokers = config.brokers()?.to_owned();
        let producer: FutureProducer = base_config(&brokers, client_id)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            // Idempotence keeps per-partition order across retries with up to 5 requests in flight.
            .set("max.in.flight.requests.per.connection", "5")
            // The relay sends a whole batch before awaiting it, so batches form without lingering; a
            // linger would only add to every saga hop.
            .set("linger.ms", "1")
            .set("message.timeout.ms", "30000")
            .create()?;
        Ok(Self {
            config: config.clone(),
            brokers,
            client_id: client_id.to_owned(),
            producer,
        })
    }

    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    pub fn producer(&self) -> &FutureProducer {
        &self.producer
    }

    /// Settings a consumer starts from: brokers and client id.
    pub fn client_config(&self) -> ClientConfig {
        base_config(&self.brokers, &self.client_id)
    }

    /// The physical name of a logical topic (with the deployment's prefix).
    pub fn topic(&self, logical: &str) -> String {
        self.config.topic(logical)
    }

    /// Creates the given logical topics and their dead-letter topics where missing.
    // Boxed with an explicit `Send`: rdkafka's admin future borrows its arguments in a way the compiler
    // otherwise cannot prove `Send` for every lifetime when callers are spawned.
    pub fn ensure_topics<'a>(
        &'a self,
        logical: &'a [&'a str],
    ) -> futures::future::BoxFuture<'a, Result<(), MessagingError>> {
        let names: Vec<String> = logical
            .iter()
            .flat_map(|topic| [self.topic(topic), format!("{}.dlq", self.topic(topic))])
            .collect();
        let partitions = self.config.partitions;
        let admin: Result<AdminClient<DefaultClientContext>, _> = self.client_config().create();
        Box::pin(async move {
            let admin = admin?;
            let new_topics: Vec<NewTopic<'_>> = names
                .iter()
                .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
                .collect();
            let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
            for result in admin.create_topics(&new_topics, &options).await? {
                match result {
                    Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                    Err((topic, code)) => return Err(MessagingError::CreateTopic { topic, code }),
                }
            }
            Ok(())
        })
    }

    /// Readiness check: the cluster answers a metadata request.
    pub async fn ping(&self) -> Result<(), MessagingError> {
        let producer = self.producer.clone();
        tokio::task::spawn_blocking(move || {
            producer
                .client()
                .fetch_metadata(None, Duration::from_secs(2))
                .map(|_| ())
                .map_err(|e| MessagingError::Unreachable(e.to_string()))
        })
        .await
        .map_err(|e| MessagingError::Unreachable(e.to_string()))?
    }

    /// Waits for messages still queued in the producer, at most `timeout`; called at shutdown.
    pub async fn flush(&self, timeout: Duration) {
        let producer = self.producer.clone();
        let flushed = tokio::task::spawn_blocking(move || producer.flush(timeout)).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "producer not flushed before shutdown"),
            Err(error) => tracing::warn!(%error, "producer flush task failed"),
        }
    }
}

fn base_config(brokers: &str, client_id: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("client.id", client_id)
        .set("log_level", "4");
    config
}
