//! The JSON shapes the API returns. Internal fields (organization, claims) stay inside.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{
    Attachment, Contact, ContactId, ConversationWindow, Direction, Message, MessageId,
    MessageStatus, MessageType, OrganizationId, conversation_window,
};
use crate::ports::{MediaStore, PortResult};

/// How long a download URL in a conversation page (or a pushed message) works.
pub const DOWNLOAD_URL_EXPIRY: std::time::Duration = std::time::Duration::from_secs(900);

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactView {
    pub contact_id: ContactId,
    pub name: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
}

impl From<&Contact> for ContactView {
    fn from(c: &Contact) -> Self {
        Self {
            contact_id: c.contact_id.clone(),
            name: c.name.clone(),
            email: c.email.clone(),
            phone_number: c.phone_number.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MessageView {
    pub id: MessageId,
    pub contact_id: Option<ContactId>,
    pub direction: Direction,
    pub message_type: MessageType,
    pub text: Option<String>,
    pub attachments: Vec<Attachment>,
    pub status: MessageStatus,
    pub error_reason: Option<String>,
    pub twilio_message_sid: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Changes with every update of the message (a ULID, so later changes sort higher): a
    /// client keeps the copy with the highest revision, whatever order answers arrive in.
    pub revision: MessageId,
    /// The approved template it was sent from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<crate::domain::SentTemplate>,
    /// What an inbound message carries besides text and files (never the raw parameters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<crate::domain::InboundDetails>,
    /// Who sent an outbound message: the agent, `null` for a send without a user (the
    /// API); absent for inbound messages and those from before it was recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<Option<crate::domain::AgentRef>>,
    /// The buttons or list an outbound message offers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<crate::domain::Interactive>,
}

impl From<&Message> for MessageView {
    fn from(m: &Message) -> Self {
        Self {
            id: m.id,
            contact_id: m.contact_id.clone(),
            direction: m.direction,
            message_type: m.message_type,
            text: m.text.clone(),
            // Where a file came from (Twilio's URL for inbound media) never reaches a
            // browser; the conversation route adds short-lived download URLs of our own.
            attachments: m
                .attachments
                .iter()
                .map(|a| Attachment {
                    url: None,
                    ..a.clone()
                })
                .collect(),
            status: m.status,
            error_reason: m.error_reason.clone(),
            twilio_message_sid: m.twilio_message_sid.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            revision: m.revision,
            interactive: m.interactive.clone(),
            template: m.template.clone(),
            details: m
                .details
                .as_ref()
                .map(crate::domain::InboundDetails::for_view),
            agent: m.sent_by.as_ref().map(|by| by.agent().cloned()),
        }
    }
}

/// The messages as the API shows them, stored attachments with download URLs of our own
/// bucket (presigned GETs, `DOWNLOAD_URL_EXPIRY`): the conversation route and the live
/// publisher show the same JSON.
pub async fn message_views<M: MediaStore>(
    media: &M,
    org: &OrganizationId,
    messages: &[Message],
) -> PortResult<Vec<MessageView>> {
    let mut views = Vec::with_capacity(messages.len());
    for message in messages {
        let mut view = MessageView::from(message);
        for attachment in &mut view.attachments {
            if let Some(key) = &attachment.key {
                attachment.url = Some(media.presign_get(org, key, DOWNLOAD_URL_EXPIRY).await?);
            }
        }
        views.push(view);
    }
    Ok(views)
}

/// How a contact stands for the conversation: who it is, and whether it may be written to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationContact {
    #[serde(flatten)]
    pub contact: ContactView,
    pub eligible: bool,
    pub ineligible_reason: Option<String>,
}

impl From<&Contact> for ConversationContact {
    fn from(contact: &Contact) -> Self {
        let eligibility = contact.eligibility();
        Self {
            contact: ContactView::from(contact),
            eligible: eligibility.is_ok(),
            ineligible_reason: eligibility.err().map(|e| e.to_string()),
        }
    }
}

/// The contact and its 24-hour window at `now`, as every conversation answer carries them.
pub fn contact_state(
    contact: &Contact,
    now: DateTime<Utc>,
) -> (ConversationContact, ConversationWindow) {
    (
        ConversationContact::from(contact),
        conversation_window(contact.last_inbound_at, now),
    )
}

/// A conversation's row of the inbox without its contact: what a live event carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationSummaryView {
    pub contact_id: ContactId,
    pub last_message: crate::domain::LastMessage,
    pub unread_count: u64,
    pub last_read_message_id: Option<MessageId>,
    pub last_activity_at: DateTime<Utc>,
    /// Grows with every change: a client keeps the row with the highest version.
    pub version: u64,
}

impl From<&crate::domain::ConversationSummary> for ConversationSummaryView {
    fn from(s: &crate::domain::ConversationSummary) -> Self {
        Self {
            contact_id: s.contact_id.clone(),
            last_message: s.last_message.clone(),
            // Unread messages past retention are gone from the conversation: not counted.
            unread_count: s.unread_at(chrono::Utc::now()),
            last_read_message_id: s.last_read_id,
            last_activity_at: s.last_message.created_at,
            version: s.version,
        }
    }
}

/// A conversation of `GET /whatsapp/conversations`: the summary and how its contact stands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationView {
    pub contact: ConversationContact,
    #[serde(flatten)]
    pub summary: ConversationSummaryView,
}
