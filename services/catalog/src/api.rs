//! The catalog HTTP API under `/api/catalog`. Reads carry a strong `ETag` and `Cache-Control`, answer
//! `304 Not Modified` to a matching `If-None-Match`, and come from the in-process cache when they can.
//! Bad input is a 4xx problem+json naming each field; only a database failure is a 5xx.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bazaar_contracts::{Currency, Money, Sku};
use bazaar_platform::auth::CurrentUser;
use bazaar_platform::{ApiJson, ApiPath, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::cache::{Cached, ResponseCache, etag_of, matches_if_none_match};
use crate::model::{
    Address, Contact, Discount, GeoPoint, Image, OpeningHours, Product, Promotion, ScheduleState,
    Store, is_category_path, normalize_code,
};
use crate::pricing::{
    self, CouponStatus, Destination, EffectivePrice, LineRequest, PricingData, Quote, QuoteRequest,
    ShippingOption, Usage,
};
use crate::read::{self, CursorKey, ProductFilter, Reference, Sort};
use crate::redemptions;

/// What the caching headers say about catalog reads.
pub const CACHE_CONTROL: &str = "public, max-age=30, stale-while-revalidate=30";

/// Shared by the handlers.
#[derive(Clone)]
pub struct CatalogState {
    pub db: PgPool,
    pub cache: Arc<ResponseCache>,
}

impl CatalogState {
    pub fn new(db: PgPool) -> Self {
        Self {
            db,
            cache: Arc::new(ResponseCache::default()),
        }
    }
}

/// The catalog's routes with their OpenAPI description.
pub fn router(state: CatalogState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(list_products))
        .routes(routes!(get_product))
        .routes(routes!(list_categories))
        .routes(routes!(list_stores))
        .routes(routes!(shipping_options))
        .routes(routes!(list_promotions))
        .routes(routes!(check_coupon))
        .routes(routes!(quote))
        .with_state(state)
}

/// Overload (an exhausted pool) and an unreachable database are 503 with `Retry-After`; see
/// [`Problem::from_db`].
fn db_problem(error: sqlx::Error) -> Problem {
    Problem::from_db(&error)
}

fn field(field: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn fail_on(errors: Vec<FieldError>) -> Result<(), Problem> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

/// Answers a read from the cache or by computing it, with ETag, Cache-Control and 304 handling.
async fn cached_json<T, F>(
    state: &CatalogState,
    headers: &HeaderMap,
    uri: &Uri,
    compute: F,
) -> Result<Response, Problem>
where
    T: Serialize,
    F: Future<Output = Result<T, Problem>>,
{
    let key = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned());
    let (cached, hit) = match state.cache.get(&key) {
        Some(cached) => (cached, true),
        None => {
            let generation = state.cache.generation();
            let value = compute.await?;
            let body = serde_json::to_vec(&value).map_err(|e| Problem::internal(&e))?;
            let cached = Arc::new(Cached {
                etag: etag_of(&body),
                body: body.into(),
            });
            state.cache.put(key, generation, cached.clone());
            (cached, false)
        }
    };
    let mut response_headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&cached.etag) {
        response_headers.insert(header::ETAG, etag);
    }
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    response_headers.insert(
        "x-cache",
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| matches_if_none_match(inm, &cached.etag));
    if not_modified {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((StatusCode::OK, response_headers, cached.body.clone()).into_response())
}

/// Promotions, fulfillment policies and stores, from the cache or the database.
async fn reference(state: &CatalogState) -> Result<Arc<Reference>, Problem> {
    if let Some(reference) = state.cache.reference() {
        return Ok(reference);
    }
    let generation = state.cache.generation();
    let reference = Arc::new(read::load_reference(&state.db).await.map_err(db_problem)?);
    state.cache.put_reference(generation, reference.clone());
    Ok(reference)
}

fn parse_currency(value: &str, name: &str, errors: &mut Vec<FieldError>) -> Option<Currency> {
    let currency = bazaar_contracts::money::currency(&value.trim().to_ascii_uppercase());
    match currency {
        Ok(c) => Some(c),
        Err(_) => {
            errors.push(field(
                name,
                format!("`{value}` is not an ISO 4217 currency code such as USD"),
            ));
            None
        }
    }
}

