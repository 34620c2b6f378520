//! `GET /api/catalog/products` (filters, full-text search, price sorts, keyset pages) and
//! `GET /api/catalog/products/{slug}` (variants with effective prices).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bazaar_contracts::{Currency, Money, Sku};
use bazaar_platform::{ApiPath, ApiQuery, FieldError, Problem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CatalogState, cached_json, fail_on, parse_amount, parse_currency, reference};
use crate::model::{Image, Product, Promotion, is_category_path};
use crate::pricing::{self, EffectivePrice};
use crate::read::{self, CursorKey, ProductFilter, Sort};

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
    /// Attribute and variant option values, `name:value` with several values of one name separated by
    /// `|` (any of them) and names by `;` (all of them), e.g. `color:black|blue;size:42`. Names and values
    /// are matched exactly as `GET /api/catalog/facets` lists them. At most 10 names of 20 values each.
    #[param(max_length = 2000)]
    attributes: Option<String>,
    /// Lowest average rating from shoppers' reviews, 1 to 5 (e.g. `4` or `3.5`); products without reviews
    /// drop out.
    min_rating: Option<String>,
    /// `relevance` (default), `newest`, `title`, `price_asc`, `price_desc`, `rating` (best average first,
    /// then most reviewed; products without reviews last).
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
    /// Shoppers' published reviews; absent without any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingSummary>,
}

/// A product's rating, from the review component.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingSummary {
    /// Mean stars, 1 to 5, to two decimals.
    pub average: f64,
    /// Published reviews.
    pub count: i32,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductPage {
    pub items: Vec<ProductSummary>,
    /// Pass as `cursor` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Money from the minor units of a currency code the catalog stored (codes it cannot read are left out).
fn money(code: &str, minor: i64) -> Option<Money> {
    bazaar_contracts::money::currency(code)
        .ok()
        .map(|c| Money::from_minor(minor, c))
}

fn summary(row: read::ListedRow, currency: Option<&str>) -> ProductSummary {
    ProductSummary {
        price: currency.zip(row.price).and_then(|(c, p)| money(c, p)),
        prices_from: row
            .min_prices
            .0
            .iter()
            .filter_map(|(code, minor)| money(code, *minor))
            .collect(),
        slug: row.slug,
        title: row.title,
        brand: row.brand,
        category: row.category,
        featured: row.featured,
        image: row.image.map(|image| image.0),
        rating: row
            .rating_average
            .filter(|_| row.rating_count > 0)
            .map(|average| RatingSummary {
                average,
                count: row.rating_count,
            }),
    }
}

/// The filters the listing and the facets share, parsed and checked; errors go to `errors`.
pub(super) struct Filters<'a> {
    pub(super) category: Option<&'a str>,
    pub(super) q: Option<&'a str>,
    pub(super) featured: Option<&'a str>,
    pub(super) currency: Option<&'a str>,
    pub(super) min_price: Option<&'a str>,
    pub(super) max_price: Option<&'a str>,
    pub(super) attributes: Option<&'a str>,
    pub(super) min_rating: Option<&'a str>,
}

/// Most names and values an `attributes` filter may hold, and its longest text.
const MAX_ATTRIBUTE_NAMES: usize = 10;
const MAX_ATTRIBUTE_VALUES: usize = 20;
const MAX_ATTRIBUTES_CHARS: usize = 2000;

/// `color:black|blue;size:42` as `[("color", ["black", "blue"]), ("size", ["42"])]`.
fn parse_attributes(text: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    if text.chars().count() > MAX_ATTRIBUTES_CHARS {
        return Err(format!("at most {MAX_ATTRIBUTES_CHARS} characters"));
    }
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for group in text.split(';').filter(|g| !g.trim().is_empty()) {
        let Some((name, values)) = group.split_once(':') else {
            return Err(format!(
                "`{group}` has no `:`; expected name:value, e.g. color:black|blue;size:42"
            ));
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("`{group}` has no attribute name before `:`"));
        }
        let values: Vec<String> = values.split('|').map(|v| v.trim().to_owned()).collect();
        if values.iter().any(String::is_empty) {
            return Err(format!(
                "`{group}` has an empty value; separate values by one `|`"
            ));
        }
        if values.len() > MAX_ATTRIBUTE_VALUES {
            return Err(format!(
                "at most {MAX_ATTRIBUTE_VALUES} values per attribute"
            ));
        }
        if groups.iter().any(|(n, _)| n == name) {
            return Err(format!(
                "`{name}` appears twice; give its values once, separated by `|`"
            ));
        }
        groups.push((name.to_owned(), values));
    }
    if groups.len() > MAX_ATTRIBUTE_NAMES {
        return Err(format!("at most {MAX_ATTRIBUTE_NAMES} attributes"));
    }
    Ok(groups)
}

