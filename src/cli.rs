//! The command line. Every flag also reads an environment variable, shown in `--help`.

use bazaar_platform::auth::AuthConfig;
use bazaar_platform::config::{DatabaseConfig, HttpConfig, KafkaConfig, TelemetryConfig};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "bazaar",
    version,
    about = "Bazaar: a Kubernetes-native commerce platform. One binary runs every component.",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub telemetry: TelemetryConfig,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve components over HTTP with their event consumers and outbox relays, until SIGTERM/SIGINT.
    Serve(ServeArgs),
    /// Apply pending database migrations (all components, or the one named). Safe to run concurrently.
    Migrate(MigrateArgs),
    /// Run every component in one process for local development, starting a throwaway PostgreSQL and a
    /// Kafka-compatible broker (tansu) unless DATABASE_URL / KAFKA_BROKERS are given.
    Dev(DevArgs),
    /// Create the first admin (or give an existing account the admin role). The password comes from
    /// BAZAAR_ADMIN_PASSWORD or standard input, never from a flag.
    CreateAdmin(crate::admin::CreateAdminArgs),
    /// Write the CustomResourceDefinitions of Product, Store, Fulfillment and Promotion (crds/*.yaml).
    Crdgen(crate::operator_cmd::CrdgenArgs),
    /// Run the Kubernetes operator: reconcile Product, Store, Fulfillment and Promotion resources into the
    /// catalog schema (one replica leads, through a Lease), until SIGTERM/SIGINT.
    Operator(crate::operator_cmd::OperatorArgs),
    /// Send load to a running Bazaar (default http://127.0.0.1:8080, as `bazaar dev` serves it):
    /// `shoppers` for weighted shopper journeys, `saga` for closed-loop checkouts. Bounded; writes reports.
    Loadgen(bazaar_loadgen::LoadgenArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ComponentName {
    All,
    Catalog,
    Identity,
    Order,
    Inventory,
    Payment,
    Notification,
    Review,
}

impl ComponentName {
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentName::All => "all",
            ComponentName::Catalog => "catalog",
            ComponentName::Identity => "identity",
            ComponentName::Order => "order",
            ComponentName::Inventory => "inventory",
            ComponentName::Payment => "payment",
            ComponentName::Notification => "notification",
            ComponentName::Review => "review",
        }
    }
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Components to run in this process; `all` runs every one.
    #[arg(
        required = true,
        env = "BAZAAR_COMPONENTS",
        value_delimiter = ',',
        value_enum
    )]
    pub components: Vec<ComponentName>,

    /// Apply pending migrations before serving (otherwise run `bazaar migrate` first, e.g. as a Job).
    #[arg(long = "migrate", env = "BAZAAR_MIGRATE_ON_START")]
    pub migrate: bool,

    #[command(flatten)]
    pub http: HttpConfig,

    #[command(flatten)]
    pub db: DatabaseConfig,

    #[command(flatten)]
    pub kafka: KafkaConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub component: ComponentArgs,
}

/// Settings of individual components; each applies only when that component runs in the process.
#[derive(Args, Debug, Clone)]
pub struct ComponentArgs {
    #[command(flatten)]
    pub identity: bazaar_identity::IdentityConfig,

    #[command(flatten)]
    pub order: bazaar_order::OrderConfig,

    #[command(flatten)]
    pub inventory: bazaar_inventory::InventoryConfig,

    #[command(flatten)]
    pub payment: bazaar_payment::PaymentConfig,

    #[command(flatten)]
    pub notification: bazaar_notification::NotificationConfig,

    #[command(flatten)]
    pub review: bazaar_review::ReviewConfig,

    #[command(flatten)]
    pub storefront: bazaar_platform::storefront::StorefrontConfig,
}

impl ComponentArgs {
    /// The settings as components read them; identity issues tokens for the issuer and audience that
    /// every component verifies.
    pub fn settings(&self, auth: &AuthConfig) -> bazaar_platform::component::Settings {
        bazaar_platform::component::Settings::default()
            .with(self.identity.clone().with_auth(auth))
            .with(self.order.clone())
            .with(self.inventory.clone())
            .with(self.payment.clone())
            .with(self.notification.clone())
            .with(self.review.clone())
            .with(self.storefront.clone())
    }
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    /// The component whose schema to migrate; every component when omitted.
    #[arg(env = "BAZAAR_MIGRATE_COMPONENT", value_enum)]
    pub component: Option<ComponentName>,

