//! `bazaar`: one binary that runs any Bazaar component, alone or together (Grafana Mimir's monolithic and
//! microservices modes are the model). It only parses settings and composes the component crates; the
//! plumbing lives in `bazaar-platform`.

mod admin;
mod cli;
mod dev;
mod operator_cmd;

use std::process::ExitCode;

use bazaar_platform::component::ComponentSpec;
use bazaar_platform::runtime::{self, ServeConfig};
use bazaar_platform::shutdown::cancel_on_signal;
use bazaar_platform::telemetry;
use clap::Parser;
use tokio_util::sync::CancellationToken;

use cli::{Cli, Command, ComponentName};

/// Every component, in start-up order.
pub const COMPONENTS: [&ComponentSpec; 7] = [
    &bazaar_identity::COMPONENT,
    &bazaar_catalog::COMPONENT,
    &bazaar_inventory::COMPONENT,
    &bazaar_payment::COMPONENT,
    &bazaar_order::COMPONENT,
    &bazaar_notification::COMPONENT,
    &bazaar_review::COMPONENT,
];

fn main() -> ExitCode {
    bazaar_devenv::install_tls_provider();
    let cli = Cli::parse();
    let _telemetry = match telemetry::init(&cli.telemetry) {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Our errors' messages already include their causes, so the chain is not printed again.
            tracing::error!("{error}");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => {
            let components = select(&args.components);
            let shutdown = CancellationToken::new();
            cancel_on_signal(shutdown.clone());
            let listener = tokio::net::TcpListener::bind(args.http.addr).await?;
            let settings = args.component.settings(&args.auth);
            let config = ServeConfig {
                http: args.http,
                db: args.db,
                kafka: args.kafka,
                auth: args.auth,
                migrate: args.migrate,
                settings,
            };
            runtime::serve(components, config, listener, shutdown).await?;
        }
        Command::Migrate(args) => {
            let components = match args.component {
                Some(name) => select(&[name]),
                None => COMPONENTS.to_vec(),
            };
            runtime::migrate(&components, &args.db).await?;
        }
        Command::Dev(args) => dev::run(args).await?,
        Command::CreateAdmin(args) => admin::run(args).await?,
        Command::Crdgen(args) => operator_cmd::crdgen(args)?,
        Command::Operator(args) => operator_cmd::operator(args).await?,
        Command::Loadgen(args) => bazaar_loadgen::run(args).await?,
    }
    Ok(())
}

/// The components named, `all` standing for every one, each once, in start-up order.
fn select(names: &[ComponentName]) -> Vec<&'static ComponentSpec> {
    COMPONENTS
        .into_iter()
        .filter(|spec| {
            names
                .iter()
                .any(|name| *name == ComponentName::All || name.as_str() == spec.name)
        })
        .collect()
}
