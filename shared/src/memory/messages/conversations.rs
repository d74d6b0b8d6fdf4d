//! The inbox in memory: conversation summaries kept under the messages' own lock, so a
//! message and its summary change together, as the DynamoDB store writes an inbound message
//! and its count in one transaction. Sorted as the `inbox` index sorts them.

use chrono::{DateTime, Duration, Utc};

use super::{MemoryMessages, State};
use crate::domain::{
    ContactId, ConversationSummary, Direction, Message, MessageId, OrganizationId,
};
use crate::live::Change;
use crate::memory::lock;
use crate::ports::{ConversationStore, InboxCursor, Page, PortResult};

/// The inbox order's key: the newest message first (ULIDs sort by time).
fn activity_key(summary: &ConversationSummary) -> String {
    InboxCursor::of(summary).activity()
}

impl MemoryMessages {
    /// Brings the summary of `m`'s conversation up to date (`counted`: `m` is an inbound
    /// message stored just now) and tells the change feed when it changed.
    pub(super) fn summarize(&self, state: &mut State, m: &Message, counted: bool) {
        let Some(contact) = m.contact_id.clone() else {
            return;
        };
        let key = (m.organization_id.clone(), contact);
        let before = state.summaries.get(&key).filter(|s| !s.expired(Utc::now()));
        if let Some(next) = ConversationSummary::with_message(before, m, counted) {
            self.summary_changed(&next);
            state.summaries.insert(key, next);
        }
    }

    fn summary_changed(&self, summary: &ConversationSummary) {
        self.changes
            .send(Change::Conversation(Box::new(summary.clone())));
    }
}

impl ConversationStore for MemoryMessages {
    async fn conversations(
        &self,
        org: &OrganizationId,
        cursor: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ConversationSummary>> {
        let after = cursor
            .map(InboxCursor::parse)
            .transpose()?
            .map(|c| c.activity());
        let state = lock(&self.state)?;
        let now = Utc::now();
        // Each summary's key once (the index holds it; building it per comparison made a
        // page of a 5,000-conversation inbox cost 100 ms).
        let mut list: Vec<(String, &ConversationSummary)> = state
            .summaries
            .iter()
            .filter(|((o, _), s)| o == org && !s.expired(now))
            .map(|(_, s)| (activity_key(s), s))
            .filter(|(key, _)| after.as_ref().is_none_or(|a| key < a))
            .collect();
        list.sort_unstable_by(|a, b| b.0.cmp(&a.0));
        let has_more = list.len() > limit;
        list.truncate(limit);
        let list: Vec<&ConversationSummary> = list.into_iter().map(|(_, s)| s).collect();
        Ok(Page {
            next_cursor: has_more
                .then(|| list.last().map(|s| InboxCursor::of(s).to_string()))
                .flatten(),
            items: list.into_iter().cloned().collect(),
        })
    }

    async fn unread_total(&self, org: &OrganizationId) -> PortResult<u64> {
        let now = Utc::now();
        Ok(lock(&self.state)?
            .summaries
            .iter()
            .filter(|((o, _), s)| o == org && !s.expired(now))
            .map(|(_, s)| s.unread_at(now))
            .sum())
    }

    async fn summary(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> PortResult<Option<ConversationSummary>> {
        Ok(lock(&self.state)?
            .summaries
            .get(&(org.clone(), contact.clone()))
            .filter(|s| !s.expired(Utc::now()))
            .cloned())
    }

    async fn mark_read(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        up_to: &MessageId,
    ) -> PortResult<Option<ConversationSummary>> {
        self.faults.check("mark_read")?;
        let mut state = lock(&self.state)?;
        let now = Utc::now();
        let thread = || {
            state.messages.values().filter(|m| {
                &m.organization_id == org
                    && m.contact_id.as_ref() == Some(contact)
                    && !m.expired(now)
            })
        };
        let key = (org.clone(), contact.clone());
        // A conversation without a summary (none kept yet) starts from its newest message.
        let current = match state.summaries.get(&key).filter(|s| !s.expired(now)) {
            Some(summary) => summary.clone(),
            None => match thread().max_by_key(|m| m.id) {
                Some(newest) => match ConversationSummary::with_message(None, newest, false) {
                    Some(summary) => summary,
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
        };
        let inbound_after = thread()
            .filter(|m| m.direction == Direction::Inbound && m.id > *up_to)
            .count() as u64;
        let Some(next) = current.read_up_to(*up_to, inbound_after) else {
            return Ok(Some(current));
        };
        self.summary_changed(&next);
        state.summaries.insert(key, next.clone());
        Ok(Some(next))
    }

    async fn take_indicator_turn(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        now: DateTime<Utc>,
        every: Duration,
    ) -> PortResult<bool> {
        let mut state = lock(&self.state)?;
        let key = (org.clone(), contact.clone());
        if state
            .indicator_turns
            .get(&key)
            .is_some_and(|at| *at > now - every)
        {
            return Ok(false);
        }
        state.indicator_turns.insert(key, now);
        Ok(true)
    }

    async fn forget(&self, org: &OrganizationId, contact: &ContactId) -> PortResult<()> {
        lock(&self.state)?
            .summaries
            .remove(&(org.clone(), contact.clone()));
        Ok(())
    }
}
