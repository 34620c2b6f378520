//! From resources to the catalog's model: pure functions, no I/O. What cannot be mapped becomes a
//! [`Rejection`] whose reason and message end up on the resource's `Ready` condition.

use bazaar_catalog::model;
use bazaar_contracts::money::currency;
use bazaar_contracts::{Money, Sku};
use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Resource, ResourceExt};

use crate::resources::common::{Amounts, selector_matches};
use crate::resources::fulfillment::Sources;
use crate::resources::product::Lifecycle;
use crate::resources::promotion::Target;
use crate::resources::store::{StoreType, Weekday};
use crate::resources::{Fulfillment, Product, Promotion, Store};

/// Why a resource cannot be projected as it stands: a CamelCase reason and a message saying what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Rejection {
            reason,
            message: message.into(),
        }
    }

    fn invalid(problems: Vec<String>) -> Self {
        Rejection::new("InvalidSpec", problems.join("; "))
    }
}

/// Amounts converted to money, or one problem per amount that is not.
fn money(amounts: &Amounts, field: &str, problems: &mut Vec<String>) -> Vec<Money> {
    amounts
        .iter()
        .filter_map(|(code, amount)| {
            let parsed = currency(code).and_then(|currency| Money::parse(amount, currency));
            parsed
                .map_err(|error| problems.push(format!("{field}.{code}: {error}")))
                .ok()
        })
        .collect()
}

fn optional_money(
    amounts: Option<&Amounts>,
    field: &str,
    problems: &mut Vec<String>,
) -> Vec<Money> {
    amounts.map_or_else(Vec::new, |amounts| money(amounts, field, problems))
}

fn sku(value: &str, field: &str, problems: &mut Vec<String>) -> Option<Sku> {
    value
        .parse()
        .map_err(|error| problems.push(format!("{field}: {error}")))
        .ok()
}

/// A product as the catalog stores it; its URL slug is the resource name.
pub fn product(resource: &Product) -> Result<model::Product, Rejection> {
    let spec = &resource.spec;
    let mut problems = Vec::new();
    let variants = spec
        .variants
        .iter()
        .enumerate()
        .filter_map(|(i, variant)| {
            let field = format!("variants[{i}]");
            let prices = money(&variant.prices, &format!("{field}.prices"), &mut problems);
            let compare_at_prices = optional_money(
                variant.compare_at_prices.as_ref(),
                &format!("{field}.compareAtPrices"),
                &mut problems,
            );
            Some(model::Variant {
                sku: sku(&variant.sku, &format!("{field}.sku"), &mut problems)?,
                title: None,
                options: variant.options.clone(),
                prices,
                compare_at_prices,
                weight_grams: variant.weight_grams,
            })
        })
        .collect();
    if !problems.is_empty() {
        return Err(Rejection::invalid(problems));
    }
    Ok(model::Product {
        namespace: resource.namespace().unwrap_or_default(),
        name: resource.name_any(),
        slug: resource.name_any(),
        title: spec.title.clone(),
        description: spec.description.clone().unwrap_or_default(),
        category: spec.category.clone(),
        brand: spec.brand.clone(),
        images: spec
            .images
            .iter()
            .map(|image| model::Image {
                url: image.url.clone(),
                alt: image.alt.clone(),
            })
            .collect(),
        attributes: spec.attributes.clone(),
        labels: resource.labels().clone(),
        lifecycle: match spec.lifecycle {
            Lifecycle::Draft => model::ProductLifecycle::Draft,
            Lifecycle::Active => model::ProductLifecycle::Active,
            Lifecycle::Archived => model::ProductLifecycle::Archived,
        },
        featured: spec.featured,
        variants,
        source_generation: resource.meta().generation,
    })
}

/// A store as the catalog stores it.
pub fn store(resource: &Store) -> model::Store {
    let spec = &resource.spec;
    model::Store {
        namespace: resource.namespace().unwrap_or_default(),
        name: resource.name_any(),
        display_name: spec.display_name.clone(),
        kind: match spec.store_type {
            StoreType::Retail => model::StoreKind::Retail,
            StoreType::Warehouse => model::StoreKind::Warehouse,
        },
        address: model::Address {
            lines: spec.address.lines.clone(),
            city: spec.address.city.clone(),
            region: spec.address.region.clone(),
            postal_code: spec.address.postal_code.clone(),
            country: spec.address.country.clone(),
        },
        location: model::GeoPoint {
            lat: spec.location.lat,
            lon: spec.location.lon,
        },
        time_zone: spec.time_zone.clone(),
        opening_hours: spec
            .opening_hours
            .iter()
            .map(|hours| model::OpeningHours {
                days: hours.days.iter().map(|day| weekday(*day)).collect(),
                opens: hours.opens.clone(),
                closes: hours.closes.clone(),
            })
            .collect(),
        contact: spec
            .contact
            .as_ref()
            .map(|contact| model::Contact {
                phone: contact.phone.clone(),
                email: contact.email.clone(),
            })
            .unwrap_or_default(),
        pickup: spec.capabilities.pickup,
        ship_from_store: spec.capabilities.ship_from_store,
        active: spec.active,
        labels: resource.labels().clone(),
    }
}

