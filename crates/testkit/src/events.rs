//! Playing the other components: a domain event is published to ITS OWN topic ([`DomainEvent::TOPIC`], with
//! this test's prefix), keyed and sourced as its producer would; the same envelope can be delivered again
//! (a redelivery: same id, which the consumer's inbox must recognise); and a test waits until the
//! component's consumers have handled what it sent, from the inbox, instead of sleeping.

use std::time::Duration;

use bazaar_contracts::{DomainEvent, Envelope, Topic};
use rdkafka::producer::FutureRecord;

use crate::component::Harness;
use crate::env::eventually;

/// How long the broker may take to acknowledge one message.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// The CloudEvents `source` of the component that publishes to `topic`: `bazaar.order` -> `/bazaar/order`.
pub fn source_of(topic: Topic) -> String {
    format!("/{}", topic.name().replace('.', "/"))
}

/// `event` in a fresh envelope, as its producer would wrap it.
pub fn envelope<E: DomainEvent>(event: &E) -> Envelope {
    Envelope::wrap(&source_of(E::TOPIC), event).expect("a contract event wraps")
}

impl Harness {
    /// Publishes `event` to its own topic, as its producer would; returns the envelope, to deliver it
    /// again with [`deliver`](Self::deliver).
    pub async fn publish<E: DomainEvent>(&self, event: &E) -> Envelope {
        let envelope = envelope(event);
        self.deliver::<E>(&envelope).await;
        envelope
    }

    /// Sends `envelope` (again, with its original id) to the topic of `E`, keyed by its subject: a
    /// redelivery when it was published before.
    pub async fn deliver<E: DomainEvent>(&self, envelope: &Envelope) {
        let key = envelope.subject().unwrap_or_default().to_owned();
        self.send_to(E::TOPIC, envelope, &key).await;
    }

    /// Sends `envelope` to the logical `topic` with `key`, whatever it holds (a malformed or misrouted
    /// message, a topic not in the contracts).
    pub async fn send_to(&self, topic: Topic, envelope: &Envelope, key: &str) {
        let topic = self.kafka.topic(topic.name());
        let payload = envelope.to_json();
        self.kafka
            .producer()
            .send(
                FutureRecord::to(&topic).key(key).payload(&payload),
                SEND_TIMEOUT,
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap_or_else(|e| panic!("the broker did not take a message for {topic}: {e}"));
    }

    /// Events the subject's consumers have handled (rows of its inbox, every consumer).
    pub async fn handled(&self) -> i64 {
        self.count_handled().await.expect("inbox count")
    }

    /// Waits until the subject's consumers have handled at least `count` events in all.
    pub async fn wait_handled(&self, count: i64) {
        eventually(&format!("{count} handled events"), || async {
            (self.count_handled().await? >= count).then_some(())
        })
        .await;
    }

    async fn count_handled(&self) -> Option<i64> {
        sqlx::query_scalar("SELECT count(*) FROM inbox")
            .fetch_one(&self.db)
            .await
            .ok()
    }

    /// Waits until the subject's consumers have handled `envelope` (its id is in the inbox).
    pub async fn wait_handled_envelope(&self, envelope: &Envelope) {
        let id = envelope.id().to_owned();
        eventually(&format!("event {id} handled"), || async {
            let found: Option<i64> =
                sqlx::query_scalar("SELECT 1::bigint FROM inbox WHERE event_id = $1 LIMIT 1")
                    .bind(&id)
                    .fetch_optional(&self.db)
                    .await
                    .ok()?;
            found.map(|_| ())
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_names_the_producing_component() {
        assert_eq!(source_of(Topic::ORDER), "/bazaar/order");
        assert_eq!(source_of(Topic::CATALOG), "/bazaar/catalog");
    }
}
