//! A send job: the PENDING message is claimed by one worker at a time (`claim_send`), then
//! attempted, or first looked for at Twilio when an earlier attempt's outcome is unknown
//! (`reconcile`); an UNCONFIRMED message is only looked for (`confirm`), never sent again.

use chrono::Utc;
use shared::domain::{Message, MessageJob, MessageStatus};
use shared::ports::{MessageStore, PortError, Ports, SendClaim};

use crate::{JobOutcome, SendWorker};

impl<P: Ports> SendWorker<P> {
    /// Sends the job's message (or confirms one whose send Twilio never answered).
    pub(crate) async fn send_job(&self, job: &MessageJob) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let Some(message) = self.ports.messages().get(org, &job.message_id).await? else {
            tracing::warn!("job for an unknown message");
            return Ok(JobOutcome::Skipped);
        };
        let outcome = match message.status {
            MessageStatus::Pending => self.claim_and_send(job, &message).await?,
            MessageStatus::Unconfirmed => self.confirm(job, &message).await?,
            _ => return Ok(JobOutcome::Skipped),
        };
        if message.interactive.is_some() && matches!(outcome, JobOutcome::Sent { .. }) {
            self.after_interactive_send(org).await;
        }
        match &outcome {
            JobOutcome::Sent { sid } => {
                tracing::info!(twilio_message_sid = %sid, attempt = job.attempt, "sent");
            }
            JobOutcome::Failed { reason } => {
                tracing::warn!(attempt = job.attempt, reason, "send failed");
            }
            JobOutcome::Retrying { attempt, delay } => {
                tracing::warn!(
                    next_attempt = attempt,
                    delay_ms = delay.as_millis() as u64,
                    "send will be retried"
                );
            }
            JobOutcome::Reconciling { attempt, delay } => {
                tracing::warn!(
                    next_attempt = attempt,
                    delay_ms = delay.as_millis() as u64,
                    "Twilio's answer is unknown; reconciling before any resend"
                );
            }
            JobOutcome::Unconfirmed { reason } => {
                tracing::warn!(
                    attempt = job.attempt,
                    reason,
                    "Twilio could not confirm the send; it is not sent again"
                );
            }
            JobOutcome::Skipped
            | JobOutcome::MediaCopied
            | JobOutcome::Counted
            | JobOutcome::Erased { .. } => {}
        }
        Ok(outcome)
    }

    /// One worker at a time: a job delivered twice sends once.
    async fn claim_and_send(
        &self,
        job: &MessageJob,
        message: &Message,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let claim = self
            .ports
            .messages()
            .claim_send(org, &message.id, Utc::now(), self.settings.claim_lease)
            .await?;
        match claim {
            SendClaim::NotPending => Ok(JobOutcome::Skipped),
            SendClaim::Held { until } => {
                // Delivered again while another worker sends it: SQS brings it back later,
                // and by then that worker is done or gone.
                tracing::info!(%until, "message held by another worker");
                Err(PortError::Unavailable(
                    "the message is being sent by another worker".into(),
                ))
            }
            SendClaim::Claimed {
                lease,
                unresolved_since: Some(since),
            } => self.reconcile_then_send(job, message, since, &lease).await,
            SendClaim::Claimed {
                lease,
                unresolved_since: None,
            } => self.attempt(job, message, &lease).await,
        }
    }
}
