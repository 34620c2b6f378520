//! Queries of the read side. Reads never see Draft or Archived products.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::model::{Fulfillment, Image, Product, Promotion, Store};

/// Everything small enough to hold whole: promotions, fulfillment policies and stores.
#[derive(Debug, Clone, Default)]
pub struct Reference {
    pub promotions: Vec<Promotion>,
    pub fulfillments: Vec<Fulfillment>,
    pub stores: Vec<Store>,
}

/// A stored spec this code cannot read: the model changed without a migration of the rows (or a row was
/// written by hand). Never skipped: a skipped row would silently hide a product, a store or a promotion.
#[derive(Debug, thiserror::Error)]
#[error("a row of catalog table `{table}` cannot be read by this version: {source}")]
pub struct UnreadableRow {
    pub table: &'static str,
    #[source]
    pub source: serde_json::Error,
}

/// Decodes stored specs, failing the whole read at the first row that does not decode. The error reaches
/// the client as a 500 problem (`Problem::from_db`: a decode error is a bug, not an outage), is logged at
/// error level naming the table, and counts in `bazaar_http_requests_total{status="500"}`, which the 5xx
/// alert watches.
fn parse_specs<T: DeserializeOwned>(
    table: &'static str,
    specs: Vec<serde_json::Value>,
) -> sqlx::Result<Vec<T>> {
    specs
        .into_iter()
        .map(|spec| {
            serde_json::from_value(spec).map_err(|source| {
                let error = UnreadableRow { table, source };
                tracing::error!(%error, "unreadable catalog row: failing the read");
                sqlx::Error::Decode(Box::new(error))
            })
        })
        .collect()
}

/// The one spec of a row.
fn parse_spec<T: DeserializeOwned>(
    table: &'static str,
    spec: serde_json::Value,
) -> sqlx::Result<T> {
    parse_specs(table, vec![spec])?
        .pop()
        .ok_or_else(|| sqlx::Error::Protocol("a spec decoded to nothing".into()))
}

pub async fn load_reference(pool: &PgPool) -> sqlx::Result<Reference> {
    let promotions = sqlx::query_scalar("SELECT spec FROM promotions ORDER BY namespace, name")
        .fetch_all(pool)
        .await?;
    let fulfillments = sqlx::query_scalar("SELECT spec FROM fulfillments ORDER BY namespace, name")
        .fetch_all(pool)
        .await?;
    let stores = sqlx::query_scalar("SELECT spec FROM stores ORDER BY namespace, name")
        .fetch_all(pool)
        .await?;
    Ok(Reference {
        promotions: parse_specs("promotions", promotions)?,
        fulfillments: parse_specs("fulfillments", fulfillments)?,
        stores: parse_specs("stores", stores)?,
    })
}

/// The products owning any of `skus`, whatever their lifecycle (the engine flags what is not for sale).
pub async fn products_for_skus(pool: &PgPool, skus: &[String]) -> sqlx::Result<Vec<Product>> {
    let specs = sqlx::query_scalar(
        "SELECT p.spec FROM products p
         WHERE p.id IN (SELECT product_id FROM variants WHERE sku = ANY($1))
         ORDER BY p.namespace, p.name",
    )
    .bind(skus)
    .fetch_all(pool)
    .await?;
    parse_specs("products", specs)
}

pub async fn active_product_by_slug(pool: &PgPool, slug: &str) -> sqlx::Result<Option<Product>> {
    let spec: Option<serde_json::Value> =
        sqlx::query_scalar("SELECT spec FROM products WHERE slug = $1 AND lifecycle = 'Active'")
            .bind(slug)
            .fetch_optional(pool)
            .await?;
    spec.map(|s| parse_spec("products", s)).transpose()
}

/// Active products per category path.
pub async fn category_counts(pool: &PgPool) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT category, count(*) FROM products WHERE lifecycle = 'Active'
         GROUP BY category ORDER BY category",
    )
    .fetch_all(pool)
    .await
}

/// Where the shopper is: a point and how far to look around it.
#[derive(Debug, Clone, Copy)]
pub struct Around {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: f64,
}

