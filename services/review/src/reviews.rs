//! `/api/reviews`: shoppers review products (one review per product and shopper, editable), vote reviews
//! helpful and report them; product pages read the published reviews (newest or most helpful first, by
//! cursor) and the rating summary; merchandisers and ops moderate (publish held reviews, hide with a
//! reason), each moderation recorded in the audit trail. Every change of a product's published reviews
//! announces its new rating summary (`review.rating_summary.changed` on `bazaar.review`) through the
//! outbox, in the change's transaction.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bazaar_contracts::review::{RatingSummaryChanged, StarHistogram};
use bazaar_platform::audit::{AuditEntry, RequestId};
use bazaar_platform::auth::{CurrentUser, Role};
use bazaar_platform::kafka::{Outbox, OutboxError};
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::AppState;
use crate::config::Moderation;
use crate::text::{self, BODY_MAX, NAME_MAX, REASON_MAX, TITLE_MAX};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
/// Shown when a shopper gives no name.
const ANONYMOUS: &str = "A shopper";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_reviews))
        .routes(routes!(rating_summary))
        .routes(routes!(my_review, write_review, delete_review))
        .routes(routes!(vote_helpful, withdraw_vote))
        .routes(routes!(report_review))
        .routes(routes!(moderation_queue))
        .routes(routes!(hide_review))
        .routes(routes!(publish_review))
}

/// A shopper's review as written.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewInput {
    /// 1 to 5 stars.
    pub rating: i64,
    /// 1 to 120 characters, one line. Plain text: never rendered as HTML.
    pub title: String,
    /// Up to 5,000 characters; newlines kept. Plain text: never rendered as HTML.
    #[serde(default)]
    pub body: String,
    /// The variant bought or tried, one of the product's SKUs.
    pub sku: Option<String>,
    /// The name shown with the review (1 to 100 characters); "A shopper" when absent.
    pub author_name: Option<String>,
}

/// A review as shown. Text fields are plain text: clients must escape them, nothing here is HTML.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    pub id: Uuid,
    pub product_slug: String,
    pub sku: Option<String>,
    pub rating: i16,
    pub title: String,
    pub body: String,
    pub author_name: String,
    /// The author has a delivered order containing this product.
    pub verified_purchase: bool,
    pub helpful_count: i32,
    /// `published`, `pending` (held for moderation) or `hidden` (by staff).
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// For staff and the author: why it was hidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
    /// For staff: how many shoppers reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report_count: Option<i32>,
}

#[derive(Debug, sqlx::FromRow)]
struct ReviewRow {
    id: Uuid,
    product_slug: String,
    sku: Option<String>,
    rating: i16,
    title: String,
    body: String,
    author_name: String,
    status: String,
    hidden_reason: Option<String>,
    helpful_count: i32,
    report_count: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    verified: bool,
}

/// Who is looking, which decides what of a review they see.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Audience {
    Public,
    Author,
    Staff,
}

impl ReviewRow {
    fn view(self, audience: Audience) -> ReviewView {
        ReviewView {
            id: self.id,
            product_slug: self.product_slug,
            sku: self.sku,
            rating: self.rating,
            title: self.title,
            body: self.body,
            author_name: self.author_name,
            verified_purchase: self.verified,
            helpful_count: self.helpful_count,
            status: self.status,
            created_at: self.created_at,
            updated_at: self.updated_at,
            hidden_reason: (audience != Audience::Public)
                .then_some(self.hidden_reason)
                .flatten(),
            report_count: (audience == Audience::Staff).then_some(self.report_count),
        }
    }
}

/// Every column of a review plus whether it is a verified purchase: its author has a delivered order
/// with one of the product's SKUs (evaluated when read, so a delivery after the review counts).
const SELECT_REVIEW: &str =
    "SELECT r.id, r.product_slug, r.author, r.sku, r.rating, r.title, r.body,
        r.author_name, r.status, r.hidden_reason, r.helpful_count, r.report_count, r.created_at,
        r.updated_at,
        EXISTS (SELECT 1 FROM purchases p JOIN variants v ON v.sku = p.sku
                WHERE p.user_id = r.author AND p.delivered_at IS NOT NULL
                  AND v.product_slug = r.product_slug) AS verified
     FROM reviews r";

