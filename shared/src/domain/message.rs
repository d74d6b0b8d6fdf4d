//! Messages of a conversation and the forward-only status rule.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ContactId, MessageId, OrganizationId, OutboundPart, PhoneNumber};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    Inbound,
    Outbound,
    /// Between the organization's agents (a note): never sent, never seen by the contact.
    Internal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageType {
    Text,
    Image,
    Document,
    Audio,
    Video,
    Other,
    /// An agent's note to the other agents (`Direction::Internal`).
    Note,
    /// Buttons or a list the customer answers with a tap (`Message::interactive`).
    Interactive,
}

impl MessageType {
    /// The type a WhatsApp message carrying media of this MIME type has.
    pub fn from_content_type(content_type: &str) -> Self {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.split_once('/') {
            Some(("image", _)) => Self::Image,
            Some(("audio", _)) => Self::Audio,
            Some(("video", _)) => Self::Video,
            Some(("text", "vcard" | "x-vcard"))
            | Some(("text", "plain" | "csv"))
            | Some(("application", "pdf")) => Self::Document,
            Some(("application", sub))
                if sub.starts_with("vnd.") || sub == "msword" || sub == "rtf" =>
            {
                Self::Document
            }
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
    Received,
    /// Handed to Twilio, but whether Twilio took it could not be confirmed (its answer was
    /// lost and its Messages list could not be read for long): never sent again, and moved
    /// on by a later status callback for its sid or a later look at Twilio's list.
    Unconfirmed,
    /// A note, kept as written: nothing is sent, nothing follows.
    Recorded,
}

impl MessageStatus {
    /// Every status, in declaration order.
    pub const ALL: [MessageStatus; 8] = [
        MessageStatus::Pending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
        MessageStatus::Failed,
        MessageStatus::Received,
        MessageStatus::Unconfirmed,
        MessageStatus::Recorded,
    ];

    /// Status only moves forward: PENDING → SENT → DELIVERED → READ, FAILED only from
    /// PENDING, SENT or UNCONFIRMED, and UNCONFIRMED (from PENDING) to any outcome Twilio
    /// reports. Callbacks arrive late and twice, so anything else is ignored.
    pub fn can_advance_to(self, next: MessageStatus) -> bool {
        use MessageStatus::*;
        matches!(
            (self, next),
            (Pending, Sent | Delivered | Read | Failed | Unconfirmed)
                | (Unconfirmed, Sent | Delivered | Read | Failed)
                | (Sent, Delivered | Read | Failed)
                | (Delivered, Read)
        )
    }

    /// A status no later event changes.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            MessageStatus::Read
                | MessageStatus::Failed
                | MessageStatus::Received
                | MessageStatus::Recorded
        )
    }

    /// Maps Twilio's `MessageStatus`. Intermediate states (queued, accepted, sending, …)
    /// carry nothing the conversation shows, so they map to nothing.
    pub fn from_twilio(status: &str) -> Option<Self> {
        match status.trim().to_ascii_lowercase().as_str() {
            "sent" => Some(Self::Sent),
            "delivered" => Some(Self::Delivered),
            "read" => Some(Self::Read),
            "failed" | "undelivered" | "canceled" => Some(Self::Failed),
            _ => None,
        }
    }

    /// A status shown with a reason a person reads (`error_reason`).
    pub fn has_reason(self) -> bool {
        matches!(self, MessageStatus::Failed | MessageStatus::Unconfirmed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Sent => "SENT",
            Self::Delivered => "DELIVERED",
            Self::Read => "READ",
            Self::Failed => "FAILED",
            Self::Received => "RECEIVED",
            Self::Unconfirmed => "UNCONFIRMED",
            Self::Recorded => "RECORDED",
        }
    }
}

/// How far a file got: still where it came from, marked unavailable, or stored with us.
fn copy_progress(attachment: &Attachment) -> u8 {
    match (&attachment.key, &attachment.error) {
        (Some(_), _) => 2,
        (None, Some(_)) => 1,
        (None, None) => 0,
    }
}