fn parse_amount(
    value: &str,
    name: &str,
    currency: Option<Currency>,
    errors: &mut Vec<FieldError>,
) -> Option<Money> {
    let currency = currency?;
    match Money::parse(value.trim(), currency) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.push(field(name, e.to_string()));
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Products

/// Filters, sort and page of the product list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct ProductQuery {
    /// Category path; subcategories are included (`footwear` finds `footwear/running`).
    category: Option<String>,
    /// Full-text search over title, brand, category and description (web-search syntax: words,
    /// "quoted phrases", -excluded).
    q: Option<String>,
    /// `true` for featured products only.
    featured: Option<String>,
    /// ISO 4217 code; required with `minPrice`, `maxPrice` and price sorts, and selects `price` in items.
    currency: Option<String>,
    /// Lowest list price (decimal string, e.g. "50.00") of the product's cheapest variant.
    min_price: Option<String>,
    max_price: Option<String>,
    /// `relevance` (default), `newest`, `title`, `price_asc`, `price_desc`.
    sort: Option<String>,
    /// Page size, 1 to 100 (default 20).
    limit: Option<String>,
    /// `nextCursor` of the previous page.
    cursor: Option<String>,
}

/// A product in a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductSummary {
    pub slug: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    pub category: String,
    pub featured: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
    /// The cheapest variant's list price in `currency`, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// The cheapest variant's list price in each currency.
    pub prices_from: Vec<Money>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductPage {
    pub items: Vec<ProductSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn prices_from(product: &Product) -> Vec<Money> {
    let mut cheapest: BTreeMap<&'static str, Money> = BTreeMap::new();
    for price in product.variants.iter().flat_map(|v| &v.prices) {
        let entry = cheapest.entry(price.currency().code()).or_insert(*price);
        if price.minor() < entry.minor() {
            *entry = *price;
        }
    }
    cheapest.into_values().collect()
}

fn summary(product: &Product, price: Option<Money>) -> ProductSummary {
    ProductSummary {
        slug: product.slug.clone(),
        title: product.title.clone(),
        brand: product.brand.clone(),
        category: product.category.clone(),
        featured: product.featured,
        image: product.images.first().cloned(),
        price,
        prices_from: prices_from(product),
    }
}

fn product_filter(query: &ProductQuery) -> Result<ProductFilter, Problem> {
    let mut errors = Vec::new();
    let category = query
        .category
        .as_deref()
        .map(|c| c.trim().trim_matches('/').to_owned())
        .filter(|c| !c.is_empty());
    if let Some(category) = &category
        && !is_category_path(category)
    {
        errors.push(field(
            "category",
            "expected a category path such as footwear/running",
        ));
    }
    let text = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        errors.push(field("q", "at most 200 characters"));
    }
    let featured = match query.featured.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(field("featured", "expected true or false"));
            None
        }
    };
    let currency = query
        .currency
        .as_deref()
        .and_then(|c| parse_currency(c, "currency", &mut errors));
    let sort = match query.sort.as_deref().unwrap_or("relevance") {
        "relevance" => Sort::Relevance,
        "newest" => Sort::Newest,
        "title" => Sort::Title,
        "price_asc" => Sort::PriceAsc,
        "price_desc" => Sort::PriceDesc,
        other => {
            errors.push(field(
                "sort",
                format!(
                    "`{other}` is not a sort; use relevance, newest, title, price_asc or price_desc"
                ),
            ));
            Sort::Relevance
        }
    };
    let wants_currency =
        sort.needs_currency() || query.min_price.is_some() || query.max_price.is_some();
    if wants_currency && query.currency.is_none() {
        errors.push(field(
            "currency",
            "needed to filter or sort by price, e.g. currency=USD",
        ));
    }
    let min_price = query
        .min_price
        .as_deref()
        .and_then(|v| parse_amount(v, "minPrice", currency, &mut errors));
    let max_price = query
        .max_price
        .as_deref()
        .and_then(|v| parse_amount(v, "maxPrice", currency, &mut errors));
    if let (Some(min), Some(max)) = (min_price, max_price)
        && min.minor() > max.minor()
    {
        errors.push(field("maxPrice", "must not be below minPrice"));
    }
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            errors.push(field("limit", "expected a whole number from 1 to 100"));
            20
        }
    };
    let currency_code = currency.map(|c| c.code().to_owned());
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => match CursorKey::decode(text) {
            Some(key)
                if read::cursor_fits(
                    &key,
                    sort,
                    text_present(&query.q),
                    currency_code.as_deref(),
                ) =>
            {
                Some(key)
            }
            Some(_) => {
                errors.push(field(
                    "cursor",
                    "this cursor belongs to a listing with another sort, search or currency; start again without a cursor",
                ));
                None
            }
            None => {
                errors.push(field(
                    "cursor",
                    "not a cursor from this API; pass nextCursor from the previous page unchanged",
                ));
                None
            }
        },
    };
    fail_on(errors)?;
    Ok(ProductFilter {
        category,
        text,
        featured,
        currency: currency_code,
        min_price: min_price.map(Money::minor),
        max_price: max_price.map(Money::minor),
        sort,
        after,
        limit,
    })
}