/// How a page of reviews is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Most recently written first.
    #[default]
    Newest,
    /// Most "helpful" votes first, newest first among equals.
    Helpful,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// `newest` (default) or `helpful`.
    pub sort: Option<Sort>,
    /// Only reviews with this many stars.
    pub rating: Option<i16>,
    /// From `nextCursor` of the previous page (with the same `sort`).
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// A page of reviews.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewPage {
    pub items: Vec<ReviewView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Where the next page starts: after this review, which had this many helpful votes.
struct Cursor {
    helpful: i32,
    id: Uuid,
}

impl Cursor {
    fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.helpful, self.id))
    }

    fn decode(text: &str) -> Result<Self, Problem> {
        let invalid = || {
            Problem::validation(vec![FieldError {
                field: "cursor".to_owned(),
                message: "is not a cursor this API returned".to_owned(),
            }])
        };
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (helpful, id) = text.split_once(':').ok_or_else(invalid)?;
        Ok(Cursor {
            helpful: helpful.parse().map_err(|_| invalid())?,
            id: id.parse().map_err(|_| invalid())?,
        })
    }
}

fn checked_limit(limit: Option<u32>) -> Result<u32, Problem> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(field_error(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        ))
    }
}

fn field_error(field: &str, message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError {
        field: field.to_owned(),
        message: message.into(),
    }])
}

/// The published reviews of a product, newest or most helpful first.
#[utoipa::path(get, path = "/api/reviews/products/{slug}", tag = "reviews",
    params(("slug" = String, Path, description = "The product's slug"), PageParams),
    responses(
        (status = 200, description = "Published reviews", body = ReviewPage),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor, limit or rating", body = Problem, content_type = "application/problem+json"),
    ))]
async fn list_reviews(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(params): ApiQuery<PageParams>,
) -> Result<ApiJson<ReviewPage>, Problem> {
    let limit = checked_limit(params.limit)?;
    let sort = params.sort.unwrap_or_default();
    if let Some(rating) = params.rating
        && !(1..=5).contains(&rating)
    {
        return Err(field_error("rating", "must be from 1 to 5"));
    }
    let cursor = params.cursor.as_deref().map(Cursor::decode).transpose()?;
    let order = match sort {
        Sort::Newest => "AND ($3::uuid IS NULL OR r.id < $3) ORDER BY r.id DESC LIMIT $5",
        Sort::Helpful => {
            "AND ($3::uuid IS NULL OR (r.helpful_count, r.id) < ($4, $3))
             ORDER BY r.helpful_count DESC, r.id DESC LIMIT $5"
        }
    };
    let sql = format!(
        "{SELECT_REVIEW} WHERE r.product_slug = $1 AND r.status = 'published'
           AND ($2::smallint IS NULL OR r.rating = $2) {order}"
    );
    let mut rows: Vec<ReviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&slug)
        .bind(params.rating)
        .bind(cursor.as_ref().map(|c| c.id))
        .bind(cursor.as_ref().map_or(0, |c| c.helpful))
        .bind(i64::from(limit) + 1)
        .fetch_all(&state.db)
        .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|row| {
            Cursor {
                helpful: row.helpful_count,
                id: row.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(ApiJson(ReviewPage {
        items: rows
            .into_iter()
            .map(|row| row.view(Audience::Public))
            .collect(),
        next_cursor,
    }))
}

/// A product's rating: published reviews only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RatingSummary {
    pub product_slug: String,
    pub count: i64,
    /// Mean stars, rounded to two decimals; absent without reviews.
    pub average: Option<f64>,
    /// Reviews by stars, `"1"` to `"5"`.
    pub histogram: BTreeMap<String, i64>,
}

#[derive(Debug, Default, sqlx::FromRow)]
struct SummaryRow {
    stars_1: i32,
    stars_2: i32,
    stars_3: i32,
    stars_4: i32,
    stars_5: i32,
}

