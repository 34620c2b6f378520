//! The one configuration loader: clap argument groups, every flag backed by an environment variable.
//! Values are parsed and checked when the process starts, so a bad or missing setting exits non-zero with a
//! message naming the flag, its variable and what is expected, instead of failing later at first use.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// How the HTTP server listens and shuts down.
#[derive(Args, Debug, Clone)]
pub struct HttpConfig {
    /// Address the HTTP API, health probes and metrics listen on.
    #[arg(
        long = "http-addr",
        env = "BAZAAR_HTTP_ADDR",
        default_value = "0.0.0.0:8080"
    )]
    pub addr: SocketAddr,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long = "http-body-limit", env = "BAZAAR_HTTP_BODY_LIMIT", default_value_t = 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..=64 * 1024 * 1024))]
    pub body_limit: u64,

    /// Seconds allowed after SIGTERM/SIGINT to drain requests, stop consumers and flush producers.
    #[arg(long = "shutdown-grace-secs", env = "BAZAAR_SHUTDOWN_GRACE_SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub shutdown_grace_secs: u64,

    /// Browser origins allowed to call the API with credentials (CORS), comma-separated, each
    /// `scheme://host[:port]`, e.g. `https://shop.example.com,https://partner.example`. None by default:
    /// no CORS headers are sent and browsers on other origins cannot call the API.
    #[arg(long = "cors-origins", env = "BAZAAR_CORS_ORIGINS", value_delimiter = ',',
          value_parser = crate::edge::parse_origin)]
    pub cors_origins: Vec<String>,

    /// Seconds a browser may cache a CORS preflight answer (`Access-Control-Max-Age`).
    #[arg(long = "cors-max-age-secs", env = "BAZAAR_CORS_MAX_AGE_SECS", default_value_t = 600,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub cors_max_age_secs: u64,
}

impl HttpConfig {
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// The CORS policy of these settings (origins were checked when they were parsed).
    pub fn cors(&self) -> crate::edge::CorsPolicy {
        crate::edge::CorsPolicy {
            origins: self
                .cors_origins
                .iter()
                .filter_map(|origin| axum::http::HeaderValue::from_str(origin).ok())
                .collect(),
            max_age: Duration::from_secs(self.cors_max_age_secs),
        }
    }
}

/// Where each component's PostgreSQL schema lives.
#[derive(Args, Debug, Clone)]
pub struct DatabaseConfig {
    /// PostgreSQL URL used by every component that has no URL of its own.
    #[arg(long = "database-url", env = "DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub url: Option<String>,

    /// PostgreSQL URL for the catalog component (overrides --database-url).
    #[arg(long, env = "CATALOG_DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub catalog_database_url: Option<String>,

    /// PostgreSQL URL for the identity component (overrides --database-url).
    #[arg(long, env = "IDENTITY_DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub identity_database_url: Option<String>,

    /// PostgreSQL URL for the order component (overrides --database-url).
    #[arg(long, env = "ORDER_DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub order_database_url: Option<String>,

    /// PostgreSQL URL for the inventory component (overrides --database-url).
    #[arg(long, env = "INVENTORY_DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub inventory_database_url: Option<String>,

    /// PostgreSQL URL for the payment component (overrides --database-url).
    #[arg(long, env = "PAYMENT_DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub payment_database_url: Option<String>,

    /// PostgreSQL URL for the notification component (overrides --database-url).
    #[arg(long, env = "NOTIFICATION_DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub notification_database_url: Option<String>,

    /// PostgreSQL URL for the review component (overrides --database-url).
    #[arg(long, env = "REVIEW_DATABASE_URL", value_parser = parse_postgres_url, hide_env_values = true)]
    pub review_database_url: Option<String>,

