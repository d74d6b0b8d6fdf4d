//! A conversation's summary for the inbox: its newest message, how many inbound messages the
//! organization has not read, and up to which message it has read. One per (organization,
//! contact) with at least one message. The rules live here; the message store keeps the
//! summary beside the messages and writes it with the message that changes it.
//!
//! Unread counting is exact by construction: `inbound_count` grows in the same write that
//! stores an inbound message once per Twilio sid (a repeated webhook stores nothing, so counts
//! nothing), and reading records how many of them it covers (`read_count`). Unread is the
//! difference, never negative. The summary also keeps the ids of the newest counted inbound
//! messages (`recent_inbound`), so that a read of a recent message counts what is after it
//! without the conversation index (which may lag, and holds messages not counted yet), and
//! so that unread messages past the organization's retention stop counting when they expire
//! (`unread_at`), as every read of messages leaves them out.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ContactId, Direction, Message, MessageId, MessageStatus, MessageType, OrganizationId};

/// Characters of a text kept as the preview.
pub const PREVIEW_CHARS: usize = 80;

/// Counted inbound message ids a summary keeps (the newest): 8 × 26 characters.
pub const RECENT_INBOUND: usize = 8;

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
    /// Who sent it, for an outbound message that records it (the row says "You:", "Ana:").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_by: Option<super::SentBy>,
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
            sent_by: m.sent_by.clone(),
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
    /// The newest counted inbound messages, oldest first, at most `RECENT_INBOUND`; every
    /// counted inbound message newer than the first is here (empty on summaries from before
    /// it was kept, until their next count).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_inbound: Vec<MessageId>,
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

    /// Whether the summary passes `m` by: a note is the agents', while the row's preview,
    /// unread count and window are the contact's.
    pub fn ignores(m: &Message) -> bool {
        m.direction == Direction::Internal
    }

    /// The summary once `m` is stored or changed, from the one stored before (None: there is
    /// none). `counted`: `m` is an inbound message stored just now, once for its sid, so it
    /// is counted. None when nothing changes (an older message, a revision already seen) or
    /// when `m` belongs to no conversation (an unknown sender) or is a note.
    pub fn with_message(before: Option<&Self>, m: &Message, counted: bool) -> Option<Self> {
        if Self::ignores(m) {
            return None;
        }
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
                recent_inbound: if counted { vec![m.id] } else { vec![] },
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
            next.remember_inbound(before, m.id);
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

    /// Adds a counted inbound message to `recent_inbound` where that keeps it whole (every
    /// counted message newer than its first): the window holds every count so far, or `id`
    /// is newer than its first, or (an empty window of an older summary) newer than every
    /// message counted before.
    fn remember_inbound(&mut self, before: &Self, id: MessageId) {
        let recent = &mut self.recent_inbound;
        let whole = recent.len() as u64 == before.inbound_count;
        let fits = match recent.first() {
            Some(first) => whole || id > *first,
            None => whole || before.last_inbound_id.is_none_or(|last| id > last),
        };
        if fits && !recent.contains(&id) {
            let at = recent.partition_point(|known| *known < id);
            recent.insert(at, id);
            let extra = recent.len().saturating_sub(RECENT_INBOUND);
            recent.drain(..extra);
        }
    }

    /// How many counted inbound messages are newer than `up_to`, when `recent_inbound` can
    /// tell (it holds every count, or reaches back to `up_to`); None when only the
    /// conversation index can.
    fn counted_after(&self, up_to: MessageId) -> Option<u64> {
        let recent = &self.recent_inbound;
        let whole = recent.len() as u64 == self.inbound_count;
        (whole || recent.first().is_some_and(|first| *first <= up_to))
            .then(|| recent.iter().filter(|id| **id > up_to).count() as u64)
    }

    /// The summary once every inbound message up to `up_to` is read, given how many inbound
    /// messages newer than `up_to` the conversation index lists (`inbound_after`, needed only
    /// where `inbound_after_needed` says). None when it changes nothing: `up_to` is not newer
    /// than the marker (a repeat, or an older tab).
    pub fn read_up_to(&self, up_to: MessageId, inbound_after: u64) -> Option<Self> {
        if self.last_read_id.is_some_and(|read| read >= up_to) {
            return None;
        }
        let after = match self.counted_after(up_to) {
            // Exact, whatever the index shows (a lag, or messages not counted yet).
            Some(counted) => counted,
            // The newest counted inbound messages are after `up_to` whatever an index lagging
            // behind says: they stay unread.
            None => {
                let known = self.recent_inbound.iter().filter(|id| **id > up_to).count() as u64;
                let floor = u64::from(self.last_inbound_id.is_some_and(|id| id > up_to));
                inbound_after.max(known).max(floor)
            }
        };
        let read = self.inbound_count.saturating_sub(after);
        let mut next = self.clone();
        next.last_read_id = Some(up_to);
        // A read never makes read messages unread again.
        next.read_count = read.max(self.read_count);
        next.version += 1;
        Some(next)
    }

    /// Whether reading up to `up_to` needs the inbound messages after it counted from the
    /// index: only when an inbound message newer than it was counted and `recent_inbound`
    /// does not reach back to `up_to`.
    pub fn inbound_after_needed(&self, up_to: MessageId) -> bool {
        self.last_inbound_id.is_some_and(|id| id > up_to) && self.counted_after(up_to).is_none()
    }

    /// The organization's retention as this conversation's messages carry it: how long its
    /// newest message is kept. None when messages are kept for ever.
    fn retention(&self) -> Option<chrono::Duration> {
        let kept = self.expires_at? - self.last_message.created_at;
        (kept > chrono::Duration::zero()).then_some(kept)
    }

    /// The unread messages whose expiry `unread_at` can tell, with it: the newest `unread`
    /// counted inbound ids `recent_inbound` holds, and whether older unread ones lie beyond.
    fn unread_expiries(&self, retention: chrono::Duration) -> (Vec<DateTime<Utc>>, u64) {
        let unread = self.unread();
        let known = self.recent_inbound.len() as u64;
        let shown = unread.min(known) as usize;
        let expiries = self.recent_inbound[self.recent_inbound.len() - shown..]
            .iter()
            .filter_map(|id| {
                DateTime::<Utc>::from_timestamp_millis(i64::try_from(id.timestamp_ms()).ok()?)
            })
            .map(|created| created + retention)
            .collect();
        (expiries, unread.saturating_sub(known))
    }

    /// Inbound messages not read yet and not past retention at `now`: what the inbox shows
    /// (every read of messages leaves the expired out). Unread messages are the newest
    /// counted ones; those `recent_inbound` holds expire by their id's time; older unread
    /// ones beyond it are past retention once the oldest it holds is, and are otherwise
    /// taken as kept (read or expired, they leave the count at the next read).
    pub fn unread_at(&self, now: DateTime<Utc>) -> u64 {
        let Some(retention) = self.retention() else {
            return self.unread();
        };
        let (expiries, beyond) = self.unread_expiries(retention);
        let live = expiries.iter().filter(|at| **at > now).count() as u64;
        let oldest_known_live = self
            .recent_inbound
            .first()
            .and_then(|id| {
                DateTime::<Utc>::from_timestamp_millis(i64::try_from(id.timestamp_ms()).ok()?)
            })
            .is_none_or(|created| created + retention > now);
        live + if oldest_known_live { beyond } else { 0 }
    }

    /// When `unread_at` next drops as time passes (the first unread message counted as kept
    /// to expire); None when it does not before the summary itself goes.
    pub fn unread_changes_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let retention = self.retention()?;
        let (mut expiries, beyond) = self.unread_expiries(retention);
        if beyond > 0 {
            // The unread beyond the window go when its oldest does.
            expiries.extend(self.recent_inbound.first().and_then(|id| {
                DateTime::<Utc>::from_timestamp_millis(i64::try_from(id.timestamp_ms()).ok()?)
                    .map(|created| created + retention)
            }));
        }
        expiries.into_iter().filter(|at| *at > now).min()
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
    fn a_note_changes_nothing_of_the_row() {
        let first = inbound("Is my order ready?");
        let s = ConversationSummary::with_message(None, &first, true).unwrap();
        let author = crate::domain::AgentRef::from_claims("u1", Some("Ana"), None).unwrap();
        let note = Message::note(
            &org(),
            &ContactId::parse("c-1").unwrap(),
            "Checked: ships Monday".into(),
            author,
            Utc::now(),
        );
        assert!(ConversationSummary::ignores(&note));
        assert_eq!(
            ConversationSummary::with_message(Some(&s), &note, true),
            None
        );
        assert_eq!(ConversationSummary::with_message(None, &note, false), None);
        // A message after the note is the row's newest, as it would be without it.
        let second = inbound("Thanks");
        let after = ConversationSummary::with_message(Some(&s), &second, true).unwrap();
        assert_eq!(after.last_message.id, second.id);
        assert_eq!(after.unread(), 2);
    }

    /// An inbound message created `days_ago` and kept 30 days, with an id of that time.
    fn inbound_at(days_ago: i64, n: u64) -> Message {
        let created = Utc::now() - chrono::Duration::days(days_ago);
        let millis = u64::try_from(created.timestamp_millis()).unwrap() + n;
        Message {
            id: MessageId::floor_at(millis),
            created_at: created,
            expires_at: Some(created + chrono::Duration::days(30)),
            ..inbound("kept 30 days")
        }
    }

    fn counted(messages: &[Message]) -> ConversationSummary {
        let mut s = ConversationSummary::with_message(None, &messages[0], true).unwrap();
        for m in &messages[1..] {
            s = ConversationSummary::with_message(Some(&s), m, true).unwrap();
        }
        s
    }

    /// A read of a recent message counts what is after it from the summary itself: an index
    /// that lags (shows fewer) or holds messages not counted yet (shows more) changes nothing.
    #[test]
    fn a_read_of_a_recent_message_is_exact_whatever_the_index_says() {
        let messages: Vec<Message> = (0..3).map(|n| inbound(&format!("m{n}"))).collect();
        let s = counted(&messages);
        assert_eq!(
            s.recent_inbound,
            messages.iter().map(|m| m.id).collect::<Vec<_>>()
        );
        assert!(
            !s.inbound_after_needed(messages[0].id),
            "no index read needed"
        );
        for index_says in [0, 1, 2, 5] {
            let read = s.read_up_to(messages[0].id, index_says).unwrap();
            assert_eq!(read.unread(), 2, "the index said {index_says}");
        }
        assert_eq!(s.read_up_to(messages[2].id, 4).unwrap().unread(), 0);
    }

    /// The summary keeps the newest `RECENT_INBOUND` counted ids, whole; a read older than
    /// them takes the index's count, never less than what the summary knows.
    #[test]
    fn the_recent_window_keeps_the_newest_counts_and_older_reads_ask_the_index() {
        let messages: Vec<Message> = (0..12).map(|n| inbound(&format!("m{n}"))).collect();
        let s = counted(&messages);
        let newest: Vec<MessageId> = messages[12 - RECENT_INBOUND..]
            .iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(s.recent_inbound, newest);
        assert!(s.inbound_after_needed(messages[1].id));
        assert!(!s.inbound_after_needed(messages[4].id));
        // The index lags: the summary's own eight still count as unread.
        assert_eq!(s.read_up_to(messages[1].id, 3).unwrap().unread(), 8);
        assert_eq!(s.read_up_to(messages[1].id, 10).unwrap().unread(), 10);
        // A message counted late, older than the window, leaves it whole and unchanged.
        let late = Message {
            id: MessageId::floor_at(0),
            ..inbound("late")
        };
        let with_late = ConversationSummary::with_message(Some(&s), &late, true).unwrap();
        assert_eq!(with_late.recent_inbound, newest);
        // A summary from before the window starts one with its next newest count.
        let mut older = s.clone();
        older.recent_inbound.clear();
        let next = inbound("next");
        let resumed = ConversationSummary::with_message(Some(&older), &next, true).unwrap();
        assert_eq!(resumed.recent_inbound, vec![next.id]);
        assert!(!resumed.inbound_after_needed(next.id));
        assert!(
            resumed.inbound_after_needed(messages[11].id),
            "it starts at `next`"
        );
        let not_whole = ConversationSummary::with_message(Some(&older), &late, true).unwrap();
        assert!(
            not_whole.recent_inbound.is_empty(),
            "an older count would leave a gap"
        );
    }

    /// Unread messages past the organization's retention stop counting when they expire, as
    /// every read of the conversation already leaves them out.
    #[test]
    fn unread_messages_past_retention_are_not_counted() {
        let now = Utc::now();
        // Three unread from 40 days ago (kept 30), one from today.
        let mut messages: Vec<Message> = (0..3).map(|n| inbound_at(40, n)).collect();
        messages.push(inbound_at(0, 0));
        let s = counted(&messages);
        assert_eq!((s.unread(), s.unread_at(now)), (4, 1));
        let today_expires = messages[3].expires_at.unwrap();
        let change = s.unread_changes_at(now).unwrap();
        assert!(
            (change - today_expires).num_milliseconds().abs() < 1000,
            "{change}"
        );
        assert_eq!(s.unread_at(today_expires + chrono::Duration::seconds(1)), 0);
        // More unread than the summary keeps: those beyond it are older than its oldest, so
        // past retention once that one is.
        let mut many: Vec<Message> = (0..10).map(|n| inbound_at(40, n)).collect();
        many.push(inbound_at(0, 0));
        let s = counted(&many);
        assert_eq!((s.unread(), s.unread_at(now)), (11, 1));
        // All within retention: all count, and the first to expire says when that changes.
        let recent: Vec<Message> = (0..10).map(|n| inbound_at(5, n)).collect();
        let s = counted(&recent);
        assert_eq!(s.unread_at(now), 10);
        assert!(
            s.unread_changes_at(now)
                .is_some_and(|at| at < now + chrono::Duration::days(26))
        );
        // Kept for ever: nothing expires.
        let mut forever = inbound("forever");
        forever.expires_at = None;
        let s = counted(&[forever]);
        assert_eq!((s.unread_at(now), s.unread_changes_at(now)), (1, None));
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
