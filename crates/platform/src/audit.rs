//! The audit trail of staff actions, written once here and used by every component that owns some.
//!
//! Every component schema has an append-only `audit_log` table (platform migration `0002_audit.sql`; a
//! trigger refuses UPDATE, DELETE and TRUNCATE). A staff handler builds an [`AuditEntry`] (who, with
//! which roles, what, on which resource, before and after, the request id) and:
//!
//! - on success, writes it with [`AuditEntry::record`] through **the transaction that makes the change**,
//!   so the entry commits exactly when the change does, and never without it;
//! - on a refusal or failure (the transaction rolled back, nothing changed), writes it once with
//!   [`AuditEntry::record_outcome`] in a short transaction of its own, taken after the first one has let
//!   go of its connection (no nested acquisition). A 4xx is recorded as `refused` and a 5xx as
//!   `failed`, each with the problem's detail and field errors; nothing is recorded for callers who are
//!   not staff (401/403 come before the action is attempted).
//!
//! [`router`] serves a component's trail at `GET /api/<component>/audit` (admins only) with filters and
//! a cursor. There is no route that changes it.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{CurrentUser, Role};
use crate::http::REQUEST_ID;
use crate::{ApiJson, ApiQuery, FieldError, Problem};

/// The request's `x-request-id` (set by the HTTP scaffold when the caller sent none). Never rejects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestId(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RequestId {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestId(
            parts
                .headers
                .get(&REQUEST_ID)
                .and_then(|value| value.to_str().ok())
                .map(|value| value.chars().take(200).collect()),
        ))
    }
}

/// How a staff action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The change committed together with the entry.
    Succeeded,
    /// Refused with a 4xx (wrong state, invalid input, conflict); nothing changed.
    Refused,
    /// Failed with a 5xx; nothing changed.
    Failed,
}

impl Outcome {
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }

    /// `refused` for a 4xx problem, `failed` otherwise.
    pub fn of(problem: &Problem) -> Self {
        if (400..500).contains(&problem.status) {
            Outcome::Refused
        } else {
            Outcome::Failed
        }
    }
}

/// One staff action about to be recorded.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub actor: String,
    pub actor_roles: Vec<String>,
    /// `<resource>.<verb>`, e.g. `order.ship`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

impl AuditEntry {
    /// `user` did (or tried) `action` on `resource_type`/`resource_id` in the request `request_id`.
    pub fn new(
        user: &CurrentUser,
        request_id: &RequestId,
        action: &str,
        resource_type: &str,
        resource_id: impl Into<String>,
    ) -> Self {
        Self {
            actor: user.id.clone(),
            actor_roles: user.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            action: action.to_owned(),
            resource_type: resource_type.to_owned(),
            resource_id: resource_id.into(),
            before: None,
            after: None,
            request_id: request_id.0.clone(),
        }
    }

    /// The state before the change (any serialisable value; `null` if it cannot be serialised).
    pub fn before(mut self, value: impl Serialize) -> Self {
        self.before = Some(serde_json::to_value(value).unwrap_or_default());
        self
    }

    /// The state after the change.
    pub fn after(mut self, value: impl Serialize) -> Self {
        self.after = Some(serde_json::to_value(value).unwrap_or_default());
        self
    }

    /// Records a successful action through `tx`, the transaction that makes the change.
    pub async fn record(&self, tx: &mut PgConnection) -> Result<Uuid, sqlx::Error> {
        self.insert(tx, Outcome::Succeeded, None).await
    }

    /// Records an action that ended with `problem` (its transaction rolled back), in a transaction of its
    /// own on `pool`. Call it only once the action's own connection is released. Recording is best
    /// effort: if it fails (the database is away), that is logged and the caller still answers with
    /// `problem`.
    pub async fn record_outcome(&self, pool: &PgPool, problem: &Problem) {
        let mut detail = problem
            .detail
            .clone()
            .unwrap_or_else(|| problem.title.clone());
        for error in &problem.errors {
            detail.push_str(&format!(" {}: {}.", error.field, error.message));
        }
        let result = async {
            let mut conn = pool.acquire().await?;
            self.insert(&mut conn, Outcome::of(problem), Some(&detail))
                .await
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, action = %self.action, resource = %self.resource_id,
                "a refused staff action could not be audited");
        }
    }

    /// Runs `action`; if it returns a problem, records this entry with that outcome (see
    /// [`record_outcome`](Self::record_outcome)) before handing the problem back. The action records the
    /// success itself, through its transaction.
    pub async fn on_failure<T, E>(
        &self,
        pool: &PgPool,
        action: impl Future<Output = Result<T, E>>,
    ) -> Result<T, Problem>
    where
        E: Into<Problem>,
    {
        match action.await.map_err(Into::into) {
            Ok(value) => Ok(value),
            Err(problem) => {
                self.record_outcome(pool, &problem).await;
                Err(problem)
            }
        }
    }

    async fn insert(
        &self,
        conn: &mut PgConnection,
        outcome: Outcome,
        detail: Option<&str>,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO audit_log (id, actor, actor_roles, action, resource_type, resource_id, outcome,
                                    detail, before, after, request_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(&self.actor)
        .bind(&self.actor_roles)
        .bind(&self.action)
        .bind(&self.resource_type)
        .bind(&self.resource_id)
        .bind(outcome.as_str())
        .bind(detail)
        .bind(&self.before)
        .bind(&self.after)
        .bind(&self.request_id)
        .execute(&mut *conn)
        .await?;
        Ok(id)
    }
}

