//! `GET /api/catalog/facets`: what a filter UI offers next to a product listing with the same filters:
//! how many products match, and every attribute and variant option value with the number of products
//! picking it would show.

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bazaar_platform::{ApiQuery, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::products::{Filters, parse_filters};
use super::{CatalogState, cached_json, fail_on};
use crate::read;

/// The listing's filters (`GET /api/catalog/products`), without sort and paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
// A misspelt parameter is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct FacetQuery {
    /// Category path; subcategories are included.
    category: Option<String>,
    /// Full-text search, as in the listing.
    q: Option<String>,
    /// `true` for featured products only.
    featured: Option<String>,
    /// ISO 4217 code; required with `minPrice` and `maxPrice`.
    currency: Option<String>,
    min_price: Option<String>,
    max_price: Option<String>,
    /// Picked values, as in the listing: `color:black|blue;size:42`.
    #[param(max_length = 2000)]
    attributes: Option<String>,
    /// Lowest average rating, 1 to 5, as in the listing.
    min_rating: Option<String>,
}

/// One value of an attribute.
#[derive(Debug, Serialize, ToSchema)]
pub struct FacetValue {
    pub value: String,
    /// Products the listing would show with this value picked, under the other attributes' picks (this
    /// attribute's own picks do not narrow it).
    pub count: i64,
}

/// An attribute or variant option (`color`, `size`, `material`...) with its values, by value.
#[derive(Debug, Serialize, ToSchema)]
pub struct Facet {
    pub name: String,
    /// At most 100 values: the most common ones when there are more, listed by value.
    pub values: Vec<FacetValue>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Facets {
    /// Products matching every filter: what the listing pages through.
    pub total: i64,
    /// By name.
    pub attributes: Vec<Facet>,
}

/// Most values listed per attribute.
const MAX_VALUES: usize = 100;

fn group(counts: Vec<read::FacetCount>) -> Vec<Facet> {
    let mut facets: Vec<Facet> = Vec::new();
    for count in counts {
        let value = FacetValue {
            value: count.value,
            count: count.count,
        };
        match facets.last_mut() {
            Some(facet) if facet.name == count.name => facet.values.push(value),
            _ => facets.push(Facet {
                name: count.name,
                values: vec![value],
            }),
        }
    }
    for facet in &mut facets {
        if facet.values.len() > MAX_VALUES {
            facet
                .values
                .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
            facet.values.truncate(MAX_VALUES);
            facet.values.sort_by(|a, b| a.value.cmp(&b.value));
        }
    }
    facets
}

/// Facet values and counts for a listing's filters.
#[utoipa::path(
    get,
    path = "/api/catalog/facets",
    params(FacetQuery),
    responses(
        (status = 200, description = "The number of matching products and every attribute value with its count", body = Facets),
        (status = 304, description = "Not modified since the ETag in If-None-Match"),
        (status = 422, description = "Invalid filters", body = Problem),
    ),
    tag = "catalog"
)]
pub async fn list_facets(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<FacetQuery>,
) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let filter = parse_filters(
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
        false,
        &mut errors,
    );
    fail_on(errors)?;
    cached_json(&state, &headers, &uri, async {
        let (total, counts) = read::facets(&state.db, &filter).await?;
        Ok(Facets {
            total,
            attributes: group(counts),
        })
    })
    .await
}
