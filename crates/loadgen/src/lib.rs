//! `bazaar loadgen`: load against a running Bazaar, from `bazaar dev` on a laptop to a cluster (the chart's
//! `loadgen` Job), at any URL.
//!
//! Two modes:
//! - `shoppers`: mixed shopper traffic on [goose](https://book.goose.rs): weighted journeys with Online
//!   Boutique's mix plus search and order tracking ([`options::DEFAULT_MIX`]), a test plan (ramp up, hold,
//!   ramp down) or a number of rounds per shopper, think time between steps, coordinated-omission
//!   mitigation on; goose's HTML and JSON reports plus `summary.json` (setup figures, per-request counts
//!   and percentiles, the overall p95).
//! - `saga`: closed-loop checkouts at a given concurrency for a given time ([`saga`]): accepted/s,
//!   confirmed/s and placed->confirmed latency from the order's own transition times; `saga.json`.
//!
//! Both prepare the run first ([`setup`]): the catalog is read, shoppers are registered and signed in up
//! front (Argon2 is deliberately slow: its time is reported apart), and, given the ops account's password,
//! the variants shoppers buy are topped up through the inventory API. Every run is bounded in time (the
//! plan or `--duration`; iterations in count) and stops by itself.

pub mod api;
pub mod options;
pub mod saga;
pub mod setup;
pub mod shoppers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use goose::config::GooseConfiguration;
use goose::metrics::GooseMetrics;
use goose::prelude::*;
use serde::Serialize;
use serde_json::json;

use options::{Mix, Plan, Route, ThinkTime, parse_duration};

#[derive(Args, Debug)]
pub struct LoadgenArgs {
    #[command(subcommand)]
    pub mode: Mode,
}

#[derive(Subcommand, Debug)]
pub enum Mode {
    /// Mixed shopper traffic (goose): weighted journeys, a ramp-up/hold/ramp-down plan, HTML and JSON
    /// reports.
    Shoppers(ShopperArgs),
    /// The checkout saga alone: closed-loop checkouts at a given concurrency for a given time.
    Saga(SagaArgs),
}

