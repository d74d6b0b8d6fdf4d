//! A count job: an inbound message its webhook stored uncounted (a contended conversation)
//! is counted in its conversation, and its contacts' 24-hour window moved.

use shared::domain::{MessageId, OrganizationId};
use shared::ports::{MessageStore, PortError, Ports};

use crate::{JobOutcome, SendWorker};

impl<P: Ports> SendWorker<P> {
    /// Counts an inbound message its webhook stored uncounted (`WorkerJob::CountInbound`):
    /// once, however often the job comes; a store failure fails the job, and SQS brings it
    /// back.
    pub(crate) async fn count_inbound(
        &self,
        org: &OrganizationId,
        message_id: &MessageId,
    ) -> Result<JobOutcome, PortError> {
        let messages = self.ports.messages();
        let Some(message) = messages.get(org, message_id).await? else {
            tracing::warn!("count for an unknown message");
            return Ok(JobOutcome::Skipped);
        };
        messages.count_inbound(&message).await?;
        self.move_window(&message).await?;
        Ok(JobOutcome::Counted)
    }

    /// The 24-hour window of the contacts an inbound message came from (found as the
    /// webhook finds them: by number, else by WhatsApp user id), moved to its time. The
    /// webhook leaves it to the `CountInbound` job when the conversation was contended (its
    /// contact item is, by the same burst). Only ever forward, so a job run twice is harmless.
    async fn move_window(&self, message: &shared::domain::Message) -> Result<(), PortError> {
        use shared::ports::ContactStore;
        let org = &message.organization_id;
        let contacts = self.ports.contacts();
        let phone = message
            .contact_phone
            .as_deref()
            .and_then(|p| shared::domain::PhoneNumber::parse_e164(p).ok());
        let mut found = match &phone {
            Some(phone) => contacts.contacts_by_phone(org, phone).await?,
            None => Vec::new(),
        };
        if found.is_empty()
            && let Some(user) = message.details.as_ref().and_then(|d| d.user.as_ref())
        {
            found = contacts
                .contacts_by_whatsapp_user(org, &user.user_id)
                .await?;
        }
        let change = shared::domain::ContactChange {
            last_inbound_at: Some(message.created_at),
            ..Default::default()
        };
        for contact in found {
            contacts.update(org, &contact.contact_id, &change).await?;
        }
        Ok(())
    }
}
