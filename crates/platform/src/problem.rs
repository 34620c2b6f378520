//! RFC 9457 problem details: the one error shape every Bazaar HTTP API returns.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid input field, so that a client can point at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON pointer-ish path of the field, e.g. `lines[0].quantity`.
    pub field: String,
    /// What is wrong and what is expected, readable by a person.
    pub message: String,
}

impl FieldError {
    /// The one way to name an invalid field: `FieldError::new("lines[0].quantity", "must be at least 1")`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem document. Build one with the constructors, then return it from a handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem kind; relative to the API docs.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldError>,
    /// Seconds a client should wait before retrying (sent as `Retry-After` too).
    #[serde(skip)]
    pub retry_after_secs: Option<u32>,
    /// Set when the request was shed because a bounded resource (a connection pool, a queue, a backlog)
    /// was exhausted: names it for `bazaar_http_shed_total{reason}`. Never sent to the client.
    #[serde(skip)]
    pub shed: Option<&'static Resource>,
}

/// A bounded resource whose exhaustion sheds requests (a connection pool, a gate, a backlog); its name is
/// the `reason` label of `bazaar_http_shed_total`. Declared once as a `static` by whoever owns it.
#[derive(Debug, PartialEq, Eq)]
pub struct Resource(pub &'static str);

impl Resource {
    pub fn name(&self) -> &'static str {
        self.0
    }
}

/// Every component's database pool.
pub static DB_POOL: Resource = Resource("db_pool");

/// Put on a response that shed load (see [`Problem::overloaded`]), so the HTTP scaffold can count it by
/// reason without parsing bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shed(pub &'static str);

/// The `Retry-After` of a request shed because a pool or queue was full: short, because such a wait
/// usually clears within a second or two.
pub const OVERLOAD_RETRY_AFTER_SECS: u64 = 1;

/// `Retry-After` seconds as stored (a day at most: a longer wait is no retry hint).
fn retry_hint(secs: u64) -> u32 {
    u32::try_from(secs.min(86_400)).unwrap_or(86_400)
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("https://bazaar.dev/problems/{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            errors: Vec::new(),
            retry_after_secs: None,
            shed: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    /// Input that parsed but broke a rule; `errors` lists each field.
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            "The request has invalid fields; see `errors`.",
        );
        problem.errors = errors;
        problem
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", detail)
    }

    pub fn too_many_requests(retry_after_secs: u64) -> Self {
        let mut problem = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("Too many requests; retry after {retry_after_secs} seconds."),
        );
        problem.retry_after_secs = Some(retry_hint(retry_after_secs));
        problem
    }

    /// A server-side failure. The cause goes to the log, never to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side; the request can be retried.",
        )
    }

    /// A dependency cannot answer right now; the client may retry after `Retry-After`.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut problem = Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail);
        problem.retry_after_secs = Some(retry_hint(OVERLOAD_RETRY_AFTER_SECS));
        problem
    }

    /// The request was shed because `resource` (a connection pool, a work queue, the saga's backlog) is
    /// exhausted: 503 with `Retry-After`, counted in `bazaar_http_shed_total{reason=resource}`. The one
    /// answer to overload; never a 500.
    pub fn overloaded(
        resource: &'static Resource,
        detail: impl Into<String>,
        retry_after_secs: u64,
    ) -> Self {
        let mut problem = Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", detail);
        problem.retry_after_secs = Some(retry_hint(retry_after_secs.max(1)));
        problem.shed = Some(resource);
        problem
    }

    /// A database error as the client should see it; the one conversion every component uses. An exhausted
    /// pool (no connection within the acquire timeout, which is also what an outage looks like to a lazy
    /// pool) is answered 503 with `Retry-After` and counted as shed; a database that cannot be reached,
    /// is shutting down or refuses connections, and a closed pool (this process shutting down), are 503 with
    /// `Retry-After` too. Anything else is a 500 whose cause goes to the log.
    pub fn from_db(error: &sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut => {
                tracing::warn!(
                    "no database connection within the acquire timeout; shedding the request"
                );
                Self::overloaded(
                    &DB_POOL,
                    "The service is busy or its database cannot be reached (no connection within the \
                     acquire timeout); retry shortly.",
                    OVERLOAD_RETRY_AFTER_SECS,
                )
            }
            sqlx::Error::PoolClosed => {
                Self::unavailable("The service is shutting down; retry shortly.")
            }
            other if is_outage(other) => {
                tracing::warn!(error = %other, "database unreachable");
                Self::unavailable("The database cannot be reached right now; retry shortly.")
            }
            other => Self::internal(other),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let retry_after = self.retry_after_secs;
        let shed = self.shed;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(secs) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(resource) = shed {
            response.extensions_mut().insert(Shed(resource.name()));
        }
        response
    }
}

/// Whether `error` means the database is (for now) out of reach rather than that the request or the code is
/// wrong: the connection broke or could not be made, or the server said it is shutting down, starting up
/// or out of connections (SQLSTATE classes 08 and 57P, and 53300).
pub fn is_outage(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || code.starts_with("57P") || code == "53300"
        }),
        _ => false,
    }
}

impl From<sqlx::Error> for Problem {
    fn from(error: sqlx::Error) -> Self {
        Self::from_db(&error)
    }
}

impl From<crate::kafka::OutboxError> for Problem {
    /// Writing an event is a database write: an outage is 503 like any other (see [`Problem::from_db`]).
    fn from(error: crate::kafka::OutboxError) -> Self {
        match error {
            crate::kafka::OutboxError::Sql(db) => Self::from_db(&db),
            other => Self::internal(&other),
        }
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let kind = match status {
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid-body",
            _ => "malformed-body",
        };
        Self::new(status, kind, rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            rejection.body_text(),
        )
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Self {
        Self::new(rejection.status(), "invalid-path", rejection.body_text())
    }
}

/// `axum::Json`, but a body that does not parse is answered with problem+json.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `axum::extract::Query` with problem+json rejections.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with problem+json rejections.
#[derive(Debug, Clone, Copy, Default, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct ApiPath<T>(pub T);
