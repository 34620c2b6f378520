//! The built-in simulated provider, for development, tests and fault drills. Test tokens decide what an
//! authorization does:
//!
//! | token | outcome |
//! |---|---|
//! | `tok_visa`, `tok_mastercard`, `tok_amex` | approved |
//! | `tok_declined` | declined |
//! | `tok_insufficient_funds` | declined for insufficient funds |
//! | `tok_timeout` | the provider never answers in time |
//! | `tok_timeout_once` | times out on the order's first authorization, approves later ones |
//! | `tok_timeout_after_hold` | approved, but the answer is lost (a timeout); asked again with the same key, answers approved |
//! | `tok_settle_unavailable` | approved; every capture, void or refund of it meets a provider error (an outage) |
//! | anything else | invalid token |
//!
//! Like a real provider it keeps its own ledger (`simulated_provider_ledger`), written outside the saga's
//! transactions, and answers a repeated idempotency key with the answer it gave the first time, across
//! restarts. A timeout is no answer: a repeated call with that key decides again. Configurable latency and
//! a failure rate (calls that time out whatever the token) serve fault drills.

use std::time::Duration;

use bazaar_contracts::Money;
use bazaar_contracts::payment::PaymentFailure;
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgPool;
use uuid::Uuid;

use crate::provider::{
    Approval, AuthorizeRequest, FollowUpRequest, PaymentProvider, ProviderError, ProviderResult,
};

const APPROVED: &str = "approved";
const DECLINED: &str = "declined";
const INSUFFICIENT_FUNDS: &str = "insufficient_funds";
const INVALID_TOKEN: &str = "invalid_token";
const TIMED_OUT: &str = "timed_out";

/// The simulated provider; its ledger lives in the payment schema reached through `pool`.
#[derive(Debug, Clone)]
pub struct SimulatedProvider {
    pool: PgPool,
    latency: Duration,
    failure_rate: f64,
}

#[derive(Debug, sqlx::FromRow)]
struct LedgerRow {
    operation: String,
    reference: String,
    amount_minor: Option<i64>,
    currency: Option<String>,
    outcome: String,
    provider_ref: Option<String>,
}

struct Call<'a> {
    operation: &'static str,
    key: &'a str,
    reference: &'a str,
    token: Option<&'a str>,
    authorization: Option<&'a str>,
    amount: Money,
}

impl SimulatedProvider {
    pub fn new(pool: PgPool, latency: Duration, failure_rate: f64) -> Self {
        Self {
            pool,
            latency,
            failure_rate,
        }
    }

