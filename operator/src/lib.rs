//! The Kubernetes side of merchandising: the Product, Store, Fulfillment and Promotion resources
//! (`bazaar.dev/v1alpha1`), their CustomResourceDefinitions, and the operator that projects them into the
//! catalog schema.
//!
//! - [`resources`]: the resource types, the single source of the CRDs ([`crdgen`] writes `crds/`).
//! - [`mapping`]: resource → catalog model, pure; what cannot be mapped is a [`mapping::Rejection`].
//! - [`reconcile`]: the reconciler (finalizer, projection, status, Events), with [`projection`] as the
//!   only way to the catalog schema.
//! - [`references`]: which resources to reconcile again when a Store or Product changes.
//! - [`leader`], [`run`], [`metrics`]: running it (Lease election, controllers, `/metrics`).
//! - [`offline`]: the same projection from YAML manifests, without a cluster (`bazaar dev`, tests).

pub mod crdgen;
pub mod leader;
pub mod mapping;
pub mod metrics;
pub mod offline;
pub mod projection;
pub mod reconcile;
pub mod references;
pub mod resources;
pub mod run;
