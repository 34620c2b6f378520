//! A user's addresses, shipping and billing.
//!
//! Default rules, enforced here and (at most one default) by a unique index:
//! - while a user has addresses of a kind, exactly one of them is that kind's default;
//! - the first address of a kind becomes its default;
//! - marking an address default takes the mark from the previous default of its kind;
//! - when the default goes away (deleted, changed to the other kind, or unmarked), the most recently
//!   added remaining address of the kind becomes the default.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{IdentityError, Result};
use crate::model::{Checks, UserId};

/// Enough for every real household and business, small enough that nobody stores a database here.
pub const MAX_ADDRESSES: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AddressKind {
    Shipping,
    Billing,
}

impl AddressKind {
    fn as_str(self) -> &'static str {
        match self {
            AddressKind::Shipping => "shipping",
            AddressKind::Billing => "billing",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "billing" {
            AddressKind::Billing
        } else {
            AddressKind::Shipping
        }
    }
}

/// An address as a client sends it, to create or replace one.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddressInput {
    pub kind: AddressKind,
    /// Make this the default address of its kind.
    #[serde(default)]
    pub is_default: bool,
    /// Recipient.
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: Option<String>,
    pub city: String,
    /// State, province or county, where the country uses one.
    #[serde(default)]
    pub region: Option<String>,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 code, e.g. `US`.
    pub country: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// A stored address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub id: Uuid,
    pub kind: AddressKind,
    pub is_default: bool,
    pub name: String,
    pub line1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line2: Option<String>,
    pub city: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub postal_code: String,
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An [`AddressInput`] that passed every rule, trimmed.
#[derive(Debug, Clone)]
pub struct ValidAddress {
    kind: AddressKind,
    is_default: bool,
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    region: Option<String>,
    postal_code: String,
    country: String,
    phone: Option<String>,
}

impl AddressInput {
    pub fn validate(self) -> Result<ValidAddress> {
        let mut checks = Checks::default();
        let name = checks.check("name", required(&self.name, 100, "the recipient's name"));
        let line1 = checks.check("line1", required(&self.line1, 200, "the street and number"));
        let line2 = checks.check("line2", optional(self.line2.as_deref(), 200));
        let city = checks.check("city", required(&self.city, 100, "the city"));
        let region = checks.check("region", optional(self.region.as_deref(), 100));
        let postal_code = checks.check(
            "postalCode",
            required(&self.postal_code, 20, "the postal code"),
        );
        let country = checks.check("country", country(&self.country));
        let phone = checks.check("phone", phone(self.phone.as_deref()));
        checks.finish().map_err(IdentityError::Validation)?;
        match (
            name,
            line1,
            line2,
            city,
            region,
            postal_code,
            country,
            phone,
        ) {
            (
                Some(name),
                Some(line1),
                Some(line2),
                Some(city),
                Some(region),
                Some(postal_code),
                Some(country),
                Some(phone),
            ) => Ok(ValidAddress {
                kind: self.kind,
                is_default: self.is_default,
                name,
                line1,
                line2,
                city,
                region,
                postal_code,
                country,
                phone,
            }),
            // `finish` returned Ok, so every check passed.
            _ => Err(IdentityError::Internal(
                "address validation inconsistent".to_owned(),
            )),
        }
    }
}

fn required(text: &str, max: usize, what: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("Enter {what}."));
    }
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(format!("Use at most {max} characters, on one line."));
    }
    Ok(text.to_owned())
}

fn optional(text: Option<&str>, max: usize) -> Result<Option<String>, String> {
    match text.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => required(text, max, "a value").map(Some),
    }
}

fn country(text: &str) -> Result<String, String> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err("Use the two-letter ISO 3166-1 country code, e.g. US or DE.".to_owned())
    }
}

fn phone(text: Option<&str>) -> Result<Option<String>, String> {
    let Some(phone) = optional(text, 30)? else {
        return Ok(None);
    };
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = |c: char| c.is_ascii_digit() || " +-().".contains(c);
    if digits < 4 || !phone.chars().all(allowed) {
        return Err("Use digits, spaces and + - ( ) only, e.g. +1 415 555 0100.".to_owned());
    }
    Ok(Some(phone))
}

type Row = (
    Uuid,
    String,
    bool,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

const COLUMNS: &str = "id, kind, is_default, name, line1, line2, city, region, postal_code, country, phone, created_at, updated_at";

fn from_row(row: Row) -> Address {
    let (
        id,
        kind,
        is_default,
        name,
        line1,
        line2,
        city,
        region,
        postal_code,
        country,
        phone,
        created_at,
        updated_at,
    ) = row;
    Address {
        id,
        kind: AddressKind::parse(&kind),
        is_default,
        name,
        line1,
        line2,
        city,
        region,
        postal_code,
        country,
        phone,
        created_at,
        updated_at,
    }
}

pub async fn list(db: &PgPool, user: UserId) -> Result<Vec<Address>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM addresses WHERE user_id = $1 ORDER BY kind DESC, is_default DESC, created_at"
    )))
    .bind(user)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn get(db: impl sqlx::PgExecutor<'_>, user: UserId, id: Uuid) -> Result<Address> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM addresses WHERE user_id = $1 AND id = $2"
    )))
    .bind(user)
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(from_row)
        .ok_or(IdentityError::NotFound("You have no address with this id."))
}

