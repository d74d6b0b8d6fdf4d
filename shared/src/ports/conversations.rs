//! The inbox: one summary per conversation, kept by the message store beside the messages
//! (`domain::ConversationSummary` has the rules). The store writes a conversation's summary
//! with every message write that changes it — in the same transaction as an inbound message,
//! so a message stored once is counted once — and this port reads and marks it.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};

use super::{Page, PortError, PortResult};
use crate::domain::{ContactId, ConversationSummary, MessageId, OrganizationId};

/// The inbox's page cursor: where the last row of a page stands, its newest message id and
/// its contact, as `{message id}.{contact id}` (the id is 26 characters, so the first `.`
/// after it is the separator). Opaque to clients, and exactly what the OpenAPI pattern
/// describes: every text of that shape is a position in the list (a page from there,
/// perhaps empty), any other is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxCursor {
    pub last_message: MessageId,
    pub contact: ContactId,
}

impl InboxCursor {
    pub fn of(summary: &ConversationSummary) -> Self {
        Self {
            last_message: summary.last_message.id,
            contact: summary.contact_id.clone(),
        }
    }

    pub fn parse(text: &str) -> PortResult<Self> {
        let (id, rest) = (text.get(..26), text.get(26..));
        let contact = rest.and_then(|r| r.strip_prefix('.'));
        match (id.map(MessageId::parse), contact.map(ContactId::parse)) {
            (Some(Ok(last_message)), Some(Ok(contact))) => Ok(Self {
                last_message,
                contact,
            }),
            _ => Err(PortError::InvalidCursor),
        }
    }

    /// The list's sort key at this position (newest first by it).
    pub fn activity(&self) -> String {
        format!("{}#{}", self.last_message, self.contact)
    }
}

impl std::fmt::Display for InboxCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.last_message, self.contact)
    }
}

pub trait ConversationStore: Clone + Send + Sync + 'static {
    /// The organization's conversations, the most recent activity first (`limit` a page,
    /// `cursor` from the previous page). An index read: a change of a moment ago may not
    /// show yet. Expired summaries (their newest message's retention ended) are left out.
    fn conversations(
        &self,
        org: &OrganizationId,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = PortResult<Page<ConversationSummary>>> + Send;

    /// The organization's unread total: the unread counts of its conversations added up
    /// (expired ones left out), for the tab title. An index read, like `conversations`; it
    /// reads only the conversations with something unread.
    fn unread_total(&self, org: &OrganizationId) -> impl Future<Output = PortResult<u64>> + Send;

    /// One conversation's summary, read consistently.
    fn summary(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> impl Future<Output = PortResult<Option<ConversationSummary>>> + Send;

    /// Marks read every inbound message of the conversation up to `up_to` (one of its
    /// messages): idempotent, and a marker older than the stored one changes nothing. The
    /// summary after; None if the conversation has none (no message, or all expired).
    fn mark_read(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        up_to: &MessageId,
    ) -> impl Future<Output = PortResult<Option<ConversationSummary>>> + Send;

    /// Takes the conversation's turn to show WhatsApp's typing indicator (which also marks
    /// read): true when none was taken in the last `every`, for the whole organization (a
    /// conditional write), false otherwise. Nothing else reads it.
    fn take_indicator_turn(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        now: DateTime<Utc>,
        every: Duration,
    ) -> impl Future<Output = PortResult<bool>> + Send;

    /// Deletes a conversation's summary: its contact was erased. No error if there is none.
    fn forget(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> impl Future<Output = PortResult<()>> + Send;
}
