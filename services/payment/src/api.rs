//! `/api/payments`: payments and every provider call made for them, for ops and admins;
//! `/api/payments/attention`: provider work that kept failing and waits for ops, which they can retry.

use axum::extract::State;
use bazaar_platform::audit::{self, AuditEntry, RequestId};
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, PgPool};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::model::{Attempt, AttemptResult, Operation, PAYMENT_COLUMNS, Payment, PaymentStatus};
use crate::worker::TaskKind;

const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 100;

pub fn router(pool: PgPool) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_payments))
        .routes(routes!(get_payment))
        .routes(routes!(list_attention))
        .routes(routes!(retry_attention))
        .with_state(pool.clone())
        .merge(audit::router("payment", pool))
}

/// An amount of money: a decimal string in the currency's major unit and an ISO 4217 code.
#[derive(Debug, Serialize, ToSchema)]
pub struct AmountView {
    #[schema(example = "129.00")]
    pub amount: String,
    #[schema(example = "USD")]
    pub currency: String,
}

/// One call to the payment provider.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptView {
    pub id: Uuid,
    pub operation: Operation,
    pub idempotency_key: String,
    pub result: AttemptResult,
    pub detail: Option<String>,
    pub provider_ref: Option<String>,
    pub latency_ms: i32,
    pub created_at: DateTime<Utc>,
}

/// A payment of an order (one per authorization attempt) with every provider call made for it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub order_number: String,
    pub attempt: i32,
    pub amount: AmountView,
    pub status: PaymentStatus,
    /// Why the authorization failed (`declined`, `insufficient_funds`, `provider_unavailable`, `invalid_token`).
    pub failure_reason: Option<String>,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub attempts: Vec<AttemptView>,
}

/// A page of payments, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPage {
    pub items: Vec<PaymentView>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_before: Option<Uuid>,
}

#[derive(Debug, Deserialize, IntoParams)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only the payments of this order.
    pub order_id: Option<Uuid>,
    /// Page size, 1 to 100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Payments older than this payment id (from `nextBefore`).
    pub before: Option<Uuid>,
}

/// Lists payments, newest first, optionally of one order. Ops and admins only.
#[utoipa::path(
    get,
    path = "/api/payments",
    params(ListQuery),
    responses(
        (status = 200, description = "Payments, newest first", body = PaymentPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not ops or admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "payments"
)]
async fn list_payments(
    user: CurrentUser,
    State(pool): State<PgPool>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<ApiJson<PaymentPage>, Problem> {
    user.require(Role::Ops)?;
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Problem::validation(vec![FieldError::new(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        )]));
    }
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments
         WHERE ($1::uuid IS NULL OR order_id = $1) AND ($2::uuid IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3"
    );
    let mut payments = sqlx::query_as::<_, Payment>(AssertSqlSafe(sql))
        .bind(query.order_id)
        .bind(query.before)
        .bind(i64::from(limit) + 1)
        .fetch_all(&pool)
        .await?;
    let more = payments.len() > limit as usize;
    payments.truncate(limit as usize);
    let next_before = more.then(|| payments.last().map(|p| p.id)).flatten();
    let ids: Vec<Uuid> = payments.iter().map(|p| p.id).collect();
    let mut attempts = load_attempts(&pool, &ids).await?;
    let items = payments
        .into_iter()
        .map(|payment| {
            let own = attempts
                .extract_if(.., |a| a.payment_id == payment.id)
                .collect();
            view(payment, own)
        })
        .collect();
    Ok(ApiJson(PaymentPage { items, next_before }))
}