impl SummaryRow {
    fn histogram(&self) -> StarHistogram {
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        StarHistogram::from_counts([
            count(self.stars_1),
            count(self.stars_2),
            count(self.stars_3),
            count(self.stars_4),
            count(self.stars_5),
        ])
    }

    fn summary(&self, slug: String) -> RatingSummary {
        let histogram = self.histogram();
        RatingSummary {
            product_slug: slug,
            count: i64::from(histogram.count()),
            average: histogram.average(),
            histogram: (1..=5)
                .zip(histogram.counts())
                .map(|(stars, n)| (stars.to_string(), i64::from(n)))
                .collect(),
        }
    }
}

/// The rating summary of a product (count, average, histogram), kept up to date in the transaction of
/// every review change.
#[utoipa::path(get, path = "/api/reviews/products/{slug}/summary", tag = "reviews",
    params(("slug" = String, Path, description = "The product's slug")),
    responses((status = 200, description = "Rating summary; zero counts for a product without reviews", body = RatingSummary)))]
async fn rating_summary(
    State(state): State<AppState>,
    ApiPath(slug): ApiPath<String>,
) -> Result<ApiJson<RatingSummary>, Problem> {
    let row: Option<SummaryRow> = sqlx::query_as(
        "SELECT stars_1, stars_2, stars_3, stars_4, stars_5 FROM rating_summaries WHERE product_slug = $1",
    )
    .bind(&slug)
    .fetch_optional(&state.db)
    .await?;
    Ok(ApiJson(row.unwrap_or_default().summary(slug)))
}

/// Adds (`delta` = 1) or removes (-1) one published review of `rating` stars to its product's summary.
async fn count_in_summary(
    tx: &mut PgConnection,
    slug: &str,
    rating: i16,
    delta: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO rating_summaries (product_slug) VALUES ($1) ON CONFLICT (product_slug) DO NOTHING",
    )
    .bind(slug)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE rating_summaries SET
             stars_1 = stars_1 + CASE WHEN $2 = 1 THEN $3 ELSE 0 END,
             stars_2 = stars_2 + CASE WHEN $2 = 2 THEN $3 ELSE 0 END,
             stars_3 = stars_3 + CASE WHEN $2 = 3 THEN $3 ELSE 0 END,
             stars_4 = stars_4 + CASE WHEN $2 = 4 THEN $3 ELSE 0 END,
             stars_5 = stars_5 + CASE WHEN $2 = 5 THEN $3 ELSE 0 END,
             updated_at = now()
         WHERE product_slug = $1",
    )
    .bind(slug)
    .bind(rating)
    .bind(delta)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Moves a review in or out of its product's summary as its status and rating change, and announces the
/// new summary (`review.rating_summary.changed`) through the outbox in the same transaction. A change that
/// leaves the summary as it was (an edit keeping the stars, a held review edited) changes and announces
/// nothing.
async fn recount(
    tx: &mut PgConnection,
    outbox: &Outbox,
    slug: &str,
    before: Option<(&str, i16)>,
    after: Option<(&str, i16)>,
) -> Result<(), OutboxError> {
    let counted = |review: Option<(&str, i16)>| {
        review.and_then(|(status, rating)| (status == "published").then_some(rating))
    };
    let (before, after) = (counted(before), counted(after));
    if before == after {
        return Ok(());
    }
    if let Some(rating) = before {
        count_in_summary(tx, slug, rating, -1).await?;
    }
    if let Some(rating) = after {
        count_in_summary(tx, slug, rating, 1).await?;
    }
    let row: SummaryRow = sqlx::query_as(
        "SELECT stars_1, stars_2, stars_3, stars_4, stars_5 FROM rating_summaries WHERE product_slug = $1",
    )
    .bind(slug)
    .fetch_one(&mut *tx)
    .await?;
    outbox
        .enqueue(tx, &RatingSummaryChanged::new(slug, row.histogram()))
        .await?;
    Ok(())
}

async fn load(
    tx: &mut PgConnection,
    condition: &str,
    bind: &str,
) -> Result<Option<ReviewRow>, sqlx::Error> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_REVIEW} WHERE {condition} FOR UPDATE OF r"
    )))
    .bind(bind)
    .fetch_optional(&mut *tx)
    .await
}