fn text_present(q: &Option<String>) -> bool {
    q.as_deref().is_some_and(|q| !q.trim().is_empty())
}

/// Lists active products.
#[utoipa::path(
    get,
    path = "/api/catalog/products",
    params(ProductQuery),
    responses(
        (status = 200, description = "One page of products", body = ProductPage),
        (status = 304, description = "Not modified since the ETag in If-None-Match"),
        (status = 422, description = "Invalid filters", body = Problem),
    ),
    tag = "catalog"
)]
async fn list_products(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<ProductQuery>,
) -> Result<Response, Problem> {
    let filter = product_filter(&query)?;
    cached_json(&state, &headers, &uri, async {
        let (rows, next) = read::list_products(&state.db, &filter)
            .await
            .map_err(db_problem)?;
        let currency = filter
            .currency
            .as_deref()
            .and_then(|c| bazaar_contracts::money::currency(c).ok());
        let items = rows
            .iter()
            .map(|(product, price)| {
                let price = match (currency, price) {
                    (Some(c), Some(p)) => Some(Money::from_minor(*p, c)),
                    _ => None,
                };
                summary(product, price)
            })
            .collect();
        Ok(ProductPage {
            items,
            next_cursor: next.map(|k| k.encode()),
        })
    })
    .await
}

/// A variant on the product page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariantView {
    pub sku: Sku,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub options: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_grams: Option<u32>,
    /// One entry per currency the variant is priced in, with automatic promotions applied.
    pub prices: Vec<EffectivePrice>,
}

/// A product with its variants and effective prices.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDetail {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    pub images: Vec<Image>,
    pub attributes: BTreeMap<String, String>,
    pub featured: bool,
    /// Every option name with its values, in variant order (for pickers).
    pub options: BTreeMap<String, Vec<String>>,
    pub variants: Vec<VariantView>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct CurrencyQuery {
    /// Only this currency's prices (ISO 4217); all currencies when absent.
    currency: Option<String>,
}

fn detail(
    product: &Product,
    currency: Option<Currency>,
    promotions: &[Promotion],
    now: DateTime<Utc>,
) -> ProductDetail {
    let mut options: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for variant in &product.variants {
        for (name, value) in &variant.options {
            let values = options.entry(name.clone()).or_default();
            if !values.contains(value) {
                values.push(value.clone());
            }
        }
    }
    let variants = product
        .variants
        .iter()
        .map(|variant| {
            let mut currencies: Vec<Currency> =
                variant.prices.iter().map(|p| p.currency()).collect();
            currencies.sort_by_key(|c| c.code());
            let prices = currencies
                .into_iter()
                .filter(|c| currency.is_none_or(|wanted| wanted == *c))
                .filter_map(|c| pricing::effective_price(product, &variant.sku, c, promotions, now))
                .collect();
            VariantView {
                sku: variant.sku.clone(),
                title: variant.title.clone(),
                options: variant.options.clone(),
                weight_grams: variant.weight_grams,
                prices,
            }
        })
        .collect();
    ProductDetail {
        slug: product.slug.clone(),
        title: product.title.clone(),
        description: product.description.clone(),
        category: product.category.clone(),
        brand: product.brand.clone(),
        images: product.images.clone(),
        attributes: product.attributes.clone(),
        featured: product.featured,
        options,
        variants,
    }
}

