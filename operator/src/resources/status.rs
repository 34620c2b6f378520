//! The status every Bazaar resource reports: the generation the operator last acted on and its conditions.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The condition type that tells whether a resource is live in the catalog.
pub const READY: &str = "Ready";

/// What the operator last observed and concluded about a resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// The `metadata.generation` that the conditions describe; older than the resource's generation while
    /// the operator has not yet acted on a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` is `True` when the resource is projected into the catalog; otherwise its reason and message
    /// say what to change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Kind-specific facts the operator derived, e.g. the Stores a Fulfillment ships from or the number
    /// of Products a Promotion targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl ResourceStatus {
    pub fn condition(&self, condition_type: &str) -> Option<&Condition> {
        self.conditions
            .iter()
            .find(|condition| condition.type_ == condition_type)
    }
}
