//! JSON Schemas of the event payloads, generated from the Rust types so that they cannot drift.

use crate::DomainEvent;

/// The JSON Schema of one event's `data`, with its CloudEvents type as the title.
pub fn generate<E: DomainEvent>() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(E)).unwrap_or_default();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "title".into(),
            serde_json::Value::String(E::TYPE.to_owned()),
        );
    }
    schema
}
