//! Topics, one per aggregate family. The names here are logical: deployments may prefix them
//! (`BAZAAR_KAFKA_TOPIC_PREFIX`) so that several environments or tests share one broker.

/// A logical Kafka topic name, such as `bazaar.order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Topic(&'static str);

impl Topic {
    pub const CATALOG: Topic = Topic("bazaar.catalog");
    pub const IDENTITY: Topic = Topic("bazaar.identity");
    pub const ORDER: Topic = Topic("bazaar.order");
    pub const INVENTORY: Topic = Topic("bazaar.inventory");
    pub const PAYMENT: Topic = Topic("bazaar.payment");
    pub const NOTIFICATION: Topic = Topic("bazaar.notification");
    pub const REVIEW: Topic = Topic("bazaar.review");

    /// Every topic the platform publishes to, so that start-up can create them all.
    pub const ALL: [Topic; 7] = [
        Topic::CATALOG,
        Topic::IDENTITY,
        Topic::ORDER,
        Topic::INVENTORY,
        Topic::PAYMENT,
        Topic::NOTIFICATION,
        Topic::REVIEW,
    ];

    /// A topic not in [`Topic::ALL`]; for tests and tools.
    pub const fn custom(name: &'static str) -> Topic {
        Topic(name)
    }

    pub const fn name(self) -> &'static str {
        self.0
    }

    /// Where messages of this topic that keep failing are parked, with the reason in headers.
    pub fn dead_letter_name(self) -> String {
        format!("{}.dlq", self.0)
    }
}

impl std::fmt::Display for Topic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
