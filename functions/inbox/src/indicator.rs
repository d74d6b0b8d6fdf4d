//! What the contact sees of the agents: WhatsApp's typing indicator, through Twilio's
//! `POST /v2/Indicators/Typing.json`. It shows "typing…" on the contact's phone (until a
//! reply is delivered, 25 s at most) and marks the message it names, and every earlier one,
//! read: the blue ticks. Twilio has no read receipt without it, so reading a conversation
//! shows "typing…" for a moment too.
//!
//! Sent for the conversation's newest inbound message when an agent reads it (the read route)
//! or types (the typing route); at most once per conversation every `INDICATOR_EVERY` for the
//! whole organization; only for a message WhatsApp still marks read (`READ_RECEIPT_MAX_AGE`),
//! to a contact who may be written to, and never for an organization whose secret turns
//! `send_read_receipts` off. A failure is logged and never reaches the agent: nothing the agent
//! does waits on it or fails for it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::domain::{ChannelConfig, Contact, Direction, Message, MessageId, OrganizationId};
use shared::ports::{ConversationStore, CredentialStore, MessageStore, Ports, WhatsAppSender};
use shared::twilio::is_message_sid;

use crate::InboxApi;

/// The least time between two indicators of one conversation: the indicator lasts 25 s, so
/// one every 20 s keeps it up while an agent types, and no more.
pub const INDICATOR_EVERY: chrono::Duration = chrono::Duration::seconds(20);

/// WhatsApp marks an inbound message read within 30 days of its receipt (Meta's "Mark
/// messages as read"); an older one is not sent.
pub const READ_RECEIPT_MAX_AGE: chrono::Duration = chrono::Duration::days(30);

/// What became of an indicator (the typing route answers it; the read route only logs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// Twilio took it: the contact sees "typing…" and blue ticks.
    Sent,
    /// Another was sent for this conversation less than `INDICATOR_EVERY` ago.
    NotDue,
    /// The organization turned read receipts off, or WhatsApp is not configured.
    Off,
    /// The contact may not be written to (opted out, blocked, no number).
    Ineligible,
    /// No inbound message WhatsApp would still mark read.
    NoInboundMessage,
    /// Twilio or the store failed; logged.
    Failed,
}

impl<P: Ports> InboxApi<P> {
    /// The conversation's newest inbound message, up to `up_to` when given.
    pub(crate) async fn newest_inbound(
        &self,
        org: &OrganizationId,
        contact: &Contact,
        up_to: Option<&Message>,
    ) -> Option<Message> {
        let messages = self.ports.messages();
        let summary = match messages.summary(org, &contact.contact_id).await {
            Ok(summary) => summary,
            Err(e) => {
                tracing::warn!(contact_id = %contact.contact_id, error = %e, "conversation summary not read for the indicator");
                return None;
            }
        };
        let newest: Option<MessageId> = summary.and_then(|s| s.last_inbound_id);
        match (newest, up_to) {
            (Some(newest), Some(up_to)) if newest > up_to.id => {
                // Something came in after what was read: only the read message itself.
                Some(up_to.clone()).filter(|m| m.direction == Direction::Inbound)
            }
            (Some(newest), Some(up_to)) if newest == up_to.id => Some(up_to.clone()),
            (Some(newest), _) => messages.get(org, &newest).await.ok().flatten(),
            (None, _) => None,
        }
    }

    /// Sends the typing indicator for `message` when it is due; never fails.
    pub(crate) async fn indicate(
        &self,
        org: &OrganizationId,
        contact: &Contact,
        message: Option<&Message>,
        now: DateTime<Utc>,
    ) -> Indicator {
        if contact.eligibility().is_err() {
            return Indicator::Ineligible;
        }
        let Some((message, sid)) = message.and_then(|m| {
            let sid = m.twilio_message_sid.as_deref()?;
            let fresh = m.direction == Direction::Inbound
                && m.created_at > now - READ_RECEIPT_MAX_AGE
                && is_message_sid(sid);
            fresh.then_some((m, sid))
        }) else {
            return Indicator::NoInboundMessage;
        };
        let config = match self.ports.credentials().channel_config(org).await {
            Ok(ChannelConfig::Configured(config)) if config.send_read_receipts => config,
            Ok(_) => return Indicator::Off,
            Err(e) => {
                tracing::warn!(error = %e, "configuration not read for the indicator");
                return Indicator::Failed;
            }
        };
        match self
            .ports
            .messages()
            .take_indicator_turn(org, &contact.contact_id, now, INDICATOR_EVERY)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Indicator::NotDue,
            Err(e) => {
                tracing::warn!(contact_id = %contact.contact_id, error = %e, "indicator turn not taken");
                return Indicator::Failed;
            }
        }
        match self.ports.sender().typing_indicator(&config, sid).await {
            Ok(()) => {
                tracing::info!(contact_id = %contact.contact_id, message_id = %message.id, "typing indicator sent");
                Indicator::Sent
            }
            Err(e) => {
                tracing::warn!(contact_id = %contact.contact_id, message_id = %message.id, error = %e, "typing indicator not sent");
                Indicator::Failed
            }
        }
    }
}