fn weekday(day: Weekday) -> model::Weekday {
    match day {
        Weekday::Monday => model::Weekday::Monday,
        Weekday::Tuesday => model::Weekday::Tuesday,
        Weekday::Wednesday => model::Weekday::Wednesday,
        Weekday::Thursday => model::Weekday::Thursday,
        Weekday::Friday => model::Weekday::Friday,
        Weekday::Saturday => model::Weekday::Saturday,
        Weekday::Sunday => model::Weekday::Sunday,
    }
}

/// The names of the active Stores of the Fulfillment's namespace that its `sources` choose, sorted.
pub fn source_stores(sources: &Sources, namespace: &str, stores: &[Store]) -> Vec<String> {
    let mut names: Vec<String> = stores
        .iter()
        .filter(|store| store.namespace().as_deref() == Some(namespace) && store.spec.active)
        .filter(
            |store| match (&sources.store_names, &sources.store_selector) {
                (Some(names), _) => names.contains(&store.name_any()),
                (None, Some(selector)) => selector_matches(selector, store.labels()),
                (None, None) => false,
            },
        )
        .map(ResourceExt::name_any)
        .collect();
    names.sort();
    names
}

/// A fulfillment policy with its sources resolved against the Stores that exist now.
pub fn fulfillment(
    resource: &Fulfillment,
    stores: &[Store],
) -> Result<model::Fulfillment, Rejection> {
    let spec = &resource.spec;
    let namespace = resource.namespace().unwrap_or_default();
    let source_stores = source_stores(&spec.sources, &namespace, stores);
    if let Some(names) = &spec.sources.store_names
        && let Some(missing) = names.iter().find(|name| !source_stores.contains(name))
    {
        return Err(Rejection::new(
            "StoreNotFound",
            format!(
                "sources.storeNames names Store {missing}, which does not exist in namespace {namespace} or is not active; create it, activate it or fix the name"
            ),
        ));
    }
    if source_stores.is_empty() {
        return Err(Rejection::new(
            "NoStoreSelected",
            format!(
                "sources.storeSelector selects no active Store in namespace {namespace}; label a Store to match or change the selector"
            ),
        ));
    }
    let mut problems = Vec::new();
    let methods = spec
        .methods
        .iter()
        .enumerate()
        .map(|(i, method)| {
            let field = format!("methods[{i}]");
            model::ShippingMethod {
                code: method.code.clone(),
                name: method.name.clone(),
                rates: money(&method.rates, &format!("{field}.rates"), &mut problems),
                free_over: optional_money(
                    method.free_over.as_ref(),
                    &format!("{field}.freeOver"),
                    &mut problems,
                ),
                delivery_days: Some(model::DayRange {
                    min: method.delivery_days.min,
                    max: method.delivery_days.max,
                }),
            }
        })
        .collect();
    if !problems.is_empty() {
        return Err(Rejection::invalid(problems));
    }
    Ok(model::Fulfillment {
        namespace,
        name: resource.name_any(),
        zones: spec
            .zones
            .iter()
            .map(|zone| model::Zone {
                countries: zone.countries.clone(),
                regions: zone.regions.clone(),
            })
            .collect(),
        source_stores,
        methods,
        pickup: spec.pickup,
    })
}

/// The Products of the Promotion's namespace that it targets (all of them without `appliesTo`).
pub fn targeted_products<'a>(
    target: Option<&Target>,
    namespace: &str,
    products: &'a [Product],
) -> Vec<&'a Product> {
    products
        .iter()
        .filter(|product| product.namespace().as_deref() == Some(namespace))
        .filter(|product| match target {
            None => true,
            Some(target) => {
                target
                    .product_selector
                    .as_ref()
                    .is_some_and(|selector| selector_matches(selector, product.labels()))
                    || target.categories.iter().flatten().any(|category| {
                        product.spec.category == *category
                            || product.spec.category.starts_with(&format!("{category}/"))
                    })
                    || target.skus.iter().flatten().any(|sku| {
                        product
                            .spec
                            .variants
                            .iter()
                            .any(|variant| variant.sku == *sku)
                    })
            }
        })
        .collect()
}