pub async fn create(db: &PgPool, user: UserId, address: ValidAddress) -> Result<Address> {
    let mut tx = db.begin().await?;
    lock_user(&mut tx, user).await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM addresses WHERE user_id = $1")
        .bind(user)
        .fetch_one(&mut *tx)
        .await?;
    if count >= MAX_ADDRESSES {
        return Err(IdentityError::Conflict(
            "You have the maximum of 50 addresses; delete one to add another.",
        ));
    }
    let id = Uuid::now_v7();
    if address.is_default {
        clear_default(&mut tx, user, address.kind, id).await?;
    }
    sqlx::query(
        "INSERT INTO addresses (id, user_id, kind, is_default, name, line1, line2, city, region,
                                postal_code, country, phone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(id)
    .bind(user)
    .bind(address.kind.as_str())
    .bind(address.is_default)
    .bind(&address.name)
    .bind(&address.line1)
    .bind(&address.line2)
    .bind(&address.city)
    .bind(&address.region)
    .bind(&address.postal_code)
    .bind(&address.country)
    .bind(&address.phone)
    .execute(&mut *tx)
    .await?;
    settle_defaults(&mut tx, user).await?;
    let created = get(&mut *tx, user, id).await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn replace(
    db: &PgPool,
    user: UserId,
    id: Uuid,
    address: ValidAddress,
) -> Result<Address> {
    let mut tx = db.begin().await?;
    lock_user(&mut tx, user).await?;
    get(&mut *tx, user, id).await?;
    if address.is_default {
        clear_default(&mut tx, user, address.kind, id).await?;
    }
    sqlx::query(
        "UPDATE addresses SET kind = $3, is_default = $4, name = $5, line1 = $6, line2 = $7, city = $8,
                region = $9, postal_code = $10, country = $11, phone = $12, updated_at = now()
         WHERE user_id = $1 AND id = $2",
    )
    .bind(user)
    .bind(id)
    .bind(address.kind.as_str())
    .bind(address.is_default)
    .bind(&address.name)
    .bind(&address.line1)
    .bind(&address.line2)
    .bind(&address.city)
    .bind(&address.region)
    .bind(&address.postal_code)
    .bind(&address.country)
    .bind(&address.phone)
    .execute(&mut *tx)
    .await?;
    settle_defaults(&mut tx, user).await?;
    let updated = get(&mut *tx, user, id).await?;
    tx.commit().await?;
    Ok(updated)
}

pub async fn delete(db: &PgPool, user: UserId, id: Uuid) -> Result<()> {
    let mut tx = db.begin().await?;
    lock_user(&mut tx, user).await?;
    let deleted = sqlx::query("DELETE FROM addresses WHERE user_id = $1 AND id = $2")
        .bind(user)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if deleted.rows_affected() == 0 {
        return Err(IdentityError::NotFound("You have no address with this id."));
    }
    settle_defaults(&mut tx, user).await?;
    tx.commit().await?;
    Ok(())
}

/// Address changes of one user take turns, so two concurrent "make default" requests cannot both
/// clear and set.
async fn lock_user(tx: &mut PgConnection, user: UserId) -> Result<()> {
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users WHERE id = $1 FOR UPDATE")
        .bind(user)
        .fetch_optional(&mut *tx)
        .await?;
    found
        .map(|_| ())
        .ok_or(IdentityError::NotFound("This account no longer exists."))
}

async fn clear_default(
    tx: &mut PgConnection,
    user: UserId,
    kind: AddressKind,
    except: Uuid,
) -> Result<()> {
    sqlx::query(
        "UPDATE addresses SET is_default = false, updated_at = now()
         WHERE user_id = $1 AND kind = $2 AND is_default AND id <> $3",
    )
    .bind(user)
    .bind(kind.as_str())
    .bind(except)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Gives every kind that has addresses but no default its most recently added address as default.
async fn settle_defaults(tx: &mut PgConnection, user: UserId) -> Result<()> {
    sqlx::query(
        "UPDATE addresses SET is_default = true, updated_at = now()
         WHERE id IN (
             SELECT DISTINCT ON (a.kind) a.id FROM addresses a
             WHERE a.user_id = $1
               AND NOT EXISTS (SELECT 1 FROM addresses d
                               WHERE d.user_id = $1 AND d.kind = a.kind AND d.is_default)
             ORDER BY a.kind, a.created_at DESC, a.id DESC)",
    )
    .bind(user)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
