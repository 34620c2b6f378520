//! The notification component's settings.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use clap::ValueEnum;

/// How messages leave the component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportKind {
    /// Write each rendered message to the log at info level (development; the default).
    Log,
    /// Send e-mail through an SMTP server.
    Smtp,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SmtpTls {
    /// Plain SMTP (a local relay or a test sink); default port 25.
    None,
    /// Plain connection upgraded with STARTTLS, required; default port 587.
    Starttls,
    /// TLS from the first byte (SMTPS); default port 465.
    Tls,
}

/// A setting that must never reach a log: `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

/// Settings of the notification component; the binary flattens them into `serve` and `dev` and hands them
/// to the component through `Context::settings` (clap's defaults in tests, through `Settings::clap_defaults`).
#[derive(clap::Args, Debug, Clone, PartialEq)]
pub struct NotificationConfig {
    /// Where messages go: `log` (written to the log) or `smtp`.
    #[arg(long = "notification-transport", env = "NOTIFICATION_TRANSPORT", value_enum,
          default_value_t = TransportKind::Log)]
    pub transport: TransportKind,

    /// The sender of every e-mail, e.g. `Bazaar <no-reply@shop.example>`.
    #[arg(
        long = "notification-from",
        env = "NOTIFICATION_FROM",
        value_name = "MAILBOX",
        default_value = "Bazaar <no-reply@bazaar.local>"
    )]
    pub from: String,

    /// Who is told about low stock (comma-separated e-mail addresses).
    #[arg(
        long = "notification-ops-email",
        env = "NOTIFICATION_OPS_EMAIL",
        value_name = "ADDRESS,...",
        value_delimiter = ',',
        default_value = "ops@bazaar.local"
    )]
    pub ops_emails: Vec<String>,

    /// SMTP server host name.
    #[arg(
        long = "smtp-host",
        env = "NOTIFICATION_SMTP_HOST",
        value_name = "HOST",
        default_value = "localhost"
    )]
    pub smtp_host: String,

    /// SMTP server port; defaults to 25, 587 or 465 by `--smtp-tls`.
    #[arg(
        long = "smtp-port",
        env = "NOTIFICATION_SMTP_PORT",
        value_name = "PORT"
    )]
    pub smtp_port: Option<u16>,

    /// Transport security: `none`, `starttls` or `tls`.
    #[arg(long = "smtp-tls", env = "NOTIFICATION_SMTP_TLS", value_enum,
          default_value_t = SmtpTls::Starttls)]
    pub smtp_tls: SmtpTls,

    /// SMTP user name (with `--smtp-password`); none means no authentication.
    #[arg(
        long = "smtp-username",
        env = "NOTIFICATION_SMTP_USERNAME",
        value_name = "USER",
        requires = "smtp_password"
    )]
    pub smtp_username: Option<String>,

    /// SMTP password; prefer the environment variable (a Secret) to the flag.
    #[arg(
        long = "smtp-password",
        env = "NOTIFICATION_SMTP_PASSWORD",
        value_name = "PASSWORD",
        hide_env_values = true
    )]
    pub smtp_password: Option<Secret>,

    /// How long one SMTP exchange may take, in seconds.
    #[arg(long = "smtp-timeout-secs", env = "NOTIFICATION_SMTP_TIMEOUT_SECS", value_name = "SECONDS",
          default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub smtp_timeout_secs: u64,

    /// Attempts to send one message while the transport reports it not sent (server unreachable, 4xx),
    /// before it is marked `failed`.
    #[arg(id = "notification_max_attempts", long = "notification-max-attempts", env = "NOTIFICATION_MAX_ATTEMPTS", value_name = "N",
          default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// First pause before a message the transport did not take is tried again, in milliseconds; it
    /// doubles with each attempt, up to five minutes.
    #[arg(id = "notification_retry_backoff_ms", long = "notification-retry-backoff-ms", env = "NOTIFICATION_RETRY_BACKOFF_MS",
          value_name = "MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub retry_backoff_ms: u64,
}

impl NotificationConfig {
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_tls {
            SmtpTls::None => 25,
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
        })
    }

    pub fn smtp_timeout(&self) -> Duration {
        Duration::from_secs(self.smtp_timeout_secs)
    }

    pub fn retry_backoff(&self) -> Duration {
        Duration::from_millis(self.retry_backoff_ms)
    }

    /// How long a claimed message may stay unconfirmed before its send counts as interrupted.
    pub fn send_lease(&self) -> Duration {
        self.smtp_timeout() * 2 + Duration::from_secs(30)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        notification: NotificationConfig,
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let parsed = Cli::try_parse_from([
            "bazaar",
            "--smtp-username",
            "mailer",
            "--smtp-password",
            "hunter2",
            "--notification-ops-email",
            "a@x.example,b@x.example",
        ])
        .expect("valid flags");
        assert!(!format!("{:?}", parsed.notification).contains("hunter2"));
        assert_eq!(
            parsed.notification.ops_emails,
            ["a@x.example", "b@x.example"]
        );
        assert_eq!(parsed.notification.smtp_port(), 587);
    }
}
