//! Sales tax, computed on the server from the shipping destination: a rate for a region (`US-CA`) wins over
//! its country's (`DE`); places not listed pay none. The base is what the shopper pays before tax: the
//! discounted subtotal plus shipping.

use std::str::FromStr;

use bazaar_contracts::{Money, MoneyError};

/// One rate, in thousandths of a percent (8.875 % is 8875), so that every published rate is exact.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TaxRate {
    country: String,
    region: Option<String>,
    milli_percent: u64,
}

/// Tax rates by place, e.g. parsed from `US-CA=7.25,US-NY=8.875,DE=19`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaxTable(Vec<TaxRate>);

impl FromStr for TaxTable {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut rates = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (place, rate) = entry
                .split_once('=')
                .ok_or_else(|| format!("`{entry}` is not PLACE=PERCENT, e.g. US-CA=7.25"))?;
            let (country, region) = match place.trim().split_once('-') {
                Some((country, region)) => (country, Some(region.to_owned())),
                None => (place.trim(), None),
            };
            if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(format!(
                    "`{place}` does not start with an ISO 3166-1 alpha-2 country such as US"
                ));
            }
            rates.push(TaxRate {
                country: country.to_owned(),
                region,
                milli_percent: parse_percent(rate.trim()).ok_or_else(|| {
                    format!("`{rate}` is not a percentage from 0 to 100 with at most 3 decimals")
                })?,
            });
        }
        Ok(TaxTable(rates))
    }
}

fn parse_percent(text: &str) -> Option<u64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || fraction.len() > 3
        || !(whole.chars().chain(fraction.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let value =
        whole.parse::<u64>().ok()? * 1000 + format!("{fraction:0<3}").parse::<u64>().ok()?;
    (value <= 100_000).then_some(value)
}

impl TaxTable {
    fn rate(&self, country: &str, region: Option<&str>) -> u64 {
        let regional = self
            .0
            .iter()
            .find(|r| r.country == country && r.region.is_some() && r.region.as_deref() == region);
        let national = self
            .0
            .iter()
            .find(|r| r.country == country && r.region.is_none());
        regional.or(national).map_or(0, |r| r.milli_percent)
    }

    /// Tax on `base` for goods shipped to `country` (and `region`), rounded half up to the minor unit.
    pub fn tax(
        &self,
        base: Money,
        country: &str,
        region: Option<&str>,
    ) -> Result<Money, MoneyError> {
        let scaled = i128::from(base.minor()) * i128::from(self.rate(country, region));
        let rounded = (scaled + 50_000) / 100_000;
        i64::try_from(rounded)
            .map(|minor| Money::from_minor(minor, base.currency()))
            .map_err(|_| MoneyError::Overflow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bazaar_contracts::Currency;

    fn usd(amount: &str) -> Money {
        Money::parse(amount, Currency::USD).expect("usd")
    }

    #[test]
    fn a_regional_rate_wins_over_the_national_one_and_unlisted_places_pay_none() {
        let table: TaxTable = "US-CA=7.25, US=5, DE=19".parse().expect("table");
        assert_eq!(
            table.tax(usd("298.00"), "US", Some("CA")).expect("tax"),
            usd("21.61")
        );
        assert_eq!(
            table.tax(usd("100.00"), "US", Some("TX")).expect("tax"),
            usd("5.00")
        );
        assert_eq!(
            table.tax(usd("100.00"), "FR", None).expect("tax"),
            usd("0.00")
        );
    }

    #[test]
    fn rates_with_three_decimals_are_exact() {
        let table: TaxTable = "US-NY=8.875".parse().expect("table");
        assert_eq!(
            table.tax(usd("100.00"), "US", Some("NY")).expect("tax"),
            usd("8.88")
        );
    }

    #[test]
    fn malformed_tables_are_refused_with_the_reason() {
        for bad in ["US-CA", "usa=5", "US=101", "US=7.2555", "US=abc"] {
            assert!(bad.parse::<TaxTable>().is_err(), "{bad} accepted");
        }
        assert_eq!("".parse::<TaxTable>(), Ok(TaxTable::default()));
    }
}
