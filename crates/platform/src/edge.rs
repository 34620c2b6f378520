//! Edge validation: what every request is checked for before any component handler sees it, in one place
//! for every component (applied by [`crate::http::app`] and [`crate::runtime::serve`]).
//!
//! - **No NUL characters.** PostgreSQL refuses U+0000 in `text`, so a NUL that reached a query would be a
//!   500, and one that reached a log or a mail could cut it short. A `%00` in the path or the query string
//!   is answered 400 (`invalid-path`, `invalid-query`); a `\u0000` in any string (or key) of a JSON body is
//!   answered 422 (`validation`) naming each field. Nothing is stored: the handler never runs.
//! - **JSON bodies are objects.** Every request body of the API is an object; serde would read a struct
//!   from an array too (`[]` as an empty profile change), so a top-level array is answered 422
//!   (`invalid-body`) here.
//! - **CORS.** Browsers on the origins of `BAZAAR_CORS_ORIGINS` (none by default) may call the API with
//!   credentials; preflights are answered here and cached by the browser for `BAZAAR_CORS_MAX_AGE_SECS`.

use std::convert::Infallible;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::future::{BoxFuture, Either, Ready, ready};
use tower::{Layer, Service};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::problem::{FieldError, Problem};

/// What a NUL is called in every answer.
const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// Refuses requests that carry a NUL character in the path, the query string or a JSON body (see the
/// module docs), as middleware: `Router::new().layer(RefuseNulLayer)`, inside `DefaultBodyLimit`, whose
/// limit it honours. A JSON body is read here and handed on unchanged.
///
/// A plain tower layer rather than `axum::middleware::from_fn`, which clones and boxes the inner service
/// and boxes a future for every request: a request without a JSON body (every read) goes straight to the
/// inner service, with no allocation here.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefuseNulLayer;

impl<S> Layer<S> for RefuseNulLayer {
    type Service = RefuseNul<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RefuseNul { inner }
    }
}

/// The service of [`RefuseNulLayer`].
#[derive(Debug, Clone)]
pub struct RefuseNul<S> {
    inner: S,
}

type Answer = Result<Response, Infallible>;

impl<S> Service<Request> for RefuseNul<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Answer>, Either<S::Future, BoxFuture<'static, Answer>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if let Some(refusal) = uri_refusal(request.uri()) {
            return Either::Left(ready(Ok(refusal.into_response())));
        }
        if !is_json(&request) {
            return Either::Right(Either::Left(self.inner.call(request)));
        }
        // The service made ready is the one to call; a clone takes its place for the next request.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Either::Right(Either::Right(Box::pin(async move {
            match screen_json_body(request).await {
                Ok(request) => inner.call(request).await,
                Err(refusal) => Ok(refusal),
            }
        })))
    }
}

/// The answer to a `%00` in the path or the query string, if there is one.
fn uri_refusal(uri: &axum::http::Uri) -> Option<Problem> {
    if has_encoded_nul(uri.path()) {
        return Some(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-path",
            format!("The path {NUL_MESSAGE} (%00)."),
        ));
    }
    if uri.query().is_some_and(has_encoded_nul) {
        return Some(Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            format!("The query string {NUL_MESSAGE} (%00)."),
        ));
    }
    None
}

/// Reads a JSON request's body (within the body limit) and refuses a top-level array or a NUL escape;
/// otherwise the same request, its body read into memory.
async fn screen_json_body(request: Request) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    // The `Bytes` extractor honours the scaffold's body limit (`DefaultBodyLimit`), like every extractor.
    let bytes = match Bytes::from_request(Request::from_parts(parts.clone(), body), &()).await {
        Ok(bytes) => bytes,
        Err(rejection) => {
            let kind = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "payload-too-large"
            } else {
                "malformed-body"
            };
            return Err(
                Problem::new(rejection.status(), kind, rejection.body_text()).into_response(),
            );
        }
    };
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
            "The body must be a JSON object, not an array.",
        )
        .into_response());
    }
    if has_escaped_nul(&bytes) {
        // Only now is the body parsed here, to name the fields; a body that does not parse is left to the
        // handler's extractor, which explains that better.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            let mut errors = Vec::new();
            nul_fields(&value, &mut String::new(), &mut errors);
            if !errors.is_empty() {
                return Err(Problem::validation(errors).into_response());
            }
        }
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn is_json(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .is_some_and(|v| v.windows(4).any(|w| w.eq_ignore_ascii_case(b"json")))
}

