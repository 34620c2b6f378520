//! The payment component's settings.

use std::time::Duration;

/// Settings of the payment component; the binary flattens them into `serve` and `dev` and hands them to the
/// component through `Context::settings` (clap's defaults in tests, through `Settings::clap_defaults`).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct PaymentConfig {
    /// Latency the simulated provider adds to every call, in milliseconds (fault drills).
    #[arg(long = "payment-simulated-latency-ms", env = "PAYMENT_SIMULATED_LATENCY_MS",
          value_name = "MS", default_value_t = 0,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    pub simulated_latency_ms: u64,

    /// Share of simulated provider calls that time out whatever the token, from 0.0 to 1.0 (fault drills).
    #[arg(long = "payment-simulated-failure-rate", env = "PAYMENT_SIMULATED_FAILURE_RATE",
          value_name = "RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub simulated_failure_rate: f64,

    /// How long to wait for the provider before counting a call as timed out, in milliseconds.
    #[arg(long = "payment-provider-timeout-ms", env = "PAYMENT_PROVIDER_TIMEOUT_MS",
          value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=300_000))]
    pub provider_timeout_ms: u64,

    /// First pause before a failed capture, void, refund or reconciliation is tried again, in
    /// milliseconds; it doubles with each try, up to five minutes.
    #[arg(id = "payment_retry_backoff_ms", long = "payment-retry-backoff-ms", env = "PAYMENT_RETRY_BACKOFF_MS",
          value_name = "MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub retry_backoff_ms: u64,

    /// Tries of a capture, void, refund or reconciliation before payment stops and asks ops for attention
    /// (`payment.attention_needed`, `GET /api/payments/attention`).
    #[arg(long = "payment-max-tries", env = "PAYMENT_MAX_TRIES",
          value_name = "N", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub max_tries: u32,
}

impl PaymentConfig {
    pub fn simulated_latency(&self) -> Duration {
        Duration::from_millis(self.simulated_latency_ms)
    }

    pub fn provider_timeout(&self) -> Duration {
        Duration::from_millis(self.provider_timeout_ms)
    }

    pub fn retry_backoff(&self) -> Duration {
        Duration::from_millis(self.retry_backoff_ms)
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!(
            "`{text}` is not a rate: expected a number from 0.0 to 1.0, e.g. 0.05"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        payment: PaymentConfig,
    }

    #[test]
    fn failure_rates_outside_zero_to_one_are_refused() {
        assert!(
            Cli::try_parse_from(["bazaar", "--payment-simulated-failure-rate", "0.25"]).is_ok()
        );
        for bad in ["1.5", "-0.1", "often"] {
            let flag = format!("--payment-simulated-failure-rate={bad}");
            let error = Cli::try_parse_from(["bazaar", flag.as_str()])
                .err()
                .expect("refused");
            assert!(error.to_string().contains("0.0 to 1.0"), "{error}");
        }
    }
}