/// Where to send load and how to prepare it.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Base URL of the Bazaar to load (every component behind it, as `bazaar dev`, `serve all` or the
    /// Ingress serve them).
    #[arg(
        long = "url",
        env = "BAZAAR_LOADGEN_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub url: String,

    /// Path prefixes served elsewhere than --url, `PREFIX=URL`, repeated or comma-separated (components
    /// in processes of their own with no gateway: `/api/auth=http://127.0.0.1:8081,...`). Saga mode only.
    #[arg(long = "route", env = "BAZAAR_LOADGEN_ROUTES", value_delimiter = ',')]
    pub routes: Vec<Route>,

    /// The account with the ops role used to top up stock.
    #[arg(
        long = "admin-email",
        env = "BAZAAR_ADMIN_EMAIL",
        default_value = "admin@bazaar.local"
    )]
    pub admin_email: String,

    /// Its password; without it stock is not topped up (and a run may sell out).
    #[arg(
        long = "admin-password",
        env = "BAZAAR_ADMIN_PASSWORD",
        hide_env_values = true
    )]
    pub admin_password: Option<String>,

    /// Units on hand set for every variant shoppers buy, at the preferred shipping location, before the
    /// run; 0 leaves stock alone.
    #[arg(
        long = "top-up",
        env = "BAZAAR_LOADGEN_TOP_UP",
        default_value_t = 1_000_000
    )]
    pub top_up: u64,

    /// Shoppers are `<prefix>-<n>@loadgen.example`; an existing one is reused, so repeated runs with the
    /// same prefix register nobody new.
    #[arg(
        long = "shopper-prefix",
        env = "BAZAAR_LOADGEN_SHOPPER_PREFIX",
        default_value = "loadgen"
    )]
    pub shopper_prefix: String,

    /// The shoppers' password.
    #[arg(
        long = "shopper-password",
        env = "BAZAAR_LOADGEN_SHOPPER_PASSWORD",
        default_value = "loadgen shopper password",
        hide_env_values = true
    )]
    pub shopper_password: String,

    /// Registrations and sign-ins at once while preparing (each costs the server an Argon2 hash).
    #[arg(
        long = "setup-parallel",
        env = "BAZAAR_LOADGEN_SETUP_PARALLEL",
        default_value_t = 4
    )]
    pub setup_parallel: usize,

    /// Products, spread over the catalog, whose variants shoppers put in carts (all are browsed).
    #[arg(
        long = "stocked-products",
        env = "BAZAAR_LOADGEN_STOCKED_PRODUCTS",
        default_value_t = 20
    )]
    pub stocked_products: usize,

    /// Currencies shoppers switch between; the first is the one carts and checkouts use.
    #[arg(
        long = "currencies",
        env = "BAZAAR_LOADGEN_CURRENCIES",
        default_value = "USD,EUR",
        value_delimiter = ','
    )]
    pub currencies: Vec<String>,

    /// Where carts are priced and orders shipped, `COUNTRY-REGION`.
    #[arg(
        long = "destination",
        env = "BAZAAR_LOADGEN_DESTINATION",
        default_value = "US-CA"
    )]
    pub destination: String,

    /// Folder the reports are written to (created if missing).
    #[arg(
        long = "report-dir",
        env = "BAZAAR_LOADGEN_REPORT_DIR",
        default_value = "loadgen-report"
    )]
    pub report_dir: PathBuf,

    /// How long a preparing call keeps retrying after 429/503 (it waits the Retry-After each time).
    #[arg(long = "patience", env = "BAZAAR_LOADGEN_PATIENCE", default_value = "60s", value_parser = parse_duration)]
    pub patience: Duration,
}

#[derive(Args, Debug)]
pub struct ShopperArgs {
    #[command(flatten)]
    pub target: Target,

    /// Shoppers at once at the hold (each is one registered account).
    #[arg(long = "users", env = "BAZAAR_LOADGEN_USERS", default_value_t = 10)]
    pub users: usize,

    /// Time to start all users.
    #[arg(long = "ramp-up", env = "BAZAAR_LOADGEN_RAMP_UP", default_value = "10s", value_parser = parse_duration)]
    pub ramp_up: Duration,

    /// Time all users shop together.
    #[arg(long = "hold", env = "BAZAAR_LOADGEN_HOLD", default_value = "60s", value_parser = parse_duration)]
    pub hold: Duration,

    /// Time to stop them.
    #[arg(long = "ramp-down", env = "BAZAAR_LOADGEN_RAMP_DOWN", default_value = "5s", value_parser = parse_duration)]
    pub ramp_down: Duration,

    /// Instead of the plan's hold: each user does this many rounds of its journey, then the run ends
    /// (users still start over --ramp-up).
    #[arg(long = "iterations", env = "BAZAAR_LOADGEN_ITERATIONS")]
    pub iterations: Option<usize>,

    /// Pause between two steps of a shopper: fixed (`1s`) or a range (`500ms..3s`).
    #[arg(
        long = "think-time",
        env = "BAZAAR_LOADGEN_THINK_TIME",
        default_value = "1s..3s"
    )]
    pub think_time: ThinkTime,

    /// Weights of the steps in one round, `step=weight,...`; steps not named keep their default
    /// (home=1, set-currency=2, browse-product=10, add-to-cart=2, view-cart=3, checkout=1, search=2,
    /// sign-in=0, track-order=1).
    #[arg(long = "mix", env = "BAZAAR_LOADGEN_MIX", default_value = "")]
    pub mix: Mix,

    /// Coordinated-omission mitigation: when a response takes longer than the usual cadence, goose adds
    /// the requests that a steady client would have sent meanwhile to the statistics.
    #[arg(long = "co-mitigation", env = "BAZAAR_LOADGEN_CO_MITIGATION", value_enum, default_value_t = CoMitigation::Average)]
    pub co_mitigation: CoMitigation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CoMitigation {
    Average,
    Maximum,
    Minimum,
    Disabled,
}

