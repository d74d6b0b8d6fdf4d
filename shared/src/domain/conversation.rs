//! A conversation's summary for the inbox: its newest message, how many inbound messages the
//! organization has not read, and up to which message it has read. One per (organization,
//! contact) with at least one message. The rules live here; the message store keeps the
//! summary beside the messages and writes it with the message that changes it.
//!
//! Unread counting is exact by construction: `inbound_count` grows in the same write that
//! stores an inbound message once per Twilio sid (a repeated webhook stores nothing, so counts
//! nothing), and reading records how many of them it covers (`read_count`). Unread is the
//! difference, never negative.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ContactId, Direction, Message, MessageId, MessageStatus, MessageType, OrganizationId};

/// Characters of a text kept as the preview.
pub const PREVIEW_CHARS: usize = 80;

/// The newest message of a conversation, as the inbox shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastMessage {
    pub id: MessageId,
    pub revision: MessageId,
    pub direction: Direction,
    pub status: MessageStatus,
    pub preview: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_reason: Option<String>,
}

impl LastMessage {
    pub fn of(m: &Message) -> Self {
        Self {
            id: m.id,
            revision: m.revision,
            direction: m.direction,
            status: m.status,
            preview: preview(m),
            created_at: m.created_at,
            error_reason: m.error_reason.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    pub organization_id: OrganizationId,
    pub contact_id: ContactId,
    pub last_message: LastMessage,
    /// Inbound messages counted, ever (each once).
    pub inbound_count: u64,
    /// How many of them the organization has read.
    pub read_count: u64,
    /// The newest inbound message counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound_id: Option<MessageId>,
    /// The newest message read (`mark_read`'s `up_to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_id: Option<MessageId>,
    /// Bumped by every change: writes are conditional on the version read.
    pub version: u64,
    /// The newest message's retention end: the summary goes when its newest message does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

impl ConversationSummary {
    /// Inbound messages not read yet.
    pub fn unread(&self) -> u64 {
        self.inbound_count.saturating_sub(self.read_count)
    }

    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// Whether the inbox counts `m` when it is stored: an inbound message of a contact.
    pub fn counts(m: &Message) -> bool {
        m.direction == Direction::Inbound && m.contact_id.is_some()
    }

    /// The summary once `m` is stored or changed, from the one stored before (None: there is
    /// none). `counted`: `m` is an inbound message stored just now, once for its sid, so it
    /// is counted. None when nothing changes (an older message, a revision already seen) or
    /// when `m` belongs to no conversation (an unknown sender).
    pub fn with_message(before: Option<&Self>, m: &Message, counted: bool) -> Option<Self> {
        let contact_id = m.contact_id.clone()?;
        let counted = counted && m.direction == Direction::Inbound;
        let Some(before) = before else {
            return Some(Self {
                organization_id: m.organization_id.clone(),
                contact_id,
                last_message: LastMessage::of(m),
                inbound_count: u64::from(counted),
                read_count: 0,
                last_inbound_id: counted.then_some(m.id),
                last_read_id: None,
                version: 1,
                expires_at: m.expires_at,
            });
        };
        let mut next = before.clone();
        let last = &before.last_message;
        let newer = m.id > last.id || (m.id == last.id && m.revision > last.revision);
        if newer {
            next.last_message = LastMessage::of(m);
            next.expires_at = m.expires_at;
        }
        if counted {
            next.inbound_count += 1;
            next.last_inbound_id = next.last_inbound_id.max(Some(m.id));
            // Counted after a read that reached past it (a count deferred by contention, or
            // one that raced the read): it was on screen, so it is counted read as well.
            if before.last_read_id.is_some_and(|read| read >= m.id) {
                next.read_count += 1;
            }
        }
        (newer || counted).then(|| {
            next.version += 1;
            next
        })
    }

    /// The summary once every inbound message up to `up_to` is read, given how many inbound
    /// messages newer than `up_to` the conversation holds (`inbound_after`). None when it
    /// changes nothing: `up_to` is not newer than the marker (a repeat, or an older tab).
    pub fn read_up_to(&self, up_to: MessageId, inbound_after: u64) -> Option<Self> {
        if self.last_read_id.is_some_and(|read| read >= up_to) {
            return None;
        }
        // The newest counted inbound message is after `up_to` whatever an index lagging
        // behind says: it stays unread.
        let floor = u64::from(self.last_inbound_id.is_some_and(|id| id > up_to));
        let read = self.inbound_count.saturating_sub(inbound_after.max(floor));
        let mut next = self.clone();
        next.last_read_id = Some(up_to);
        // A read never makes read messages unread again.
        next.read_count = read.max(self.read_count);
        next.version += 1;
        Some(next)
    }

    /// Whether reading up to `up_to` needs the inbound messages after it counted: only when
    /// an inbound message newer than it was counted.
    pub fn inbound_after_needed(&self, up_to: MessageId) -> bool {
        self.last_inbound_id.is_some_and(|id| id > up_to)
    }
}

/// The preview of a message: its text cut to `PREVIEW_CHARS`, or what it is.
pub fn preview(m: &Message) -> String {
    if let Some(template) = &m.template {
        return format!("Template: {}", template.name);
    }
    if let Some(text) = m.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let mut chars = text.chars();
        let cut: String = chars.by_ref().take(PREVIEW_CHARS).collect();
        return if chars.next().is_some() {
            format!("{}…", cut.trim_end())
        } else {
            cut
        };
    }
    if let Some(a) = m.attachments.first() {
        if let Some(card) = &a.card {
            return format!("👤 {}", card.name);
        }
        return match MessageType::from_content_type(&a.content_type) {
            MessageType::Image => "📷 Photo".to_owned(),
            MessageType::Audio => "🎤 Voice message".to_owned(),
            MessageType::Video => "🎥 Video".to_owned(),
            _ => format!("📄 {}", a.filename.as_deref().unwrap_or("Document")),
        };
    }
    match &m.details {
        Some(d) if d.location.is_some() => "📍 Location".to_owned(),
        Some(d) if d.unsupported.is_some() => "Unsupported message".to_owned(),
        _ => "Message".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Attachment, PhoneNumber};

    fn org() -> OrganizationId {
        OrganizationId::parse("acme").unwrap()
    }

    fn inbound(text: &str) -> Message {
        let phone = PhoneNumber::parse_e164("+14155550100").unwrap();
        Message::inbound(
            &org(),
            Some(ContactId::parse("c-1").unwrap()),
            Some(&phone),
            &format!("SM{}", MessageId::new()),
            Some(text.to_owned()),
            vec![],
            Utc::now(),
        )
    }

    #[test]
    fn a_message_counted_after_a_read_that_passed_it_is_read() {
        let first = inbound("one");
        let deferred = inbound("two");
        let third = inbound("three");
        // `deferred` is stored, its count left for later; the agent reads up to `third`.
        let s = ConversationSummary::with_message(None, &first, true).unwrap();
        let s = ConversationSummary::with_message(Some(&s), &deferred, false).unwrap();
        let s = ConversationSummary::with_message(Some(&s), &third, true).unwrap();
        let read = s.read_up_to(third.id, 0).unwrap();
        assert_eq!(read.unread(), 0);
        let counted = ConversationSummary::with_message(Some(&read), &deferred, true).unwrap();
        assert_eq!(counted.unread(), 0, "it was on screen when read");
        assert_eq!(counted.inbound_count, 3);
        // One newer than the read stays unread when it is counted late.
        let fourth = inbound("four");
        let s = ConversationSummary::with_message(Some(&counted), &fourth, false).unwrap();
        let s = ConversationSummary::with_message(Some(&s), &fourth, true).unwrap();
        assert_eq!(s.unread(), 1);
    }

    #[test]
    fn counting_is_once_per_stored_inbound_and_reading_never_goes_negative() {
        let first = inbound("one");
        let second = inbound("two");
        let s = ConversationSummary::with_message(None, &first, true).unwrap();
        let s = ConversationSummary::with_message(Some(&s), &second, true).unwrap();
        assert_eq!((s.unread(), s.last_inbound_id), (2, Some(second.id)));
        // The same message again, not counted (a repeat stores nothing): no change.
        assert_eq!(
            ConversationSummary::with_message(Some(&s), &second, false),
            None
        );
        // An older message arriving late is counted but does not become the newest.
        let late = Message {
            id: MessageId::floor_at(0),
            ..inbound("late")
        };
        let s = ConversationSummary::with_message(Some(&s), &late, true).unwrap();
        assert_eq!((s.unread(), s.last_message.id), (3, second.id));

        let read = s.read_up_to(first.id, 1).unwrap();
        assert_eq!(read.unread(), 1);
        assert_eq!(
            read.read_up_to(first.id, 1),
            None,
            "a repeat changes nothing"
        );
        let all = read.read_up_to(second.id, 0).unwrap();
        assert_eq!((all.unread(), all.read_count), (0, 3));
        // An index that lags behind cannot make the newest inbound read.
        let lagging = s.read_up_to(first.id, 0).unwrap();
        assert_eq!(lagging.unread(), 1);
        assert!(all.version > s.version);
    }

    #[test]
    fn a_status_of_the_newest_message_moves_the_summary_and_older_ones_do_not() {
        let first = inbound("hi");
        let s = ConversationSummary::with_message(None, &first, true).unwrap();
        let mut newest = inbound("later");
        newest.direction = Direction::Outbound;
        newest.status = MessageStatus::Pending;
        let s = ConversationSummary::with_message(Some(&s), &newest, false).unwrap();
        let mut read = newest.clone();
        read.status = MessageStatus::Read;
        read.revision = MessageId::new();
        let s = ConversationSummary::with_message(Some(&s), &read, false).unwrap();
        assert_eq!(s.last_message.status, MessageStatus::Read);
        assert_eq!(
            ConversationSummary::with_message(Some(&s), &newest, false),
            None
        );
        let mut older = first.clone();
        older.revision = MessageId::new();
        assert_eq!(
            ConversationSummary::with_message(Some(&s), &older, false),
            None
        );
    }

    #[test]
    fn previews_say_what_a_message_is() {
        let long = "x".repeat(120);
        let file = |content_type: &str, filename: Option<&str>| Message {
            text: None,
            attachments: vec![Attachment {
                key: None,
                url: None,
                content_type: content_type.to_owned(),
                filename: filename.map(str::to_owned),
                size: None,
                error: None,
                card: None,
            }],
            ..inbound("")
        };
        let cases = [
            (inbound("Hello"), "Hello".to_owned()),
            (inbound(&long), format!("{}…", "x".repeat(80))),
            (file("image/jpeg", None), "📷 Photo".to_owned()),
            (file("audio/ogg", None), "🎤 Voice message".to_owned()),
            (
                file("application/pdf", Some("invoice.pdf")),
                "📄 invoice.pdf".to_owned(),
            ),
            (file("video/mp4", None), "🎥 Video".to_owned()),
        ];
        for (m, want) in cases {
            assert_eq!(preview(&m), want);
        }
        let mut located = inbound("");
        located.text = None;
        located.details = Some(crate::domain::InboundDetails {
            location: Some(crate::domain::Location::parse("1.0", "2.0", None, None).unwrap()),
            ..Default::default()
        });
        assert_eq!(preview(&located), "📍 Location");
        let mut template = inbound("Hi Dev, your order shipped");
        template.template = Some(crate::domain::SentTemplate {
            content_sid: "HX0".into(),
            name: "order_update".into(),
            variables: Default::default(),
        });
        assert_eq!(preview(&template), "Template: order_update");
    }
}
