//! The saga alone: closed-loop checkouts. Each of `concurrency` workers (one shopper each) posts a checkout
//! with its line in the body, follows the order's live status until it is confirmed or cancelled, then
//! starts the next one, until the duration is over. The time from placed to confirmed comes from the
//! order's own transition times (`placedAt` and the `confirmed` entry of `history` in its API view), so
//! it is the server's clock, not the client's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use rand::seq::IndexedRandom;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::api::{Api, percentile};
use crate::setup::Shopper;

/// Longest wait for one order to become final before it is counted as unfinished.
const ORDER_TIMEOUT: Duration = Duration::from_secs(60);

pub struct SagaRun {
    pub concurrency: usize,
    pub duration: Duration,
    pub skus: Vec<String>,
    pub currency: String,
    pub destination: (String, String),
}

/// Latency figures in milliseconds.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    pub count: usize,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

impl Latency {
    fn of(mut values: Vec<f64>) -> Latency {
        values.sort_by(f64::total_cmp);
        Latency {
            count: values.len(),
            p50: percentile(&values, 50.0),
            p95: percentile(&values, 95.0),
            p99: percentile(&values, 99.0),
            max: values.last().copied(),
        }
    }
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SagaReport {
    pub url: String,
    pub concurrency: usize,
    /// How long new checkouts were posted.
    pub duration_secs: f64,
    /// From the first checkout until the last order was final (the rates are over this time).
    pub elapsed_secs: f64,
    /// Checkouts answered 202.
    pub accepted: usize,
    pub accepted_per_sec: f64,
    /// Orders seen confirmed (every accepted order is followed until it is final).
    pub confirmed: usize,
    pub confirmed_per_sec: f64,
    pub cancelled: usize,
    /// Orders not final within a minute.
    pub unfinished: usize,
    /// Checkouts answered 503 (admission or overload), each retried after its Retry-After.
    pub shed: usize,
    /// Other answers to checkout, by status.
    pub refused: BTreeMap<u16, usize>,
    /// Transport errors (connection refused, timeouts).
    pub errors: usize,
    /// The checkout call itself, until 202.
    pub accept_ms: Latency,
    /// From the order's placedAt to its confirmed transition (server clock).
    pub placed_to_confirmed_ms: Latency,
    pub cancel_reasons: BTreeMap<String, usize>,
}

#[derive(Default)]
struct Tally {
    accepted: usize,
    confirmed: usize,
    cancelled: usize,
    unfinished: usize,
    shed: usize,
    refused: BTreeMap<u16, usize>,
    errors: usize,
    accept_ms: Vec<f64>,
    placed_to_confirmed_ms: Vec<f64>,
    cancel_reasons: BTreeMap<String, usize>,
}

pub async fn run(api: &Api, shoppers: &[Shopper], plan: &SagaRun) -> anyhow::Result<SagaReport> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + plan.duration;
    let workers: Vec<_> = shoppers
        .iter()
        .take(plan.concurrency)
        .map(|shopper| {
            let (api, tally) = (api.clone(), tally.clone());
            let token = shopper.session.access_token.clone();
            let skus = plan.skus.clone();
            let currency = plan.currency.clone();
            let destination = plan.destination.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let sku = skus.choose(&mut rand::rng()).cloned().unwrap_or_default();
                    one_checkout(
                        &api,
                        &token,
                        &sku,
                        &currency,
                        &destination,
                        deadline,
                        &tally,
                    )
                    .await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.context("a saga worker panicked")?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let tally = std::mem::take(&mut *tally.lock().await);
    Ok(SagaReport {
        url: api.base.clone(),
        concurrency: plan.concurrency,
        duration_secs: plan.duration.as_secs_f64(),
        elapsed_secs: elapsed,
        accepted: tally.accepted,
        accepted_per_sec: tally.accepted as f64 / elapsed,
        confirmed: tally.confirmed,
        confirmed_per_sec: tally.confirmed as f64 / elapsed,
        cancelled: tally.cancelled,
        unfinished: tally.unfinished,
        shed: tally.shed,
        refused: tally.refused,
        errors: tally.errors,
        accept_ms: Latency::of(tally.accept_ms),
        placed_to_confirmed_ms: Latency::of(tally.placed_to_confirmed_ms),
        cancel_reasons: tally.cancel_reasons,
    })
}

async fn one_checkout(
    api: &Api,
    token: &str,
    sku: &str,
    currency: &str,
    (country, region): &(String, String),
    deadline: Instant,
    tally: &Mutex<Tally>,
) {
    let body = json!({
        "lines": [{"sku": sku, "quantity": 1}],
        "currency": currency,
        "shippingAddress": {"name": "Load Shopper", "line1": "1 Market St", "city": "San Francisco",
                            "region": region, "postalCode": "94105", "country": country},
        "shippingMethod": "standard",
        "paymentToken": "tok_visa",
    });
    let began = Instant::now();
    let answer = api
        .request(Method::POST, "/api/checkout", Some(token))
        .header("idempotency-key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(_) => {
            tally.lock().await.errors += 1;
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        }
    };
    let status = response.status();
    if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
        let wait = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(1);
        tally.lock().await.shed += 1;
        let until = (Instant::now() + Duration::from_secs(wait)).min(deadline);
        tokio::time::sleep_until(until.into()).await;
        return;
    }
    if status != StatusCode::ACCEPTED {
        *tally
            .lock()
            .await
            .refused
            .entry(status.as_u16())
            .or_default() += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        return;
    }
    let accept_ms = began.elapsed().as_secs_f64() * 1000.0;
    let order: Value = response.json().await.unwrap_or(Value::Null);
    let Some(id) = order["id"].as_str().map(str::to_owned) else {
        tally.lock().await.errors += 1;
        return;
    };
    {
        let mut tally = tally.lock().await;
        tally.accepted += 1;
        tally.accept_ms.push(accept_ms);
    }
    let final_state = follow(api, token, &id).await;
    let view = api
        .get_json(&format!("/api/orders/{id}"), Some(token))
        .await
        .unwrap_or(Value::Null);
    let mut tally = tally.lock().await;
    match final_state.as_deref() {
        Some("cancelled") => {
            tally.cancelled += 1;
            let reason = view["cancelReason"]
                .as_str()
                .unwrap_or("unknown")
                .to_owned();
            *tally.cancel_reasons.entry(reason).or_default() += 1;
        }
        Some(_) => {
            tally.confirmed += 1;
            if let Some(ms) = placed_to_confirmed_ms(&view) {
                tally.placed_to_confirmed_ms.push(ms);
            }
        }
        None => tally.unfinished += 1,
    }
}

