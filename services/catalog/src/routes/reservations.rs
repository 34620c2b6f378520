//! `PUT /api/catalog/redemptions/{orderId}`: a checkout's cart priced with the uses of its promotions
//! reserved for the order, so that usage limits hold exactly however many checkouts are in flight; and
//! `DELETE` of the same, for a checkout that failed after pricing. See [`crate::redemptions`].

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bazaar_platform::auth::CurrentUser;
use bazaar_platform::{ApiJson, ApiPath, Problem};
use uuid::Uuid;

use super::quote::{Cart, QuoteBody};
use super::{CatalogState, limited_promotions};
use crate::pricing::Quote;
use crate::redemptions::{self, ReserveError};

/// Prices a cart as `POST /quote` does for the signed-in shopper, and reserves a use of each promotion it
/// applies for the order (replacing the order's earlier reservation, if any). The order component calls
/// it at checkout with the order id it is about to place. Checkouts competing for a promotion's last uses
/// are served one after another: the later ones are priced without it (an automatic promotion) or told
/// the coupon is used up.
#[utoipa::path(
    put,
    path = "/api/catalog/redemptions/{orderId}",
    params(("orderId" = Uuid, Path, description = "The order the checkout is placing")),
    request_body = QuoteBody,
    responses(
        (status = 200, description = "The priced cart; its promotions' uses are reserved for the order", body = Quote),
        (status = 401, description = "No shopper signed in", body = Problem),
        (status = 409, description = "The order id is another shopper's", body = Problem),
        (status = 422, description = "Invalid lines, currency or destination", body = Problem),
    ),
    security(("bearer" = [])),
    tag = "catalog"
)]
pub async fn reserve(
    State(state): State<CatalogState>,
    shopper: CurrentUser,
    ApiPath(order_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<QuoteBody>,
) -> Result<Response, Problem> {
    let cart = Cart::read(&state, &body).await?;
    let limited = limited_promotions(
        &cart.reference.promotions,
        cart.request.coupon_code.as_deref(),
    );
    let quote = redemptions::reserve(&state.db, order_id, &shopper.id, &limited, |usage| {
        let quote = cart.price(usage)?;
        let applied = quote
            .promotions
            .iter()
            .map(|p| p.promotion.clone())
            .collect();
        Ok::<_, Problem>((quote, applied))
    })
    .await
    .map_err(|error| match error {
        ReserveError::Database(db) => Problem::from(db),
        ReserveError::NotYours => Problem::conflict("This order id belongs to another checkout."),
        ReserveError::Pricing(problem) => problem,
    })?;
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        ApiJson(quote),
    )
        .into_response())
}

/// Gives back the signed-in shopper's reservation for the order (a checkout that did not place it).
/// Redemptions of a placed order are given back by its cancellation only. Idempotent.
#[utoipa::path(
    delete,
    path = "/api/catalog/redemptions/{orderId}",
    params(("orderId" = Uuid, Path, description = "The order the checkout did not place")),
    responses(
        (status = 204, description = "Nothing is reserved for the order any more"),
        (status = 401, description = "No shopper signed in", body = Problem),
    ),
    security(("bearer" = [])),
    tag = "catalog"
)]
pub async fn release(
    State(state): State<CatalogState>,
    shopper: CurrentUser,
    ApiPath(order_id): ApiPath<Uuid>,
) -> Result<StatusCode, Problem> {
    redemptions::release(&state.db, order_id, &shopper.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