    /// Prefix put before every component's schema name (`<prefix>order`), to share one database between
    /// environments or test runs.
    #[arg(long = "db-schema-prefix", env = "BAZAAR_DB_SCHEMA_PREFIX", default_value = "",
          value_parser = parse_identifier_prefix)]
    pub schema_prefix: String,

    /// Connections each component's pool may open.
    #[arg(long = "db-max-connections", env = "BAZAAR_DB_MAX_CONNECTIONS", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=500))]
    pub max_connections: u32,

    /// Milliseconds a request waits for a database connection when its component's pool is exhausted;
    /// then it is answered 503 with `Retry-After` (load shedding), never 500.
    #[arg(long = "db-acquire-timeout-ms", env = "BAZAAR_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000,
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub acquire_timeout_ms: u64,
}

impl Default for DatabaseConfig {
    /// The command-line defaults, with no URL.
    fn default() -> Self {
        Self {
            url: None,
            catalog_database_url: None,
            identity_database_url: None,
            order_database_url: None,
            inventory_database_url: None,
            payment_database_url: None,
            notification_database_url: None,
            review_database_url: None,
            schema_prefix: String::new(),
            max_connections: 10,
            acquire_timeout_ms: 3_000,
        }
    }
}

impl DatabaseConfig {
    /// Size and acquire timeout of each component's pool.
    pub fn pool_settings(&self) -> crate::db::PoolSettings {
        crate::db::PoolSettings {
            max_connections: self.max_connections,
            acquire_timeout: Duration::from_millis(self.acquire_timeout_ms),
        }
    }

    /// The URL a component uses: its own if set, else the shared one.
    pub fn url_for(&self, component: &str) -> Result<String, ConfigError> {
        let own = match component {
            "catalog" => &self.catalog_database_url,
            "identity" => &self.identity_database_url,
            "order" => &self.order_database_url,
            "inventory" => &self.inventory_database_url,
            "payment" => &self.payment_database_url,
            "notification" => &self.notification_database_url,
            "review" => &self.review_database_url,
            _ => &None,
        };
        own.clone()
            .or_else(|| self.url.clone())
            .ok_or_else(|| ConfigError::Missing {
                setting: format!(
                    "--database-url (DATABASE_URL) or --{component}-database-url ({}_DATABASE_URL)",
                    component.to_uppercase()
                ),
                expected: "a PostgreSQL URL such as postgres://user@host:5432/bazaar".into(),
            })
    }

    pub fn schema_for(&self, component: &str) -> String {
        format!("{}{component}", self.schema_prefix)
    }
}

/// How components reach Kafka.
#[derive(Args, Debug, Clone, Default)]
pub struct KafkaConfig {
    /// Kafka bootstrap servers, comma-separated host:port.
    #[arg(long = "kafka-brokers", env = "KAFKA_BROKERS", value_parser = parse_brokers)]
    pub brokers: Option<String>,

    /// Prefix put before every topic and consumer group name, to share one broker between environments.
    #[arg(
        long = "kafka-topic-prefix",
        env = "BAZAAR_KAFKA_TOPIC_PREFIX",
        default_value = ""
    )]
    pub topic_prefix: String,

    /// Partitions created for each topic that does not exist yet.
    #[arg(long = "kafka-partitions", env = "BAZAAR_KAFKA_PARTITIONS", default_value_t = 3,
          value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub partitions: i32,

    /// Times a consumer tries to handle one message before sending it to the dead-letter topic.
    #[arg(long = "kafka-max-attempts", env = "BAZAAR_KAFKA_MAX_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,

    /// Milliseconds of the first retry back-off of a failing handler; doubled at each attempt.
    #[arg(long = "kafka-retry-backoff-ms", env = "BAZAAR_KAFKA_RETRY_BACKOFF_MS", default_value_t = 200,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub retry_backoff_ms: u64,

    /// Milliseconds the outbox relay waits between polls when it found nothing to publish.
    #[arg(long = "outbox-poll-ms", env = "BAZAAR_OUTBOX_POLL_MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(5..=60_000))]
    pub outbox_poll_ms: u64,
}