/// Active retail stores (warehouses are not for shoppers) whose text (display name, resource name, street
/// lines, city, region, postcode, country) contains every one of `words` (case-insensitive, as plain text),
/// and within the radius of `around` when given: nearest first with distances, or by display name without
/// a point.
pub async fn find_stores(
    pool: &PgPool,
    around: Option<Around>,
    words: &[String],
    pickup_only: bool,
    limit: i64,
) -> sqlx::Result<Vec<(Store, Option<f64>)>> {
    let patterns: Vec<String> = words
        .iter()
        .map(|word| {
            let escaped = word
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        })
        .collect();
    // Haversine on a sphere of the Earth's mean radius; plenty for "stores near me".
    let rows: Vec<(serde_json::Value, Option<f64>)> = sqlx::query_as(
        "SELECT spec, distance_km FROM (
             SELECT spec, namespace, name, display_name,
                    CASE WHEN $1::float8 IS NULL THEN NULL ELSE
                    2 * 6371.0088 * asin(least(1.0, sqrt(
                        power(sin(radians(latitude - $1) / 2), 2) +
                        cos(radians($1)) * cos(radians(latitude)) * power(sin(radians(longitude - $2) / 2), 2)
                    ))) END AS distance_km,
                    concat_ws(' ', display_name, name, spec -> 'address' ->> 'city',
                              spec -> 'address' ->> 'region', spec -> 'address' ->> 'postalCode',
                              spec -> 'address' ->> 'country',
                              (SELECT string_agg(line, ' ')
                               FROM jsonb_array_elements_text(spec -> 'address' -> 'lines') line)) AS text
             FROM stores
             WHERE active AND kind = 'Retail' AND (pickup OR NOT $4)
         ) s
         WHERE ($3::float8 IS NULL OR distance_km <= $3) AND text ILIKE ALL($5)
         ORDER BY distance_km NULLS LAST, display_name, namespace, name
         LIMIT $6",
    )
    .bind(around.map(|a| a.lat))
    .bind(around.map(|a| a.lon))
    .bind(around.map(|a| a.radius_km))
    .bind(pickup_only)
    .bind(&patterns)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(spec, distance)| Ok((parse_spec::<Store>("stores", spec)?, distance)))
        .collect()
}

/// How a product list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best text match first (with `q`); without `q`, featured first, then newest.
    Relevance,
    Newest,
    Title,
    /// Lowest price in `currency` first.
    PriceAsc,
    /// Highest price in `currency` first.
    PriceDesc,
    /// Best average rating first (more reviews first among equals); products without reviews last.
    Rating,
}

impl Sort {
    pub fn needs_currency(self) -> bool {
        matches!(self, Sort::PriceAsc | Sort::PriceDesc)
    }
}

/// Where the next page starts: the sort key of the last item shown. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "s", rename_all = "snake_case")]
pub enum CursorKey {
    Relevance {
        r: f32,
        id: Uuid,
    },
    Featured {
        f: bool,
        t: DateTime<Utc>,
        id: Uuid,
    },
    Newest {
        t: DateTime<Utc>,
        id: Uuid,
    },
    Title {
        t: String,
        id: Uuid,
    },
    PriceAsc {
        c: String,
        p: i64,
        id: Uuid,
    },
    PriceDesc {
        c: String,
        p: i64,
        id: Uuid,
    },
    Rating {
        a: f64,
        n: i32,
        id: Uuid,
    },
    /// The staff view's order: by resource.
    Resource {
        ns: String,
        n: String,
    },
}

