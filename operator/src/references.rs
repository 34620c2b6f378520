//! Which resources refer to a changed one and must be reconciled again: a Store change reaches the
//! Fulfillments that select it, a Product change the Promotions that target it.

use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::mapping::targeted_products;
use crate::resources::{Fulfillment, Product, Promotion, Store};

/// Fulfillments of the Store's namespace that name it, or that select Stores by label (the Store's labels
/// may have changed so that it joins or leaves their selection).
pub fn fulfillments_referring_to(
    store: &Store,
    fulfillments: &[Arc<Fulfillment>],
) -> Vec<ObjectRef<Fulfillment>> {
    let name = store.name_any();
    fulfillments
        .iter()
        .filter(|fulfillment| fulfillment.namespace() == store.namespace())
        .filter(|fulfillment| {
            let sources = &fulfillment.spec.sources;
            sources.store_selector.is_some()
                || sources
                    .store_names
                    .iter()
                    .flatten()
                    .any(|named| *named == name)
        })
        .map(|fulfillment| ObjectRef::from_obj(&**fulfillment))
        .collect()
}

/// Promotions of the Product's namespace that target it now, or that select Products by label (the
/// Product's labels may have changed so that it joins or leaves their selection).
pub fn promotions_referring_to(
    product: &Product,
    promotions: &[Arc<Promotion>],
) -> Vec<ObjectRef<Promotion>> {
    let namespace = product.namespace().unwrap_or_default();
    let candidate = std::slice::from_ref(product);
    promotions
        .iter()
        .filter(|promotion| promotion.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|promotion| {
            let target = promotion.spec.applies_to.as_ref();
            target.is_some_and(|target| target.product_selector.is_some())
                || !targeted_products(target, &namespace, candidate).is_empty()
        })
        .map(|promotion| ObjectRef::from_obj(&**promotion))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store(name: &str, namespace: &str) -> Store {
        serde_json::from_value(json!({
            "apiVersion": "bazaar.dev/v1alpha1", "kind": "Store",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"displayName": name, "type": "Retail", "timeZone": "UTC",
                     "address": {"lines": ["1 Main St"], "city": "X", "country": "US"},
                     "location": {"lat": 0.0, "lon": 0.0}},
        }))
        .expect("store")
    }

    fn fulfillment(name: &str, namespace: &str, sources: serde_json::Value) -> Arc<Fulfillment> {
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "bazaar.dev/v1alpha1", "kind": "Fulfillment",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"zones": [{"countries": ["US"]}], "sources": sources, "pickup": true},
            }))
            .expect("fulfillment"),
        )
    }

    fn names<K: kube::Resource>(refs: Vec<ObjectRef<K>>) -> Vec<String> {
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn a_store_change_reaches_fulfillments_that_name_or_may_select_it() {
        let fulfillments = [
            fulfillment(
                "names-it",
                "shop",
                json!({"storeNames": ["downtown", "reno"]}),
            ),
            fulfillment("names-another", "shop", json!({"storeNames": ["reno"]})),
            fulfillment(
                "selects",
                "shop",
                json!({"storeSelector": {"matchLabels": {"ships": "true"}}}),
            ),
            fulfillment(
                "other-namespace",
                "outlet",
                json!({"storeNames": ["downtown"]}),
            ),
        ];
        assert_eq!(
            names(fulfillments_referring_to(
                &store("downtown", "shop"),
                &fulfillments
            )),
            ["names-it", "selects"]
        );
    }

    fn product(name: &str, labels: serde_json::Value, category: &str, sku: &str) -> Product {
        serde_json::from_value(json!({
            "apiVersion": "bazaar.dev/v1alpha1", "kind": "Product",
            "metadata": {"name": name, "namespace": "shop", "labels": labels},
            "spec": {"title": name, "category": category,
                     "variants": [{"sku": sku, "prices": {"USD": "1.00"}}]},
        }))
        .expect("product")
    }

    fn promotion(name: &str, applies_to: Option<serde_json::Value>) -> Arc<Promotion> {
        let mut spec = json!({"discount": {"percentage": 10}});
        if let Some(target) = applies_to {
            spec["appliesTo"] = target;
        }
        Arc::new(
            serde_json::from_value(json!({
                "apiVersion": "bazaar.dev/v1alpha1", "kind": "Promotion",
                "metadata": {"name": name, "namespace": "shop"}, "spec": spec,
            }))
            .expect("promotion"),
        )
    }

    #[test]
    fn a_product_change_reaches_promotions_that_target_or_may_select_it() {
        let promotions = [
            promotion("everything", None),
            promotion(
                "by-label",
                Some(json!({"productSelector": {"matchLabels": {"collection": "winter"}}})),
            ),
            promotion("by-category", Some(json!({"categories": ["footwear"]}))),
            promotion("other-category", Some(json!({"categories": ["apparel"]}))),
            promotion("by-sku", Some(json!({"skus": ["TR-42"]}))),
            promotion("other-sku", Some(json!({"skus": ["XX-1"]}))),
        ];
        let trail_runner = product(
            "trail-runner",
            json!({"collection": "summer"}),
            "footwear/running",
            "TR-42",
        );
        assert_eq!(
            names(promotions_referring_to(&trail_runner, &promotions)),
            ["everything", "by-label", "by-category", "by-sku"]
        );
    }
}
