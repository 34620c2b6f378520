//! `bazaar dev`: the whole platform in one process on a laptop. What is not given (DATABASE_URL,
//! KAFKA_BROKERS) is started here, throwaway, and stopped again on Ctrl-C. The example shop is loaded
//! through the operator's reconcile code, an admin is created and the warehouses are stocked, so a new
//! user can shop at once. With a local Kubernetes API server built (`scripts/install-kube-api`), the
//! examples are applied to it instead and the operator projects them, as in a cluster
//! ([`control_plane`]).

mod control_plane;

use anyhow::Context as _;
use bazaar_devenv::{LocalBroker, LocalPostgres};
use bazaar_operator::offline::{Manifests, project_all};
use bazaar_operator::projection::PostgresCatalog;
use bazaar_operator::resources::store::StoreType;
use bazaar_platform::config::HttpConfig;
use bazaar_platform::runtime::{self, ServeConfig, Spawned};
use bazaar_platform::shutdown::cancel_on_signal;
use serde_json::json;

use crate::COMPONENTS;
use crate::cli::DevArgs;

pub async fn run(mut args: DevArgs) -> anyhow::Result<()> {
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

    let result = serve(args).await;

    if let Some(broker) = broker {
        broker.shutdown().await;
    }
    if let Some(postgres) = postgres {
        postgres.shutdown().await;
    }
    result
}

async fn serve(args: DevArgs) -> anyhow::Result<()> {
    let operator_pool = bazaar_platform::db::pool(
        "operator",
        &args.db.url_for("catalog")?,
        &args.db.schema_for("catalog"),
        4,
    )?;
    let settings = args.component.settings(&args.auth);
    let config = ServeConfig {
        http: HttpConfig {
            addr: args.addr,
            body_limit: 1024 * 1024,
            shutdown_grace_secs: 10,
            cors_origins: Vec::new(),
            cors_max_age_secs: 600,
        },
        db: args.db.clone(),
        kafka: args.kafka.clone(),
        auth: args.auth.clone(),
        migrate: true,
        settings,
    };
    let platform = runtime::spawn(&COMPONENTS, config).await?;
    cancel_on_signal(platform.shutdown.clone());
    // After the platform: its migrations created the catalog schema the operator writes.
    let control_plane = match control_plane::start(
        args.kube_api,
        PostgresCatalog::new(operator_pool),
        args.operator_addr,
    )
    .await
    {
        Ok(control_plane) => control_plane,
        Err(error) => {
            platform.shutdown.cancel();
            let _ = platform.handle.await;
            return Err(error);
        }
    };
    if let Err(error) = seed(&args, &platform, control_plane.as_ref()).await {
        eprintln!("warning: the example shop was not fully loaded: {error:#}");
    }
    let base = &platform.base_url;
    println!("\nBazaar is running. Open:");
    if args.component.storefront.resolve().is_some() {
        println!("  {:<13} {base}/   (ops console: {base}/ops)", "storefront");
    }
    println!("  {:<13} {base}/api/catalog/products", "products");
    for component in COMPONENTS {
        println!(
            "  {:<13} {base}/api/{}/openapi.json",
            component.name, component.name
        );
    }
    println!("  {:<13} {base}/readyz", "readiness");
    println!("  {:<13} {base}/metrics", "metrics");
    if let Some(control_plane) = &control_plane {
        println!("\nKubernetes API (the operator is running against it):");
        println!(
            "  export KUBECONFIG={}",
            control_plane.kubeconfig().display()
        );
        println!(
            "  kubectl get bazaar -A            # every Product, Store, Fulfillment, Promotion"
        );
        println!("  kubectl apply -f crds/examples/  # or your own merchandise");
        println!(
            "  operator metrics: http://{}/metrics",
            control_plane.operator_addr()
        );
    }
    println!("Press Ctrl-C to stop; everything started here stops with it.\n");
    let served = platform.handle.await;
    if let Some(control_plane) = control_plane {
        control_plane.shutdown().await;
    }
    served??;
    Ok(())
}

/// Loads the example shop, creates the admin and stocks the example warehouses.
async fn seed(
    args: &DevArgs,
    platform: &Spawned,
    control_plane: Option<&control_plane::ControlPlane>,
) -> anyhow::Result<()> {
    let url = |component: &str| args.db.url_for(component);
    let manifests = Manifests::read_dir(&args.examples)
        .with_context(|| format!("reading {}", args.examples.display()))?;
    match control_plane {
        Some(control_plane) => {
            let applied = control_plane.apply(&manifests).await?;
            println!(
                "Applied {applied} example resources from {} to the Kubernetes API; the operator \
                 projects them into the catalog.",
                args.examples.display()
            );
        }
        None => {
            let catalog_pool = bazaar_platform::db::pool(
                "catalog",
                &url("catalog")?,
                &args.db.schema_for("catalog"),
                2,
            )?;
            let results = project_all(&manifests, &PostgresCatalog::new(catalog_pool)).await;
            let loaded = results.iter().filter(|(_, result)| result.is_ok()).count();
            for (key, result) in &results {
                if let Err(error) = result {
                    eprintln!("warning: {key} was not loaded: {error}");
                }
            }
            println!(
                "Loaded {loaded} example resources from {}.",
                args.examples.display()
            );
        }
    }

    let identity_pool = bazaar_platform::db::pool(
        "identity",
        &url("identity")?,
        &args.db.schema_for("identity"),
        2,
    )?;
    let identity = args.component.identity.clone().with_auth(&args.auth);
    let password = args
        .admin_password
        .clone()
        .unwrap_or_else(|| format!("dev-{}", uuid::Uuid::new_v4().simple()));
    bazaar_identity::admin::create_admin(
        &identity_pool,
        &identity,
        &args.admin_email,
        "Dev Admin",
        || Ok(password.clone()),
    )
    .await?;
    println!("Admin (and ops) account: {} / {password}", args.admin_email);

    let http = reqwest::Client::new();
    let base = &platform.base_url;
    let login: serde_json::Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&json!({"email": args.admin_email, "password": password}))
        .send()
        .await?
        .error_for_status()
        .context("signing in as the dev admin (an existing account keeps its own password)")?
        .json()
        .await?;
    let token = login["accessToken"]
        .as_str()
        .context("no access token in the login answer")?;
    let warehouses = manifests.stores.iter().filter(|store| {
        store.spec.store_type == StoreType::Warehouse || store.spec.capabilities.ship_from_store
    });
    let mut stocked = 0;
    for store in warehouses {
        let namespace = store
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = store.metadata.name.clone().unwrap_or_default();
        let location = format!("{base}/api/inventory/locations/{namespace}/{name}");
        http.put(location)
            .bearer_auth(token)
            .json(&json!({"canShip": true}))
            .send()
            .await?
            .error_for_status()?;
        for sku in manifests
            .products
            .iter()
            .flat_map(|p| p.spec.variants.iter().map(|v| v.sku.clone()))
        {
            http.put(format!(
                "{base}/api/inventory/stock/{sku}/{namespace}/{name}"
            ))
            .bearer_auth(token)
            .json(&json!({"onHand": args.stock, "reason": "bazaar dev seed"}))
            .send()
            .await?
            .error_for_status()?;
            stocked += 1;
        }
    }
    println!(
        "Stocked {stocked} SKU locations with {} units each.",
        args.stock
    );
    Ok(())
}
