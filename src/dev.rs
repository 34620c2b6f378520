//! `bazaar dev`: the whole platform in one process on a laptop. What is not given (DATABASE_URL,
//! KAFKA_BROKERS) is started here, throwaway, and stopped again on Ctrl-C.

use bazaar_devenv::{LocalBroker, LocalPostgres};
use bazaar_platform::config::HttpConfig;
use bazaar_platform::runtime::{self, ServeConfig};
use bazaar_platform::shutdown::cancel_on_signal;
use tokio_util::sync::CancellationToken;

use crate::COMPONENTS;
use crate::cli::DevArgs;

pub async fn run(mut args: DevArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());

    let postgres = match args.db.url {
        Some(_) => None,
        None => {
            eprintln!("Starting a throwaway PostgreSQL (DATABASE_URL is not set)...");
            let postgres = LocalPostgres::start().await?;
            eprintln!("  PostgreSQL:   {}", postgres.url());
            args.db.url = Some(postgres.url());
            Some(postgres)
        }
    };
    let broker = match args.kafka.brokers {
        Some(_) => None,
        None => {
            eprintln!("Starting a tansu Kafka-compatible broker (KAFKA_BROKERS is not set)...");
            match LocalBroker::start().await {
                Ok(broker) => {
                    eprintln!("  Kafka broker: {}", broker.bootstrap_servers());
                    args.kafka.brokers = Some(broker.bootstrap_servers());
                    Some(broker)
                }
                Err(error) => {
                    if let Some(postgres) = postgres {
                        postgres.shutdown().await;
                    }
                    return Err(error.into());
                }
            }
        }
    };

    let result = serve(args, shutdown).await;

    if let Some(broker) = broker {
        broker.shutdown().await;
    }
    if let Some(postgres) = postgres {
        postgres.shutdown().await;
    }
    result
}

async fn serve(args: DevArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let settings = args.component.settings(&args.auth);
    let config = ServeConfig {
        http: HttpConfig {
            addr: args.addr,
            body_limit: 1024 * 1024,
            shutdown_grace_secs: 10,
        },
        db: args.db,
        kafka: args.kafka,
        auth: args.auth,
        migrate: true,
        settings,
    };
    println!("\nBazaar is starting. Open:");
    for component in COMPONENTS {
        println!(
            "  {:<13} {base}/api/{}/openapi.json",
            component.name, component.name
        );
    }
    println!("  {:<13} {base}/readyz", "readiness");
    println!("  {:<13} {base}/metrics", "metrics");
    println!("Press Ctrl-C to stop; everything started here stops with it.\n");
    runtime::serve(COMPONENTS.to_vec(), config, listener, shutdown).await?;
    Ok(())
}