impl CursorKey {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<CursorKey> {
        let bytes = URL_SAFE_NO_PAD.decode(text.trim()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A validated product search.
#[derive(Debug, Clone)]
pub struct ProductFilter {
    pub category: Option<String>,
    pub text: Option<String>,
    pub featured: Option<bool>,
    /// ISO code; needed for price bounds and price sorts.
    pub currency: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// Attribute or variant option names, each with the values any of which a product must have.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Lowest average rating (products without reviews have none).
    pub min_rating: Option<f64>,
    pub sort: Sort,
    pub after: Option<CursorKey>,
    pub limit: i64,
}

impl ProductFilter {
    /// Whether only products priced in `currency` are wanted (price bounds or a price sort).
    fn needs_price(&self) -> bool {
        self.currency.is_some()
            && (self.sort.needs_currency() || self.min_price.is_some() || self.max_price.is_some())
    }
}

/// A product in a list page: what its summary shows, read from columns (no spec is decoded).
#[derive(Debug, sqlx::FromRow)]
pub struct ListedRow {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub slug: String,
    pub title: String,
    pub brand: Option<String>,
    pub category: String,
    pub featured: bool,
    /// The first image.
    pub image: Option<Json<Image>>,
    /// The cheapest variant's list price in the filter's currency.
    pub price: Option<i64>,
    /// The cheapest variant's list price per currency code, in minor units.
    pub min_prices: Json<BTreeMap<String, i64>>,
    pub title_key: String,
    pub rank: f32,
    /// The average rating; absent without reviews.
    pub rating_average: Option<f64>,
    /// Published reviews (0 without).
    pub rating_count: i32,
    /// The rating sort's key: the average, 0 without reviews.
    pub rating_key: f64,
}

/// `FROM products p` with the price join and every filter of `filter` (not the cursor): the rows a listing
/// pages through and the facets count.
fn push_from_where(q: &mut QueryBuilder<Postgres>, filter: &ProductFilter) {
    q.push(" FROM products p");
    if let Some(currency) = &filter.currency {
        q.push(if filter.needs_price() {
            " JOIN"
        } else {
            " LEFT JOIN"
        });
        q.push(" product_prices pp ON pp.product_id = p.id AND pp.currency = ");
        q.push_bind(currency.clone());
    }
    q.push(" LEFT JOIN product_ratings r ON r.slug = p.slug WHERE p.lifecycle = 'Active'");
    if let Some(category) = &filter.category {
        q.push(" AND (p.category = ");
        q.push_bind(category.clone());
        q.push(" OR starts_with(p.category, ");
        q.push_bind(format!("{category}/"));
        q.push("))");
    }
    if let Some(text) = &filter.text {
        q.push(" AND p.search @@ websearch_to_tsquery('english', ");
        q.push_bind(text.clone());
        q.push(")");
    }
    if let Some(featured) = filter.featured {
        q.push(" AND p.featured = ");
        q.push_bind(featured);
    }
    if filter.currency.is_some() {
        if let Some(min) = filter.min_price {
            q.push(" AND pp.min_minor >= ");
            q.push_bind(min);
        }
        if let Some(max) = filter.max_price {
            q.push(" AND pp.min_minor <= ");
            q.push_bind(max);
        }
    }
    if let Some(min) = filter.min_rating {
        q.push(" AND r.average >= ");
        q.push_bind(min);
    }
    push_attribute_filters(q, &filter.attributes);
}

fn push_attribute_filters(q: &mut QueryBuilder<Postgres>, attributes: &[(String, Vec<String>)]) {
    for (name, values) in attributes {
        q.push(" AND p.id IN (SELECT f.product_id FROM product_facets f WHERE f.name = ");
        q.push_bind(name.clone());
        q.push(" AND f.value = ANY(");
        q.push_bind(values.clone());
        q.push("))");
    }
}

/// One page of products and the key to continue after it. One query: the page's rows come in the sort's
/// index order (no sort of every product), and each row is read from columns.
pub async fn list_products(
    pool: &PgPool,
    filter: &ProductFilter,
) -> sqlx::Result<(Vec<ListedRow>, Option<CursorKey>)> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT id, created_at, slug, title, brand, category, featured, image, price, min_prices, title_key,
                rank, rating_average, rating_count, rating_key
         FROM (SELECT p.id, p.created_at, p.slug, p.title, p.brand, p.category, p.featured,
                      p.spec -> 'images' -> 0 AS image, p.min_prices, lower(p.title) AS title_key,
                      r.average AS rating_average, coalesce(r.count, 0) AS rating_count,
                      coalesce(r.average, 0) AS rating_key, ",
    );
    if filter.currency.is_some() {
        q.push("pp.min_minor AS price, ");
    } else {
        q.push("NULL::bigint AS price, ");
    }
    match &filter.text {
        Some(text) => {
            q.push("ts_rank(p.search, websearch_to_tsquery('english', ");
            q.push_bind(text.clone());
            q.push(")) AS rank");
        }
        None => {
            q.push("0::real AS rank");
        }
    }
    push_from_where(&mut q, filter);
    q.push(") s WHERE true");
    if let Some(after) = &filter.after {
        match after {
            CursorKey::Relevance { r, id } => {
                q.push(" AND (rank, id) < (");
                q.push_bind(*r);
                q.push("::real, ");
                q.push_bind(*id);
                q.push(")");
            }
            CursorKey::Featured { f, t, id } => {
                q.push(" AND (featured, created_at, id) < (");
                q.push_bind(*f);
                q.push(", ");
                q.push_bind(*t);
                q.push(", ");
                q.push_bind(*id);
                q.push(")");
            }
            CursorKey::Newest { t, id } => {
                q.push(" AND (created_at, id) < (");
                q.push_bind(*t);
                q.push(", ");
                q.push_bind(*id);
                q.push(")");
            }
            CursorKey::Title { t, id } => {
                q.push(" AND (title_key, id) > (");
                q.push_bind(t.clone());
                q.push(", ");
                q.push_bind(*id);
                q.push(")");
            }
            CursorKey::PriceAsc { p, id, .. } => {
                q.push(" AND (price, id) > (");
                q.push_bind(*p);
                q.push(", ");
                q.push_bind(*id);
                q.push(")");
            }
            CursorKey::PriceDesc { p, id, .. } => {
                q.push(" AND (price, id) < (");
                q.push_bind(*p);
                q.push(", ");
                q.push_bind(*id);
                q.push(")");
            }
            CursorKey::Rating { a, n, id } => {
                q.push(" AND (rating_key, rating_count, id) < (");
                q.push_bind(*a);
                q.push("::float8, ");
                q.push_bind(*n);
                q.push(", ");
                q.push_bind(*id);
                q.push(")");
            }
            // The staff view's cursor; `cursor_fits` refuses it for a listing.
            CursorKey::Resource { .. } => {}
        }
    }
    let with_text = filter.text.is_some();
    q.push(match (filter.sort, with_text) {
        (Sort::Relevance, true) => " ORDER BY rank DESC, id DESC",
        (Sort::Relevance, false) => " ORDER BY featured DESC, created_at DESC, id DESC",
        (Sort::Newest, _) => " ORDER BY created_at DESC, id DESC",
        (Sort::Title, _) => " ORDER BY title_key, id",
        (Sort::PriceAsc, _) => " ORDER BY price, id",
        (Sort::PriceDesc, _) => " ORDER BY price DESC, id DESC",
        (Sort::Rating, _) => " ORDER BY rating_key DESC, rating_count DESC, id DESC",
    });
    q.push(" LIMIT ");
    q.push_bind(filter.limit + 1);
    let mut rows: Vec<ListedRow> = q.build_query_as().fetch_all(pool).await?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or(0));
    let next = if more {
        rows.last().map(|row| cursor_for(filter, with_text, row))
    } else {
        None
    };
    Ok((rows, next))
}

fn cursor_for(filter: &ProductFilter, with_text: bool, row: &ListedRow) -> CursorKey {
    let currency = filter.currency.clone().unwrap_or_default();
    let id = row.id;
    match (filter.sort, with_text) {
        (Sort::Relevance, true) => CursorKey::Relevance { r: row.rank, id },
        (Sort::Relevance, false) => CursorKey::Featured {
            f: row.featured,
            t: row.created_at,
            id,
        },
        (Sort::Newest, _) => CursorKey::Newest {
            t: row.created_at,
            id,
        },
        (Sort::Title, _) => CursorKey::Title {
            t: row.title_key.clone(),
            id,
        },
        (Sort::PriceAsc, _) => CursorKey::PriceAsc {
            c: currency,
            p: row.price.unwrap_or(0),
            id,
        },
        (Sort::PriceDesc, _) => CursorKey::PriceDesc {
            c: currency,
            p: row.price.unwrap_or(0),
            id,
        },
        (Sort::Rating, _) => CursorKey::Rating {
            a: row.rating_key,
            n: row.rating_count,
            id,
        },
    }
}

/// Products with one value of an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    pub name: String,
    pub value: String,
    pub count: i64,
}