    #[command(flatten)]
    pub db: DatabaseConfig,
}

#[derive(Args, Debug)]
pub struct DevArgs {
    /// Address the platform listens on.
    #[arg(
        long = "dev-addr",
        env = "BAZAAR_DEV_ADDR",
        default_value = "127.0.0.1:8080"
    )]
    pub addr: std::net::SocketAddr,

    /// Folder of Product, Store, Fulfillment and Promotion manifests loaded into the catalog at start,
    /// through the operator's reconcile code.
    #[arg(
        long = "dev-examples",
        env = "BAZAAR_DEV_EXAMPLES",
        default_value = "crds/examples"
    )]
    pub examples: std::path::PathBuf,

    /// Email of the admin account `bazaar dev` creates (it can also act as ops).
    #[arg(
        long = "dev-admin-email",
        env = "BAZAAR_DEV_ADMIN_EMAIL",
        default_value = "admin@bazaar.local"
    )]
    pub admin_email: String,

    /// Password of that admin; a random one is made and printed when not given.
    #[arg(
        long = "dev-admin-password",
        env = "BAZAAR_DEV_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,

    /// Units of every example SKU put in each example warehouse at start.
    #[arg(long = "dev-stock", env = "BAZAAR_DEV_STOCK", default_value_t = 25)]
    pub stock: u32,

    /// A local Kubernetes API server with the CRDs and the operator, so that `kubectl apply` works:
    /// `auto` starts one when `scripts/install-kube-api` has built it, `always` fails without it, `never`
    /// loads the examples straight into the catalog through the operator's reconcile code.
    #[arg(
        long = "kube-api",
        env = "BAZAAR_DEV_KUBE_API",
        value_enum,
        default_value_t = KubeApiMode::Auto,
        num_args = 0..=1,
        default_missing_value = "always"
    )]
    pub kube_api: KubeApiMode,

    /// Where the operator serves `/metrics`, `/healthz` and `/readyz` when a local Kubernetes API server
    /// runs (see `--kube-api`); port 0 takes a free port. The guide prints the address either way.
    #[arg(
        long = "dev-operator-addr",
        env = "BAZAAR_DEV_OPERATOR_ADDR",
        default_value = "127.0.0.1:0"
    )]
    pub operator_addr: std::net::SocketAddr,

    #[command(flatten)]
    pub db: DatabaseConfig,

    #[command(flatten)]
    pub kafka: KafkaConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub component: ComponentArgs,
}

/// Whether `bazaar dev` runs a local Kubernetes API server (see `DevArgs::kube_api`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KubeApiMode {
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Two settings with one clap id (e.g. a component's `max_attempts` next to the Kafka one) make every
    /// debug build of `bazaar` panic at start; clap's own consistency check finds them here first.
    #[test]
    fn every_flag_of_every_command_has_an_id_of_its_own() {
        Cli::command().debug_assert();
    }

    /// A component deployed with its own database (the chart's `secret.componentDatabaseUrls`) reads it
    /// from `<COMPONENT>_DATABASE_URL`; a component without that setting would silently share the default.
    #[test]
    fn every_component_can_have_a_database_of_its_own() {
        use clap::{Parser, ValueEnum};

        for component in super::ComponentName::value_variants() {
            let name = component.as_str();
            if name == "all" {
                continue;
            }
            let own = format!("postgres://{name}-db/{name}");
            let cli = Cli::try_parse_from([
                "bazaar",
                "serve",
                name,
                "--database-url",
                "postgres://shared/db",
                &format!("--{name}-database-url"),
                &own,
            ])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
            let super::Command::Serve(serve) = cli.command else {
                panic!("parsed as another command");
            };
            assert_eq!(serve.db.url_for(name).expect("a URL"), own, "{name}");
        }
    }
}
