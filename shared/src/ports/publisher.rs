//! Live updates' port: publishing events on an organization's channel of the Event API
//! (`aws::EventApiPublisher`, SigV4-signed; the local runner's hub). What the events are and
//! which channel is whose: `crate::live`.

use std::future::Future;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The Event API refused or failed the request (throttled, 5xx, unreachable, or
    /// unauthorized: a deployment's fault, fixed by a person); retried.
    #[error("the event API did not take the events: {0}")]
    Unavailable(String),
    /// It took some events of the batch and refused others for a reason that may pass
    /// (AppSync's `failed` list); retried.
    #[error("the event API refused {failed} of {total} events: {reason}")]
    Refused {
        failed: usize,
        total: usize,
        reason: String,
    },
    /// It will never take these events as they are (a 4xx other than throttling or
    /// authorization: an invalid channel, an event it cannot read or too large): publishing
    /// them again cannot help.
    #[error("the event API rejected the events for good: {0}")]
    Rejected(String),
}

impl PublishError {
    /// Whether the same publish can never succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, PublishError::Rejected(_))
    }
}

/// Publishes events on a channel; all of them, or an error (the caller publishes the batch
/// again: an event twice is harmless, the page keeps the newest revision).
pub trait ChannelPublisher: Clone + Send + Sync + 'static {
    fn publish(
        &self,
        channel: &str,
        events: &[String],
    ) -> impl Future<Output = Result<(), PublishError>> + Send;
}