async fn load_by_id(tx: &mut PgConnection, id: Uuid) -> Result<Option<ReviewRow>, sqlx::Error> {
    load(tx, "r.id = $1::uuid", &id.to_string()).await
}

fn parse_id(id: &str) -> Result<Uuid, Problem> {
    id.parse()
        .map_err(|_| Problem::not_found("No such review."))
}

/// The caller's own review of a product, whatever its status.
#[utoipa::path(get, path = "/api/reviews/products/{slug}/mine", tag = "reviews",
    params(("slug" = String, Path, description = "The product's slug")),
    responses(
        (status = 200, description = "The caller's review", body = ReviewView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No review of this product by the caller", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn my_review(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<ApiJson<ReviewView>, Problem> {
    let mut conn = state.db.acquire().await?;
    let row: Option<ReviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_REVIEW} WHERE r.product_slug = $1 AND r.author = $2"
    )))
    .bind(&slug)
    .bind(&user.id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| ApiJson(row.view(Audience::Author)))
        .ok_or_else(|| Problem::not_found("You have not reviewed this product."))
}

struct CheckedReview {
    rating: i16,
    title: String,
    body: String,
    sku: Option<String>,
    author_name: String,
}

fn check(input: ReviewInput) -> Result<CheckedReview, Problem> {
    let mut errors = Vec::new();
    let rating = i16::try_from(input.rating)
        .ok()
        .filter(|r| (1..=5).contains(r));
    if rating.is_none() {
        errors.push(FieldError {
            field: "rating".to_owned(),
            message: "must be a whole number of stars from 1 to 5".to_owned(),
        });
    }
    let title = text::checked("title", &input.title, 1, TITLE_MAX, false)
        .map_err(|e| errors.push(e))
        .ok();
    let body = text::checked("body", &input.body, 0, BODY_MAX, true)
        .map_err(|e| errors.push(e))
        .ok();
    let author_name = match input.author_name.as_deref() {
        None => Some(ANONYMOUS.to_owned()),
        Some(name) => text::checked("authorName", name, 1, NAME_MAX, false)
            .map_err(|e| errors.push(e))
            .ok(),
    };
    match (rating, title, body, author_name) {
        (Some(rating), Some(title), Some(body), Some(author_name)) if errors.is_empty() => {
            Ok(CheckedReview {
                rating,
                title,
                body,
                sku: input.sku.map(|sku| sku.trim().to_owned()),
                author_name,
            })
        }
        _ => Err(Problem::validation(errors)),
    }
}

