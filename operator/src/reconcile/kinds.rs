//! What each kind becomes in the catalog.

use kube::ResourceExt;

use super::{Desired, Lookups, Merchandise};
use crate::mapping::{self, Rejection};
use crate::projection::{CatalogObject, Kind};
use crate::resources::{Fulfillment, Product, Promotion, ResourceStatus, Store};

impl Merchandise for Product {
    const KIND: Kind = Kind::Product;

    fn status(&self) -> Option<&ResourceStatus> {
        self.status.as_ref()
    }

    fn desired(&self, _: &Lookups) -> Result<Desired, Rejection> {
        let product = mapping::product(self)?;
        let variants = product.variants.len();
        Ok(Desired {
            message: format!(
                "{} with {variants} variant{} in the catalog",
                product.lifecycle_label(),
                if variants == 1 { "" } else { "s" }
            ),
            summary: None,
            object: CatalogObject::Product(product),
        })
    }
}

trait LifecycleLabel {
    fn lifecycle_label(&self) -> &'static str;
}

impl LifecycleLabel for bazaar_catalog::model::Product {
    fn lifecycle_label(&self) -> &'static str {
        match self.lifecycle {
            bazaar_catalog::model::ProductLifecycle::Draft => "Draft (hidden from shoppers)",
            bazaar_catalog::model::ProductLifecycle::Active => "Active",
            bazaar_catalog::model::ProductLifecycle::Archived => "Archived (no longer sold)",
        }
    }
}

impl Merchandise for Store {
    const KIND: Kind = Kind::Store;

    fn status(&self) -> Option<&ResourceStatus> {
        self.status.as_ref()
    }

    fn desired(&self, _: &Lookups) -> Result<Desired, Rejection> {
        let message = if self.spec.active {
            "in the catalog"
        } else {
            "in the catalog, inactive (not used for pickup or shipping)"
        };
        Ok(Desired {
            object: CatalogObject::Store(mapping::store(self)),
            message: message.to_owned(),
            summary: None,
        })
    }
}

impl Merchandise for Fulfillment {
    const KIND: Kind = Kind::Fulfillment;

    fn status(&self) -> Option<&ResourceStatus> {
        self.status.as_ref()
    }

    fn desired(&self, lookups: &Lookups) -> Result<Desired, Rejection> {
        let fulfillment = mapping::fulfillment(self, &lookups.stores())?;
        let stores = fulfillment.source_stores.join(", ");
        Ok(Desired {
            message: format!("ships from {stores}"),
            summary: Some(fulfillment_summary(&fulfillment)),
            object: CatalogObject::Fulfillment(fulfillment),
        })
    }
}

/// Every destination, method and source in one line, for `kubectl get` (a printer column's JSONPath
/// shows only the first of several matches): `US (CA, NY), CA; standard, express; from sf, depot`.
fn fulfillment_summary(fulfillment: &bazaar_catalog::model::Fulfillment) -> String {
    let destinations = fulfillment
        .zones
        .iter()
        .map(|zone| {
            let countries = zone.countries.join(", ");
            if zone.regions.is_empty() {
                countries
            } else {
                format!("{countries} ({})", zone.regions.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut ways: Vec<&str> = fulfillment
        .methods
        .iter()
        .map(|method| method.code.as_str())
        .collect();
    if fulfillment.pickup {
        ways.push("pickup");
    }
    format!(
        "{destinations}; {}; from {}",
        ways.join(", "),
        fulfillment.source_stores.join(", ")
    )
}

impl Merchandise for Promotion {
    const KIND: Kind = Kind::Promotion;

    fn status(&self) -> Option<&ResourceStatus> {
        self.status.as_ref()
    }

    fn desired(&self, lookups: &Lookups) -> Result<Desired, Rejection> {
        let products = lookups.products();
        let promotion = mapping::promotion(self, &products)?;
        let namespace = self.namespace().unwrap_or_default();
        let targeted =
            mapping::targeted_products(self.spec.applies_to.as_ref(), &namespace, &products).len();
        let summary = format!("{targeted} product{}", if targeted == 1 { "" } else { "s" });
        let how = match &promotion.code {
            Some(code) => format!("with code {code}"),
            None => "automatic".to_owned(),
        };
        Ok(Desired {
            message: format!("{how}, targets {summary}"),
            summary: Some(summary),
            object: CatalogObject::Promotion(promotion),
        })
    }
}
