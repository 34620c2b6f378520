//! The operator's projection without a cluster: resources read from YAML manifests (e.g. `crds/examples/`)
//! go through the same mapping and catalog writes as in the operator. For `bazaar dev` and tests.

use std::path::Path;

use bazaar_catalog::write::WriteError;
use kube::ResourceExt;
use kube::runtime::{reflector, watcher};
use serde_json::Value;

use crate::projection::{CatalogProjection, ObjectKey};
use crate::reconcile::status::Outcome;
use crate::reconcile::{Lookups, Merchandise, project};
use crate::resources::{Fulfillment, GROUP, Product, Promotion, Store};

/// Bazaar resources read from manifests, by kind.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    pub products: Vec<Product>,
    pub stores: Vec<Store>,
    pub fulfillments: Vec<Fulfillment>,
    pub promotions: Vec<Promotion>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{origin} is not YAML: {message}")]
    Yaml { origin: String, message: String },
    #[error("{origin}: {kind} {name} does not match its schema: {source}")]
    Invalid {
        origin: String,
        kind: String,
        name: String,
        source: serde_json::Error,
    },
}

impl Manifests {
    /// Reads every `bazaar.dev` resource of a YAML stream; other documents (e.g. CRDs) are skipped.
    pub fn parse(yaml: &str, origin: &str) -> Result<Manifests, ManifestError> {
        let documents: Vec<Value> =
            serde_saphyr::from_multiple(yaml).map_err(|error| ManifestError::Yaml {
                origin: origin.to_owned(),
                message: error.to_string(),
            })?;
        let mut manifests = Manifests::default();
        for document in documents {
            let is_ours = document["apiVersion"]
                .as_str()
                .is_some_and(|api_version| api_version.starts_with(&format!("{GROUP}/")));
            if !is_ours {
                continue;
            }
            let kind = document["kind"].as_str().unwrap_or_default().to_owned();
            let name = document["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let invalid = |source| ManifestError::Invalid {
                origin: origin.to_owned(),
                kind: kind.clone(),
                name: name.clone(),
                source,
            };
            match kind.as_str() {
                "Product" => manifests
                    .products
                    .push(serde_json::from_value(document).map_err(invalid)?),
                "Store" => manifests
                    .stores
                    .push(serde_json::from_value(document).map_err(invalid)?),
                "Fulfillment" => manifests
                    .fulfillments
                    .push(serde_json::from_value(document).map_err(invalid)?),
                "Promotion" => manifests
                    .promotions
                    .push(serde_json::from_value(document).map_err(invalid)?),
                _ => {}
            }
        }
        Ok(manifests)
    }

    /// Reads every `*.yaml` file directly in `directory`, in name order.
    pub fn read_dir(directory: &Path) -> Result<Manifests, ManifestError> {
        let read_error = |source| ManifestError::Read {
            path: directory.display().to_string(),
            source,
        };
        let mut paths: Vec<_> = std::fs::read_dir(directory)
            .map_err(read_error)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        paths.sort();
        let mut all = Manifests::default();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let manifests = Manifests::parse(&text, &path.display().to_string())?;
            all.products.extend(manifests.products);
            all.stores.extend(manifests.stores);
            all.fulfillments.extend(manifests.fulfillments);
            all.promotions.extend(manifests.promotions);
        }
        Ok(all)
    }

    /// Lookups over these resources, as the operator's watch caches would hold them.
    pub fn lookups(&self) -> Lookups {
        let (stores, mut store_writer) = reflector::store::<Store>();
        let (products, mut product_writer) = reflector::store::<Product>();
        for store in &self.stores {
            store_writer.apply_watcher_event(&watcher::Event::Apply(store.clone()));
        }
        for product in &self.products {
            product_writer.apply_watcher_event(&watcher::Event::Apply(product.clone()));
        }
        Lookups { stores, products }
    }
}

/// What projecting one resource led to.
pub type Projected = (ObjectKey, Result<Outcome, WriteError>);

/// Projects every resource as the operator would: Stores and Products first, because Fulfillments and
/// Promotions resolve against them.
pub async fn project_all<P: CatalogProjection>(
    manifests: &Manifests,
    catalog: &P,
) -> Vec<Projected> {
    let lookups = manifests.lookups();
    let mut results = Vec::new();
    project_each(&manifests.stores, &lookups, catalog, &mut results).await;
    project_each(&manifests.products, &lookups, catalog, &mut results).await;
    project_each(&manifests.fulfillments, &lookups, catalog, &mut results).await;
    project_each(&manifests.promotions, &lookups, catalog, &mut results).await;
    results
}

async fn project_each<K: Merchandise, P: CatalogProjection>(
    resources: &[K],
    lookups: &Lookups,
    catalog: &P,
    results: &mut Vec<Projected>,
) {
    for resource in resources {
        let key = ObjectKey {
            kind: K::KIND,
            namespace: resource.namespace().unwrap_or_default(),
            name: resource.name_any(),
        };
        results.push((key, project(resource, lookups, catalog).await));
    }
}
