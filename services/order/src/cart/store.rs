//! Cart persistence. A guest cart is found by the hash of its token; a signed-in shopper's by user id.

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::error::OrderError;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CartRow {
    pub id: Uuid,
    pub user_id: Option<String>,
    pub currency: String,
    pub coupon_code: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CartLineRow {
    pub sku: String,
    pub quantity: i32,
    pub added_price_minor: Option<i64>,
}

/// Who a cart belongs to.
#[derive(Debug, Clone)]
pub enum CartOwner {
    Guest { token: String },
    Shopper { user_id: String },
}

/// A fresh opaque cart token: 32 random bytes, base64url.
pub fn new_token() -> Result<String, OrderError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| OrderError::Invalid(format!("no randomness available: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

pub async fn create_guest(pool: &PgPool, currency: &str) -> Result<(CartRow, String), OrderError> {
    let token = new_token()?;
    let cart = sqlx::query_as::<_, CartRow>(
        "INSERT INTO carts (id, token_hash, currency) VALUES ($1, $2, $3)
         RETURNING id, user_id, currency, coupon_code",
    )
    .bind(Uuid::now_v7())
    .bind(token_hash(&token))
    .bind(currency)
    .fetch_one(pool)
    .await?;
    Ok((cart, token))
}

pub async fn find(
    conn: &mut PgConnection,
    owner: &CartOwner,
) -> Result<Option<CartRow>, OrderError> {
    let cart = match owner {
        CartOwner::Guest { token } => {
            sqlx::query_as::<_, CartRow>(
                "SELECT id, user_id, currency, coupon_code FROM carts
                 WHERE token_hash = $1 AND user_id IS NULL",
            )
            .bind(token_hash(token))
            .fetch_optional(&mut *conn)
            .await?
        }
        CartOwner::Shopper { user_id } => {
            sqlx::query_as::<_, CartRow>(
                "SELECT id, user_id, currency, coupon_code FROM carts WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(&mut *conn)
            .await?
        }
    };
    Ok(cart)
}

/// The shopper's cart, created empty on first use.
pub async fn shopper_cart(
    conn: &mut PgConnection,
    user_id: &str,
    currency: &str,
) -> Result<CartRow, OrderError> {
    sqlx::query("INSERT INTO carts (id, user_id, currency) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING")
        .bind(Uuid::now_v7())
        .bind(user_id)
        .bind(currency)
        .execute(&mut *conn)
        .await?;
    find(
        conn,
        &CartOwner::Shopper {
            user_id: user_id.to_owned(),
        },
    )
    .await?
    .ok_or(OrderError::NotFound("No cart."))
}

pub async fn lines(conn: &mut PgConnection, cart_id: Uuid) -> Result<Vec<CartLineRow>, OrderError> {
    Ok(sqlx::query_as::<_, CartLineRow>(
        "SELECT sku, quantity, added_price_minor FROM cart_lines WHERE cart_id = $1 ORDER BY added_at, sku",
    )
    .bind(cart_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Adds `quantity` to the line (creating it), refusing to go past 100 units.
pub async fn add_line(
    conn: &mut PgConnection,
    cart_id: Uuid,
    sku: &str,
    quantity: i32,
    price_minor: Option<i64>,
) -> Result<(), OrderError> {
    let result = sqlx::query(
        "INSERT INTO cart_lines (cart_id, sku, quantity, added_price_minor) VALUES ($1, $2, $3, $4)
         ON CONFLICT (cart_id, sku) DO UPDATE SET quantity = cart_lines.quantity + EXCLUDED.quantity",
    )
    .bind(cart_id)
    .bind(sku)
    .bind(quantity)
    .bind(price_minor)
    .execute(&mut *conn)
    .await;
    match result {
        Err(sqlx::Error::Database(e)) if e.is_check_violation() => Err(OrderError::field(
            "quantity",
            "a cart line holds at most 100 units",
        )),
        other => other.map(|_| ()).map_err(OrderError::from),
    }
    .and(touch(conn, cart_id).await)
}

pub async fn set_quantity(
    conn: &mut PgConnection,
    cart_id: Uuid,
    sku: &str,
    quantity: i32,
) -> Result<bool, OrderError> {
    let updated =
        sqlx::query("UPDATE cart_lines SET quantity = $3 WHERE cart_id = $1 AND sku = $2")
            .bind(cart_id)
            .bind(sku)
            .bind(quantity)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    touch(conn, cart_id).await?;
    Ok(updated == 1)
}

pub async fn remove_line(
    conn: &mut PgConnection,
    cart_id: Uuid,
    sku: &str,
) -> Result<bool, OrderError> {
    let removed = sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND sku = $2")
        .bind(cart_id)
        .bind(sku)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    touch(conn, cart_id).await?;
    Ok(removed == 1)
}

pub async fn set_coupon(
    conn: &mut PgConnection,
    cart_id: Uuid,
    code: Option<&str>,
) -> Result<(), OrderError> {
    sqlx::query("UPDATE carts SET coupon_code = $2, updated_at = now() WHERE id = $1")
        .bind(cart_id)
        .bind(code)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Prices the cart in `currency` from now on, in one transaction: `prices` are the lines' unit prices in it
/// (minor units; `None` where a SKU has none), recorded as the prices when added; a line missing from
/// `prices` (added meanwhile) keeps no price when added.
pub async fn change_currency(
    conn: &mut PgConnection,
    cart_id: Uuid,
    currency: &str,
    prices: &[(String, Option<i64>)],
) -> Result<(), OrderError> {
    let (skus, minors): (Vec<&str>, Vec<Option<i64>>) = prices
        .iter()
        .map(|(sku, minor)| (sku.as_str(), *minor))
        .unzip();
    let mut tx = conn.begin().await?;
    sqlx::query("UPDATE carts SET currency = $2, updated_at = now() WHERE id = $1")
        .bind(cart_id)
        .bind(currency)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE cart_lines l SET added_price_minor = p.minor
         FROM (SELECT l2.sku, p2.minor FROM cart_lines l2
               LEFT JOIN unnest($2::text[], $3::bigint[]) AS p2 (sku, minor) ON p2.sku = l2.sku
               WHERE l2.cart_id = $1) p
         WHERE l.cart_id = $1 AND l.sku = p.sku",
    )
    .bind(cart_id)
    .bind(skus)
    .bind(minors)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Empties a cart after checkout.
pub async fn clear(conn: &mut PgConnection, cart_id: Uuid) -> Result<(), OrderError> {
    sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1")
        .bind(cart_id)
        .execute(&mut *conn)
        .await?;
    set_coupon(conn, cart_id, None).await
}

/// Moves a guest cart's lines into the shopper's cart (quantities add up, capped at 100) and its coupon
/// when the shopper has none; the guest cart is deleted.
pub async fn merge(
    conn: &mut PgConnection,
    guest: &CartRow,
    into: &CartRow,
) -> Result<(), OrderError> {
    sqlx::query(
        "INSERT INTO cart_lines (cart_id, sku, quantity, added_price_minor, added_at)
         SELECT $2, sku, quantity, added_price_minor, added_at FROM cart_lines WHERE cart_id = $1
         ON CONFLICT (cart_id, sku) DO UPDATE
           SET quantity = LEAST(cart_lines.quantity + EXCLUDED.quantity, 100)",
    )
    .bind(guest.id)
    .bind(into.id)
    .execute(&mut *conn)
    .await?;
    if into.coupon_code.is_none() && guest.coupon_code.is_some() {
        set_coupon(conn, into.id, guest.coupon_code.as_deref()).await?;
    }
    sqlx::query("DELETE FROM carts WHERE id = $1")
        .bind(guest.id)
        .execute(&mut *conn)
        .await?;
    touch(conn, into.id).await
}

async fn touch(conn: &mut PgConnection, cart_id: Uuid) -> Result<(), OrderError> {
    sqlx::query("UPDATE carts SET updated_at = now() WHERE id = $1")
        .bind(cart_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