/// The listing's filters without sort and paging.
pub(super) fn parse_filters(
    query: &Filters<'_>,
    wants_currency: bool,
    errors: &mut Vec<FieldError>,
) -> ProductFilter {
    let category = query
        .category
        .map(|c| c.trim().trim_matches('/').to_owned())
        .filter(|c| !c.is_empty());
    if let Some(category) = &category
        && !is_category_path(category)
    {
        errors.push(FieldError::new(
            "category",
            "expected a category path such as footwear/running",
        ));
    }
    let text = query
        .q
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned);
    if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
        errors.push(FieldError::new("q", "at most 200 characters"));
    }
    let featured = match query.featured {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            errors.push(FieldError::new("featured", "expected true or false"));
            None
        }
    };
    let currency = query
        .currency
        .and_then(|c| parse_currency(c, "currency", errors));
    let wants_currency = wants_currency || query.min_price.is_some() || query.max_price.is_some();
    if wants_currency && query.currency.is_none() {
        errors.push(FieldError::new(
            "currency",
            "needed to filter or sort by price, e.g. currency=USD",
        ));
    }
    let min_price = query
        .min_price
        .and_then(|v| parse_amount(v, "minPrice", currency, errors));
    let max_price = query
        .max_price
        .and_then(|v| parse_amount(v, "maxPrice", currency, errors));
    if let (Some(min), Some(max)) = (min_price, max_price)
        && min.minor() > max.minor()
    {
        errors.push(FieldError::new("maxPrice", "must not be below minPrice"));
    }
    let attributes = match query.attributes.map(parse_attributes) {
        None => Vec::new(),
        Some(Ok(groups)) => groups,
        Some(Err(message)) => {
            errors.push(FieldError::new("attributes", message));
            Vec::new()
        }
    };
    let min_rating = query
        .min_rating
        .map(|text| match text.trim().parse::<f64>() {
            Ok(n) if (1.0..=5.0).contains(&n) => Some(n),
            _ => {
                errors.push(FieldError::new(
                    "minRating",
                    "expected a number from 1 to 5, e.g. 4 or 3.5",
                ));
                None
            }
        })
        .unwrap_or_default();
    ProductFilter {
        category,
        text,
        featured,
        currency: currency.map(|c| c.code().to_owned()),
        min_price: min_price.map(Money::minor),
        max_price: max_price.map(Money::minor),
        attributes,
        min_rating,
        sort: Sort::Relevance,
        after: None,
        limit: 20,
    }
}

fn product_filter(query: &ProductQuery) -> Result<ProductFilter, Problem> {
    let mut errors = Vec::new();
    let sort = match query.sort.as_deref().unwrap_or("relevance") {
        "relevance" => Some(Sort::Relevance),
        "newest" => Some(Sort::Newest),
        "title" => Some(Sort::Title),
        "price_asc" => Some(Sort::PriceAsc),
        "price_desc" => Some(Sort::PriceDesc),
        "rating" => Some(Sort::Rating),
        _ => None,
    };
    let mut filter = parse_filters(
        &Filters {
            category: query.category.as_deref(),
            q: query.q.as_deref(),
            featured: query.featured.as_deref(),
            currency: query.currency.as_deref(),
            min_price: query.min_price.as_deref(),
            max_price: query.max_price.as_deref(),
            attributes: query.attributes.as_deref(),
            min_rating: query.min_rating.as_deref(),
        },
        sort.is_some_and(Sort::needs_currency),
        &mut errors,
    );
    let sort = sort.unwrap_or_else(|| {
        let other = query.sort.as_deref().unwrap_or_default();
        errors.push(FieldError::new(
            "sort",
            format!(
                "`{other}` is not a sort; use relevance, newest, title, price_asc, price_desc or rating"
            ),
        ));
        Sort::Relevance
    });
    let limit = match query.limit.as_deref().map(str::parse::<i64>) {
        None => 20,
        Some(Ok(n)) if (1..=100).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new(
                "limit",
                "expected a whole number from 1 to 100",
            ));
            20
        }
    };
    let after = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => match CursorKey::decode(text) {
            Some(key)
                if read::cursor_fits(
                    &key,
                    sort,
                    text_present(&query.q),
                    filter.currency.as_deref(),
                ) =>
            {
                Some(key)
            }
            Some(_) => {
                errors.push(FieldError::new(
                    "cursor",
                    "this cursor belongs to a listing with another sort, search or currency; start again without a cursor",
                ));
                None
            }
            None => {
                errors.push(FieldError::new(
                    "cursor",
                    "not a cursor from this API; pass nextCursor from the previous page unchanged",
                ));
                None
            }
        },
    };
    fail_on(errors)?;
    filter.sort = sort;
    filter.limit = limit;
    filter.after = after;
    Ok(filter)
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
pub async fn list_products(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<ProductQuery>,
) -> Result<Response, Problem> {
    let filter = product_filter(&query)?;
    cached_json(&state, &headers, &uri, async {
        let (rows, next) = read::list_products(&state.db, &filter).await?;
        let currency = filter.currency.as_deref();
        Ok(ProductPage {
            items: rows.into_iter().map(|row| summary(row, currency)).collect(),
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
pub async fn get_product(
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
            .await?
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
