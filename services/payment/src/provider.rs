//! The provider interface: what Bazaar asks of a payment provider. Every call carries an idempotency key;
//! a provider answers a repeated key with the answer it gave the first time, so repeating a call after a
//! crash or a redelivery can never charge twice.

use bazaar_contracts::Money;
use bazaar_contracts::payment::PaymentFailure;
use futures::future::BoxFuture;

/// Hold `amount` on the instrument behind `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub idempotency_key: String,
    /// The merchant's reference for the charge (the order id), shown in the provider's dashboard.
    pub reference: String,
    /// The token the shopper's client obtained from the provider (never a card number).
    pub token: String,
    pub amount: Money,
}

/// Capture, void or refund an earlier authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpRequest {
    pub idempotency_key: String,
    pub reference: String,
    /// The provider's id of the authorization (from [`Approval::provider_ref`]).
    pub authorization: String,
    pub amount: Money,
}

/// The provider did what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// The provider's id of the resulting transaction.
    pub provider_ref: String,
}

/// Why a provider call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The provider answered no; asking again with the same key gets the same answer.
    #[error("refused ({reason:?}): {message}")]
    Refused {
        reason: PaymentFailure,
        message: String,
    },
    /// No answer in time: the outcome is unknown and the same key may be tried again.
    #[error("the payment provider did not answer in time")]
    Timeout,
    /// The provider answered with an error of its own (5xx); the same key may be tried again.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    /// The request contradicts what the provider knows (a key reused for another request, an unknown
    /// authorization): a bug or tampering, never fixed by trying again.
    #[error("the payment provider rejected the request: {0}")]
    Conflict(String),
}

impl ProviderError {
    /// The `attempt_result` recorded for this failure.
    pub fn result(&self) -> crate::model::AttemptResult {
        use crate::model::AttemptResult;
        match self {
            ProviderError::Refused { reason, .. } => match reason {
                PaymentFailure::Declined => AttemptResult::Declined,
                PaymentFailure::InsufficientFunds => AttemptResult::InsufficientFunds,
                PaymentFailure::InvalidToken => AttemptResult::InvalidToken,
                PaymentFailure::ProviderUnavailable => AttemptResult::Error,
            },
            ProviderError::Timeout => AttemptResult::TimedOut,
            ProviderError::Unavailable(_) | ProviderError::Conflict(_) => AttemptResult::Error,
        }
    }
}

pub type ProviderResult = Result<Approval, ProviderError>;

/// A payment provider. Implementations must honour idempotency keys across restarts of Bazaar and of
/// themselves: the same key always gets the first definitive answer.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Short name recorded with each payment, e.g. `simulated`.
    fn name(&self) -> &'static str;
    fn authorize(&self, request: AuthorizeRequest) -> BoxFuture<'_, ProviderResult>;
    fn capture(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult>;
    fn void(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult>;
    fn refund(&self, request: FollowUpRequest) -> BoxFuture<'_, ProviderResult>;
}