/// A copy's files (`incoming`) merged into the stored ones, file by file (same index): the
/// one that got further wins, the stored one on a tie. So two copies of one message at once
/// each keep what the other did: a file one stored is never put back to Twilio's URL, nor
/// marked unavailable by the other's failed fetch.
pub fn merge_attachments(stored: &[Attachment], incoming: &[Attachment]) -> Vec<Attachment> {
    stored
        .iter()
        .enumerate()
        .map(|(index, current)| match incoming.get(index) {
            Some(new) if copy_progress(new) > copy_progress(current) => new.clone(),
            _ => current.clone(),
        })
        .collect()
}

/// One file carried by a message: a key in our bucket once stored, or where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Why the file is not available (an inbound media that could not be copied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A shared contact card's name and numbers (the file stays downloadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<super::ContactCard>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub organization_id: OrganizationId,
    /// None for an inbound message from a number that is no contact of the organization:
    /// kept for audit, never shown in a conversation.
    pub contact_id: Option<ContactId>,
    /// The contact's number at the time of the message.
    pub contact_phone: Option<String>,
    pub direction: Direction,
    pub message_type: MessageType,
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub twilio_message_sid: Option<String>,
    pub status: MessageStatus,
    pub error_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A ULID minted at every change: pollers ask for what changed after the last one seen.
    pub revision: MessageId,
    /// The approved template it was sent from (its text is the template's, filled in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<super::SentTemplate>,
    /// What an inbound message carries besides text and files (location, button reply, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<super::InboundDetails>,
    /// When the organization's retention (`message_retention_days`) deletes the message and
    /// its files; None: kept. An expired message is gone for every read even before
    /// DynamoDB's TTL removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The `Idempotency-Key` of the send that made it: its record is erased with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// Who made an outbound message (an agent, or the API without a user); None for inbound
    /// messages and for outbound ones from before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_by: Option<super::SentBy>,
    /// The buttons or list an outbound message offers (its text is their body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<super::Interactive>,
}

impl Message {
    /// Whether the organization's retention has ended this message at `now`.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

impl Message {
    /// A new message of the organization: its id (and first revision) minted now, nothing
    /// else set but what says what it is.
    fn new(
        organization_id: &OrganizationId,
        contact_id: Option<ContactId>,
        direction: Direction,
        message_type: MessageType,
        status: MessageStatus,
        now: DateTime<Utc>,
    ) -> Self {
        let id = MessageId::new();
        Self {
            id,
            organization_id: organization_id.clone(),
            contact_id,
            contact_phone: None,
            direction,
            message_type,
            text: None,
            attachments: Vec::new(),
            twilio_message_sid: None,
            status,
            error_reason: None,
            created_at: now,
            updated_at: now,
            revision: id,
            template: None,
            details: None,
            expires_at: None,
            idempotency_key: None,
            sent_by: None,
            interactive: None,
        }
    }

    /// One part of a send, stored PENDING until the worker hands it to Twilio.
    pub fn outbound_pending(
        organization_id: &OrganizationId,
        contact_id: &ContactId,
        phone: &PhoneNumber,
        part: OutboundPart,
        now: DateTime<Utc>,
    ) -> Self {
        let (direction, status) = (Direction::Outbound, MessageStatus::Pending);
        Self {
            contact_phone: Some(phone.to_string()),
            text: part.text,
            attachments: part.attachment.into_iter().collect(),
            ..Self::new(
                organization_id,
                Some(contact_id.clone()),
                direction,
                part.message_type,
                status,
                now,
            )
        }
    }

