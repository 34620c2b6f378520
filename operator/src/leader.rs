//! Lease-based leader election (`coordination.k8s.io/v1` Lease): of several replicas only the holder of
//! the lease reconciles. The holder renews it; when it cannot renew in time it stops working, and another
//! replica takes the lease over once it has expired.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};
use tokio_util::sync::CancellationToken;

/// Where the lease lives and who we are.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    pub namespace: String,
    pub name: String,
    /// This replica's identity, usually the pod name.
    pub identity: String,
    /// How long a lease stays valid without renewal.
    pub duration: Duration,
}

/// What to do with the lease as it stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseDecision {
    /// No lease yet: create it, holding it.
    Create,
    /// We hold it: renew it.
    Renew,
    /// Another holder let it expire (or released it): take it over.
    TakeOver,
    /// Another holder's lease is still valid.
    Wait { holder: String },
}

/// Decides from the current lease spec (if any), our identity and the time.
pub fn decide(lease: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> LeaseDecision {
    let Some(spec) = lease else {
        return LeaseDecision::Create;
    };
    match spec.holder_identity.as_deref() {
        Some(holder) if holder == identity => LeaseDecision::Renew,
        None | Some("") => LeaseDecision::TakeOver,
        Some(holder) => {
            let renewed = spec
                .renew_time
                .as_ref()
                .or(spec.acquire_time.as_ref())
                .map(|time| time.0);
            let valid_for =
                SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
            match renewed {
                Some(renewed) if renewed + valid_for > now => LeaseDecision::Wait {
                    holder: holder.to_owned(),
                },
                _ => LeaseDecision::TakeOver,
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("lost the leader lease {0}: stopped reconciling")]
    Lost(String),
}

fn held_spec(
    settings: &LeaseSettings,
    now: Timestamp,
    previous: Option<&LeaseSpec>,
    taking_over: bool,
) -> LeaseSpec {
    let transitions = previous
        .and_then(|spec| spec.lease_transitions)
        .unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(settings.identity.clone()),
        lease_duration_seconds: Some(
            i32::try_from(settings.duration.as_secs()).unwrap_or(i32::MAX),
        ),
        acquire_time: if taking_over || previous.is_none() {
            Some(MicroTime(now))
        } else {
            previous.and_then(|spec| spec.acquire_time.clone())
        },
        renew_time: Some(MicroTime(now)),
        lease_transitions: Some(if taking_over {
            transitions + 1
        } else {
            transitions
        }),
        ..LeaseSpec::default()
    }
}

/// Tries once to hold the lease. `Ok(true)` when we hold it now. Conflicting writes (another replica was
/// faster) mean `Ok(false)`.
pub async fn try_hold(api: &Api<Lease>, settings: &LeaseSettings) -> Result<bool, kube::Error> {
    let now = Timestamp::now();
    let current = api.get_opt(&settings.name).await?;
    let decision = decide(
        current.as_ref().and_then(|lease| lease.spec.as_ref()),
        &settings.identity,
        now,
    );
    let written = match (decision, current) {
        (LeaseDecision::Wait { .. }, _) => return Ok(false),
        (LeaseDecision::Create, _) | (_, None) => {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(settings.name.clone()),
                    namespace: Some(settings.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(held_spec(settings, now, None, false)),
            };
            api.create(&PostParams::default(), &lease).await.map(drop)
        }
        (decision, Some(mut lease)) => {
            // `replace` carries the resourceVersion we read: a concurrent writer makes it fail with 409.
            lease.spec = Some(held_spec(
                settings,
                now,
                lease.spec.as_ref(),
                decision == LeaseDecision::TakeOver,
            ));
            api.replace(&settings.name, &PostParams::default(), &lease)
                .await
                .map(drop)
        }
    };
    match written {
        Ok(()) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(error) => Err(error),
    }
}

/// Gives the lease up on shutdown so that another replica takes over at once.
async fn release(api: &Api<Lease>, settings: &LeaseSettings) {
    if let Ok(Some(mut lease)) = api.get_opt(&settings.name).await
        && let Some(spec) = lease.spec.as_mut()
        && spec.holder_identity.as_deref() == Some(settings.identity.as_str())
    {
        spec.holder_identity = None;
        if let Err(error) = api
            .replace(&settings.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(%error, "cannot release the leader lease");
        }
    }
}

/// Waits to hold the lease, then runs `work` while renewing it. `work` gets a token that is cancelled on
/// shutdown or when the lease is lost; losing the lease is an error (the process should exit).
pub async fn run_as_leader<F, Fut>(
    api: Api<Lease>,
    settings: LeaseSettings,
    shutdown: CancellationToken,
    work: F,
) -> Result<(), LeaderError>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let retry = settings.duration / 3;
    loop {
        match try_hold(&api, &settings).await {
            Ok(true) => break,
            Ok(false) => tracing::debug!(lease = %settings.name, "another replica leads; waiting"),
            Err(error) => {
                tracing::warn!(%error, lease = %settings.name, "cannot read the leader lease")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(retry) => {}
        }
    }
    tracing::info!(lease = %settings.name, identity = %settings.identity, "leading");
    let working = shutdown.child_token();
    let task = tokio::spawn(work(working.clone()));
    let mut last_renewal = tokio::time::Instant::now();
    let outcome = loop {
        tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            () = tokio::time::sleep(retry) => {}
        }
        match try_hold(&api, &settings).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => break Err(LeaderError::Lost(settings.name.clone())),
            Err(error) => {
                tracing::warn!(%error, "cannot renew the leader lease");
                if last_renewal.elapsed() >= settings.duration {
                    break Err(LeaderError::Lost(settings.name.clone()));
                }
            }
        }
    };
    working.cancel();
    if let Err(error) = task.await {
        tracing::error!(%error, "the controllers stopped abnormally");
    }
    if outcome.is_ok() {
        release(&api, &settings).await;
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(seconds).expect("valid time")
    }

    fn held_by(holder: Option<&str>, renewed_at: i64, duration: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: holder.map(str::to_owned),
            renew_time: Some(MicroTime(at(renewed_at))),
            lease_duration_seconds: Some(duration),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn without_a_lease_the_first_replica_creates_it() {
        assert_eq!(decide(None, "pod-a", at(100)), LeaseDecision::Create);
    }

    #[test]
    fn the_holder_renews_its_lease() {
        assert_eq!(
            decide(Some(&held_by(Some("pod-a"), 90, 15)), "pod-a", at(100)),
            LeaseDecision::Renew
        );
    }

    #[test]
    fn another_holders_valid_lease_is_respected() {
        assert_eq!(
            decide(Some(&held_by(Some("pod-b"), 90, 15)), "pod-a", at(100)),
            LeaseDecision::Wait {
                holder: "pod-b".into()
            }
        );
    }

    #[test]
    fn an_expired_or_released_lease_is_taken_over() {
        assert_eq!(
            decide(Some(&held_by(Some("pod-b"), 80, 15)), "pod-a", at(100)),
            LeaseDecision::TakeOver
        );
        assert_eq!(
            decide(Some(&held_by(None, 99, 15)), "pod-a", at(100)),
            LeaseDecision::TakeOver
        );
    }

    #[test]
    fn taking_over_counts_a_transition_and_renewing_keeps_the_acquire_time() {
        let settings = LeaseSettings {
            namespace: "bazaar".into(),
            name: "bazaar-operator".into(),
            identity: "pod-a".into(),
            duration: Duration::from_secs(15),
        };
        let mut previous = held_by(Some("pod-b"), 50, 15);
        previous.lease_transitions = Some(2);
        previous.acquire_time = Some(MicroTime(at(10)));
        let taken = held_spec(&settings, at(100), Some(&previous), true);
        assert_eq!(taken.holder_identity.as_deref(), Some("pod-a"));
        assert_eq!(taken.lease_transitions, Some(3));
        assert_eq!(taken.acquire_time, Some(MicroTime(at(100))));
        let renewed = held_spec(&settings, at(105), Some(&taken), false);
        assert_eq!(renewed.acquire_time, Some(MicroTime(at(100))));
        assert_eq!(renewed.renew_time, Some(MicroTime(at(105))));
        assert_eq!(renewed.lease_transitions, Some(3));
    }
}
