//! Money and the identifiers every component shares. Money is an integer count of minor units (cents)
//! plus an ISO 4217 currency, never floating point; on the wire an amount is a decimal string ("129.00").

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use iso_currency::Currency;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a currency code (ISO 4217, e.g. USD)")]
    UnknownCurrency(String),
    #[error(
        "`{amount}` is not an amount in {currency}: expected digits with at most {places} decimal places, e.g. \"129.00\""
    )]
    InvalidAmount {
        amount: String,
        currency: Currency,
        places: u32,
    },
    #[error("amounts in {0} and {1} cannot be combined")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
}

/// Parses an ISO 4217 code such as `USD`.
pub fn currency(code: &str) -> Result<Currency, MoneyError> {
    Currency::from_code(code).ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
}

/// Decimal places of `currency`'s minor unit (2 for USD, 0 for JPY, 3 for KWD).
pub fn minor_places(currency: Currency) -> u32 {
    currency.exponent().map_or(2, u32::from)
}

/// An amount of one currency, in minor units. Arithmetic is checked and refuses to mix currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

impl Money {
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Self { minor, currency }
    }

    pub const fn zero(currency: Currency) -> Self {
        Self { minor: 0, currency }
    }

    /// Parses a decimal string such as `"129.00"` or `"129"`; more decimal places than the currency has,
    /// signs, exponents and spaces are refused.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, MoneyError> {
        let places = minor_places(currency);
        let invalid = || MoneyError::InvalidAmount {
            amount: amount.to_owned(),
            currency,
            places,
        };
        let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(fraction)
            || fraction.len() > places as usize
            || (amount.contains('.') && fraction.is_empty())
        {
            return Err(invalid());
        }
        let scale = 10i64.pow(places);
        let whole: i64 = whole.parse().map_err(|_| invalid())?;
        let fraction: i64 = if fraction.is_empty() {
            0
        } else {
            let padded = format!("{fraction:0<width$}", width = places as usize);
            padded.parse().map_err(|_| invalid())?
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|m| m.checked_add(fraction))
            .ok_or(MoneyError::Overflow)?;
        Ok(Self { minor, currency })
    }

    pub const fn minor(self) -> i64 {
        self.minor
    }

    pub const fn currency(self) -> Currency {
        self.currency
    }

    pub const fn is_zero(self) -> bool {
        self.minor == 0
    }

    pub const fn is_negative(self) -> bool {
        self.minor < 0
    }

    /// The decimal string form: `"129.00"`, `"-4.50"`, `"500"` for JPY.
    pub fn amount(self) -> String {
        let places = minor_places(self.currency);
        if places == 0 {
            return self.minor.to_string();
        }
        let scale = 10u64.pow(places);
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = places as usize
        )
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_add(other.minor)
            .map(|minor| Money { minor, ..self })
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.minor
            .checked_sub(other.minor)
            .map(|minor| Money { minor, ..self })
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, quantity: u32) -> Result<Money, MoneyError> {
        self.minor
            .checked_mul(i64::from(quantity))
            .map(|minor| Money { minor, ..self })
            .ok_or(MoneyError::Overflow)
    }

    /// `percent` percent of this amount, rounded half away from zero to the minor unit.
    pub fn percentage(self, percent: u32) -> Result<Money, MoneyError> {
        let scaled = i128::from(self.minor) * i128::from(percent);
        let rounded = (scaled + scaled.signum() * 50) / 100;
        i64::try_from(rounded)
            .map(|minor| Money { minor, ..self })
            .map_err(|_| MoneyError::Overflow)
    }

    /// The smaller of two amounts of one currency.
    pub fn min(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(if other.minor < self.minor {
            other
        } else {
            self
        })
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount(), self.currency.code())
    }
}

/// An amount of money on the wire, e.g. `{"amount": "129.00", "currency": "USD"}`.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename = "Money")]
struct MoneyJson {
    /// Decimal string in the currency's major unit, e.g. "129.00".
    #[schemars(regex(pattern = r"^-?[0-9]+(\.[0-9]+)?$"))]
    amount: String,
    /// ISO 4217 currency code, e.g. "USD".
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    currency: String,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyJson {
            amount: self.amount(),
            currency: self.currency.code().to_owned(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = MoneyJson::deserialize(deserializer)?;
        let currency = currency(&json.currency).map_err(serde::de::Error::custom)?;
        let (negative, digits) = match json.amount.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, json.amount.as_str()),
        };
        let money = Money::parse(digits, currency).map_err(serde::de::Error::custom)?;
        Ok(if negative {
            Money::from_minor(-money.minor, currency)
        } else {
            money
        })
    }
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .description(Some(
                "An amount: a decimal string in the currency's major unit and an ISO 4217 code.",
            ))
            .property(
                "amount",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(r"^-?[0-9]+(\.[0-9]+)?$"))
                    .examples(["129.00"]),
            )
            .property(
                "currency",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some("^[A-Z]{3}$"))
                    .examples(["USD"]),
            )
            .required("amount")
            .required("currency")
            .into()
    }
}