/// One recorded staff action.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The user id (`sub`) of the staff member.
    pub actor: String,
    pub actor_roles: Vec<String>,
    /// `<resource>.<verb>`, e.g. `order.ship`, `stock.adjust`, `role.grant`, `review.hide`.
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    /// `succeeded`, `refused` (4xx, nothing changed) or `failed` (5xx, nothing changed).
    pub outcome: String,
    /// Why it was refused or failed.
    pub detail: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub request_id: Option<String>,
}

/// A page of the trail, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<AuditRecord>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<Uuid>,
}

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 200;

/// Filters of `GET /api/<component>/audit`; all optional and combined with AND.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only actions of this user id.
    pub actor: Option<String>,
    /// Only this action, e.g. `order.ship`.
    pub action: Option<String>,
    /// Only actions on this kind of resource, e.g. `order`.
    pub resource_type: Option<String>,
    /// Only actions on this resource.
    pub resource_id: Option<String>,
    /// Only `succeeded`, `refused` or `failed` actions.
    pub outcome: Option<Outcome>,
    /// Only actions at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Only actions before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Entries older than this entry id (from `nextBefore`).
    pub before: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<u32>,
}

/// The entries matching `query`, newest first.
pub async fn list(pool: &PgPool, query: &AuditQuery) -> Result<AuditPage, Problem> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::validation(vec![FieldError {
            field: "limit".to_owned(),
            message: format!("must be from 1 to {MAX_LIMIT}"),
        }]));
    }
    let mut items = sqlx::query_as::<_, AuditRecord>(
        "SELECT id, occurred_at, actor, actor_roles, action, resource_type, resource_id, outcome, detail,
                before, after, request_id
         FROM audit_log
         WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)
           AND ($3::text IS NULL OR resource_type = $3) AND ($4::text IS NULL OR resource_id = $4)
           AND ($5::text IS NULL OR outcome = $5) AND ($6::timestamptz IS NULL OR occurred_at >= $6)
           AND ($7::timestamptz IS NULL OR occurred_at < $7) AND ($8::uuid IS NULL OR id < $8)
         ORDER BY id DESC LIMIT $9",
    )
    .bind(query.actor.as_deref())
    .bind(query.action.as_deref())
    .bind(query.resource_type.as_deref())
    .bind(query.resource_id.as_deref())
    .bind(query.outcome.map(Outcome::as_str))
    .bind(query.since)
    .bind(query.until)
    .bind(query.before)
    .bind(i64::from(limit) + 1)
    .fetch_all(pool)
    .await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_before = if more {
        items.last().map(|entry| entry.id)
    } else {
        None
    };
    Ok(AuditPage { items, next_before })
}

/// `GET /api/<component>/audit` over the component's own trail, to merge into its router.
pub fn router<S: Clone + Send + Sync + 'static>(component: &str, pool: PgPool) -> OpenApiRouter<S> {
    let trail = OpenApiRouter::new()
        .routes(routes!(list_audit))
        .with_state(pool);
    OpenApiRouter::new().nest(&format!("/api/{component}"), trail)
}

/// The staff actions recorded by this component, newest first. Admins only; the trail cannot be changed
/// through the API.
#[utoipa::path(
    get,
    path = "/audit",
    params(AuditQuery),
    responses(
        (status = 200, description = "Recorded staff actions, newest first", body = AuditPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "audit"
)]
async fn list_audit(
    user: CurrentUser,
    State(pool): State<PgPool>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<ApiJson<AuditPage>, Problem> {
    user.require(Role::Admin)?;
    Ok(ApiJson(list(&pool, &query).await?))
}