    /// A contact's message as Twilio delivered it (`contact_id` None: an unknown sender;
    /// `from` None: a WhatsApp user who withholds their number). Its type is its first
    /// media's; attachments point at Twilio until the copy is made.
    pub fn inbound(
        organization_id: &OrganizationId,
        contact_id: Option<ContactId>,
        from: Option<&PhoneNumber>,
        twilio_message_sid: &str,
        text: Option<String>,
        attachments: Vec<Attachment>,
        now: DateTime<Utc>,
    ) -> Self {
        let message_type = attachments.first().map_or(MessageType::Text, |a| {
            MessageType::from_content_type(&a.content_type)
        });
        Self {
            contact_phone: from.map(ToString::to_string),
            text: text.filter(|t| !t.is_empty()),
            attachments,
            twilio_message_sid: Some(twilio_message_sid.to_owned()),
            ..Self::new(
                organization_id,
                contact_id,
                Direction::Inbound,
                message_type,
                MessageStatus::Received,
                now,
            )
        }
    }

    /// An agent's note in the contact's conversation: recorded as written, never sent.
    pub fn note(
        organization_id: &OrganizationId,
        contact_id: &ContactId,
        text: String,
        author: super::AgentRef,
        now: DateTime<Utc>,
    ) -> Self {
        let (direction, kind) = (Direction::Internal, MessageType::Note);
        Self {
            text: Some(text),
            sent_by: Some(super::SentBy::Agent(author)),
            ..Self::new(
                organization_id,
                Some(contact_id.clone()),
                direction,
                kind,
                MessageStatus::Recorded,
                now,
            )
        }
    }

    /// Applies a status event; returns whether the message changed.
    ///
    /// The Twilio sid is recorded whenever it is not known yet, even when the status does not
    /// move (a `delivered` callback can overtake the worker's own `SENT`).
    pub fn apply(&mut self, change: &StatusChange, now: DateTime<Utc>) -> bool {
        let mut changed = false;
        if let Some(sid) = &change.twilio_message_sid
            && self.twilio_message_sid.is_none()
        {
            self.twilio_message_sid = Some(sid.clone());
            changed = true;
        }
        if self.status.can_advance_to(change.status) {
            self.status = change.status;
            // A reason goes with a failure or a doubt, and leaves with them.
            self.error_reason = change
                .status
                .has_reason()
                .then(|| change.error_reason.clone())
                .flatten();
            changed = true;
        }
        if changed {
            self.updated_at = now;
            self.revision = MessageId::new();
        }
        changed
    }
}

/// A status event for one message: from the worker or from a Twilio status callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub status: MessageStatus,
    pub twilio_message_sid: Option<String>,
    pub error_reason: Option<String>,
}

impl StatusChange {
    /// Twilio accepted the message under this sid.
    pub fn sent(twilio_message_sid: impl Into<String>) -> Self {
        Self {
            status: MessageStatus::Sent,
            twilio_message_sid: Some(twilio_message_sid.into()),
            error_reason: None,
        }
    }

    /// The message will not reach the contact, for a reason a person reads.
    pub fn failed(error_reason: impl Into<String>) -> Self {
        Self {
            status: MessageStatus::Failed,
            twilio_message_sid: None,
            error_reason: Some(error_reason.into()),
        }
    }