/// The facets of a listing: how many products match every filter (`total`), and per attribute value how
/// many products would match if that value were picked, counted under every *other* filter (the attribute's
/// own picked values do not narrow its counts, so the other values stay offered). One query.
pub async fn facets(pool: &PgPool, filter: &ProductFilter) -> sqlx::Result<(i64, Vec<FacetCount>)> {
    let picked_names: Vec<String> = filter.attributes.iter().map(|(n, _)| n.clone()).collect();
    let (pair_names, pair_values): (Vec<String>, Vec<String>) = filter
        .attributes
        .iter()
        .flat_map(|(n, values)| values.iter().map(move |v| (n.clone(), v.clone())))
        .unzip();
    let groups = i64::try_from(picked_names.len()).unwrap_or(i64::MAX);
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new("WITH base AS (SELECT p.id");
    let unfiltered = ProductFilter {
        attributes: Vec::new(),
        ..filter.clone()
    };
    push_from_where(&mut q, &unfiltered);
    q.push(
        "), picked AS (
           SELECT DISTINCT f.product_id, f.name
           FROM product_facets f JOIN base b ON b.id = f.product_id
           JOIN unnest(",
    );
    q.push_bind(pair_names);
    q.push("::text[], ");
    q.push_bind(pair_values);
    q.push(
        "::text[]) AS s(name, value) ON s.name = f.name AND s.value = f.value)
         SELECT f.name, f.value, count(*) AS n
         FROM product_facets f JOIN base b ON b.id = f.product_id
         WHERE (SELECT count(*) FROM picked k WHERE k.product_id = f.product_id AND k.name <> f.name)
               = ",
    );
    q.push_bind(groups);
    q.push(" - (CASE WHEN f.name = ANY(");
    q.push_bind(picked_names);
    q.push(
        ") THEN 1 ELSE 0 END)
         GROUP BY f.name, f.value
         UNION ALL
         SELECT NULL, NULL, count(*) FROM base b
         WHERE (SELECT count(*) FROM picked k WHERE k.product_id = b.id) = ",
    );
    q.push_bind(groups);
    let rows: Vec<(Option<String>, Option<String>, i64)> =
        q.build_query_as().fetch_all(pool).await?;
    let mut total = 0;
    let mut counts = Vec::with_capacity(rows.len());
    for (name, value, count) in rows {
        match (name, value) {
            (Some(name), Some(value)) => counts.push(FacetCount { name, value, count }),
            _ => total = count,
        }
    }
    counts.sort_by(|a, b| (&a.name, &a.value).cmp(&(&b.name, &b.value)));
    Ok((total, counts))
}

/// A product as staff see it: whatever its lifecycle, with the resource it came from.
#[derive(Debug, sqlx::FromRow)]
pub struct StaffRow {
    pub namespace: String,
    pub name: String,
    pub slug: String,
    pub title: String,
    pub category: String,
    pub lifecycle: String,
    pub featured: bool,
    /// `metadata.generation` of the resource the projection was made from, when the operator made it.
    pub generation: Option<i64>,
    /// In variant order.
    pub skus: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Every product by namespace and name (optionally of one lifecycle), after `after`.
pub async fn staff_products(
    pool: &PgPool,
    lifecycle: Option<&str>,
    after: Option<(&str, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<StaffRow>> {
    sqlx::query_as(
        "SELECT p.namespace, p.name, p.slug, p.title, p.category, p.lifecycle, p.featured,
                (p.spec ->> 'sourceGeneration')::bigint AS generation,
                ARRAY(SELECT v.sku FROM variants v WHERE v.product_id = p.id ORDER BY v.position) AS skus,
                p.created_at, p.updated_at
         FROM products p
         WHERE ($1::text IS NULL OR p.lifecycle = $1)
           AND ($2::text IS NULL OR (p.namespace, p.name) > ($2, $3))
         ORDER BY p.namespace, p.name
         LIMIT $4",
    )
    .bind(lifecycle)
    .bind(after.map(|(ns, _)| ns))
    .bind(after.map(|(_, n)| n))
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Whether a cursor was made for this sort (and currency); a cursor from another listing is refused.
pub fn cursor_fits(
    cursor: &CursorKey,
    sort: Sort,
    with_text: bool,
    currency: Option<&str>,
) -> bool {
    match (cursor, sort, with_text) {
        (CursorKey::Relevance { .. }, Sort::Relevance, true)
        | (CursorKey::Featured { .. }, Sort::Relevance, false)
        | (CursorKey::Newest { .. }, Sort::Newest, _)
        | (CursorKey::Title { .. }, Sort::Title, _)
        | (CursorKey::Rating { .. }, Sort::Rating, _) => true,
        (CursorKey::PriceAsc { c, .. }, Sort::PriceAsc, _)
        | (CursorKey::PriceDesc { c, .. }, Sort::PriceDesc, _) => Some(c.as_str()) == currency,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let key = CursorKey::Relevance {
            r: 0.060_792_71,
            id: Uuid::now_v7(),
        };
        assert_eq!(CursorKey::decode(&key.encode()), Some(key));
        assert_eq!(CursorKey::decode("not a cursor"), None);
        assert_eq!(CursorKey::decode("eyJzIjoibm9wZSJ9"), None);
    }

    #[test]
    fn an_unreadable_row_fails_the_read_naming_its_table_instead_of_being_skipped() {
        let readable = serde_json::json!({"name": "a"});
        let unreadable = serde_json::json!({"name": 42});
        #[derive(Debug, serde::Deserialize)]
        struct Named {
            #[allow(dead_code)]
            name: String,
        }
        let error = parse_specs::<Named>("stores", vec![readable.clone(), unreadable])
            .expect_err("a row that does not decode fails the read");
        let sqlx::Error::Decode(cause) = &error else {
            panic!("a decode error: {error}");
        };
        assert!(cause.to_string().contains("`stores`"), "{cause}");
        // The client sees a server error (the cause is logged), never a shorter list.
        assert_eq!(bazaar_platform::Problem::from_db(&error).status, 500);
        assert_eq!(
            parse_specs::<Named>("stores", vec![readable])
                .expect("ok")
                .len(),
            1
        );
    }
}