/// `%00` anywhere in a percent-encoded path or query string.
fn has_encoded_nul(text: &str) -> bool {
    text.contains("%00")
}

/// Whether a JSON text contains the escape `\u0000`. Every backslash of valid JSON starts an escape inside
/// a string, so skipping the escaped character finds exactly the NUL escapes (and never `\\u0000`, which is
/// a backslash followed by text).
fn has_escaped_nul(json: &[u8]) -> bool {
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' {
            if json.get(i + 1) == Some(&b'u') && json.get(i + 2..i + 6) == Some(b"0000".as_slice())
            {
                return true;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    false
}

/// Every string (and object key) under `value` that holds a NUL, as a field error with its path
/// (`shippingAddress.line1`, `lines[0].sku`).
fn nul_fields(value: &serde_json::Value, path: &mut String, errors: &mut Vec<FieldError>) {
    match value {
        serde_json::Value::String(text) if text.contains('\0') => {
            let field = if path.is_empty() {
                "body"
            } else {
                path.as_str()
            };
            errors.push(FieldError::new(field, NUL_MESSAGE));
        }
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                nul_fields(item, path, errors);
                path.truncate(len);
            }
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\u0000"));
                if key.contains('\0') {
                    errors.push(FieldError::new(
                        path.clone(),
                        "the name of this field ".to_owned() + NUL_MESSAGE,
                    ));
                }
                nul_fields(item, path, errors);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Which browser origins may call the API (`BAZAAR_CORS_ORIGINS`) and how long a preflight is cached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsPolicy {
    /// Exact origins (`https://shop.example.com`); empty: no CORS headers at all.
    pub origins: Vec<HeaderValue>,
    pub max_age: Duration,
}

/// Response headers a browser script may read besides the CORS-safelisted ones.
const EXPOSED: [HeaderName; 3] = [
    header::RETRY_AFTER,
    header::LOCATION,
    HeaderName::from_static("x-request-id"),
];

/// `app` with the CORS policy applied to every route (and to every error answer, so that a browser can
/// read a problem too). With no origins, `app` is returned unchanged: no CORS header is ever sent.
pub fn with_cors(app: Router, policy: &CorsPolicy) -> Router {
    if policy.origins.is_empty() {
        return app;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(policy.origins.iter().cloned()))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        // With credentials, `*` is not allowed; echoing the requested headers is the equivalent.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(EXPOSED)
        .max_age(policy.max_age);
    app.layer(layer)
}

/// Parses one `BAZAAR_CORS_ORIGINS` entry: `scheme://host[:port]`, nothing after it.
pub fn parse_origin(value: &str) -> Result<String, String> {
    let value = value.trim();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or_else(|| format!("`{value}` is not an origin: expected http(s)://host[:port]"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '*', ' ']) {
        return Err(format!(
            "`{value}` is not an origin: expected http(s)://host[:port] with no path or wildcard"
        ));
    }
    HeaderValue::from_str(value).map_err(|_| format!("`{value}` is not a valid header value"))?;
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_nul_escapes_are_found() {
        assert!(has_escaped_nul(br#"{"a":"x\u0000y"}"#));
        assert!(
            !has_escaped_nul(br#"{"a":"x\\u0000y"}"#),
            "an escaped backslash then text"
        );
        assert!(has_escaped_nul(br#"{"a":"x\\\u0000"}"#));
        assert!(!has_escaped_nul(br#"{"a":"\u00001"}"#.split_at(6).0));
        assert!(!has_escaped_nul(br#"{"a":"\u0001"}"#));
    }

    #[test]
    fn nul_fields_are_named_by_their_path() {
        let value = serde_json::json!({"lines": [{"sku": "A"}, {"sku": "B\u{0}"}], "address": {"line1": "\u{0}"}});
        let mut errors = Vec::new();
        nul_fields(&value, &mut String::new(), &mut errors);
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["address.line1", "lines[1].sku"]);
    }

    #[test]
    fn origins_must_be_scheme_host_and_port_only() {
        assert_eq!(
            parse_origin("https://shop.example.com").as_deref(),
            Ok("https://shop.example.com")
        );
        assert!(parse_origin("http://localhost:5173").is_ok());
        assert!(parse_origin("shop.example.com").is_err());
        assert!(parse_origin("https://shop.example.com/").is_err());
        assert!(parse_origin("*").is_err());
    }
}