/// One payment with its provider calls. Ops and admins only.
#[utoipa::path(
    get,
    path = "/api/payments/{id}",
    params(("id" = Uuid, Path, description = "The payment id")),
    responses(
        (status = 200, description = "The payment", body = PaymentView),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not ops or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such payment", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "payments"
)]
async fn get_payment(
    user: CurrentUser,
    State(pool): State<PgPool>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<ApiJson<PaymentView>, Problem> {
    user.require(Role::Ops)?;
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1");
    let payment = sqlx::query_as::<_, Payment>(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&pool)
        .await?
        .ok_or_else(|| Problem::not_found(format!("No payment {id}.")))?;
    let attempts = load_attempts(&pool, &[id]).await?;
    Ok(ApiJson(view(payment, attempts)))
}

async fn load_attempts(pool: &PgPool, payment_ids: &[Uuid]) -> Result<Vec<Attempt>, Problem> {
    sqlx::query_as::<_, Attempt>(
        "SELECT id, payment_id, operation, idempotency_key, result, detail, provider_ref, latency_ms,
                created_at
         FROM payment_attempts WHERE payment_id = ANY($1) ORDER BY created_at, id",
    )
    .bind(payment_ids)
    .fetch_all(pool)
    .await
    .map_err(Problem::from)
}

fn view(payment: Payment, attempts: Vec<Attempt>) -> PaymentView {
    let amount = bazaar_contracts::money::currency(&payment.currency)
        .map(|c| bazaar_contracts::Money::from_minor(payment.amount_minor, c).amount())
        .unwrap_or_else(|_| payment.amount_minor.to_string());
    PaymentView {
        id: payment.id,
        order_id: payment.order_id,
        order_number: payment.order_number,
        attempt: payment.attempt,
        amount: AmountView {
            amount,
            currency: payment.currency,
        },
        status: payment.status,
        failure_reason: payment.failure_reason,
        provider: payment.provider,
        provider_ref: payment.provider_ref,
        created_at: payment.created_at,
        updated_at: payment.updated_at,
        attempts: attempts
            .into_iter()
            .map(|a| AttemptView {
                id: a.id,
                operation: a.operation,
                idempotency_key: a.idempotency_key,
                result: a.result,
                detail: a.detail,
                provider_ref: a.provider_ref,
                latency_ms: a.latency_ms,
                created_at: a.created_at,
            })
            .collect(),
    }
}

/// Provider work that kept failing: payment stopped retrying it and the order shows "payment needs
/// attention".
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct AttentionView {
    /// Pass to `POST /api/payments/attention/{taskId}/retry`.
    pub task_id: Uuid,
    pub order_id: Uuid,
    /// The payment concerned, when one was recorded.
    pub payment_id: Option<Uuid>,
    /// What the work was for: `authorize`, `capture`, `cancel` (void or refund) or `reconcile` (voiding
    /// an authorization whose outcome was unknown).
    pub kind: TaskKind,
    pub tries: i32,
    pub last_error: Option<String>,
    /// Since when it waits.
    pub since: DateTime<Utc>,
}

/// Everything waiting for ops, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttentionList {
    pub items: Vec<AttentionView>,
}

/// Lists provider work that kept failing and waits for ops (also counted by
/// `bazaar_payment_attention_total`). Ops and admins only.
#[utoipa::path(
    get,
    path = "/api/payments/attention",
    responses(
        (status = 200, description = "Work waiting for ops, oldest first", body = AttentionList),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not ops or admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "payments"
)]
async fn list_attention(
    user: CurrentUser,
    State(pool): State<PgPool>,
) -> Result<ApiJson<AttentionList>, Problem> {
    user.require(Role::Ops)?;
    let items = sqlx::query_as::<_, AttentionView>(
        "SELECT id AS task_id, order_id, payment_id, kind, tries, last_error, updated_at AS since
         FROM payment_tasks WHERE state = 'attention' ORDER BY updated_at, id LIMIT 500",
    )
    .fetch_all(&pool)
    .await?;
    Ok(ApiJson(AttentionList { items }))
}

/// Sends work that waits for ops round again (after they fixed the cause): it is tried at once, with
/// the same idempotency keys, and again with back-off up to `PAYMENT_MAX_TRIES` times. Ops and admins only.
#[utoipa::path(
    post,
    path = "/api/payments/attention/{task_id}/retry",
    params(("task_id" = Uuid, Path, description = "The task id from the attention list")),
    responses(
        (status = 202, description = "Queued; the outcome is announced as usual"),
        (status = 400, description = "Malformed id", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid access token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not ops or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Nothing waits for ops under this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])),
    tag = "payments"
)]
async fn retry_attention(
    user: CurrentUser,
    request_id: RequestId,
    State(pool): State<PgPool>,
    ApiPath(task_id): ApiPath<Uuid>,
) -> Result<axum::http::StatusCode, Problem> {
    user.require(Role::Ops)?;
    let entry = AuditEntry::new(
        &user,
        &request_id,
        "payment_task.retry",
        "payment_task",
        task_id.to_string(),
    );
    entry
        .on_failure(&pool, queue_again(&pool, &entry, task_id))
        .await?;
    tracing::info!(%task_id, user = %user.id, "payment work sent round again by ops");
    Ok(axum::http::StatusCode::ACCEPTED)
}

/// Puts a task that waits for ops back in the queue and records who did it, in one transaction.
async fn queue_again(pool: &PgPool, entry: &AuditEntry, task_id: Uuid) -> Result<(), Problem> {
    let mut tx = pool.begin().await?;
    let before: Option<(String, i32)> = sqlx::query_as(
        "SELECT state::text, tries::int4 FROM payment_tasks WHERE id = $1 AND state = 'attention' FOR UPDATE",
    )
    .bind(task_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((state, tries)) = before else {
        return Err(Problem::not_found(format!(
            "No payment work {task_id} waits for attention."
        )));
    };
    sqlx::query(
        "UPDATE payment_tasks SET state = 'pending', tries = 0, next_try_at = now(), updated_at = now()
         WHERE id = $1",
    )
    .bind(task_id)
    .execute(&mut *tx)
    .await?;
    entry
        .clone()
        .before(serde_json::json!({ "state": state, "tries": tries }))
        .after(serde_json::json!({ "state": "pending", "tries": 0 }))
        .record(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(())
}