impl utoipa::ToSchema for Money {}

impl JsonSchema for Money {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Money".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        MoneyJson::json_schema(generator)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a SKU: expected 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter or digit"
)]
pub struct InvalidSku(pub String);

/// A stock keeping unit code, e.g. `TR-42-BLK`. Valid by construction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(transparent)]
pub struct Sku(#[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))] String);

impl Sku {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Sku {
    type Err = InvalidSku;
    fn from_str(value: &str) -> Result<Self, InvalidSku> {
        let mut chars = value.chars();
        let valid = value.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid {
            Ok(Sku(value.to_owned()))
        } else {
            Err(InvalidSku(value.to_owned()))
        }
    }
}

impl<'de> Deserialize<'de> for Sku {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Sku {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"))
            .examples(["TR-42-BLK"])
            .into()
    }
}

impl utoipa::ToSchema for Sku {}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::USD).expect("valid amount")
    }

    #[test]
    fn decimal_strings_become_minor_units_and_back() {
        assert_eq!(usd("129.00").minor(), 12900);
        assert_eq!(usd("129").minor(), 12900);
        assert_eq!(usd("0.5").minor(), 50);
        assert_eq!(usd("129.00").amount(), "129.00");
        assert_eq!(Money::from_minor(-450, Currency::USD).amount(), "-4.50");
        let yen = Money::parse("500", Currency::JPY).expect("yen");
        assert_eq!((yen.minor(), yen.amount()), (500, "500".to_owned()));
        assert_eq!(
            Money::parse("1.234", Currency::KWD).expect("dinar").minor(),
            1234
        );
    }

    #[test]
    fn malformed_amounts_are_refused_with_a_readable_reason() {
        for bad in [
            "",
            "1.",
            ".5",
            "1.001",
            "1e3",
            " 1",
            "+1",
            "1,00",
            "abc",
            "99999999999999999999",
        ] {
            assert!(
                Money::parse(bad, Currency::USD).is_err(),
                "{bad:?} accepted"
            );
        }
        assert!(
            Money::parse("1.5", Currency::JPY).is_err(),
            "yen has no minor unit"
        );
        let message = Money::parse("1.001", Currency::USD)
            .expect_err("too precise")
            .to_string();
        assert!(message.contains("at most 2 decimal places"), "{message}");
    }

    #[test]
    fn arithmetic_refuses_to_mix_currencies() {
        let eur = Money::parse("1.00", Currency::EUR).expect("eur");
        assert_eq!(
            usd("1.00").checked_add(eur),
            Err(MoneyError::CurrencyMismatch(Currency::USD, Currency::EUR))
        );
        assert_eq!(
            usd("1.00").checked_add(usd("2.50")).expect("sum"),
            usd("3.50")
        );
        assert_eq!(usd("4.99").checked_mul(3).expect("product"), usd("14.97"));
    }

    #[test]
    fn percentages_round_half_away_from_zero_to_the_cent() {
        assert_eq!(usd("129.00").percentage(20).expect("pct"), usd("25.80"));
        assert_eq!(usd("0.05").percentage(50).expect("pct").minor(), 3);
        assert_eq!(usd("0.01").percentage(10).expect("pct").minor(), 0);
    }

    #[test]
    fn money_travels_as_a_decimal_string_and_a_currency_code() {
        let json = serde_json::to_value(usd("129.00")).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"amount": "129.00", "currency": "USD"})
        );
        let back: Money = serde_json::from_value(json).expect("parse");
        assert_eq!(back, usd("129.00"));
        assert!(
            serde_json::from_value::<Money>(
                serde_json::json!({"amount": 129.0, "currency": "USD"})
            )
            .is_err()
        );
        assert!(
            serde_json::from_value::<Money>(serde_json::json!({"amount": "1", "currency": "XXY"}))
                .is_err()
        );
    }

    #[test]
    fn skus_are_validated_on_the_way_in() {
        assert!("TR-42-BLK".parse::<Sku>().is_ok());
        for bad in ["", "-lead", "has space", "x".repeat(65).as_str(), "ümlaut"] {
            assert!(bad.parse::<Sku>().is_err(), "{bad:?} accepted");
        }
        assert!(serde_json::from_str::<Sku>("\"bad sku\"").is_err());
    }
}