#[derive(Args, Debug)]
pub struct SagaArgs {
    #[command(flatten)]
    pub target: Target,

    /// Checkouts in flight: each worker waits for its order to be confirmed or cancelled before the next.
    #[arg(
        long = "concurrency",
        env = "BAZAAR_LOADGEN_CONCURRENCY",
        default_value_t = 8
    )]
    pub concurrency: usize,

    /// How long to keep checking out (orders in flight at the end are followed to their end).
    #[arg(long = "duration", env = "BAZAAR_LOADGEN_DURATION", default_value = "60s", value_parser = parse_duration)]
    pub duration: Duration,
}

pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    match args.mode {
        Mode::Shoppers(args) => shoppers_run(args).await,
        Mode::Saga(args) => saga_run(args).await,
    }
}

/// What both modes prepare.
struct Prepared {
    api: api::Api,
    catalog: setup::Catalog,
    shoppers: Vec<setup::Shopper>,
    shopper_setup: setup::ShopperSetup,
    topped_up: usize,
    destination: (String, String),
    currency: String,
}

async fn prepare(target: &Target, shoppers: usize) -> anyhow::Result<Prepared> {
    let Some((country, region)) = target.destination.split_once('-') else {
        bail!(
            "--destination `{}`: expected COUNTRY-REGION, e.g. US-CA",
            target.destination
        );
    };
    let Some(currency) = target.currencies.first().cloned() else {
        bail!("--currencies: at least one currency is needed");
    };
    if shoppers == 0 {
        bail!("at least one shopper is needed");
    }
    let api = api::Api::new(&target.url, &target.routes, shoppers, target.patience)?;
    std::fs::create_dir_all(&target.report_dir)
        .with_context(|| format!("creating {}", target.report_dir.display()))?;
    let catalog = setup::discover(&api, target.stocked_products, &currency)
        .await
        .with_context(|| format!("reading the catalog at {}", target.url))?;
    println!(
        "loadgen: {} products, {} variants to buy, {} search words at {}",
        catalog.slugs.len(),
        catalog.skus.len(),
        catalog.words.len(),
        target.url
    );
    let topped_up = match (&target.admin_password, target.top_up) {
        (_, 0) => 0,
        (None, _) => {
            println!("loadgen: stock not topped up (no --admin-password / BAZAAR_ADMIN_PASSWORD)");
            0
        }
        (Some(password), units) => {
            let n =
                setup::top_up(&api, &target.admin_email, password, &catalog.skus, units).await?;
            println!("loadgen: {n} variants topped up to {units} units");
            n
        }
    };
    let (shoppers, shopper_setup) = setup::shoppers(
        &api,
        &target.shopper_prefix,
        &target.shopper_password,
        shoppers,
        target.setup_parallel,
    )
    .await?;
    println!(
        "loadgen: {} shoppers registered in {:.1} s, signed in in {:.1} s (sign-in p50 {:.0} ms, p99 {:.0} ms)",
        shopper_setup.shoppers,
        shopper_setup.registered_in_secs,
        shopper_setup.signed_in_in_secs,
        shopper_setup.sign_in_p50_ms.unwrap_or_default(),
        shopper_setup.sign_in_p99_ms.unwrap_or_default(),
    );
    Ok(Prepared {
        api,
        catalog,
        shoppers,
        shopper_setup,
        topped_up,
        destination: (country.to_owned(), region.to_owned()),
        currency,
    })
}