/// Whether an order state means the saga is done with it: `cancelled`, or confirmed (or later).
fn final_state(state: &str) -> bool {
    matches!(
        state,
        "confirmed" | "packed" | "shipped" | "delivered" | "cancelled"
    )
}

/// Follows the order's live status (server-sent events) until it is final; polls the order if the
/// stream breaks. Returns the final state, or `None` after a minute.
async fn follow(api: &Api, token: &str, id: &str) -> Option<String> {
    let give_up = Instant::now() + ORDER_TIMEOUT;
    let stream = api
        .request(
            Method::GET,
            &format!("/api/orders/{id}/events"),
            Some(token),
        )
        .timeout(ORDER_TIMEOUT)
        .send()
        .await;
    if let Ok(response) = stream
        && response.status().is_success()
    {
        let mut bytes = response.bytes_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = bytes.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                for line in event.lines() {
                    if let Some(data) = line.strip_prefix("data:")
                        && let Ok(update) = serde_json::from_str::<Value>(data.trim())
                        && let Some(state) = update["state"].as_str()
                        && final_state(state)
                    {
                        return Some(state.to_owned());
                    }
                }
            }
        }
    }
    while Instant::now() < give_up {
        if let Ok(view) = api
            .get_json(&format!("/api/orders/{id}"), Some(token))
            .await
            && let Some(state) = view["state"].as_str()
            && final_state(state)
        {
            return Some(state.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Milliseconds from the order's `placedAt` to its transition to `confirmed`, from its API view.
pub fn placed_to_confirmed_ms(view: &Value) -> Option<f64> {
    let time = |v: &Value| v.as_str()?.parse::<DateTime<Utc>>().ok();
    let placed = time(&view["placedAt"])?;
    let confirmed = view["history"]
        .as_array()?
        .iter()
        .find(|t| t["to"].as_str() == Some("confirmed"))
        .and_then(|t| time(&t["at"]))?;
    Some((confirmed - placed).num_microseconds()? as f64 / 1000.0)
}

impl SagaReport {
    /// The summary printed at the end.
    pub fn summary(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0} ms"));
        format!(
            "saga: {concurrency} in flight for {secs:.0} s ({elapsed:.1} s until the last order was final) against {url}\n  \
             accepted {accepted} ({aps:.1}/s), confirmed {confirmed} ({cps:.1}/s), cancelled {cancelled}, \
             unfinished {unfinished}, shed (503) {shed}, refused {refused:?}, errors {errors}\n  \
             checkout answered in p50 {a50}, p99 {a99}\n  \
             placed -> confirmed (server clock): p50 {c50}, p95 {c95}, p99 {c99}, max {cmax}",
            concurrency = self.concurrency,
            secs = self.duration_secs,
            elapsed = self.elapsed_secs,
            url = self.url,
            accepted = self.accepted,
            aps = self.accepted_per_sec,
            confirmed = self.confirmed,
            cps = self.confirmed_per_sec,
            cancelled = self.cancelled,
            unfinished = self.unfinished,
            shed = self.shed,
            refused = self.refused,
            errors = self.errors,
            a50 = ms(self.accept_ms.p50),
            a99 = ms(self.accept_ms.p99),
            c50 = ms(self.placed_to_confirmed_ms.p50),
            c95 = ms(self.placed_to_confirmed_ms.p95),
            c99 = ms(self.placed_to_confirmed_ms.p99),
            cmax = ms(self.placed_to_confirmed_ms.max),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_to_confirmed_is_read_from_the_orders_own_times() {
        let view = json!({
            "placedAt": "2026-12-01T10:00:00.000Z",
            "history": [
                {"from": null, "to": "placed", "at": "2026-12-01T10:00:00.000Z"},
                {"from": "placed", "to": "reserved", "at": "2026-12-01T10:00:00.120Z"},
                {"from": "reserved", "to": "confirmed", "at": "2026-12-01T10:00:00.250Z"}
            ]
        });
        assert_eq!(placed_to_confirmed_ms(&view), Some(250.0));
        let cancelled = json!({"placedAt": "2026-12-01T10:00:00Z",
            "history": [{"to": "cancelled", "at": "2026-12-01T10:00:01Z"}]});
        assert_eq!(placed_to_confirmed_ms(&cancelled), None);
    }
}
