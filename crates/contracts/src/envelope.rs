//! The CloudEvents 1.0 envelope in structured JSON mode: the message body is one JSON document holding the
//! context attributes (`id`, `source`, `type`, `subject`, `time`, `datacontenttype`) and `data`.

use chrono::Utc;
use cloudevents::{AttributesReader, Data, EventBuilder, EventBuilderV10};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::Topic;

/// A fact one component tells the others. Implemented by every payload type in this crate.
pub trait DomainEvent: Serialize + DeserializeOwned + JsonSchema {
    /// The CloudEvents `type`, e.g. `order.placed`.
    const TYPE: &'static str;
    /// The topic of the aggregate family the event belongs to.
    const TOPIC: Topic;
    /// The aggregate id: the Kafka key (so one aggregate's events stay in order) and the CloudEvents `subject`.
    fn key(&self) -> String;
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("message is not a CloudEvents 1.0 JSON document: {0}")]
    NotACloudEvent(#[source] serde_json::Error),
    #[error("event could not be built: {0}")]
    Build(String),
    #[error("event type is `{actual}`, expected `{expected}`")]
    WrongType {
        expected: &'static str,
        actual: String,
    },
    #[error("event `{0}` has no JSON data")]
    MissingData(String),
    #[error("event data does not match the `{event_type}` contract: {source}")]
    InvalidData {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Implements [`DomainEvent`] for payload types: `Type => "event.type", TOPIC_CONST, key_field;`.
#[macro_export]
macro_rules! domain_events {
    ($($event:ty => $type:literal, $topic:ident, $key:ident;)+) => {
        $(
            impl $crate::DomainEvent for $event {
                const TYPE: &'static str = $type;
                const TOPIC: $crate::Topic = $crate::Topic::$topic;
                fn key(&self) -> String {
                    self.$key.to_string()
                }
            }
        )+
    };
}

/// One event as it travels: a CloudEvent with JSON data.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope(cloudevents::Event);

impl Envelope {
    /// Wraps a domain event with a fresh UUIDv7 id and the current time. `source` names the producing
    /// component as a URI reference, e.g. `/bazaar/order`.
    pub fn wrap<E: DomainEvent>(source: &str, event: &E) -> Result<Self, EnvelopeError> {
        let data = serde_json::to_value(event).map_err(|e| EnvelopeError::Build(e.to_string()))?;
        EventBuilderV10::new()
            .id(Uuid::now_v7().to_string())
            .source(source)
            .ty(E::TYPE)
            .subject(event.key())
            .time(Utc::now())
            .data("application/json", data)
            .build()
            .map(Envelope)
            .map_err(|e| EnvelopeError::Build(e.to_string()))
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(bytes)
            .map(Envelope)
            .map_err(EnvelopeError::NotACloudEvent)
    }

    pub fn to_json(&self) -> Vec<u8> {
        // A CloudEvent built by the SDK always serializes; its fields are strings, times and JSON values.
        serde_json::to_vec(&self.0).unwrap_or_default()
    }

    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::to_value(&self.0).unwrap_or_default()
    }

    pub fn id(&self) -> &str {
        self.0.id()
    }

    pub fn event_type(&self) -> &str {
        self.0.ty()
    }

    pub fn source(&self) -> String {
        self.0.source().to_string()
    }

    pub fn subject(&self) -> Option<&str> {
        self.0.subject()
    }

    pub fn time(&self) -> Option<&chrono::DateTime<Utc>> {
        self.0.time()
    }

    /// True when this envelope carries an event of type `E`.
    pub fn is<E: DomainEvent>(&self) -> bool {
        self.event_type() == E::TYPE
    }

    /// The typed payload, checked against the contract of `E`.
    pub fn decode<E: DomainEvent>(&self) -> Result<E, EnvelopeError> {
        if !self.is::<E>() {
            return Err(EnvelopeError::WrongType {
                expected: E::TYPE,
                actual: self.event_type().to_owned(),
            });
        }
        let data = match self.0.data() {
            Some(Data::Json(value)) => value.clone(),
            Some(Data::String(text)) => {
                serde_json::from_str(text).map_err(|source| EnvelopeError::InvalidData {
                    event_type: E::TYPE.to_owned(),
                    source,
                })?
            }
            Some(Data::Binary(bytes)) => {
                serde_json::from_slice(bytes).map_err(|source| EnvelopeError::InvalidData {
                    event_type: E::TYPE.to_owned(),
                    source,
                })?
            }
            None => return Err(EnvelopeError::MissingData(self.id().to_owned())),
        };
        serde_json::from_value(data).map_err(|source| EnvelopeError::InvalidData {
            event_type: E::TYPE.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
    struct ParcelWeighed {
        parcel: String,
        grams: u32,
    }

    impl DomainEvent for ParcelWeighed {
        const TYPE: &'static str = "test.parcel.weighed";
        const TOPIC: Topic = Topic::custom("test.parcels");
        fn key(&self) -> String {
            self.parcel.clone()
        }
    }

    #[derive(Debug, Serialize, Deserialize, JsonSchema)]
    struct Other {}

    impl DomainEvent for Other {
        const TYPE: &'static str = "test.other";
        const TOPIC: Topic = Topic::custom("test.other");
        fn key(&self) -> String {
            String::new()
        }
    }

    #[test]
    fn an_event_round_trips_through_structured_json_with_every_required_attribute() {
        let event = ParcelWeighed {
            parcel: "p-1".into(),
            grams: 310,
        };
        let envelope = Envelope::wrap("/bazaar/test", &event).expect("wrap");
        let json: serde_json::Value = serde_json::from_slice(&envelope.to_json()).expect("json");

        assert_eq!(json["specversion"], "1.0");
        assert_eq!(json["type"], "test.parcel.weighed");
        assert_eq!(json["source"], "/bazaar/test");
        assert_eq!(json["subject"], "p-1");
        assert_eq!(json["datacontenttype"], "application/json");
        assert_eq!(json["data"]["grams"], 310);
        assert!(Uuid::parse_str(json["id"].as_str().expect("id")).is_ok());
        assert!(json["time"].as_str().is_some());

        let back = Envelope::from_json(&envelope.to_json()).expect("parse");
        assert_eq!(back.decode::<ParcelWeighed>().expect("decode"), event);
    }

    #[test]
    fn decoding_as_the_wrong_event_type_is_refused() {
        let envelope = Envelope::wrap("/bazaar/test", &Other {}).expect("wrap");
        assert!(matches!(
            envelope.decode::<ParcelWeighed>(),
            Err(EnvelopeError::WrongType { .. })
        ));
    }

    #[test]
    fn a_body_that_is_not_a_cloudevent_is_refused() {
        assert!(matches!(
            Envelope::from_json(b"{\"hello\": 1}"),
            Err(EnvelopeError::NotACloudEvent(_))
        ));
        assert!(Envelope::from_json(b"not json").is_err());
    }

    #[test]
    fn data_that_breaks_the_contract_is_refused() {
        let json = serde_json::json!({
            "specversion": "1.0", "id": "1", "source": "/x", "type": "test.parcel.weighed",
            "datacontenttype": "application/json", "data": {"parcel": "p", "grams": "heavy"}
        });
        let envelope = Envelope::from_json(json.to_string().as_bytes()).expect("parse");
        assert!(matches!(
            envelope.decode::<ParcelWeighed>(),
            Err(EnvelopeError::InvalidData { .. })
        ));
    }
}
