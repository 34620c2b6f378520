//! `GET /api/catalog/stores`: active retail stores near a point.

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
pub async fn list_stores(
    State(state): State<CatalogState>,
    headers: HeaderMap,
    uri: Uri,
    ApiQuery(query): ApiQuery<StoreQuery>,
) -> Result<Response, Problem> {
    let mut errors = Vec::new();
    let lat = parse_number(query.lat.as_deref(), "lat", -90.0..=90.0, &mut errors);
    let lon = parse_number(query.lon.as_deref(), "lon", -180.0..=180.0, &mut errors);
    if query.lat.is_none() {
        errors.push(FieldError::new(
            "lat",
            "required: the latitude to search around",
        ));
    }
    if query.lon.is_none() {
        errors.push(FieldError::new(
            "lon",
            "required: the longitude to search around",
        ));
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
    let (Some(lat), Some(lon)) = (lat, lon) else {
        return Err(Problem::bad_request("lat and lon are required"));
    };
    cached_json(&state, &headers, &uri, async {
        let stores = read::stores_near(&state.db, lat, lon, radius, pickup, limit as i64).await?;
        Ok(StoreList {
            items: stores
                .into_iter()
                .map(|(store, distance)| store_view(store, distance))
                .collect(),
        })
    })
    .await
}
