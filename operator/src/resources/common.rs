//! Field types that several resources share: money per currency, ISO codes, label selectors and the
//! patterns the schemas enforce at admission.

use std::borrow::Cow;
use std::collections::BTreeMap;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// A decimal amount as merchandisers write it: digits, optionally a dot and one to three decimals.
pub const DECIMAL_PATTERN: &str = r"^[0-9]+(\.[0-9]{1,3})?$";
/// An ISO 4217 currency code.
pub const CURRENCY_PATTERN: &str = r"^[A-Z]{3}$";
/// A stock keeping unit, as `bazaar_contracts::Sku` accepts it.
pub const SKU_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
/// An ISO 3166-1 alpha-2 country code.
pub const COUNTRY_PATTERN: &str = r"^[A-Z]{2}$";
/// A category path: lowercase slugs separated by `/`, at most five levels (`footwear/running`).
pub const CATEGORY_PATTERN: &str = r"^[a-z0-9]+(-[a-z0-9]+)*(/[a-z0-9]+(-[a-z0-9]+)*){0,4}$";
/// The name of another resource in the same namespace (a DNS-1123 subdomain).
pub const RESOURCE_NAME_PATTERN: &str =
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// Most currencies one amount may be given in.
const MAX_CURRENCIES: u32 = 16;

/// An amount per currency, e.g. `{USD: "129.00", EUR: "119.00"}`: ISO 4217 codes to decimal strings,
/// never floating point. The operator converts each to integer minor units and refuses amounts with more
/// decimals than the currency has (e.g. `"1.50"` in JPY).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amounts(pub BTreeMap<String, String>);

impl Amounts {
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(currency, amount)| (currency.as_str(), amount.as_str()))
    }

    pub fn currencies(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Amounts {
    fn from(entries: [(&str, &str); N]) -> Self {
        Amounts(
            entries
                .into_iter()
                .map(|(currency, amount)| (currency.to_owned(), amount.to_owned()))
                .collect(),
        )
    }
}

impl JsonSchema for Amounts {
    fn schema_name() -> Cow<'static, str> {
        "Amounts".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "object",
            "minProperties": 1,
            "maxProperties": MAX_CURRENCIES,
            "additionalProperties": {
                "type": "string",
                "pattern": DECIMAL_PATTERN,
                "maxLength": 20,
            },
            "x-kubernetes-validations": [{
                "rule": format!("self.all(currency, currency.matches('{CURRENCY_PATTERN}'))"),
                "message": "keys must be ISO 4217 currency codes such as USD or EUR",
            }],
        })
    }
}

/// Schema of a map from names to short strings, bounded so that CEL rules over it stay within the API
/// server's cost budget.
fn bounded_string_map(max_entries: u32, max_value_length: u32) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": max_entries,
        "additionalProperties": {"type": "string", "maxLength": max_value_length},
    })
}

/// Variant option values, e.g. `{size: "42", color: black}`: at most three options (as most shops allow),
/// which keeps the pairwise comparison of variants within the CEL cost budget.
pub fn option_values_schema(_: &mut SchemaGenerator) -> Schema {
    bounded_string_map(3, 64)
}

/// Product attributes, e.g. `{material: mesh}`.
pub fn attributes_schema(_: &mut SchemaGenerator) -> Schema {
    bounded_string_map(50, 500)
}

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`), as Deployments and Services use.
pub type LabelSelector = k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `labels` satisfy `selector`, with the Kubernetes semantics (an empty selector selects everything).
pub fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_match = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(key, value)| labels.get(key) == Some(value));
    let expressions_match = selector
        .match_expressions
        .iter()
        .flatten()
        .all(|requirement| {
            let value = labels.get(&requirement.key);
            let values = requirement.values.as_deref().unwrap_or_default();
            match requirement.operator.as_str() {
                "In" => value.is_some_and(|value| values.contains(value)),
                "NotIn" => value.is_none_or(|value| !values.contains(value)),
                "Exists" => value.is_some(),
                "DoesNotExist" => value.is_none(),
                _ => false,
            }
        });
    labels_match && expressions_match
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn requirement(key: &str, operator: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: operator.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn an_empty_selector_selects_everything() {
        assert!(selector_matches(&LabelSelector::default(), &labels(&[])));
    }

    #[test]
    fn match_labels_require_every_pair() {
        let selector = LabelSelector {
            match_labels: Some(labels(&[("collection", "summer"), ("tier", "premium")])),
            ..Default::default()
        };
        assert!(selector_matches(
            &selector,
            &labels(&[("collection", "summer"), ("tier", "premium"), ("x", "y")])
        ));
        assert!(!selector_matches(
            &selector,
            &labels(&[("collection", "summer")])
        ));
    }

    #[test]
    fn match_expressions_follow_kubernetes_operators() {
        let selector = |req| LabelSelector {
            match_expressions: Some(vec![req]),
            ..Default::default()
        };
        let region = labels(&[("region", "west")]);
        assert!(selector_matches(
            &selector(requirement("region", "In", &["west", "east"])),
            &region
        ));
        assert!(!selector_matches(
            &selector(requirement("region", "NotIn", &["west"])),
            &region
        ));
        assert!(selector_matches(
            &selector(requirement("tier", "NotIn", &["gold"])),
            &region
        ));
        assert!(selector_matches(
            &selector(requirement("region", "Exists", &[])),
            &region
        ));
        assert!(!selector_matches(
            &selector(requirement("region", "DoesNotExist", &[])),
            &region
        ));
        assert!(!selector_matches(
            &selector(requirement("region", "Bogus", &[])),
            &region
        ));
    }
}
