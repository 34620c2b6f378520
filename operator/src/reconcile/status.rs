//! The status a reconciliation leads to, and the Event worth telling about it: pure functions of the
//! previous status and the outcome, so that they are tested without an API server.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::runtime::events::{Event, EventType};

use crate::mapping::Rejection;
use crate::resources::ResourceStatus;
use crate::resources::status::READY;

/// What reconciling a resource concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The catalog holds the resource as specified. `changed` tells whether this reconciliation wrote it.
    Projected {
        changed: bool,
        message: String,
        summary: Option<String>,
    },
    /// The resource cannot be projected as it stands; the catalog keeps what it had.
    Rejected {
        rejection: Rejection,
        summary: Option<String>,
    },
}

/// The reason on `Ready=True`.
pub const PROJECTED: &str = "Projected";

impl Outcome {
    fn ready(&self) -> (&'static str, &'static str, &str) {
        match self {
            Outcome::Projected { message, .. } => ("True", PROJECTED, message),
            Outcome::Rejected { rejection, .. } => ("False", rejection.reason, &rejection.message),
        }
    }

    fn summary(&self) -> Option<String> {
        match self {
            Outcome::Projected { summary, .. } | Outcome::Rejected { summary, .. } => {
                summary.clone()
            }
        }
    }

    pub fn is_projected(&self) -> bool {
        matches!(self, Outcome::Projected { .. })
    }
}