/// One active product by slug, with variants and prices after automatic promotions.
#[utoipa::path(
    get,
    path = "/api/catalog/products/{slug}",
    params(("slug" = String, Path, description = "The product's slug"), CurrencyQuery),
    responses(
        (status = 200, description = "The product", body = ProductDetail),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No active product has this slug", body = Problem),
    ),
    tag = "catalog"
)]
async fn get_product(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiPath(slug): ApiPath<String>,
    ApiQuery(query): ApiQuery<CurrencyQuery>,
) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let currency = query
        .currency
        .as_deref()
        .and_then(|c| parse_currency(c, "currency", &mut errors));
    fail_on(errors)?;
    cached_json(&state, &headers, &uri, async {
        let product = read::active_product_by_slug(&state.db, &slug)
            .await
            .map_err(db_problem)?
            .ok_or_else(|| Problem::not_found(format!("No product is listed as `{slug}`.")))?;
        let reference = reference(&state).await?;
        Ok(detail(
            &product,
            currency,
            &reference.promotions,
            Utc::now(),
        ))
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Categories

/// A category with the number of active products in it and its subcategories.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryNode {
    /// Last path segment, e.g. `running`.
    pub slug: String,
    /// Full path, e.g. `footwear/running`: use it as the `category` filter.
    pub path: String,
    /// Display name derived from the slug, e.g. `Running`.
    pub name: String,
    pub product_count: i64,
    #[schema(no_recursion)]
    pub children: Vec<CategoryNode>,
}

fn display_name(slug: &str) -> String {
    slug.split('-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the tree from per-path counts; every ancestor counts its descendants' products.
pub fn category_tree(counts: &[(String, i64)]) -> Vec<CategoryNode> {
    fn insert(nodes: &mut Vec<CategoryNode>, segments: &[&str], prefix: &str, count: i64) {
        let Some((first, rest)) = segments.split_first() else {
            return;
        };
        let path = if prefix.is_empty() {
            (*first).to_owned()
        } else {
            format!("{prefix}/{first}")
        };
        let index = match nodes.iter().position(|n| n.slug == *first) {
            Some(i) => i,
            None => {
                nodes.push(CategoryNode {
                    slug: (*first).to_owned(),
                    path: path.clone(),
                    name: display_name(first),
                    product_count: 0,
                    children: Vec::new(),
                });
                nodes.len() - 1
            }
        };
        nodes[index].product_count += count;
        insert(&mut nodes[index].children, rest, &path, count);
    }
    fn sort(nodes: &mut [CategoryNode]) {
        nodes.sort_by(|a, b| a.slug.cmp(&b.slug));
        for node in nodes {
            sort(&mut node.children);
        }
    }
    let mut roots = Vec::new();
    for (path, count) in counts {
        let segments: Vec<&str> = path.split('/').collect();
        insert(&mut roots, &segments, "", *count);
    }
    sort(&mut roots);
    roots
}

/// The category tree of active products, with counts that include subcategories.
#[utoipa::path(
    get,
    path = "/api/catalog/categories",
    responses((status = 200, description = "Top-level categories", body = Vec<CategoryNode>)),
    tag = "catalog"
)]
async fn list_categories(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Problem> {
    cached_json(&state, &headers, &uri, async {
        let counts = read::category_counts(&state.db).await.map_err(db_problem)?;
        Ok(category_tree(&counts))
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Stores

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct StoreQuery {
    /// Latitude of the point, -90 to 90.
    lat: Option<String>,
    /// Longitude of the point, -180 to 180.
    lon: Option<String>,
    /// Search radius in kilometres, up to 20000 (default 50).
    radius_km: Option<String>,
    /// `true` for stores that offer pickup only.
    pickup: Option<String>,
    /// At most this many stores, 1 to 100 (default 20).
    limit: Option<String>,
}

/// A store near the point asked about.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoreView {
    /// `namespace/name`.
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub address: Address,
    pub location: GeoPoint,
    pub time_zone: String,
    pub opening_hours: Vec<OpeningHours>,
    pub contact: Contact,
    pub pickup: bool,
    pub ship_from_store: bool,
    /// Great-circle distance from the point, in kilometres (rounded to metres).
    pub distance_km: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreList {
    pub items: Vec<StoreView>,
}

fn store_view(store: Store, distance_km: f64) -> StoreView {
    StoreView {
        id: store.key(),
        name: store.name,
        display_name: store.display_name,
        address: store.address,
        location: store.location,
        time_zone: store.time_zone,
        opening_hours: store.opening_hours,
        contact: store.contact,
        pickup: store.pickup,
        ship_from_store: store.ship_from_store,
        distance_km: (distance_km * 1000.0).round() / 1000.0,
    }
}

fn parse_number(
    value: Option<&str>,
    name: &str,
    range: std::ops::RangeInclusive<f64>,
    errors: &mut Vec<FieldError>,
) -> Option<f64> {
    let value = value?;
    match value.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && range.contains(&n) => Some(n),
        _ => {
            errors.push(field(
                name,
                format!(
                    "expected a number from {} to {}",
                    range.start(),
                    range.end()
                ),
            ));
            None
        }
    }
}

/// Active retail stores near a point, nearest first.
#[utoipa::path(
    get,
    path = "/api/catalog/stores",
    params(StoreQuery),
    responses(
        (status = 200, description = "Stores within the radius, nearest first", body = StoreList),
        (status = 422, description = "Missing or invalid coordinates", body = Problem),
    ),
    tag = "catalog"
)]
async fn list_stores(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<StoreQuery>,
) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let lat = parse_number(query.lat.as_deref(), "lat", -90.0..=90.0, &mut errors);
    let lon = parse_number(query.lon.as_deref(), "lon", -180.0..=180.0, &mut errors);
    if query.lat.is_none() {
        errors.push(field("lat", "required: the latitude to search around"));
    }
    if query.lon.is_none() {
        errors.push(field("lon", "required: the longitude to search around"));
    }
    let radius = parse_number(
        query.radius_km.as_deref(),
        "radiusKm",
        0.0..=20_000.0,
        &mut errors,
    )
    .unwrap_or(50.0);
    let limit =
        parse_number(query.limit.as_deref(), "limit", 1.0..=100.0, &mut errors).unwrap_or(20.0);
    if limit.fract() != 0.0 {
        errors.push(field("limit", "expected a whole number"));
    }
    let pickup = match query.pickup.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push(field("pickup", "expected true or false"));
            false
        }
    };
    fail_on(errors)?;
    let (Some(lat), Some(lon)) = (lat, lon) else {
        return Err(Problem::bad_request("lat and lon are required"));
    };
    cached_json(&state, &headers, &uri, async {
        let stores = read::stores_near(&state.db, lat, lon, radius, pickup, limit as i64)
            .await
            .map_err(db_problem)?;
        Ok(StoreList {
            items: stores
                .into_iter()
                .map(|(store, distance)| store_view(store, distance))
                .collect(),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Shipping

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct ShippingQuery {
    /// Destination country, ISO 3166-1 alpha-2 (e.g. US).
    country: Option<String>,
    /// Destination region (e.g. CA or US-CA).
    region: Option<String>,
    /// ISO 4217 currency of the rates.
    currency: Option<String>,
    /// The cart's merchandise total after discounts (decimal string); decides free-over. Default 0.
    subtotal: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ShippingOptions {
    pub currency: String,
    pub options: Vec<ShippingOption>,
}

fn parse_destination(
    country: Option<&str>,
    region: Option<&str>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Destination> {
    let country = country
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_uppercase();
    let ok_country = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
    if !ok_country {
        errors.push(field(
            &format!("{prefix}country"),
            "expected an ISO 3166-1 alpha-2 country code such as US",
        ));
    }
    let region = region
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if region
        .as_ref()
        .is_some_and(|r| r.len() > 10 || !r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    {
        errors.push(field(
            &format!("{prefix}region"),
            "expected a region code such as CA or US-CA",
        ));
    }
    ok_country.then_some(Destination { country, region })
}

/// Shipping options for a destination and cart subtotal (free-over applied).
#[utoipa::path(
    get,
    path = "/api/catalog/shipping-options",
    params(ShippingQuery),
    responses(
        (status = 200, description = "Options, cheapest first", body = ShippingOptions),
        (status = 422, description = "Invalid destination, currency or subtotal", body = Problem),
    ),
    tag = "catalog"
)]
async fn shipping_options(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<ShippingQuery>,
) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let destination = parse_destination(
        query.country.as_deref(),
        query.region.as_deref(),
        "",
        &mut errors,
    );
    let currency = match query.currency.as_deref() {
        Some(c) => parse_currency(c, "currency", &mut errors),
        None => {
            errors.push(field("currency", "required, e.g. USD"));
            None
        }
    };
    let subtotal = match query.subtotal.as_deref() {
        Some(s) => parse_amount(s, "subtotal", currency, &mut errors),
        None => currency.map(Money::zero),
    };
    fail_on(errors)?;
    let (Some(destination), Some(currency), Some(subtotal)) = (destination, currency, subtotal)
    else {
        return Err(Problem::bad_request("country and currency are required"));
    };
    cached_json(&state, &headers, &uri, async {
        let reference = reference(&state).await?;
        Ok(ShippingOptions {
            currency: currency.code().to_owned(),
            options: pricing::shipping_options_for(
                &reference.fulfillments,
                &reference.stores,
                &destination,
                subtotal,
            ),
        })
    })
    .await
}

// ---------------------------------------------------------------------------------------------------
// Promotions and coupons

/// A promotion as shoppers may see it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PromotionView {
    /// `namespace/name`.
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `percentage`, `amount`, `free_shipping` or `buy_x_get_y`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percentage: Option<u32>,
    pub amounts: Vec<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buy: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub get: Option<u32>,
    /// Product labels, categories and SKUs it is limited to; all empty means everything.
    pub labels: BTreeMap<String, String>,
    pub categories: Vec<String>,
    pub skus: Vec<Sku>,
    pub minimum_subtotal: Vec<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    pub stackable: bool,
    pub priority: i32,
}

fn promotion_view(promotion: &Promotion) -> PromotionView {
    let (kind, percentage, amounts, buy, get) = match &promotion.discount {
        Discount::Percentage(p) => ("percentage", Some(*p), Vec::new(), None, None),
        Discount::Amount(a) => ("amount", None, a.clone(), None, None),
        Discount::FreeShipping => ("free_shipping", None, Vec::new(), None, None),
        Discount::BuyXGetY { buy, get } => {
            ("buy_x_get_y", None, Vec::new(), Some(*buy), Some(*get))
        }
    };
    PromotionView {
        id: promotion.key(),
        title: promotion.display_name().to_owned(),
        code: promotion.normalized_code(),
        kind: kind.to_owned(),
        percentage,
        amounts,
        buy,
        get,
        labels: promotion.applies_to.labels.clone(),
        categories: promotion.applies_to.categories.clone(),
        skus: promotion.applies_to.skus.clone(),
        minimum_subtotal: promotion.minimum_subtotal.clone(),
        starts_at: promotion.schedule.starts_at,
        ends_at: promotion.schedule.ends_at,
        stackable: promotion.stackable,
        priority: promotion.priority,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PromotionList {
    pub items: Vec<PromotionView>,
}

/// Automatic promotions running now, highest priority first.
#[utoipa::path(
    get,
    path = "/api/catalog/promotions",
    responses((status = 200, description = "Running automatic promotions", body = PromotionList)),
    tag = "catalog"
)]
async fn list_promotions(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Problem> {
    cached_json(&state, &headers, &uri, async {
        let reference = reference(&state).await?;
        let now = Utc::now();
        let mut running: Vec<&Promotion> = reference
            .promotions
            .iter()
            .filter(|p| p.is_automatic() && p.schedule.state(now) == ScheduleState::Running)
            .collect();
        running.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.key().cmp(&b.key())));
        Ok(PromotionList {
            items: running.into_iter().map(promotion_view).collect(),
        })
    })
    .await
}

/// Whether a coupon code can be used now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CouponCheck {
    pub code: String,
    pub valid: bool,
    /// `applied` stands for "valid"; otherwise `not-yet-valid`, `expired` or `limit-reached`.
    pub status: CouponStatus,
    pub message: String,
    pub promotion: PromotionView,
}

/// Checks a coupon code (case-insensitive). Whether it applies to a given cart is the quote's business.
#[utoipa::path(
    get,
    path = "/api/catalog/coupons/{code}",
    params(("code" = String, Path, description = "The coupon code")),
    responses(
        (status = 200, description = "The code exists; `valid` says whether it can be used now", body = CouponCheck),
        (status = 404, description = "No promotion has this code", body = Problem),
    ),
    tag = "catalog"
)]
async fn check_coupon(
    State(state): State<CatalogState>,
    ApiPath(code): ApiPath<String>,
) -> Result<Response, Problem> {
    let code = normalize_code(&code);
    let reference = reference(&state).await?;
    let promotion = reference
        .promotions
        .iter()
        .find(|p| p.normalized_code().as_deref() == Some(code.as_str()))
        .ok_or_else(|| Problem::not_found(format!("No promotion has the code {code}.")))?;
    // No customer here: only the total-use limit can be judged.
    let usage = usage_for_quote(
        &state,
        std::slice::from_ref(promotion),
        Some(code.as_str()),
        None,
    )
    .await?;
    let (valid, status, message) = match pricing::availability(promotion, Utc::now(), &usage) {
        Ok(()) => (
            true,
            CouponStatus::Applied,
            "The code can be used.".to_owned(),
        ),
        Err(CouponStatus::Expired) => (
            false,
            CouponStatus::Expired,
            "This code has expired.".to_owned(),
        ),
        Err(CouponStatus::NotYetValid) => (
            false,
            CouponStatus::NotYetValid,
            match promotion.schedule.starts_at {
                Some(at) => format!("This code is valid from {}.", at.to_rfc3339()),
                None => "This code is not valid yet.".to_owned(),
            },
        ),
        Err(status) => (false, status, "This code cannot be used.".to_owned()),
    };
    let body = CouponCheck {
        code,
        valid,
        status,
        message,
        promotion: promotion_view(promotion),
    };
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))],
        ApiJson(body),
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------------------
// Quote

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteLineBody {
    pub sku: String,
    /// 1 to 1000.
    pub quantity: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DestinationBody {
    pub country: String,
    #[serde(default)]
    pub region: Option<String>,
}

/// What to price.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QuoteBody {
    /// ISO 4217 code, e.g. USD.
    pub currency: String,
    /// 1 to 100 lines.
    pub lines: Vec<QuoteLineBody>,
    #[serde(default)]
    pub coupon_code: Option<String>,
    #[serde(default)]
    pub destination: Option<DestinationBody>,
    /// A shipping option code; the cheapest delivery option when absent.
    #[serde(default)]
    pub shipping_method: Option<String>,
}