async fn shoppers_run(args: ShopperArgs) -> anyhow::Result<()> {
    let plan = Plan {
        users: args.users,
        ramp_up: args.ramp_up,
        hold: args.hold,
        ramp_down: args.ramp_down,
    };
    let test_plan = plan.to_goose().map_err(anyhow::Error::msg)?;
    if !args.target.routes.is_empty() {
        // goose sends every request to one host.
        bail!(
            "--route is for the saga mode; shopper traffic needs one URL serving every component"
        );
    }
    let prepared = prepare(&args.target, args.users).await?;
    let dir = &args.target.report_dir;
    let shared = Arc::new(shoppers::Shared {
        catalog: prepared.catalog.clone(),
        shoppers: prepared.shoppers.clone(),
        password: args.target.shopper_password.clone(),
        currencies: args.target.currencies.clone(),
        destination: prepared.destination.clone(),
    });

    let mut config = GooseConfiguration::default();
    config.host = Some(prepared.api.base.clone());
    config.report_file = vec![
        path_text(&dir.join("report.html")),
        path_text(&dir.join("report.json")),
    ];
    config.co_mitigation = Some(match args.co_mitigation {
        CoMitigation::Average => GooseCoordinatedOmissionMitigation::Average,
        CoMitigation::Maximum => GooseCoordinatedOmissionMitigation::Maximum,
        CoMitigation::Minimum => GooseCoordinatedOmissionMitigation::Minimum,
        CoMitigation::Disabled => GooseCoordinatedOmissionMitigation::Disabled,
    });
    config.no_telnet = true;
    let mut attack = GooseAttack::initialize_with_config(config)?
        .register_scenario(shoppers::scenario(shared, &args.mix, args.think_time)?);
    // Bounded either way: by the plan's time, or by each user's rounds.
    let bound = match args.iterations {
        Some(rounds) => {
            let rate = args.users as f64 / args.ramp_up.as_secs_f64().max(1.0);
            attack = *attack.set_default(GooseDefault::Users, args.users)?;
            attack = *attack.set_default(GooseDefault::Iterations, rounds.max(1))?;
            attack =
                *attack.set_default(GooseDefault::IncreaseRate, format!("{rate:.3}").as_str())?;
            Duration::from_secs(3600)
        }
        None => {
            attack = *attack.set_default(GooseDefault::TestPlan, test_plan.as_str())?;
            plan.total() + Duration::from_secs(120)
        }
    };
    println!(
        "loadgen: {} users, mix {}, think time {}, plan {}",
        args.users,
        args.mix,
        args.think_time,
        match args.iterations {
            Some(n) => format!("{n} rounds each"),
            None => test_plan.clone(),
        }
    );
    let metrics = tokio::time::timeout(bound, attack.execute())
        .await
        .with_context(|| format!("the run did not end within {bound:?}"))??;
    let summary = ShopperSummary::of(&metrics, &prepared, &args);
    let summary_path = dir.join("summary.json");
    std::fs::write(&summary_path, serde_json::to_vec_pretty(&summary)?)
        .with_context(|| format!("writing {}", summary_path.display()))?;
    println!("{}", summary.text());
    println!(
        "loadgen: reports in {} (report.html, report.json, summary.json)",
        dir.display()
    );
    Ok(())
}

fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// One request name's figures, in milliseconds; `*_co` include coordinated-omission corrections.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestFigures {
    pub requests: usize,
    pub failures: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub p95_co_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopperSummary {
    pub url: String,
    pub users: usize,
    pub mix: String,
    pub think_time: String,
    pub duration_secs: usize,
    pub requests: usize,
    pub failures: usize,
    pub requests_per_sec: f64,
    /// Over every request (with coordinated-omission corrections when on): the mixed-traffic goal is
    /// p95 < 200 ms.
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub by_request: BTreeMap<String, RequestFigures>,
    pub setup: setup::ShopperSetup,
    pub variants_topped_up: usize,
}

