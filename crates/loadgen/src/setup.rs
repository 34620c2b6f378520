//! Before the load: what the catalog sells, the shoppers (registered and signed in up front, since
//! Argon2 is deliberately slow and is measured here on its own), and stock topped up through the ops API
//! so that a run is not cut short by sold-out items.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::json;

use crate::api::{Api, Session, percentile};

/// What shoppers can browse, search for and buy.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Every product's slug.
    pub slugs: Vec<String>,
    /// Variants priced in `currency` (what carts and checkouts use), from a sample of products.
    pub skus: Vec<String>,
    /// Words from the product titles, for searches.
    pub words: Vec<String>,
}

/// Reads every product's slug (pages of 100) and the variants of up to `sample` products, spread over
/// the catalog, that have a price in `currency`.
pub async fn discover(api: &Api, sample: usize, currency: &str) -> anyhow::Result<Catalog> {
    let mut catalog = Catalog::default();
    let mut words = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/catalog/products?limit=100&cursor={c}"),
            None => "/api/catalog/products?limit=100".to_owned(),
        };
        let page = api.get_json(&path, None).await?;
        for item in page["items"].as_array().into_iter().flatten() {
            if let Some(slug) = item["slug"].as_str() {
                catalog.slugs.push(slug.to_owned());
            }
            for word in item["title"]
                .as_str()
                .unwrap_or_default()
                .split_whitespace()
            {
                let word: String = word.chars().filter(|c| c.is_alphanumeric()).collect();
                if word.chars().count() >= 4 {
                    words.insert(word.to_lowercase());
                }
            }
        }
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    if catalog.slugs.is_empty() {
        bail!(
            "the catalog at {} lists no products: nothing to shop for",
            api.base
        );
    }
    catalog.words = words.into_iter().collect();
    let step = (catalog.slugs.len() / sample.max(1)).max(1);
    for slug in catalog.slugs.iter().step_by(step).take(sample.max(1)) {
        let product = api
            .get_json(&format!("/api/catalog/products/{slug}"), None)
            .await?;
        for variant in product["variants"].as_array().into_iter().flatten() {
            let priced = variant["prices"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["list"]["currency"].as_str() == Some(currency));
            if let (true, Some(sku)) = (priced, variant["sku"].as_str()) {
                catalog.skus.push(sku.to_owned());
            }
        }
    }
    if catalog.skus.is_empty() {
        bail!("no sampled product has a variant priced in {currency}");
    }
    Ok(catalog)
}

/// How preparing the shoppers went: registration and sign-in are Argon2-bound, so they are measured here,
/// apart from the traffic.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShopperSetup {
    pub shoppers: usize,
    pub registered_in_secs: f64,
    pub sign_in_p50_ms: Option<f64>,
    pub sign_in_p99_ms: Option<f64>,
    pub sign_in_max_ms: Option<f64>,
    pub signed_in_in_secs: f64,
}

/// A shopper ready to shop.
#[derive(Clone, Debug)]
pub struct Shopper {
    pub email: String,
    pub session: Session,
}

/// Registers `count` shoppers named `<prefix>-<n>@loadgen.example` (an existing one is reused) and signs
/// each in, `parallel` at a time.
pub async fn shoppers(
    api: &Api,
    prefix: &str,
    password: &str,
    count: usize,
    parallel: usize,
) -> anyhow::Result<(Vec<Shopper>, ShopperSetup)> {
    let emails: Vec<String> = (1..=count)
        .map(|n| format!("{prefix}-{n}@loadgen.example"))
        .collect();
    let started = Instant::now();
    let registered: Vec<anyhow::Result<()>> = futures::stream::iter(emails.iter())
        .map(|email| api.register(email, password, "Load Shopper"))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await;
    registered
        .into_iter()
        .collect::<anyhow::Result<Vec<()>>>()?;
    let registered_in = started.elapsed();
    let started = Instant::now();
    let signed_in: Vec<anyhow::Result<(Shopper, Duration)>> = futures::stream::iter(emails)
        .map(|email| async move {
            let began = Instant::now();
            let session = api.login(&email, password).await?;
            Ok((Shopper { email, session }, began.elapsed()))
        })
        .buffered(parallel.max(1))
        .collect()
        .await;
    let mut shoppers = Vec::with_capacity(count);
    let mut times = Vec::with_capacity(count);
    for result in signed_in {
        let (shopper, took) = result?;
        shoppers.push(shopper);
        times.push(took.as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let setup = ShopperSetup {
        shoppers: count,
        registered_in_secs: registered_in.as_secs_f64(),
        sign_in_p50_ms: percentile(&times, 50.0),
        sign_in_p99_ms: percentile(&times, 99.0),
        sign_in_max_ms: times.last().copied(),
        signed_in_in_secs: started.elapsed().as_secs_f64(),
    };
    Ok((shoppers, setup))
}

/// Sets `units` on hand of every SKU at the preferred location that ships online orders, as the ops
/// account `admin_email`. Returns how many SKUs were topped up.
pub async fn top_up(
    api: &Api,
    admin_email: &str,
    admin_password: &str,
    skus: &[String],
    units: u64,
) -> anyhow::Result<usize> {
    let admin = api
        .login(admin_email, admin_password)
        .await
        .context("signing in the ops account to top up stock")?;
    let token = admin.access_token.as_str();
    let locations = api
        .get_json("/api/inventory/locations", Some(token))
        .await?;
    let mut shipping: Vec<(i64, String)> = locations
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["canShip"].as_bool() == Some(true))
        .filter_map(|l| Some((l["priority"].as_i64()?, l["name"].as_str()?.to_owned())))
        .collect();
    shipping.sort();
    let Some((_, location)) = shipping.into_iter().next() else {
        bail!("no stock location ships online orders: nothing to top up");
    };
    let body = json!({"onHand": units, "reason": "loadgen: topped up so the run is not cut short by sold-out items"});
    for sku in skus {
        let path = format!("/api/inventory/stock/{sku}/{location}");
        let (status, answer) = api
            .call(|| api.request(Method::PUT, &path, Some(token)).json(&body))
            .await?;
        if status != StatusCode::OK {
            bail!("topping up {sku} at {location}: {status} {answer}");
        }
    }
    Ok(skus.len())
}