impl KafkaConfig {
    pub fn brokers(&self) -> Result<&str, ConfigError> {
        self.brokers.as_deref().ok_or_else(|| ConfigError::Missing {
            setting: "--kafka-brokers (KAFKA_BROKERS)".into(),
            expected: "comma-separated host:port of Kafka brokers, e.g. kafka:9092".into(),
        })
    }

    /// The physical name of a logical topic.
    pub fn topic(&self, logical: &str) -> String {
        format!("{}{logical}", self.topic_prefix)
    }

    /// The consumer group of a named consumer.
    pub fn group(&self, consumer: &str) -> String {
        format!("{}bazaar.{consumer}", self.topic_prefix)
    }

    pub fn retry_backoff(&self) -> Duration {
        Duration::from_millis(self.retry_backoff_ms)
    }

    pub fn outbox_poll(&self) -> Duration {
        Duration::from_millis(self.outbox_poll_ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line, for clusters.
    Json,
    /// Readable, coloured lines, for a terminal.
    Pretty,
}

/// Logging and tracing.
#[derive(Args, Debug, Clone)]
pub struct TelemetryConfig {
    /// Log line format.
    #[arg(long = "log-format", env = "BAZAAR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Log filter in tracing's EnvFilter syntax, e.g. `info,bazaar_order=debug`.
    #[arg(
        long = "log-level",
        env = "RUST_LOG",
        default_value = "info,sqlx::postgres::notice=warn"
    )]
    pub log_filter: String,
}

/// `T` as an empty command line makes it: clap's defaults (and the environment, as the binary reads it).
/// The defaults of every setting are written once, in the clap attributes; this is how code that is not the
/// binary (tests, tools, [`crate::component::Settings::clap_defaults`]) gets them.
pub fn clap_defaults<T: clap::Args + clap::FromArgMatches>() -> Result<T, ConfigError> {
    let setting = || std::any::type_name::<T>().to_owned();
    let command = T::augment_args(clap::Command::new("defaults").no_binary_name(true));
    let matches = command
        .try_get_matches_from(std::iter::empty::<String>())
        .map_err(|error| ConfigError::Invalid {
            setting: setting(),
            problem: error.to_string(),
        })?;
    T::from_arg_matches(&matches).map_err(|error| ConfigError::Invalid {
        setting: setting(),
        problem: error.to_string(),
    })
}

/// A setting that is missing or wrong, found when the process starts.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing setting {setting}: expected {expected}")]
    Missing { setting: String, expected: String },
    #[error("invalid setting {setting}: {problem}")]
    Invalid { setting: String, problem: String },
}

fn parse_postgres_url(value: &str) -> Result<String, String> {
    let rest = value
        .strip_prefix("postgres://")
        .or_else(|| value.strip_prefix("postgresql://"))
        .ok_or_else(|| "expected a URL starting with postgres:// or postgresql://".to_owned())?;
    if rest.is_empty() {
        return Err("expected a host after postgres://".into());
    }
    Ok(value.to_owned())
}

fn parse_brokers(value: &str) -> Result<String, String> {
    for broker in value.split(',') {
        let broker = broker.trim();
        let (host, port) = broker
            .rsplit_once(':')
            .ok_or_else(|| format!("`{broker}` is not host:port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(format!(
                "`{broker}` is not host:port with a port from 1 to 65535"
            ));
        }
    }
    Ok(value.to_owned())
}

