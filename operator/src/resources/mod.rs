//! The merchandising resources (`bazaar.dev/v1alpha1`): the Rust types are the single source of the
//! CustomResourceDefinitions that `bazaar crdgen` writes to `crds/`.

// `#[kube(printcolumn(...))]` repeats `type_ = ...` per column, which clippy mistakes for duplicated attributes.
pub mod common;
#[allow(clippy::duplicated_attributes)]
pub mod fulfillment;
#[allow(clippy::duplicated_attributes)]
pub mod product;
#[allow(clippy::duplicated_attributes)]
pub mod promotion;
pub mod status;
#[allow(clippy::duplicated_attributes)]
pub mod store;

pub use fulfillment::{Fulfillment, FulfillmentSpec};
pub use product::{Product, ProductSpec};
pub use promotion::{Promotion, PromotionSpec};
pub use status::ResourceStatus;
pub use store::{Store, StoreSpec};

/// The API group of every Bazaar resource.
pub const GROUP: &str = "bazaar.dev";
/// The version of every Bazaar resource.
pub const VERSION: &str = "v1alpha1";