/// The request to price.
fn quote_request(body: &QuoteBody) -> Result<QuoteRequest, Problem> {
    let mut errors = Vec::new();
    let currency = parse_currency(&body.currency, "currency", &mut errors);
    if body.lines.is_empty() {
        errors.push(field("lines", "needs at least one line"));
    }
    if body.lines.len() > 100 {
        errors.push(field("lines", "at most 100 lines"));
    }
    let mut lines = Vec::with_capacity(body.lines.len());
    for (i, line) in body.lines.iter().enumerate() {
        let sku = match line.sku.parse::<Sku>() {
            Ok(sku) => Some(sku),
            Err(e) => {
                errors.push(field(&format!("lines[{i}].sku"), e.to_string()));
                None
            }
        };
        let quantity = match u32::try_from(line.quantity) {
            Ok(q) if (1..=1000).contains(&q) => Some(q),
            _ => {
                errors.push(field(
                    &format!("lines[{i}].quantity"),
                    "expected a whole number from 1 to 1000",
                ));
                None
            }
        };
        if let (Some(sku), Some(quantity)) = (sku, quantity) {
            lines.push(LineRequest { sku, quantity });
        }
    }
    let coupon_code = body
        .coupon_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    if coupon_code.as_ref().is_some_and(|c| c.len() > 64) {
        errors.push(field("couponCode", "at most 64 characters"));
    }
    let destination = body.destination.as_ref().and_then(|d| {
        parse_destination(
            Some(&d.country),
            d.region.as_deref(),
            "destination.",
            &mut errors,
        )
    });
    let shipping_method = body
        .shipping_method
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned);
    if shipping_method.is_some() && body.destination.is_none() {
        errors.push(field("destination", "needed to choose a shipping method"));
    }
    fail_on(errors)?;
    let Some(currency) = currency else {
        return Err(Problem::bad_request("currency is required"));
    };
    Ok(QuoteRequest {
        currency,
        lines,
        coupon_code,
        destination,
        shipping_method,
    })
}

