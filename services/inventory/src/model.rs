//! Inventory's vocabulary: locations and the states of a reservation.

use std::fmt;

/// A stock location: a Store named `namespace/name` (Kubernetes naming rules: the namespace is a DNS label,
/// the name a DNS subdomain). Valid by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LocationName(String);

impl LocationName {
    /// Builds `namespace/name`, checking both parts.
    pub fn new(namespace: &str, name: &str) -> Result<Self, String> {
        if !is_dns_label(namespace) {
            return Err(format!(
                "`{namespace}` is not a namespace: expected 1 to 63 lowercase letters, digits or `-`, \
                 starting and ending with a letter or digit"
            ));
        }
        if !is_dns_subdomain(name) {
            return Err(format!(
                "`{name}` is not a store name: expected 1 to 253 lowercase letters, digits, `-` or `.`, \
                 starting and ending with a letter or digit"
            ));
        }
        Ok(Self(format!("{namespace}/{name}")))
    }

    /// Parses `namespace/name`.
    pub fn parse(full: &str) -> Result<Self, String> {
        let (namespace, name) = full
            .split_once('/')
            .ok_or_else(|| format!("`{full}` is not a location: expected `namespace/name`"))?;
        Self::new(namespace, name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_dns_label(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn is_dns_subdomain(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 253
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.'))
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

/// Where a reservation stands. `Held` moves to `Committed` (the order was confirmed), `Released` (the order
/// was cancelled first) or `Expired` (its time ran out); `Committed` moves to `Restocked` (a confirmed order
/// was cancelled and its units went back on hand). The others are final.
///
/// In code, a transition is a method of the typed reservation it starts from (`HeldReservation::commit`,
/// `CommittedReservation::restock`, ...), so an illegal one cannot be written; in SQL, a trigger refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationState {
    Held,
    Committed,
    Released,
    Expired,
    Restocked,
}

impl ReservationState {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Held => "held",
            Self::Committed => "committed",
            Self::Released => "released",
            Self::Expired => "expired",
            Self::Restocked => "restocked",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [
            Self::Held,
            Self::Committed,
            Self::Released,
            Self::Expired,
            Self::Restocked,
        ]
        .into_iter()
        .find(|state| state.as_str() == value)
    }
}

impl fmt::Display for ReservationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_follow_kubernetes_naming() {
        assert_eq!(
            LocationName::new("shop", "main-warehouse")
                .expect("valid")
                .as_str(),
            "shop/main-warehouse"
        );
        assert_eq!(
            LocationName::parse("shop/eu.west-1")
                .expect("valid")
                .as_str(),
            "shop/eu.west-1"
        );
        for (namespace, name) in [
            ("", "a"),
            ("Shop", "a"),
            ("shop", ""),
            ("shop", "-a"),
            ("shop", "a/b"),
            ("shop", "a "),
            ("-x", "a"),
        ] {
            assert!(
                LocationName::new(namespace, name).is_err(),
                "{namespace}/{name} accepted"
            );
        }
        assert!(LocationName::parse("no-slash").is_err());
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in [
            ReservationState::Held,
            ReservationState::Committed,
            ReservationState::Released,
            ReservationState::Expired,
            ReservationState::Restocked,
        ] {
            assert_eq!(ReservationState::parse(state.as_str()), Some(state));
        }
        assert_eq!(ReservationState::parse("rejected"), None);
    }
}
