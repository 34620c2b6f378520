//! The inventory component's settings: flags with environment variables, parsed by the binary and handed
//! to the component through `Context::settings`.

use std::time::Duration;

/// Settings of the inventory component as the command line takes them.
#[derive(clap::Args, Debug, Clone, PartialEq, Eq)]
pub struct InventoryConfig {
    /// Seconds a reservation holds stock unless the order is confirmed first.
    #[arg(long = "inventory-reservation-ttl-secs", env = "INVENTORY_RESERVATION_TTL_SECS",
          default_value_t = 900, value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 3600))]
    pub reservation_ttl_secs: u64,

    /// Milliseconds between two sweeps for expired reservations.
    #[arg(long = "inventory-expiry-interval-ms", env = "INVENTORY_EXPIRY_INTERVAL_MS",
          default_value_t = 5000, value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    pub expiry_interval_ms: u64,
}

impl InventoryConfig {
    pub fn settings(&self) -> Settings {
        Settings {
            reservation_ttl: Duration::from_secs(self.reservation_ttl_secs),
            expiry_interval: Duration::from_millis(self.expiry_interval_ms),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Time to live of a reservation (default 15 minutes).
    pub reservation_ttl: Duration,
    /// Pause between two expiry sweeps (default 5 seconds).
    pub expiry_interval: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        inventory: InventoryConfig,
    }

    #[test]
    fn defaults_hold_for_fifteen_minutes_and_sweep_every_five_seconds() {
        let cli = Cli::try_parse_from(["bazaar"]).expect("defaults");
        assert_eq!(
            cli.inventory.settings(),
            Settings {
                reservation_ttl: Duration::from_secs(15 * 60),
                expiry_interval: Duration::from_secs(5),
            }
        );
    }

    #[test]
    fn flags_override_and_bad_values_name_the_flag() {
        let cli = Cli::try_parse_from([
            "bazaar",
            "--inventory-reservation-ttl-secs",
            "60",
            "--inventory-expiry-interval-ms",
            "250",
        ])
        .expect("valid");
        assert_eq!(
            cli.inventory.settings().reservation_ttl,
            Duration::from_secs(60)
        );
        assert_eq!(
            cli.inventory.settings().expiry_interval,
            Duration::from_millis(250)
        );
        for bad in ["0", "-5", "ten", "999999999"] {
            let flag = format!("--inventory-reservation-ttl-secs={bad}");
            let error = Cli::try_parse_from(["bazaar", flag.as_str()])
                .err()
                .expect("refused")
                .to_string();
            assert!(
                error.contains("--inventory-reservation-ttl-secs"),
                "{error}"
            );
        }
    }
}