fn parse_identifier_prefix(value: &str) -> Result<String, String> {
    if value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        Ok(value.to_owned())
    } else {
        Err("expected lowercase letters, digits and underscores only".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Probe {
        #[command(flatten)]
        db: DatabaseConfig,
        #[command(flatten)]
        kafka: KafkaConfig,
    }

    fn error_of(args: &[&str]) -> String {
        let mut argv = vec!["probe"];
        argv.extend_from_slice(args);
        Probe::try_parse_from(argv)
            .expect_err("should be rejected")
            .to_string()
    }

    #[derive(Parser, Debug)]
    struct HttpProbe {
        #[command(flatten)]
        http: HttpConfig,
    }

    #[test]
    fn cors_origins_are_none_by_default_and_a_list_when_given() {
        let none = HttpProbe::try_parse_from(["probe"]).expect("defaults");
        assert!(none.http.cors().origins.is_empty());
        let some = HttpProbe::try_parse_from([
            "probe",
            "--cors-origins",
            "https://shop.example.com,http://localhost:5173",
        ])
        .expect("two origins");
        assert_eq!(some.http.cors().origins.len(), 2);
        assert_eq!(some.http.cors().max_age, Duration::from_secs(600));
    }

    #[test]
    fn a_cors_origin_with_a_path_or_wildcard_is_rejected_naming_the_flag() {
        for bad in ["*", "https://shop.example.com/app", "shop.example.com"] {
            let message = HttpProbe::try_parse_from(["probe", "--cors-origins", bad])
                .expect_err("refused")
                .to_string();
            assert!(message.contains("--cors-origins"), "{message}");
        }
    }

    #[test]
    fn clap_defaults_are_the_command_line_defaults() {
        let kafka = clap_defaults::<KafkaConfig>().expect("defaults");
        assert_eq!(kafka.partitions, 3);
        assert_eq!(kafka.max_attempts, 5);
        let db = clap_defaults::<DatabaseConfig>().expect("defaults");
        assert_eq!(db.acquire_timeout_ms, 3_000);
    }

    #[test]
    fn settings_nobody_gave_are_an_error_naming_the_type_unless_clap_defaults_were_asked_for() {
        use crate::component::Settings;
        let error = Settings::default()
            .get::<KafkaConfig>()
            .expect_err("missing settings fail")
            .to_string();
        assert!(error.contains("KafkaConfig"), "{error}");
        let given = KafkaConfig {
            partitions: 7,
            ..clap_defaults().expect("defaults")
        };
        let settings = Settings::default().with(given);
        assert_eq!(settings.get::<KafkaConfig>().expect("given").partitions, 7);
        assert_eq!(
            Settings::clap_defaults()
                .get::<KafkaConfig>()
                .expect("clap's defaults")
                .partitions,
            3
        );
    }

    #[test]
    fn a_database_url_that_is_not_postgres_is_rejected_naming_the_flag() {
        let message = error_of(&["--database-url", "mysql://x"]);
        assert!(message.contains("--database-url"), "{message}");
        assert!(message.contains("postgres://"), "{message}");
    }

    #[test]
    fn brokers_without_a_port_are_rejected_naming_the_flag() {
        let message = error_of(&["--kafka-brokers", "localhost"]);
        assert!(message.contains("--kafka-brokers"), "{message}");
        assert!(message.contains("host:port"), "{message}");
    }

    #[test]
    fn a_component_url_overrides_the_shared_one() {
        let probe = Probe::try_parse_from([
            "probe",
            "--database-url",
            "postgres://shared/db",
            "--order-database-url",
            "postgres://orders/db",
        ])
        .expect("valid");
        assert_eq!(
            probe.db.url_for("order").expect("url"),
            "postgres://orders/db"
        );
        assert_eq!(
            probe.db.url_for("payment").expect("url"),
            "postgres://shared/db"
        );
    }

    #[test]
    fn the_default_impl_matches_the_command_line_defaults() {
        let probe = Probe::try_parse_from(["probe"]).expect("no flags needed");
        let default = DatabaseConfig::default();
        assert_eq!(probe.db.max_connections, default.max_connections);
        assert_eq!(probe.db.acquire_timeout_ms, default.acquire_timeout_ms);
        assert_eq!(probe.db.schema_prefix, default.schema_prefix);
    }

    #[test]
    fn a_missing_database_url_names_both_settings() {
        let message = DatabaseConfig::default()
            .url_for("order")
            .expect_err("missing")
            .to_string();
        assert!(message.contains("DATABASE_URL"), "{message}");
        assert!(message.contains("ORDER_DATABASE_URL"), "{message}");
    }
}