/// The status after `outcome` for the resource's `generation`. The `Ready` condition keeps its
/// `lastTransitionTime` while its status stays the same, so that an unchanged outcome gives an identical
/// status (and no write).
pub fn next_status(
    previous: Option<&ResourceStatus>,
    generation: Option<i64>,
    outcome: &Outcome,
    now: Time,
) -> ResourceStatus {
    let (status, reason, message) = outcome.ready();
    let previous_ready = previous.and_then(|status| status.condition(READY));
    let last_transition_time = match previous_ready {
        Some(condition) if condition.status == status => condition.last_transition_time.clone(),
        _ => now,
    };
    let ready = Condition {
        type_: READY.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: generation,
        last_transition_time,
    };
    let mut conditions: Vec<Condition> = previous
        .map(|status| {
            status
                .conditions
                .iter()
                .filter(|c| c.type_ != READY)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    conditions.insert(0, ready);
    ResourceStatus {
        observed_generation: generation,
        conditions,
        summary: outcome.summary(),
    }
}

/// The JSON merge patch that makes a resource's stored status equal `status`. A merge patch keeps what
/// it does not mention, so a summary that no longer applies is sent as `null`: a Promotion whose only
/// target was deleted must not go on showing "1 product".
pub fn status_patch(status: &ResourceStatus) -> serde_json::Value {
    let mut patch = serde_json::json!({ "status": status });
    if status.summary.is_none() {
        patch["status"]["summary"] = serde_json::Value::Null;
    }
    patch
}

/// The Event to record for `outcome`, if any: every write to the catalog, a first success after a
/// rejection, and every new rejection. Repeating an unchanged outcome (periodic resyncs) records nothing.
pub fn event_for(previous: Option<&ResourceStatus>, outcome: &Outcome) -> Option<Event> {
    let previous_ready = previous.and_then(|status| status.condition(READY));
    match outcome {
        Outcome::Projected {
            changed, message, ..
        } => {
            let recovered = previous_ready.is_none_or(|condition| condition.status != "True");
            (*changed || recovered).then(|| Event {
                type_: EventType::Normal,
                reason: PROJECTED.to_owned(),
                note: Some(message.clone()),
                action: "Project".to_owned(),
                secondary: None,
            })
        }
        Outcome::Rejected { rejection, .. } => {
            let repeated = previous_ready.is_some_and(|condition| {
                condition.status == "False"
                    && condition.reason == rejection.reason
                    && condition.message == rejection.message
            });
            (!repeated).then(|| Event {
                type_: EventType::Warning,
                reason: rejection.reason.to_owned(),
                note: Some(rejection.message.clone()),
                action: "Project".to_owned(),
                secondary: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("valid time"))
    }

    fn projected(changed: bool) -> Outcome {
        Outcome::Projected {
            changed,
            message: "4 variants in the catalog".into(),
            summary: None,
        }
    }

    fn rejected(reason: &'static str, message: &str) -> Outcome {
        Outcome::Rejected {
            rejection: Rejection::new(reason, message),
            summary: None,
        }
    }

    #[test]
    fn a_first_projection_is_ready_from_now_on() {
        let status = next_status(None, Some(3), &projected(true), at(100));
        assert_eq!(status.observed_generation, Some(3));
        let ready = status.condition(READY).expect("Ready condition");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "Projected")
        );
        assert_eq!(ready.message, "4 variants in the catalog");
        assert_eq!(ready.observed_generation, Some(3));
        assert_eq!(ready.last_transition_time, at(100));
    }

    #[test]
    fn an_unchanged_outcome_gives_the_identical_status() {
        let first = next_status(None, Some(3), &projected(true), at(100));
        let again = next_status(Some(&first), Some(3), &projected(false), at(200));
        assert_eq!(again, first);
    }

    #[test]
    fn a_rejection_moves_the_transition_time_and_keeps_other_conditions() {
        let mut first = next_status(None, Some(1), &projected(true), at(100));
        first.conditions.push(Condition {
            type_: "Other".into(),
            status: "True".into(),
            reason: "X".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: at(50),
        });
        let next = next_status(
            Some(&first),
            Some(2),
            &rejected("SkuConflict", "SKU A belongs to shop/b"),
            at(300),
        );
        let ready = next.condition(READY).expect("Ready condition");
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "SkuConflict")
        );
        assert_eq!(ready.last_transition_time, at(300));
        assert!(next.condition("Other").is_some());
    }

    #[test]
    fn events_tell_changes_and_new_rejections_only() {
        let ready = next_status(None, Some(1), &projected(true), at(1));
        assert_eq!(
            event_for(None, &projected(true)).map(|e| e.type_),
            Some(EventType::Normal)
        );
        assert!(
            event_for(Some(&ready), &projected(false)).is_none(),
            "a resync records nothing"
        );
        assert!(
            event_for(Some(&ready), &projected(true)).is_some(),
            "a write is recorded"
        );

        let conflict = rejected("SkuConflict", "SKU A belongs to shop/b");
        let warning = event_for(Some(&ready), &conflict).expect("a new rejection is recorded");
        assert_eq!(
            (warning.type_, warning.reason.as_str()),
            (EventType::Warning, "SkuConflict")
        );
        let rejected_status = next_status(Some(&ready), Some(1), &conflict, at(2));
        assert!(
            event_for(Some(&rejected_status), &conflict).is_none(),
            "the same rejection again records nothing"
        );
        assert!(
            event_for(Some(&rejected_status), &projected(false)).is_some(),
            "recovering from a rejection is recorded"
        );
    }

    #[test]
    fn a_summary_that_no_longer_applies_is_cleared_not_kept() {
        let targeting = Outcome::Projected {
            changed: true,
            message: "automatic, targets 1 product".into(),
            summary: Some("1 product".into()),
        };
        let before = next_status(None, Some(1), &targeting, at(1));
        assert_eq!(status_patch(&before)["status"]["summary"], "1 product");

        let target_gone = rejected("NoProductTargeted", "no Product matches appliesTo");
        let after = next_status(Some(&before), Some(1), &target_gone, at(2));
        let patch = status_patch(&after);
        assert!(
            patch["status"]
                .as_object()
                .is_some_and(|status| status.get("summary") == Some(&serde_json::Value::Null)),
            "a merge patch that left `summary` out would keep \"1 product\": {patch}"
        );
    }
}
