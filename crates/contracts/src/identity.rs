//! Events of the user aggregate (topic `bazaar.identity`, key = user id). Identity is the only producer.
//! Payloads carry what consumers need to act (notification greets a new user by name at their address)
//! and never any credential: no password, no hash, no token.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{DomainEvent, Topic};

/// `user.registered`: someone created an account (by signing up, or an operator creating the first admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    /// The new user's id (UUIDv7); the `sub` of their access tokens.
    pub user_id: Uuid,
    /// The e-mail address the account signs in with, normalized to lowercase.
    pub email: String,
    /// How the user wants to be addressed.
    pub name: String,
    /// When the account was created (UTC).
    pub registered_at: DateTime<Utc>,
}

impl DomainEvent for UserRegistered {
    const TYPE: &'static str = "user.registered";
    const TOPIC: Topic = Topic::IDENTITY;
    fn key(&self) -> String {
        self.user_id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_registered_schema_has_no_credential_fields() {
        let schema = crate::schema::generate::<UserRegistered>();
        assert_eq!(schema["title"], "user.registered");
        let properties = schema["properties"].as_object().expect("properties");
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["email", "name", "registeredAt", "userId"]);
    }
}