/// Redemptions of the promotions a quote considers (the automatic ones and the coupon's) that have usage
/// limits, in total and by `customer`. Read fresh for every quote: the answer is never cached.
async fn usage_for_quote(
    state: &CatalogState,
    promotions: &[Promotion],
    coupon_code: Option<&str>,
    customer: Option<&str>,
) -> Result<BTreeMap<String, Usage>, Problem> {
    let coupon = coupon_code.map(normalize_code);
    let limited: Vec<String> = promotions
        .iter()
        .filter(|p| p.limits.total_uses.is_some() || p.limits.per_customer.is_some())
        .filter(|p| p.is_automatic() || (coupon.is_some() && p.normalized_code() == coupon))
        .map(Promotion::key)
        .collect();
    redemptions::usage_for(&state.db, &limited, customer)
        .await
        .map_err(db_problem)
}

/// Prices a cart: list prices, promotions (automatic and one coupon), shipping and total. Unavailable
/// SKUs are flagged, not dropped. Deterministic for the same catalog and time.
#[utoipa::path(
    post,
    path = "/api/catalog/quote",
    request_body = QuoteBody,
    responses(
        (status = 200, description = "The priced cart", body = Quote),
        (status = 422, description = "Invalid lines, currency or destination", body = Problem),
    ),
    tag = "catalog"
)]
async fn quote(
    State(state): State<CatalogState>,
    shopper: Option<CurrentUser>,
    ApiJson(body): ApiJson<QuoteBody>,
) -> Result<Response, Problem> {
    let request = quote_request(&body)?;
    // Per-customer limits are checked for the signed-in shopper only: naming a customer in the body
    // would let anyone probe whether someone else has used a promotion.
    let customer_id = shopper.map(|user| user.id);
    let reference = reference(&state).await?;
    let skus: Vec<String> = request
        .lines
        .iter()
        .map(|l| l.sku.as_str().to_owned())
        .collect();
    let products = read::products_for_skus(&state.db, &skus)
        .await
        .map_err(db_problem)?;
    let usage = usage_for_quote(
        &state,
        &reference.promotions,
        request.coupon_code.as_deref(),
        customer_id.as_deref(),
    )
    .await?;
    let data = PricingData {
        products: &products,
        promotions: &reference.promotions,
        fulfillments: &reference.fulfillments,
        stores: &reference.stores,
        usage: &usage,
    };
    let quote = pricing::quote(&request, &data, Utc::now()).map_err(|e| {
        Problem::validation(vec![field(
            "lines",
            format!("{e}; order fewer or cheaper items"),
        )])
    })?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        ApiJson(quote),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_category_tree_sums_subcategories_into_their_parents() {
        let tree = category_tree(&[
            ("apparel".into(), 1),
            ("footwear/running".into(), 2),
            ("footwear/running/trail".into(), 1),
            ("footwear/hiking-boots".into(), 3),
        ]);
        assert_eq!(tree.len(), 2);
        assert_eq!(
            (tree[0].slug.as_str(), tree[0].product_count),
            ("apparel", 1)
        );
        let footwear = &tree[1];
        assert_eq!(footwear.product_count, 6);
        assert_eq!(footwear.children[0].name, "Hiking Boots");
        assert_eq!(footwear.children[1].path, "footwear/running");
        assert_eq!(footwear.children[1].product_count, 3);
        assert_eq!(footwear.children[1].children[0].product_count, 1);
    }
}