    async fn call(&self, call: Call<'_>) -> ProviderResult {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        if self.failure_rate > 0.0 && random_unit() < self.failure_rate {
            tracing::info!(key = call.key, "simulated provider: injected timeout");
            self.record(&call, TIMED_OUT, None).await?;
            return Err(ProviderError::Timeout);
        }
        if call.operation != "authorize" && self.settling_unavailable(&call).await? {
            tracing::info!(key = call.key, "simulated provider: outage for follow-ups");
            return Err(ProviderError::Unavailable(
                "simulated outage (tok_settle_unavailable)".to_owned(),
            ));
        }
        if let Some(row) = self.lookup(call.key).await?
            && row.outcome != TIMED_OUT
        {
            let same = row.operation == call.operation
                && row.reference == call.reference
                && row.amount_minor == Some(call.amount.minor())
                && row.currency.as_deref() == Some(call.amount.currency().code());
            if !same {
                return Err(ProviderError::Conflict(format!(
                    "idempotency key {} was used for a different request",
                    call.key
                )));
            }
            sqlx::query(
                "UPDATE simulated_provider_ledger SET calls = calls + 1, updated_at = now()
                 WHERE idempotency_key = $1",
            )
            .bind(call.key)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
            return answer(&row.outcome, row.provider_ref);
        }
        let outcome = self.decide(&call).await?;
        let provider_ref =
            (outcome == APPROVED).then(|| format!("sim_{}", Uuid::now_v7().simple()));
        let stored = self.record(&call, outcome, provider_ref).await?;
        if call.token == Some("tok_timeout_after_hold") {
            tracing::info!(
                key = call.key,
                "simulated provider: holding the amount, losing the answer"
            );
            return Err(ProviderError::Timeout);
        }
        answer(&stored.outcome, stored.provider_ref)
    }

    /// Whether the authorization a follow-up names was made with `tok_settle_unavailable`.
    async fn settling_unavailable(&self, call: &Call<'_>) -> Result<bool, ProviderError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM simulated_provider_ledger
             WHERE provider_ref = $1 AND operation = 'authorize' AND token = 'tok_settle_unavailable')",
        )
        .bind(call.authorization)
        .fetch_one(&self.pool)
        .await
        .map_err(unavailable)
    }

    async fn decide(&self, call: &Call<'_>) -> Result<&'static str, ProviderError> {
        if call.operation != "authorize" {
            let known: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM simulated_provider_ledger
                 WHERE provider_ref = $1 AND reference = $2 AND operation = 'authorize' AND outcome = $3)",
            )
            .bind(call.authorization)
            .bind(call.reference)
            .bind(APPROVED)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)?;
            return if known {
                Ok(APPROVED)
            } else {
                Err(ProviderError::Conflict(format!(
                    "no authorization {} for {}",
                    call.authorization.unwrap_or_default(),
                    call.reference
                )))
            };
        }
        Ok(match call.token.unwrap_or_default() {
            "tok_visa"
            | "tok_mastercard"
            | "tok_amex"
            | "tok_timeout_after_hold"
            | "tok_settle_unavailable" => APPROVED,
            "tok_declined" => DECLINED,
            "tok_insufficient_funds" => INSUFFICIENT_FUNDS,
            "tok_timeout" => TIMED_OUT,
            "tok_timeout_once" => {
                let timed_out_before: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM simulated_provider_ledger
                     WHERE reference = $1 AND operation = 'authorize' AND outcome = $2)",
                )
                .bind(call.reference)
                .bind(TIMED_OUT)
                .fetch_one(&self.pool)
                .await
                .map_err(unavailable)?;
                if timed_out_before {
                    APPROVED
                } else {
                    TIMED_OUT
                }
            }
            _ => INVALID_TOKEN,
        })
    }

    async fn lookup(&self, key: &str) -> Result<Option<LedgerRow>, ProviderError> {
        sqlx::query_as::<_, LedgerRow>(
            "SELECT operation, reference, amount_minor, currency, outcome, provider_ref
             FROM simulated_provider_ledger WHERE idempotency_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)
    }

    /// Stores a decision under the key, unless a definitive one is there already (a concurrent call
    /// won); returns what the ledger holds afterwards.
    async fn record(
        &self,
        call: &Call<'_>,
        outcome: &'static str,
        provider_ref: Option<String>,
    ) -> Result<LedgerRow, ProviderError> {
        let stored = sqlx::query_as::<_, LedgerRow>(
            "INSERT INTO simulated_provider_ledger
                 (idempotency_key, operation, reference, token, amount_minor, currency, outcome, provider_ref)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (idempotency_key) DO UPDATE
                 SET outcome = EXCLUDED.outcome, provider_ref = EXCLUDED.provider_ref,
                     calls = simulated_provider_ledger.calls + 1, updated_at = now()
                 WHERE simulated_provider_ledger.outcome = 'timed_out'
             RETURNING operation, reference, amount_minor, currency, outcome, provider_ref",
        )
        .bind(call.key)
        .bind(call.operation)
        .bind(call.reference)
        .bind(call.token)
        .bind(call.amount.minor())
        .bind(call.amount.currency().code())
        .bind(outcome)
        .bind(provider_ref)
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        match stored {
            Some(row) => Ok(row),
            None => self
                .lookup(call.key)
                .await?
                .ok_or_else(|| ProviderError::Unavailable("ledger row vanished".to_owned())),
        }
    }
}

fn answer(outcome: &str, provider_ref: Option<String>) -> ProviderResult {
    let refused = |reason, message: &str| {
        Err(ProviderError::Refused {
            reason,
            message: message.to_owned(),
        })
    };
    match outcome {
        APPROVED => Ok(Approval {
            provider_ref: provider_ref.unwrap_or_default(),
        }),
        DECLINED => refused(PaymentFailure::Declined, "The card was declined."),
        INSUFFICIENT_FUNDS => refused(
            PaymentFailure::InsufficientFunds,
            "The card has insufficient funds.",
        ),
        INVALID_TOKEN => refused(
            PaymentFailure::InvalidToken,
            "The payment details are not valid; please enter them again.",
        ),
        TIMED_OUT => Err(ProviderError::Timeout),
        other => Err(ProviderError::Unavailable(format!(
            "unknown ledger outcome {other}"
        ))),
    }
}

fn unavailable(error: sqlx::Error) -> ProviderError {
    ProviderError::Unavailable(format!("simulated provider ledger: {error}"))
}

/// A uniformly distributed number in [0, 1).
fn random_unit() -> f64 {
    let bits = getrandom::u64().unwrap_or(u64::MAX);
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

impl PaymentProvider for SimulatedProvider {
    fn name(&self) -> &'static str {
        "simulated"
    }

    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, ProviderResult> {
        async move {
            self.call(Call {
                operation: "authorize",
                key: &request.idempotency_key,
                reference: &request.reference,
                token: Some(&request.token),
                authorization: None,
                amount: request.amount,
            })
            .await
        }
        .boxed()
    }

    fn capture(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult> {
        self.follow_up("capture", request)
    }

    fn void(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult> {
        self.follow_up("void", request)
    }

    fn refund(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult> {
        self.follow_up("refund", request)
    }
}

impl SimulatedProvider {
    fn follow_up(
        &self,
        operation: &'static str,
        request: FollowUpRequest,
    ) -> BoxFuture<'_, ProviderResult> {
        async move {
            self.call(Call {
                operation,
                key: &request.idempotency_key,
                reference: &request.reference,
                token: None,
                authorization: Some(&request.authorization),
                amount: request.amount,
            })
            .await
        }
        .boxed()
    }
}
