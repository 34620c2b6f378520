//! A small client for the calls the load generator makes outside goose: preparing a run (catalog,
//! shoppers, stock) and the saga mode. A 429 or 503 is retried after its `Retry-After`, until a deadline.

use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::options::Route;

#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    /// Path prefixes served elsewhere than `base` (components in processes of their own); the longest
    /// matching prefix wins.
    pub routes: Vec<Route>,
    /// How long a call keeps retrying while the server sheds load or rate-limits.
    pub patience: Duration,
}

/// The shopper's tokens after a sign-in.
#[derive(Clone, Debug)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
}

impl Api {
    pub fn new(
        base: &str,
        routes: &[Route],
        connections: usize,
        patience: Duration,
    ) -> anyhow::Result<Api> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(connections.max(8))
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the HTTP client")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
            routes: routes.to_vec(),
            patience,
        })
    }

    pub fn url(&self, path: &str) -> String {
        let routed = self
            .routes
            .iter()
            .filter(|route| {
                path.strip_prefix(route.prefix.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
            })
            .max_by_key(|route| route.prefix.len());
        let base = routed.map_or(self.base.as_str(), |route| route.url.as_str());
        format!("{base}{path}")
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends what `make` builds, again after `Retry-After` while the answer is 429 or 503 and the
    /// patience lasts. Returns the final status and JSON body (`null` when there is none).
    pub async fn call(
        &self,
        make: impl Fn() -> RequestBuilder,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let deadline = Instant::now() + self.patience;
        loop {
            let response = make().send().await.context("sending a request")?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let body = response.bytes().await.context("reading an answer")?;
            let value = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
            };
            let shed = status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE;
            if shed {
                let wait = Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 60));
                if Instant::now() + wait < deadline {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            return Ok((status, value));
        }
    }

    /// Creates the account, or finds it already there (409): shoppers are reused across runs.
    pub async fn register(&self, email: &str, password: &str, name: &str) -> anyhow::Result<()> {
        let body = json!({"email": email, "password": password, "name": name});
        let (status, answer) = self
            .call(|| {
                self.request(Method::POST, "/api/auth/register", None)
                    .json(&body)
            })
            .await?;
        match status {
            StatusCode::CREATED | StatusCode::OK | StatusCode::CONFLICT => Ok(()),
            StatusCode::TOO_MANY_REQUESTS => bail!(
                "registering {email}: 429 for longer than {:?}; raise IDENTITY_REGISTER_LIMIT_PER_CLIENT on \
                 the server (every shopper comes from this one machine) or reuse shoppers with the same \
                 --shopper-prefix",
                self.patience
            ),
            _ => bail!("registering {email}: {status} {answer}"),
        }
    }

    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<Session> {
        let body = json!({"email": email, "password": password});
        let (status, answer) = self
            .call(|| {
                self.request(Method::POST, "/api/auth/login", None)
                    .json(&body)
            })
            .await?;
        match status {
            StatusCode::OK => session(&answer),
            StatusCode::TOO_MANY_REQUESTS => bail!(
                "signing in {email}: 429 for longer than {:?}; raise IDENTITY_LOGIN_LIMIT_PER_CLIENT on the \
                 server (every shopper signs in from this one machine)",
                self.patience
            ),
            _ => bail!("signing in {email}: {status} {answer}"),
        }
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> anyhow::Result<Value> {
        let (status, body) = self.call(|| self.request(Method::GET, path, token)).await?;
        if !status.is_success() {
            bail!("GET {path}: {status} {body}");
        }
        Ok(body)
    }
}

/// The tokens in a sign-in or refresh answer.
pub fn session(answer: &Value) -> anyhow::Result<Session> {
    let field = |name: &str| {
        answer[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no {name} in the sign-in answer: {answer}"))
    };
    Ok(Session {
        access_token: field("accessToken")?,
        refresh_token: field("refreshToken")?,
    })
}

/// Nearest-rank percentile of sorted `values` (`p` from 0 to 100); `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::{Api, percentile};
    use std::time::Duration;

    #[test]
    fn a_path_goes_to_the_url_of_its_longest_routed_prefix_or_else_to_the_base() {
        let routes = [
            "/api/orders=http://order:1".parse().expect("route"),
            "/api/orders/special=http://special:2"
                .parse()
                .expect("route"),
            "/api/auth=http://identity:3".parse().expect("route"),
        ];
        let api = Api::new("http://all:9/", &routes, 1, Duration::ZERO).expect("api");
        assert_eq!(api.url("/api/orders"), "http://order:1/api/orders");
        assert_eq!(
            api.url("/api/orders/7/events"),
            "http://order:1/api/orders/7/events"
        );
        assert_eq!(
            api.url("/api/orders?limit=5"),
            "http://order:1/api/orders?limit=5"
        );
        assert_eq!(
            api.url("/api/orders/special/x"),
            "http://special:2/api/orders/special/x"
        );
        assert_eq!(
            api.url("/api/auth/login"),
            "http://identity:3/api/auth/login"
        );
        assert_eq!(api.url("/api/ordersx"), "http://all:9/api/ordersx");
        assert_eq!(
            api.url("/api/catalog/products"),
            "http://all:9/api/catalog/products"
        );
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&values, 99.0), Some(99.0));
        assert_eq!(percentile(&values, 100.0), Some(100.0));
        assert_eq!(percentile(&[7.0], 95.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }
}
