//! Buttons and lists go out as a Twilio Content, one per distinct payload
//! (`Interactive::content_name`): the worker that claims the payload (`claim_content`, a
//! conditional write) looks for a Content of that name first — one a worker made before it
//! crashed — and makes it only if there is none, then records its sid for every later send.
//! A worker that finds the payload claimed by another comes back shortly; a Content API
//! failure is a failure of the attempt (nothing was sent), retried or final by its kind
//! (a 429 or a 5xx backs off like any transient failure).

use chrono::Utc;
use shared::domain::{ContactId, Interactive, Message, MessageJob, OrgConfig};
use shared::ports::{
    AttemptOutcome, ClaimLease, ContentClaim, ContentStore, MessageStore, PortError, Ports,
    WhatsAppSender,
};

use crate::{JobOutcome, SendWorker};

/// The Content to send with, or how the attempt ended without one.
pub(crate) enum ContentFor {
    Sid(String),
    Ended(JobOutcome),
}

impl<P: Ports> SendWorker<P> {
    pub(crate) async fn interactive_content(
        &self,
        job: &MessageJob,
        message: &Message,
        config: &OrgConfig,
        contact_id: &ContactId,
        interactive: &Interactive,
        lease: &ClaimLease,
    ) -> Result<ContentFor, PortError> {
        let org = &job.organization_id;
        let name = interactive.content_name();
        let now = Utc::now();
        let until = match self
            .ports
            .messages()
            .claim_content(org, &name, now, self.settings.claim_lease)
            .await?
        {
            ContentClaim::Made { content_sid } => return Ok(ContentFor::Sid(content_sid)),
            ContentClaim::Held { until } => {
                // Another worker is making it: nothing was sent; this attempt comes back.
                tracing::info!(%until, "the payload's Content is being made by another worker");
                return self
                    .postpone(job, message, lease)
                    .await
                    .map(ContentFor::Ended);
            }
            ContentClaim::Claimed { until } => until,
        };
        let sender = self.ports.sender();
        let made = match sender.find_content(config, &name).await {
            Ok(Some(found)) => Ok(found),
            Ok(None) => {
                sender
                    .create_content(config, &name, &interactive.content_types())
                    .await
            }
            Err(e) => Err(e),
        };
        match made {
            Ok(content_sid) => {
                self.ports
                    .messages()
                    .record_content(org, &name, &content_sid, now)
                    .await?;
                Ok(ContentFor::Sid(content_sid))
            }
            Err(e) => {
                tracing::warn!(error = %e, "the payload's Content could not be made");
                self.ports
                    .messages()
                    .release_content(org, &name, until)
                    .await?;
                self.ports
                    .messages()
                    .release_send(org, &message.id, lease, AttemptOutcome::NotSent)
                    .await?;
                self.handle_failure(job, message, contact_id, e)
                    .await
                    .map(ContentFor::Ended)
            }
        }
    }
}
