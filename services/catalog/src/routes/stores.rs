//! `GET /api/catalog/stores`: the store locator. Active retail stores matching a place the shopper types
//! (`q`: a city, a postcode or its beginning, a store's name or street) and/or near a point (`lat`/`lon`,
//! e.g. the browser's position). No geocoder: the place is matched against the stores' own addresses (see
//! docs/architecture.md, "Store locator without a geocoder").

use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use bazaar_platform::{ApiQuery, FieldError, Problem};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CatalogState, cached_json, fail_on};
use crate::model::{Address, Contact, GeoPoint, OpeningHours, Store};
use crate::read;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
// A misspelt parameter (`after` for `cursor`) is refused with 400, never silently ignored.
#[serde(deny_unknown_fields)]
pub struct StoreQuery {
    /// A place: words that must all appear in a store's name, street, city, region, postcode or country
    /// (case-insensitive, any part of a word: `946` finds postcode 94610). Required without `lat`/`lon`.
    #[param(max_length = 100)]
    q: Option<String>,
    /// Latitude of the point, -90 to 90; with `lon`. Required without `q`.
    lat: Option<String>,
    /// Longitude of the point, -180 to 180; with `lat`.
    lon: Option<String>,
    /// Search radius around the point in kilometres, up to 20000 (default 50).
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
    /// Great-circle distance from the point, in kilometres (rounded to metres); only with `lat`/`lon`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_km: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreList {
    pub items: Vec<StoreView>,
}

fn store_view(store: Store, distance_km: Option<f64>) -> StoreView {
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
        distance_km: distance_km.map(|km| (km * 1000.0).round() / 1000.0),
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
            errors.push(FieldError::new(
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

/// Most words of a place search.
const MAX_WORDS: usize = 10;

/// Active retail stores matching a place and/or near a point.
#[utoipa::path(
    get,
    path = "/api/catalog/stores",
    params(StoreQuery),
    responses(
        (status = 200, description = "Matching stores: nearest first within the radius with a point, by name without", body = StoreList),
        (status = 422, description = "Neither a place nor a point, or invalid ones", body = Problem),
    ),
    tag = "catalog"
)]
pub async fn list_stores(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<StoreQuery>,
) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let mut words: Vec<String> = Vec::new();
    if let Some(q) = query.q.as_deref() {
        if q.chars().count() > 100 {
            errors.push(FieldError::new("q", "at most 100 characters"));
        } else {
            words = q
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            if words.len() > MAX_WORDS {
                errors.push(FieldError::new("q", format!("at most {MAX_WORDS} words")));
            }
        }
    }
    let lat = parse_number(query.lat.as_deref(), "lat", -90.0..=90.0, &mut errors);
    let lon = parse_number(query.lon.as_deref(), "lon", -180.0..=180.0, &mut errors);
    let has_place =
        !words.is_empty() || query.q.as_deref().is_some_and(|q| q.chars().count() > 100);
    match (query.lat.is_some(), query.lon.is_some()) {
        (false, false) if !has_place => {
            errors.push(FieldError::new(
                "q",
                "required without lat and lon: a city, postcode or store name to search for",
            ));
            errors.push(FieldError::new(
                "lat",
                "required without q: the latitude to search around",
            ));
            errors.push(FieldError::new(
                "lon",
                "required without q: the longitude to search around",
            ));
        }
        (true, false) => errors.push(FieldError::new(
            "lon",
            "required with lat: the longitude to search around",
        )),
        (false, true) => errors.push(FieldError::new(
            "lat",
            "required with lon: the latitude to search around",
        )),
        _ => {}
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
        errors.push(FieldError::new("limit", "expected a whole number"));
    }
    let pickup = match query.pickup.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.push(FieldError::new("pickup", "expected true or false"));
            false
        }
    };
    fail_on(errors)?;
    let around = lat.zip(lon).map(|(lat, lon)| read::Around {
        lat,
        lon,
        radius_km: radius,
    });
    cached_json(&state, &headers, &uri, async {
        let stores = read::find_stores(&state.db, around, &words, pickup, limit as i64).await?;
        Ok(StoreList {
            items: stores
                .into_iter()
                .map(|(store, distance)| store_view(store, distance))
                .collect(),
        })
    })
    .await
}