/// The time (µs) `fraction` of the counted times finished within, from goose's buckets (each keyed by
/// its fastest time), nearest rank.
fn bucket_percentile(buckets: &mut [(u64, usize)], fraction: f64) -> u64 {
    buckets.sort_unstable();
    let total: usize = buckets.iter().map(|(_, n)| n).sum();
    let rank = ((fraction * total as f64).ceil() as usize).max(1);
    let mut seen = 0;
    for (time, count) in buckets.iter() {
        seen += count;
        if seen >= rank {
            return *time;
        }
    }
    0
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl ShopperSummary {
    fn of(metrics: &GooseMetrics, prepared: &Prepared, args: &ShopperArgs) -> ShopperSummary {
        let mut all: Vec<(u64, usize)> = Vec::new();
        let mut by_request = BTreeMap::new();
        let (mut requests, mut failures) = (0, 0);
        for (name, aggregate) in &metrics.requests {
            let raw = &aggregate.raw_data;
            let corrected = aggregate.coordinated_omission_data.as_ref();
            all.extend(
                corrected
                    .unwrap_or(raw)
                    .times_us
                    .iter()
                    .map(|(t, n)| (*t, *n)),
            );
            requests += aggregate.success_count + aggregate.fail_count;
            failures += aggregate.fail_count;
            by_request.insert(
                name.clone(),
                RequestFigures {
                    requests: aggregate.success_count + aggregate.fail_count,
                    failures: aggregate.fail_count,
                    p50_ms: ms(raw.percentile_us(0.5)),
                    p95_ms: ms(raw.percentile_us(0.95)),
                    p99_ms: ms(raw.percentile_us(0.99)),
                    max_ms: ms(raw.maximum_time_us),
                    p95_co_ms: corrected.map(|c| ms(c.percentile_us(0.95))),
                },
            );
        }
        let duration = metrics.duration.max(1);
        ShopperSummary {
            url: prepared.api.base.clone(),
            users: args.users,
            mix: args.mix.to_string(),
            think_time: args.think_time.to_string(),
            duration_secs: metrics.duration,
            requests,
            failures,
            requests_per_sec: requests as f64 / duration as f64,
            p95_ms: ms(bucket_percentile(&mut all, 0.95)),
            p99_ms: ms(bucket_percentile(&mut all, 0.99)),
            by_request,
            setup: prepared.shopper_setup.clone(),
            variants_topped_up: prepared.topped_up,
        }
    }

    fn text(&self) -> String {
        let mut text = format!(
            "shoppers: {} users for {} s against {}: {} requests ({:.1}/s), {} failed; p95 {:.1} ms, p99 {:.1} ms over all requests",
            self.users,
            self.duration_secs,
            self.url,
            self.requests,
            self.requests_per_sec,
            self.failures,
            self.p95_ms,
            self.p99_ms
        );
        for (name, f) in &self.by_request {
            text.push_str(&format!(
                "\n  {name:<28} {:>7} requests {:>5} failed  p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms",
                f.requests, f.failures, f.p50_ms, f.p95_ms, f.p99_ms
            ));
        }
        text
    }
}

async fn saga_run(args: SagaArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.duration.is_zero() {
        bail!("--concurrency and --duration must be above 0");
    }
    let prepared = prepare(&args.target, args.concurrency).await?;
    let plan = saga::SagaRun {
        concurrency: args.concurrency,
        duration: args.duration,
        skus: prepared.catalog.skus.clone(),
        currency: prepared.currency.clone(),
        destination: prepared.destination.clone(),
    };
    let report = saga::run(&prepared.api, &prepared.shoppers, &plan).await?;
    let path = args.target.report_dir.join("saga.json");
    let document = json!({
        "mode": "saga",
        "report": report,
        "setup": prepared.shopper_setup,
        "variantsToppedUp": prepared.topped_up,
    });
    std::fs::write(&path, serde_json::to_vec_pretty(&document)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!("{}", report.summary());
    println!("loadgen: report in {}", path.display());
    Ok(())
}
