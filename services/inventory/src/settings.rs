//! The inventory component's settings, read from the environment when the component starts (the component
//! contract gives a component no flags of its own yet). Every value is checked; a bad one stops the start
//! with a message naming the variable.

use std::time::Duration;

/// `INVENTORY_RESERVATION_TTL_SECS`: how long a reservation holds stock unless the order is confirmed.
pub const RESERVATION_TTL_VAR: &str = "INVENTORY_RESERVATION_TTL_SECS";
/// `INVENTORY_EXPIRY_INTERVAL_MS`: how often held reservations are checked for expiry.
pub const EXPIRY_INTERVAL_VAR: &str = "INVENTORY_EXPIRY_INTERVAL_MS";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Time to live of a reservation (default 15 minutes).
    pub reservation_ttl: Duration,
    /// Pause between two expiry sweeps (default 5 seconds).
    pub expiry_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reservation_ttl: Duration::from_secs(15 * 60),
            expiry_interval: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{variable}=`{value}` is invalid: expected {expected}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl Settings {
    /// The defaults, overridden by the environment variables that are set.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`Settings::from_env`], reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut settings = Self::default();
        if let Some(value) = lookup(RESERVATION_TTL_VAR).filter(|v| !v.is_empty()) {
            let secs = parse_in(&value, 1..=7 * 24 * 3600).ok_or(SettingsError {
                variable: RESERVATION_TTL_VAR,
                value,
                expected: "whole seconds between 1 and 604800 (a week)",
            })?;
            settings.reservation_ttl = Duration::from_secs(secs);
        }
        if let Some(value) = lookup(EXPIRY_INTERVAL_VAR).filter(|v| !v.is_empty()) {
            let millis = parse_in(&value, 10..=3_600_000).ok_or(SettingsError {
                variable: EXPIRY_INTERVAL_VAR,
                value,
                expected: "milliseconds between 10 and 3600000 (an hour)",
            })?;
            settings.expiry_interval = Duration::from_millis(millis);
        }
        Ok(settings)
    }
}

fn parse_in(value: &str, range: std::ops::RangeInclusive<u64>) -> Option<u64> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| range.contains(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_hold_for_fifteen_minutes_and_sweep_every_five_seconds() {
        let settings = Settings::from_lookup(|_| None).expect("defaults");
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.reservation_ttl, Duration::from_secs(900));
    }

    #[test]
    fn variables_override_and_bad_values_name_the_variable() {
        let settings = Settings::from_lookup(|name| match name {
            RESERVATION_TTL_VAR => Some("60".into()),
            EXPIRY_INTERVAL_VAR => Some("250".into()),
            _ => None,
        })
        .expect("valid");
        assert_eq!(settings.reservation_ttl, Duration::from_secs(60));
        assert_eq!(settings.expiry_interval, Duration::from_millis(250));

        for bad in ["0", "-5", "ten", "999999999"] {
            let error =
                Settings::from_lookup(|name| (name == RESERVATION_TTL_VAR).then(|| bad.to_owned()))
                    .expect_err("refused");
            assert!(error.to_string().contains(RESERVATION_TTL_VAR), "{error}");
        }
    }
}