/// Writes the caller's review of a product, or edits it: one review per product and shopper. Held for
/// moderation when the shop says so (`REVIEW_MODERATION=hold`); a hidden review stays hidden when edited.
#[utoipa::path(put, path = "/api/reviews/products/{slug}/mine", tag = "reviews",
    params(("slug" = String, Path, description = "The product's slug")),
    request_body = ReviewInput,
    responses(
        (status = 200, description = "Review edited", body = ReviewView),
        (status = 201, description = "Review written", body = ReviewView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A concurrent first review by the same shopper; retry", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid rating, text or SKU", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn write_review(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> Result<(StatusCode, ApiJson<ReviewView>), Problem> {
    let review = check(input)?;
    state.limiter.hit(&user.id).await?;
    let mut tx = state.db.begin().await?;
    let product: Option<String> = sqlx::query_scalar("SELECT status FROM products WHERE slug = $1")
        .bind(&slug)
        .fetch_optional(&mut *tx)
        .await?;
    if !matches!(product.as_deref(), Some("active" | "archived")) {
        return Err(Problem::not_found("No such product."));
    }
    if let Some(sku) = &review.sku {
        let known: Option<bool> =
            sqlx::query_scalar("SELECT true FROM variants WHERE sku = $1 AND product_slug = $2")
                .bind(sku)
                .bind(&slug)
                .fetch_optional(&mut *tx)
                .await?;
        if known.is_none() {
            return Err(field_error(
                "sku",
                format!("{sku} is not a variant of {slug}"),
            ));
        }
    }
    let existing = sqlx::query_as::<_, (Uuid, String, i16)>(
        "SELECT id, status, rating FROM reviews WHERE product_slug = $1 AND author = $2 FOR UPDATE",
    )
    .bind(&slug)
    .bind(&user.id)
    .fetch_optional(&mut *tx)
    .await?;
    let held = state.config.moderation == Moderation::Hold;
    let (id, status, created) = match existing {
        Some((id, old_status, old_rating)) => {
            let status = match old_status.as_str() {
                "hidden" => "hidden",
                _ if held => "pending",
                "pending" => "pending",
                _ => "published",
            };
            sqlx::query(
                "UPDATE reviews SET rating = $2, title = $3, body = $4, sku = $5, author_name = $6,
                     status = $7, updated_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(review.rating)
            .bind(&review.title)
            .bind(&review.body)
            .bind(&review.sku)
            .bind(&review.author_name)
            .bind(status)
            .execute(&mut *tx)
            .await?;
            recount(
                &mut tx,
                &state.outbox,
                &slug,
                Some((&old_status, old_rating)),
                Some((status, review.rating)),
            )
            .await?;
            (id, status, false)
        }
        None => {
            let status = if held { "pending" } else { "published" };
            let inserted: Option<Uuid> = sqlx::query_scalar(
                "INSERT INTO reviews (id, product_slug, author, author_name, sku, rating, title, body, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (product_slug, author) DO NOTHING RETURNING id",
            )
            .bind(Uuid::now_v7())
            .bind(&slug)
            .bind(&user.id)
            .bind(&review.author_name)
            .bind(&review.sku)
            .bind(review.rating)
            .bind(&review.title)
            .bind(&review.body)
            .bind(status)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = inserted else {
                return Err(Problem::conflict(
                    "Your review of this product was being written by another request; try again.",
                ));
            };
            recount(
                &mut tx,
                &state.outbox,
                &slug,
                None,
                Some((status, review.rating)),
            )
            .await?;
            (id, status, true)
        }
    };
    let row = load_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Problem::internal(&"a review written in this transaction vanished"))?;
    tx.commit().await?;
    tracing::info!(review = %id, product = %slug, status, "review written");
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, ApiJson(row.view(Audience::Author))))
}

/// Deletes the caller's review of a product.
#[utoipa::path(delete, path = "/api/reviews/products/{slug}/mine", tag = "reviews",
    params(("slug" = String, Path, description = "The product's slug")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No review of this product by the caller", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn delete_review(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(slug): ApiPath<String>,
) -> Result<StatusCode, Problem> {
    state.limiter.hit(&user.id).await?;
    let mut tx = state.db.begin().await?;
    let deleted: Option<(String, i16)> = sqlx::query_as(
        "DELETE FROM reviews WHERE product_slug = $1 AND author = $2 RETURNING status, rating",
    )
    .bind(&slug)
    .bind(&user.id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, rating)) = deleted else {
        return Err(Problem::not_found("You have not reviewed this product."));
    };
    recount(&mut tx, &state.outbox, &slug, Some((&status, rating)), None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Helpful votes of a review after a vote.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Helpfulness {
    pub review_id: Uuid,
    pub helpful_count: i32,
    /// Whether the caller's vote is counted.
    pub voted: bool,
}

/// Marks a published review helpful (once per shopper; repeating changes nothing). Not one's own.
#[utoipa::path(put, path = "/api/reviews/{id}/helpful", tag = "reviews",
    params(("id" = String, Path, description = "The review's id")),
    responses(
        (status = 200, description = "Vote counted", body = Helpfulness),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such published review", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "One's own review", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn vote_helpful(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Helpfulness>, Problem> {
    vote(&state, &user, &id, true).await
}

/// Withdraws the caller's helpful vote (repeating changes nothing).
#[utoipa::path(delete, path = "/api/reviews/{id}/helpful", tag = "reviews",
    params(("id" = String, Path, description = "The review's id")),
    responses(
        (status = 200, description = "Vote withdrawn", body = Helpfulness),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such published review", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn withdraw_vote(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<Helpfulness>, Problem> {
    vote(&state, &user, &id, false).await
}

async fn vote(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    helpful: bool,
) -> Result<ApiJson<Helpfulness>, Problem> {
    let id = parse_id(id)?;
    state.limiter.hit(&user.id).await?;
    let mut tx = state.db.begin().await?;
    let review: Option<(String, String)> =
        sqlx::query_as("SELECT author, status FROM reviews WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    match review {
        Some((_, status)) if status != "published" => {
            return Err(Problem::not_found("No such review."));
        }
        None => return Err(Problem::not_found("No such review.")),
        Some((author, _)) if author == user.id && helpful => {
            return Err(field_error("id", "you cannot vote for your own review"));
        }
        Some(_) => {}
    }
    let changed = if helpful {
        sqlx::query(
            "INSERT INTO review_votes (review_id, voter) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query("DELETE FROM review_votes WHERE review_id = $1 AND voter = $2")
            .bind(id)
            .bind(&user.id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
    };
    let delta: i32 = match (changed, helpful) {
        (0, _) => 0,
        (_, true) => 1,
        (_, false) => -1,
    };
    let helpful_count: i32 = sqlx::query_scalar(
        "UPDATE reviews SET helpful_count = helpful_count + $2 WHERE id = $1 RETURNING helpful_count",
    )
    .bind(id)
    .bind(delta)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ApiJson(Helpfulness {
        review_id: id,
        helpful_count,
        voted: helpful,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReportInput {
    /// What is wrong with the review, 1 to 500 characters.
    pub reason: String,
}

/// Acknowledgement of a report.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reported {
    pub review_id: Uuid,
    /// False when the caller had reported it before (the first report stands).
    pub new_report: bool,
}

/// Reports a review to the moderators (once per shopper). Reports do not hide a review by themselves:
/// staff decide, from the moderation queue.
#[utoipa::path(post, path = "/api/reviews/{id}/reports", tag = "reviews",
    params(("id" = String, Path, description = "The review's id")),
    request_body = ReportInput,
    responses(
        (status = 200, description = "Reported", body = Reported),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such published review", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason, or one's own review", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many writes; see Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn report_review(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReportInput>,
) -> Result<ApiJson<Reported>, Problem> {
    let id = parse_id(&id)?;
    let reason = text::checked("reason", &input.reason, 1, REASON_MAX, true)
        .map_err(|e| Problem::validation(vec![e]))?;
    state.limiter.hit(&user.id).await?;
    let mut tx = state.db.begin().await?;
    let author: Option<String> = sqlx::query_scalar(
        "SELECT author FROM reviews WHERE id = $1 AND status = 'published' FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(author) = author else {
        return Err(Problem::not_found("No such review."));
    };
    if author == user.id {
        return Err(field_error("id", "you cannot report your own review"));
    }
    let new_report = sqlx::query(
        "INSERT INTO review_reports (review_id, reporter, reason) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(&user.id)
    .bind(&reason)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if new_report {
        sqlx::query("UPDATE reviews SET report_count = report_count + 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(ApiJson(Reported {
        review_id: id,
        new_report,
    }))
}

fn require_moderator(user: &CurrentUser) -> Result<(), Problem> {
    if user.has_role(Role::Merchandiser) || user.has_role(Role::Ops) {
        Ok(())
    } else {
        Err(Problem::forbidden(
            "Moderating reviews needs the merchandiser or ops role.",
        ))
    }
}

/// Which reviews the moderation queue shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Queue {
    /// Held for moderation (default).
    #[default]
    Pending,
    /// Reported by at least one shopper, whatever their status.
    Reported,
    /// Hidden by staff.
    Hidden,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// `pending` (default), `reported` or `hidden`.
    pub queue: Option<Queue>,
    /// From `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
}

/// Staff: reviews waiting for a decision, newest first.
#[utoipa::path(get, path = "/api/reviews/moderation", tag = "reviews",
    params(QueueParams),
    responses(
        (status = 200, description = "Reviews in the queue, newest first", body = ReviewPage),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a merchandiser or ops", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid cursor or limit", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn moderation_queue(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> Result<ApiJson<ReviewPage>, Problem> {
    require_moderator(&user)?;
    let limit = checked_limit(params.limit)?;
    let cursor = params.cursor.as_deref().map(Cursor::decode).transpose()?;
    let filter = match params.queue.unwrap_or_default() {
        Queue::Pending => "r.status = 'pending'",
        Queue::Reported => "r.report_count > 0",
        Queue::Hidden => "r.status = 'hidden'",
    };
    let mut rows: Vec<ReviewRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{SELECT_REVIEW} WHERE {filter} AND ($1::uuid IS NULL OR r.id < $1) ORDER BY r.id DESC LIMIT $2"
    )))
    .bind(cursor.map(|c| c.id))
    .bind(i64::from(limit) + 1)
    .fetch_all(&state.db)
    .await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if more {
        rows.last().map(|row| {
            Cursor {
                helpful: 0,
                id: row.id,
            }
            .encode()
        })
    } else {
        None
    };
    Ok(ApiJson(ReviewPage {
        items: rows
            .into_iter()
            .map(|row| row.view(Audience::Staff))
            .collect(),
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HideInput {
    /// Why, 1 to 500 characters; shown to the author.
    pub reason: String,
}

/// Staff: hides a review (from listings and the summary) with a reason. Audited as `review.hide`.
#[utoipa::path(post, path = "/api/reviews/{id}/hide", tag = "reviews",
    params(("id" = String, Path, description = "The review's id")),
    request_body = HideInput,
    responses(
        (status = 200, description = "Hidden", body = ReviewView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a merchandiser or ops", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such review", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid reason", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn hide_review(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<HideInput>,
) -> Result<ApiJson<ReviewView>, Problem> {
    require_moderator(&user)?;
    let audit = AuditEntry::new(&user, &request_id, "review.hide", "review", id.clone());
    audit
        .on_failure(&state.db, async {
            let id = parse_id(&id)?;
            let reason = text::checked("reason", &input.reason, 1, REASON_MAX, true)
                .map_err(|e| Problem::validation(vec![e]))?;
            moderate(&state, &audit, id, "hidden", Some(&reason)).await
        })
        .await
}

/// Staff: publishes a held review, or shows a hidden one again. Audited as `review.publish`.
#[utoipa::path(post, path = "/api/reviews/{id}/publish", tag = "reviews",
    params(("id" = String, Path, description = "The review's id")),
    responses(
        (status = 200, description = "Published", body = ReviewView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a merchandiser or ops", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such review", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
async fn publish_review(
    State(state): State<AppState>,
    user: CurrentUser,
    request_id: RequestId,
    ApiPath(id): ApiPath<String>,
) -> Result<ApiJson<ReviewView>, Problem> {
    require_moderator(&user)?;
    let audit = AuditEntry::new(&user, &request_id, "review.publish", "review", id.clone());
    audit
        .on_failure(&state.db, async {
            let id = parse_id(&id)?;
            moderate(&state, &audit, id, "published", None).await
        })
        .await
}

#[derive(Serialize)]
struct ModerationState<'a> {
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

async fn moderate(
    state: &AppState,
    audit: &AuditEntry,
    id: Uuid,
    status: &str,
    reason: Option<&str>,
) -> Result<ApiJson<ReviewView>, Problem> {
    let mut tx = state.db.begin().await?;
    let before = load_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Problem::not_found("No such review."))?;
    sqlx::query(
        "UPDATE reviews SET status = $2, hidden_reason = $3, updated_at = now() WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    recount(
        &mut tx,
        &state.outbox,
        &before.product_slug,
        Some((&before.status, before.rating)),
        Some((status, before.rating)),
    )
    .await?;
    audit
        .clone()
        .before(ModerationState {
            status: &before.status,
            reason: before.hidden_reason.as_deref(),
        })
        .after(ModerationState { status, reason })
        .record(&mut tx)
        .await?;
    let row = load_by_id(&mut tx, id)
        .await?
        .ok_or_else(|| Problem::internal(&"a review moderated in this transaction vanished"))?;
    tx.commit().await?;
    tracing::info!(review = %id, status, "review moderated");
    Ok(ApiJson(row.view(Audience::Staff)))
}