fn timestamp(time: Option<&Time>) -> Option<DateTime<Utc>> {
    let time = time?;
    let nanos = u32::try_from(time.0.subsec_nanosecond()).unwrap_or(0);
    DateTime::from_timestamp(time.0.as_second(), nanos)
}

/// A promotion as the catalog stores it. A label selector with `matchExpressions` (which the catalog's
/// label targets cannot express) is resolved to the SKUs of the Products it selects now; the operator
/// re-reconciles the Promotion whenever a Product changes, so the resolution stays current.
pub fn promotion(
    resource: &Promotion,
    products: &[Product],
) -> Result<model::Promotion, Rejection> {
    let spec = &resource.spec;
    let namespace = resource.namespace().unwrap_or_default();
    let mut problems = Vec::new();
    let discount = match (
        &spec.discount.percentage,
        &spec.discount.amount,
        spec.discount.free_shipping,
        &spec.discount.buy_x_get_y,
    ) {
        (Some(percent), None, None, None) => model::Discount::Percentage(*percent),
        (None, Some(amount), None, None) => {
            model::Discount::Amount(money(amount, "discount.amount", &mut problems))
        }
        (None, None, Some(true), None) => model::Discount::FreeShipping,
        (None, None, None, Some(deal)) => model::Discount::BuyXGetY {
            buy: deal.buy,
            get: deal.get,
        },
        _ => {
            return Err(Rejection::new(
                "InvalidSpec",
                "discount takes exactly one of percentage, amount, freeShipping: true or buyXGetY",
            ));
        }
    };
    let applies_to = match &spec.applies_to {
        None => model::Targets::default(),
        Some(target) => {
            let mut targets = model::Targets::default();
            match &target.product_selector {
                Some(selector) if selector.match_expressions.iter().flatten().next().is_some() => {
                    let mut skus: Vec<Sku> = targeted_products(Some(target), &namespace, products)
                        .iter()
                        .flat_map(|product| &product.spec.variants)
                        .filter_map(|variant| variant.sku.parse().ok())
                        .collect();
                    skus.sort();
                    skus.dedup();
                    if skus.is_empty() {
                        return Err(no_product_targeted(&namespace));
                    }
                    targets.skus = skus;
                }
                Some(selector) => {
                    targets.labels = selector.match_labels.clone().unwrap_or_default();
                }
                None => {}
            }
            targets.categories = target.categories.clone().unwrap_or_default();
            for (i, value) in target.skus.iter().flatten().enumerate() {
                if let Some(sku) = sku(value, &format!("appliesTo.skus[{i}]"), &mut problems) {
                    targets.skus.push(sku);
                }
            }
            targets
        }
    };
    let minimum_subtotal = optional_money(
        spec.minimum_subtotal.as_ref(),
        "minimumSubtotal",
        &mut problems,
    );
    let limits = spec.limits.unwrap_or_default();
    let uses = |value: Option<i64>, field: &str, problems: &mut Vec<String>| {
        value.and_then(|value| {
            u32::try_from(value)
                .map_err(|_| {
                    problems.push(format!(
                        "limits.{field}: at most {} uses can be counted",
                        u32::MAX
                    ))
                })
                .ok()
        })
    };
    let limits = model::Limits {
        total_uses: uses(limits.total_uses, "totalUses", &mut problems),
        per_customer: uses(limits.per_customer, "perCustomer", &mut problems),
    };
    if !problems.is_empty() {
        return Err(Rejection::invalid(problems));
    }
    let schedule = spec.schedule.as_ref();
    Ok(model::Promotion {
        namespace,
        name: resource.name_any(),
        title: spec.title.clone(),
        code: spec.code.clone(),
        discount,
        applies_to,
        minimum_subtotal,
        schedule: model::Schedule {
            starts_at: timestamp(schedule.and_then(|s| s.starts_at.as_ref())),
            ends_at: timestamp(schedule.and_then(|s| s.ends_at.as_ref())),
        },
        limits,
        priority: spec.priority,
        stackable: spec.stackable,
    })
}