    /// Twilio may have the message but could not say so: it is not sent again.
    pub fn unconfirmed(error_reason: impl Into<String>) -> Self {
        Self {
            status: MessageStatus::Unconfirmed,
            twilio_message_sid: None,
            error_reason: Some(error_reason.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::MessageStatus::*;
    use super::*;

    const ALL: [MessageStatus; 8] = MessageStatus::ALL;

    #[test]
    fn new_messages_start_where_their_direction_starts() {
        let org = OrganizationId::parse("acme").unwrap();
        let contact = ContactId::parse("c1").unwrap();
        let phone = PhoneNumber::parse_e164("+60123456789").unwrap();
        let now = Utc::now();
        let part = OutboundPart {
            message_type: MessageType::Text,
            text: Some("Hello".into()),
            attachment: None,
        };
        let out = Message::outbound_pending(&org, &contact, &phone, part, now);
        assert_eq!(
            (out.direction, out.status, out.revision, out.created_at),
            (Direction::Outbound, Pending, out.id, now)
        );
        assert_eq!(out.contact_phone.as_deref(), Some("+60123456789"));
        assert_eq!(out.twilio_message_sid, None);

        let photo = Attachment {
            key: None,
            url: Some("https://api.twilio.com/media/1".into()),
            content_type: "image/jpeg".into(),
            filename: None,
            size: None,
            error: None,
            card: None,
        };
        let sid = "SM0123456789abcdef0123456789abcdef";
        let inbound = Message::inbound(
            &org,
            None,
            Some(&phone),
            sid,
            Some(String::new()),
            vec![photo],
            now,
        );
        assert_eq!(
            (inbound.direction, inbound.status, inbound.message_type),
            (Direction::Inbound, Received, MessageType::Image)
        );
        assert_eq!(inbound.text, None, "an empty body is no text");
        assert_eq!(inbound.contact_id, None);
        assert_eq!(inbound.twilio_message_sid.as_deref(), Some(sid));
        let text = Message::inbound(
            &org,
            Some(contact),
            Some(&phone),
            sid,
            Some("Hi".into()),
            vec![],
            now,
        );
        assert_eq!(
            (text.message_type, text.text.as_deref()),
            (MessageType::Text, Some("Hi"))
        );

        let author = super::super::AgentRef::from_claims("u1", Some("Ana"), None).unwrap();
        let note = Message::note(
            &org,
            &text.contact_id.unwrap(),
            "Call back".into(),
            author,
            now,
        );
        assert_eq!(
            (note.direction, note.message_type, note.status),
            (Direction::Internal, MessageType::Note, Recorded)
        );
        assert!(note.status.is_final());
        assert_eq!((note.twilio_message_sid, note.contact_phone), (None, None));
        assert_eq!(
            note.sent_by
                .and_then(|by| by.agent().map(|a| a.name.clone()))
                .as_deref(),
            Some("Ana")
        );
    }

    #[test]
    fn status_changes_say_what_the_worker_learned() {
        let sent = StatusChange::sent("SM1");
        assert_eq!(
            (
                sent.status,
                sent.twilio_message_sid.as_deref(),
                sent.error_reason
            ),
            (Sent, Some("SM1"), None)
        );
        let failed = StatusChange::failed("Failed to send via WhatsApp: x");
        assert_eq!(
            (
                failed.status,
                failed.twilio_message_sid,
                failed.error_reason.as_deref()
            ),
            (Failed, None, Some("Failed to send via WhatsApp: x"))
        );
    }

    #[test]
    fn status_moves_only_forward() {
        let allowed = [
            (Pending, Sent),
            (Pending, Delivered),
            (Pending, Read),
            (Pending, Failed),
            (Pending, Unconfirmed),
            (Unconfirmed, Sent),
            (Unconfirmed, Delivered),
            (Unconfirmed, Read),
            (Unconfirmed, Failed),
            (Sent, Delivered),
            (Sent, Read),
            (Sent, Failed),
            (Delivered, Read),
        ];
        for from in ALL {
            for to in ALL {
                assert_eq!(
                    from.can_advance_to(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    fn outbound() -> Message {
        crate::testing::messages::a_message("org")
            .contact(Some("c"))
            .text("hi")
            .build()
    }

    fn change(status: MessageStatus) -> StatusChange {
        StatusChange {
            status,
            twilio_message_sid: Some("SM1".into()),
            error_reason: None,
        }
    }

    #[test]
    fn late_delivered_never_replaces_read() {
        let mut m = outbound();
        assert!(m.apply(&change(Read), Utc::now()));
        let revision = m.revision;
        assert!(!m.apply(&change(Delivered), Utc::now()));
        assert!(!m.apply(&change(Sent), Utc::now()));
        assert_eq!(m.status, Read);
        assert_eq!(m.revision, revision, "an ignored event is no change");
    }

    #[test]
    fn sid_is_recorded_even_when_the_status_cannot_move() {
        let mut m = outbound();
        m.apply(
            &StatusChange {
                twilio_message_sid: None,
                ..change(Delivered)
            },
            Utc::now(),
        );
        assert!(m.apply(&change(Sent), Utc::now()));
        assert_eq!(m.status, Delivered);
        assert_eq!(m.twilio_message_sid.as_deref(), Some("SM1"));
    }

    #[test]
    fn failure_keeps_its_reason_and_is_final() {
        let mut m = outbound();
        m.apply(&change(Sent), Utc::now());
        assert!(m.apply(
            &StatusChange {
                error_reason: Some("Failed to send via WhatsApp: x".into()),
                ..change(Failed)
            },
            Utc::now()
        ));
        assert!(!m.apply(&change(Delivered), Utc::now()));
        assert_eq!(
            m.error_reason.as_deref(),
            Some("Failed to send via WhatsApp: x")
        );
        assert!(m.status.is_final());
    }

    #[test]
    fn an_unconfirmed_message_moves_on_when_twilio_reports_it() {
        let mut m = outbound();
        let doubt = "Twilio could not confirm whether it was sent";
        assert!(m.apply(&StatusChange::unconfirmed(doubt), Utc::now()));
        assert_eq!(
            (m.status, m.error_reason.as_deref()),
            (Unconfirmed, Some(doubt))
        );
        assert!(!m.status.is_final(), "a later callback still moves it");
        // Twilio's `delivered` callback: it did go out, and the doubt is gone.
        assert!(m.apply(&change(Delivered), Utc::now()));
        assert_eq!((m.status, m.error_reason.as_deref()), (Delivered, None));
        assert_eq!(m.twilio_message_sid.as_deref(), Some("SM1"));
        // Or Twilio says it failed after all: the reason is Twilio's.
        let mut m = outbound();
        m.apply(&StatusChange::unconfirmed(doubt), Utc::now());
        assert!(m.apply(
            &StatusChange {
                error_reason: Some("Failed to send via WhatsApp: y".into()),
                ..change(Failed)
            },
            Utc::now()
        ));
        assert_eq!(
            m.error_reason.as_deref(),
            Some("Failed to send via WhatsApp: y")
        );
        assert!(!m.apply(&StatusChange::unconfirmed(doubt), Utc::now()));
    }

    #[test]
    fn twilio_statuses_map_to_ours() {
        assert_eq!(MessageStatus::from_twilio("sent"), Some(Sent));
        assert_eq!(MessageStatus::from_twilio("DELIVERED"), Some(Delivered));
        assert_eq!(MessageStatus::from_twilio("read"), Some(Read));
        assert_eq!(MessageStatus::from_twilio("undelivered"), Some(Failed));
        assert_eq!(MessageStatus::from_twilio("failed"), Some(Failed));
        assert_eq!(MessageStatus::from_twilio("queued"), None);
        assert_eq!(MessageStatus::from_twilio("sending"), None);
    }

    #[test]
    fn message_type_follows_content_type() {
        assert_eq!(
            MessageType::from_content_type("image/jpeg"),
            MessageType::Image
        );
        assert_eq!(
            MessageType::from_content_type("audio/ogg; codecs=opus"),
            MessageType::Audio
        );
        assert_eq!(
            MessageType::from_content_type("video/mp4"),
            MessageType::Video
        );
        assert_eq!(
            MessageType::from_content_type("application/pdf"),
            MessageType::Document
        );
        assert_eq!(
            MessageType::from_content_type(
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            ),
            MessageType::Document
        );
        assert_eq!(
            MessageType::from_content_type("text/vcard"),
            MessageType::Document
        );
        assert_eq!(
            MessageType::from_content_type("application/x-msdownload"),
            MessageType::Other
        );
    }
}
