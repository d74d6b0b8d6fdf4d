//! How an attempt ends, the bottom of the worker: the outcomes a job can have, and the ways
//! to reach them — record a status, fail, queue the job again (a retry, or a look at Twilio
//! before any resend), and what a Twilio failure means. Every other module of the worker
//! calls down into this one; it calls none of them.

use std::time::Duration;

use shared::domain::sentences::send_failed;
use shared::domain::{ContactChange, Message, MessageJob, StatusChange, WorkerJob};
use shared::ports::{
    AttemptOutcome, ClaimLease, ContactStore, MessageStore, PortError, Ports, SendQueue,
};
use shared::twilio::{FailureKind, TwilioError};

use crate::{INVALID_CONFIGURATION, SendWorker};

/// Longest delay SQS can put on a message (15 minutes).
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_secs(900);

/// What became of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Sent {
        sid: String,
    },
    Failed {
        reason: String,
    },
    /// Queued again as attempt `attempt` after `delay`.
    Retrying {
        attempt: u32,
        delay: Duration,
    },
    /// Twilio may have accepted the message but its answer was lost: attempt `attempt`,
    /// after `delay`, looks for it at Twilio before it sends again.
    Reconciling {
        attempt: u32,
        delay: Duration,
    },
    /// Twilio could not confirm it for long: UNCONFIRMED, never sent again; later jobs
    /// (`CONFIRM_ATTEMPTS`) and status callbacks may still settle it.
    Unconfirmed {
        reason: String,
    },
    /// Nothing to do: unknown message, or no longer PENDING (a redelivered job).
    Skipped,
    /// An inbound message stored uncounted is counted in its conversation (or was already).
    Counted,
    /// An inbound message's media: copied into the bucket, or marked unavailable.
    MediaCopied,
    /// A page of a deleted contact's messages erased; `done` when nothing is left to sweep.
    Erased {
        messages: usize,
        done: bool,
    },
}

/// Extra attempts for looking up a send whose outcome is unknown, beyond the send attempts.
pub const RECONCILE_ATTEMPTS: u32 = 3;

/// Backoff before attempt `next_attempt` (2, 3, …): base, 2×base, 4×base … capped.
pub fn retry_delay(base: Duration, next_attempt: u32) -> Duration {
    let exponent = next_attempt.saturating_sub(2).min(16);
    base.saturating_mul(1 << exponent).min(MAX_RETRY_DELAY)
}

impl<P: Ports> SendWorker<P> {
    /// Queues the job again as attempt `attempt`, after the backoff for it.
    pub(crate) async fn requeue(
        &self,
        job: &MessageJob,
        attempt: u32,
    ) -> Result<(u32, Duration), PortError> {
        let delay = retry_delay(self.settings.retry_base, attempt.max(2));
        self.requeue_after(job, attempt, delay).await?;
        Ok((attempt, delay))
    }

    /// Queues the job again as attempt `attempt`, `delay` from now: the one way a job of a
    /// message comes back.
    pub(crate) async fn requeue_after(
        &self,
        job: &MessageJob,
        attempt: u32,
        delay: Duration,
    ) -> Result<(), PortError> {
        let next = WorkerJob::Send(job.attempt(attempt));
        self.ports.queue().enqueue(&next, delay).await
    }

    /// Twilio may have the message: end this attempt keeping the doubt on the claim, and
    /// look at Twilio's side before any resend. When the doubt outlasts the attempts, the
    /// message is UNCONFIRMED: a person is told, it is never sent again, and later jobs keep
    /// looking (`confirm`).
    pub(crate) async fn reconcile_later(
        &self,
        job: &MessageJob,
        message: &Message,
        lease: &ClaimLease,
        reason: String,
    ) -> Result<JobOutcome, PortError> {
        if job.attempt >= self.settings.max_attempts + RECONCILE_ATTEMPTS {
            let reason = shared::domain::sentences::unconfirmed(reason);
            self.record(message, StatusChange::unconfirmed(reason.clone()))
                .await?;
            self.requeue_after(job, job.attempt + 1, MAX_RETRY_DELAY)
                .await?;
            return Ok(JobOutcome::Unconfirmed { reason });
        }
        self.ports
            .messages()
            .release_send(
                &job.organization_id,
                &message.id,
                lease,
                AttemptOutcome::Unknown,
            )
            .await?;
        let (attempt, delay) = self.requeue(job, job.attempt + 1).await?;
        Ok(JobOutcome::Reconciling { attempt, delay })
    }

    pub(crate) async fn fail(
        &self,
        message: &Message,
        reason: String,
    ) -> Result<JobOutcome, PortError> {
        self.record(message, StatusChange::failed(reason.clone()))
            .await?;
        Ok(JobOutcome::Failed { reason })
    }

    pub(crate) async fn record(
        &self,
        message: &Message,
        change: StatusChange,
    ) -> Result<(), PortError> {
        self.ports
            .messages()
            .apply_status(&message.organization_id, &message.id, &change)
            .await
            .map(|_| ())
    }

    pub(crate) async fn handle_failure(
        &self,
        job: &MessageJob,
        message: &Message,
        contact_id: &shared::domain::ContactId,
        error: TwilioError,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        match error.kind() {
            FailureKind::Transient if job.attempt < self.settings.max_attempts => {
                tracing::info!(error = %error, "transient Twilio failure");
                let (attempt, delay) = self.requeue(job, job.attempt + 1).await?;
                Ok(JobOutcome::Retrying { attempt, delay })
            }
            FailureKind::Transient => {
                let reason = format!(
                    "{} (gave up after {} attempts)",
                    error.reason(),
                    job.attempt
                );
                // A rate limit the product explains (63018, 63017) says when to try again.
                let reason = match error.code() {
                    Some(code) if shared::domain::failure_advice::advice(code).is_some() => {
                        shared::domain::sentences::twilio_failure(Some(code), reason)
                    }
                    _ => send_failed(reason),
                };
                self.fail(message, reason).await
            }
            FailureKind::Configuration => {
                tracing::error!(error = %error, "Twilio rejected the organization's configuration");
                self.fail(message, INVALID_CONFIGURATION.into()).await
            }
            FailureKind::Unsubscribed => {
                let change = ContactChange {
                    whatsapp_unsubscribed: Some(true),
                    ..Default::default()
                };
                self.ports
                    .contacts()
                    .update(org, contact_id, &change)
                    .await?;
                let reason =
                    shared::domain::sentences::twilio_failure(error.code(), error.reason());
                self.fail(message, reason).await
            }
            FailureKind::Permanent => {
                let reason =
                    shared::domain::sentences::twilio_failure(error.code(), error.reason());
                self.fail(message, reason).await
            }
        }
    }
}
