//! `/api/users/me/addresses`: the signed-in user's shipping and billing addresses.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use bazaar_platform::auth::CurrentUser;
use bazaar_platform::{ApiJson, ApiPath, Problem};
use uuid::Uuid;

use super::{AppState, user_id};
use crate::addresses::{self, Address, AddressInput};
use crate::error::Result;

/// The user's addresses: shipping before billing, each kind's default first.
#[utoipa::path(
    get,
    path = "/api/users/me/addresses",
    tag = "identity",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Vec<Address>),
        (status = 401, description = "No valid access token", body = Problem),
    )
)]
pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Json<Vec<Address>>> {
    Ok(Json(addresses::list(&state.db, user_id(&user)?).await?))
}

/// Adds an address. The first of a kind becomes that kind's default; `isDefault` makes it the default
/// in place of the previous one.
#[utoipa::path(
    post,
    path = "/api/users/me/addresses",
    tag = "identity",
    request_body = AddressInput,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Address),
        (status = 401, description = "No valid access token", body = Problem),
        (status = 409, description = "Too many addresses", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(input): ApiJson<AddressInput>,
) -> Result<(StatusCode, Json<Address>)> {
    let address = input.validate()?;
    let created = addresses::create(&state.db, user_id(&user)?, address).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/users/me/addresses/{id}",
    tag = "identity",
    params(("id" = Uuid, Path, description = "Address id")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Address),
        (status = 404, description = "No such address of yours", body = Problem),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Address>> {
    Ok(Json(addresses::get(&state.db, user_id(&user)?, id).await?))
}

/// Replaces an address. Unmarking the default, or moving it to the other kind, passes the default to
/// the most recently added address of its kind.
#[utoipa::path(
    put,
    path = "/api/users/me/addresses/{id}",
    tag = "identity",
    params(("id" = Uuid, Path, description = "Address id")),
    request_body = AddressInput,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Address),
        (status = 404, description = "No such address of yours", body = Problem),
        (status = 422, description = "Invalid fields", body = Problem),
    )
)]
pub async fn replace(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(input): ApiJson<AddressInput>,
) -> Result<Json<Address>> {
    let address = input.validate()?;
    Ok(Json(
        addresses::replace(&state.db, user_id(&user)?, id, address).await?,
    ))
}

/// Deletes an address; if it was its kind's default, the most recently added remaining one of the kind
/// becomes the default.
#[utoipa::path(
    delete,
    path = "/api/users/me/addresses/{id}",
    tag = "identity",
    params(("id" = Uuid, Path, description = "Address id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such address of yours", body = Problem),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode> {
    addresses::delete(&state.db, user_id(&user)?, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