/// An empty target list would mean "every product" to the catalog, so a selector that resolves to nothing
/// cannot be projected.
fn no_product_targeted(namespace: &str) -> Rejection {
    Rejection::new(
        "NoProductTargeted",
        format!(
            "appliesTo.productSelector matches no Product in namespace {namespace}; label a Product to match or change the selector"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(name: &str, labels: serde_json::Value, prices: serde_json::Value) -> Product {
        serde_json::from_value(json!({
            "apiVersion": "bazaar.dev/v1alpha1", "kind": "Product",
            "metadata": {"name": name, "namespace": "shop", "labels": labels},
            "spec": {"title": name, "category": "footwear/running",
                     "variants": [{"sku": format!("{name}-1"), "prices": prices}]},
        }))
        .expect("product")
    }

    fn sale(applies_to: serde_json::Value) -> Promotion {
        serde_json::from_value(json!({
            "apiVersion": "bazaar.dev/v1alpha1", "kind": "Promotion",
            "metadata": {"name": "sale", "namespace": "shop"},
            "spec": {"code": "SALE10", "discount": {"percentage": 10}, "appliesTo": applies_to,
                     "schedule": {"startsAt": "2026-06-01T00:00:00Z"}},
        }))
        .expect("promotion")
    }

    #[test]
    fn prices_become_minor_units_of_their_currency() {
        let mapped = mapping_of(&product(
            "tee",
            json!({}),
            json!({"USD": "65", "JPY": "7000", "KWD": "20.125"}),
        ));
        let minors: Vec<(String, i64)> = mapped.variants[0]
            .prices
            .iter()
            .map(|m| (m.currency().code().to_owned(), m.minor()))
            .collect();
        assert_eq!(
            minors,
            [
                ("JPY".into(), 7000),
                ("KWD".into(), 20125),
                ("USD".into(), 6500)
            ]
        );
    }

    #[test]
    fn the_projection_remembers_the_generation_it_was_made_from() {
        let mut resource = product("tee", json!({}), json!({"USD": "65"}));
        assert_eq!(mapping_of(&resource).source_generation, None);
        resource.metadata.generation = Some(7);
        let mapped = mapping_of(&resource);
        assert_eq!(
            (mapped.namespace.as_str(), mapped.name.as_str()),
            ("shop", "tee")
        );
        assert_eq!(mapped.source_generation, Some(7));
    }

    fn mapping_of(resource: &Product) -> bazaar_catalog::model::Product {
        super::product(resource).expect("maps")
    }

    #[test]
    fn an_amount_finer_than_its_currency_or_an_unknown_currency_is_rejected_naming_the_field() {
        let rejection = super::product(&product(
            "tee",
            json!({}),
            json!({"JPY": "1.50", "XYZ": "1.00"}),
        ))
        .expect_err("rejected");
        assert_eq!(rejection.reason, "InvalidSpec");
        assert!(
            rejection
                .message
                .contains("variants[0].prices.JPY: `1.50` is not an amount in"),
            "{}",
            rejection.message
        );
        assert!(
            rejection
                .message
                .contains("variants[0].prices.XYZ: `XYZ` is not a currency code"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn a_match_labels_selector_stays_a_label_target_for_the_catalog() {
        let promotion = super::promotion(
            &sale(json!({"productSelector": {"matchLabels": {"collection": "summer"}}})),
            &[],
        )
        .expect("maps");
        assert_eq!(
            promotion
                .applies_to
                .labels
                .get("collection")
                .map(String::as_str),
            Some("summer")
        );
        assert!(promotion.applies_to.skus.is_empty());
        assert!(
            promotion
                .schedule
                .starts_at
                .is_some_and(|t| t.to_rfc3339() == "2026-06-01T00:00:00+00:00")
        );
    }

    #[test]
    fn a_match_expressions_selector_is_resolved_to_the_skus_it_selects_now() {
        let products = [
            product("a", json!({"collection": "summer"}), json!({"USD": "1"})),
            product("b", json!({"collection": "winter"}), json!({"USD": "1"})),
            product("c", json!({}), json!({"USD": "1"})),
        ];
        let selector = json!({"productSelector": {"matchExpressions": [
            {"key": "collection", "operator": "In", "values": ["summer", "winter"]}]}});
        let mapped = super::promotion(&sale(selector), &products).expect("maps");
        let skus: Vec<&str> = mapped.applies_to.skus.iter().map(|s| s.as_str()).collect();
        assert_eq!(skus, ["a-1", "b-1"]);

        let nothing = json!({"productSelector": {"matchExpressions": [
            {"key": "collection", "operator": "In", "values": ["autumn"]}]}});
        let rejection = super::promotion(&sale(nothing), &products).expect_err("rejected");
        assert_eq!(
            rejection.reason, "NoProductTargeted",
            "an empty SKU list would target everything"
        );
    }
}
