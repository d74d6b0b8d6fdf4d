//! The messages table in memory: held to the same store contract as DynamoDB
//! (`testing::store_contract`), with faults to inject and round trips that let tasks interleave.
//!
//! Here: the state and the port's methods, which delegate. Beside it, one concern each, as
//! `aws/messages/` has them: `inbound`, `status`, `claims`, `idempotency`, `erasure`,
//! `conversations`, `drafts`, `presence`, `canned`, `contents`.

mod canned;
mod claims;
mod contents;
mod conversations;
mod drafts;
mod erasure;
mod idempotency;
mod inbound;
mod presence;
mod status;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::lock;
use crate::domain::MessageStatus;
use crate::domain::{ContactId, Message, MessageId, OrganizationId, StatusChange};
use crate::ports::{
    AttemptOutcome, ClaimLease, ConversationPage, ConversationQuery, Erasure, IdempotentSend,
    InboundInsert, MessageStore, PortError, PortResult, SendClaim, StatusOutcome,
};

#[derive(Default)]
pub(super) struct State {
    pub(super) messages: BTreeMap<(OrganizationId, MessageId), Message>,
    pub(super) by_sid: HashMap<(OrganizationId, String), MessageId>,
    /// Sids reserved for one message each (`hold_sid`; DynamoDB's `SID#` items); inbound
    /// messages hold theirs from the start.
    pub(super) holds: HashMap<(OrganizationId, String), MessageId>,
    /// Sids of inbound messages whose effects are all applied.
    pub(super) effects_done: std::collections::HashSet<(OrganizationId, String)>,
    /// Sids of inbound messages stored uncounted (`count_inline` failed), until counted.
    pub(super) uncounted: std::collections::HashSet<(OrganizationId, String)>,
    /// Send claims: since when unresolved, and until when held.
    pub(super) claims: HashMap<(OrganizationId, MessageId), (DateTime<Utc>, DateTime<Utc>)>,
    pub(super) idempotent_sends: HashMap<(OrganizationId, String), IdempotentSend>,
    /// One per conversation with a message (`conversations`).
    pub(super) summaries: HashMap<(OrganizationId, ContactId), crate::domain::ConversationSummary>,
    /// When each conversation's typing indicator turn was last taken.
    pub(super) indicator_turns: HashMap<(OrganizationId, ContactId), DateTime<Utc>>,
    /// Agents' drafts, per conversation (`drafts`).
    pub(super) drafts: HashMap<
        (OrganizationId, ContactId),
        BTreeMap<crate::domain::AgentId, crate::domain::Draft>,
    >,
    /// Canned responses per organization, by id (ULIDs: the order they were made in).
    pub(super) canned: HashMap<OrganizationId, BTreeMap<String, crate::domain::CannedResponse>>,
    /// The Content of each interactive payload: its sid once made, and the claim to make it
    /// (`contents`).
    pub(super) contents: HashMap<(OrganizationId, String), ContentEntry>,
    /// When each organization's unused Contents were last swept.
    pub(super) content_sweeps: HashMap<OrganizationId, chrono::DateTime<chrono::Utc>>,
    /// Agents' presence, per conversation (`presence`).
    pub(super) presence: HashMap<
        (OrganizationId, ContactId),
        BTreeMap<crate::domain::AgentId, crate::domain::Presence>,
    >,
}

/// A payload's Content (`memory::contents`): its sid once made, the claim to make or delete
/// it, and when it was last used.
#[derive(Debug, Clone, Default)]
pub(super) struct ContentEntry {
    pub(super) content_sid: Option<String>,
    pub(super) claim_until: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) last_used: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Clone, Default)]
pub struct MemoryMessages {
    pub(super) state: Arc<Mutex<State>>,
    /// Operations: `insert`, `insert_inbound`, `inbound_effects_done`, `apply_status`,
    /// `update_attachments`, `save_idempotent_send`, `hold_sid`, `record_destination`,
    /// `erase`, `mark_read`, `summary_after_insert`, `count_inline` (the count of an inbound
    /// message deferred, as contention defers it on DynamoDB).
    pub faults: super::StoreFaults,
    /// Every message whose revision moved, as the table's stream shows it.
    pub changes: super::ChangeFeed,
}

impl MemoryMessages {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many items the store keeps of an organization beside its messages: sids held,
    /// inbound markers done, claims, idempotency records and conversations' drafts (erasure
    /// tests).
    pub fn side_items(&self, org: &OrganizationId) -> usize {
        lock(&self.state)
            .map(|s| {
                s.by_sid.keys().filter(|(o, _)| o == org).count()
                    + s.holds.keys().filter(|(o, _)| o == org).count()
                    + s.effects_done.iter().filter(|(o, _)| o == org).count()
                    + s.claims.keys().filter(|(o, _)| o == org).count()
                    + s.idempotent_sends.keys().filter(|(o, _)| o == org).count()
                    + s.drafts.keys().filter(|(o, _)| o == org).count()
            })
            .unwrap_or(0)
    }

    /// Every message of an organization, contact or not (tests and diagnostics).
    pub fn all(&self, org: &OrganizationId) -> Vec<Message> {
        lock(&self.state)
            .map(|s| {
                s.messages
                    .values()
                    .filter(|m| &m.organization_id == org)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl MemoryMessages {
    pub(super) fn changed(&self, message: &Message) {
        self.changes
            .send(crate::live::Change::Message(Box::new(message.clone())));
    }
}

pub(super) fn index_sid(state: &mut State, message: &Message) {
    if let Some(sid) = &message.twilio_message_sid {
        state
            .by_sid
            .insert((message.organization_id.clone(), sid.clone()), message.id);
    }
}

impl MessageStore for MemoryMessages {
    async fn insert(&self, message: &Message) -> PortResult<()> {
        self.faults.check("insert")?;
        let mut state = lock(&self.state)?;
        let key = (message.organization_id.clone(), message.id);
        if state.messages.contains_key(&key) {
            return Err(PortError::Corrupt(format!(
                "message {} already exists",
                message.id
            )));
        }
        index_sid(&mut state, message);
        state.messages.insert(key, message.clone());
        self.changed(message);
        // `summary_after_insert`: the summary's write failing after the message's, as it can
        // on DynamoDB: the message stands (its send goes on), its next status catches up.
        if self.faults.check("summary_after_insert").is_ok() {
            self.summarize(&mut state, message, false);
        }
        Ok(())
    }

    async fn insert_inbound(&self, message: &Message) -> PortResult<InboundInsert> {
        self.store_inbound(message)
    }

    async fn count_inbound(&self, message: &Message) -> PortResult<()> {
        self.count_deferred(message)
    }

    async fn inbound_effects_done(&self, org: &OrganizationId, sid: &str) -> PortResult<()> {
        self.mark_effects_done(org, sid)
    }

    async fn get(&self, org: &OrganizationId, id: &MessageId) -> PortResult<Option<Message>> {
        Ok(lock(&self.state)?
            .messages
            .get(&(org.clone(), *id))
            .filter(|m| !m.expired(Utc::now()))
            .cloned())
    }

    async fn find_by_sid(&self, org: &OrganizationId, sid: &str) -> PortResult<Option<Message>> {
        round_trip().await;
        let state = lock(&self.state)?;
        // The holder first; a message recorded with the sid but never holding it (written
        // before holds existed) after.
        let key = (org.clone(), sid.to_owned());
        Ok(state
            .holds
            .get(&key)
            .or_else(|| state.by_sid.get(&key))
            .and_then(|id| state.messages.get(&(org.clone(), *id)))
            .filter(|m| !m.expired(Utc::now()))
            .cloned())
    }

    async fn hold_sid(&self, org: &OrganizationId, sid: &str, id: &MessageId) -> PortResult<bool> {
        round_trip().await;
        self.faults.check("hold_sid")?;
        let mut state = lock(&self.state)?;
        // As the DynamoDB store's transaction: the message exists and holds no other sid
        // (held, or recorded before holds existed), and the sid is free or already its.
        let Some(message) = state.messages.get(&(org.clone(), *id)) else {
            return Ok(false);
        };
        let holds_another = message
            .twilio_message_sid
            .as_deref()
            .is_some_and(|recorded| recorded != sid)
            || state
                .holds
                .iter()
                .any(|((o, held), holder)| o == org && holder == id && held != sid);
        if holds_another {
            return Ok(false);
        }
        let holder = *state
            .holds
            .entry((org.clone(), sid.to_owned()))
            .or_insert(*id);
        Ok(holder == *id)
    }

    async fn record_destination(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        phone: &crate::domain::PhoneNumber,
    ) -> PortResult<Option<Message>> {
        self.faults.check("record_destination")?;
        let mut state = lock(&self.state)?;
        let changed = state
            .messages
            .get_mut(&(org.clone(), *id))
            .filter(|m| m.status == MessageStatus::Pending)
            .map(|message| {
                message.contact_phone = Some(phone.to_string());
                message.updated_at = Utc::now();
                message.revision = MessageId::new();
                message.clone()
            });
        if let Some(message) = &changed {
            self.changed(message);
            self.summarize(&mut state, message, false);
        }
        Ok(changed)
    }

    async fn conversation(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        query: ConversationQuery,
    ) -> PortResult<ConversationPage> {
        let state = lock(&self.state)?;
        let mut thread: Vec<&Message> = state
            .messages
            .range((org.clone(), MessageId::floor_at(0))..)
            .take_while(|((o, _), _)| o == org)
            .map(|(_, m)| m)
            .filter(|m| m.contact_id.as_ref() == Some(contact) && !m.expired(Utc::now()))
            .collect();
        let (mut page, has_more) = match query {
            ConversationQuery::Latest { limit } => newest(thread, limit),
            ConversationQuery::Before { id, limit } => {
                thread.retain(|m| m.id < id);
                newest(thread, limit)
            }
            ConversationQuery::ChangedAfter { cursor, limit } => {
                thread.retain(|m| m.revision > cursor);
                // The oldest changes first, so the next cursor skips nothing.
                thread.sort_by_key(|m| m.revision);
                let has_more = thread.len() > limit;
                thread.truncate(limit);
                (thread, has_more)
            }
        };
        page.sort_by_key(|m| m.id);
        Ok(ConversationPage {
            messages: page.into_iter().cloned().collect(),
            has_more,
        })
    }

    async fn update_attachments(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        attachments: &[crate::domain::Attachment],
    ) -> PortResult<Option<Message>> {
        self.faults.check("update_attachments")?;
        let mut state = lock(&self.state)?;
        let changed = state.messages.get_mut(&(org.clone(), *id)).map(|message| {
            let merged = crate::domain::merge_attachments(&message.attachments, attachments);
            if merged == message.attachments {
                return (message.clone(), false);
            }
            message.attachments = merged;
            message.updated_at = Utc::now();
            message.revision = MessageId::new();
            (message.clone(), true)
        });
        if let Some((message, true)) = &changed {
            self.changed(message);
            self.summarize(&mut state, message, false);
        }
        Ok(changed.map(|(message, _)| message))
    }

    async fn claim_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> PortResult<SendClaim> {
        self.claim(org, id, now, lease).await
    }

    async fn release_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        lease: &ClaimLease,
        outcome: AttemptOutcome,
    ) -> PortResult<()> {
        self.release(org, id, lease, outcome).await
    }

    async fn idempotent_send(
        &self,
        org: &OrganizationId,
        key: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Option<IdempotentSend>> {
        self.idempotent_record(org, key, now).await
    }

    async fn save_idempotent_send(
        &self,
        org: &OrganizationId,
        record: &IdempotentSend,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        self.save_idempotent_record(org, record, expected, now)
            .await
    }

    async fn erasable(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        before: &MessageId,
        limit: usize,
    ) -> PortResult<ConversationPage> {
        self.erasable_page(org, contact, before, limit).await
    }

    async fn erase(&self, message: &Message) -> PortResult<Erasure> {
        self.erase_message(message).await
    }

    async fn apply_status(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        change: &StatusChange,
    ) -> PortResult<Option<StatusOutcome>> {
        self.apply_status_change(org, id, change).await
    }
}

/// Where DynamoDB makes a network round trip, other tasks run meanwhile: so do they here, and
/// two workers' reads and writes interleave as they would against the real table.
pub(super) async fn round_trip() {
    tokio::task::yield_now().await;
}

pub(super) fn newest(thread: Vec<&Message>, limit: usize) -> (Vec<&Message>, bool) {
    let skip = thread.len().saturating_sub(limit);
    (thread[skip..].to_vec(), skip > 0)
}

#[cfg(test)]
mod tests {
    use super::MemoryMessages;
    use crate::testing::store_contract;

    // The same contract the DynamoDB store is held to in the emulator tests.

    #[tokio::test]
    async fn conversations_page_poll_and_stay_in_their_organization() {
        store_contract::conversations_page_poll_and_stay_in_their_organization(
            &MemoryMessages::new(),
        )
        .await;
    }

    #[tokio::test]
    async fn status_moves_forward_only_and_conditionally() {
        store_contract::status_moves_forward_only_and_conditionally(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn one_worker_at_a_time_holds_a_send() {
        store_contract::one_worker_at_a_time_holds_a_send(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn erasure_deletes_only_what_it_read() {
        store_contract::erasure_deletes_only_what_it_read(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn copies_of_one_message_merge_their_files() {
        store_contract::copies_of_one_message_merge_their_files(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn inbound_details_are_kept() {
        store_contract::inbound_details_are_kept(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn sent_messages_keep_their_template_and_sender() {
        store_contract::sent_messages_keep_their_template_and_sender(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn idempotency_records_are_conditional_and_expire() {
        store_contract::idempotency_records_are_conditional_and_expire(&MemoryMessages::new())
            .await;
    }

    #[tokio::test]
    async fn a_twilio_sid_is_held_by_one_message() {
        store_contract::a_twilio_sid_is_held_by_one_message(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn drafts_are_per_agent_and_conversation() {
        store_contract::drafts_are_per_agent_and_conversation(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn canned_responses_are_unique_bounded_and_edited_as_read() {
        store_contract::canned_responses_are_unique_bounded_and_edited_as_read(
            &MemoryMessages::new(),
        )
        .await;
    }

    #[tokio::test]
    async fn presence_is_per_agent_and_expires() {
        store_contract::presence_is_per_agent_and_expires(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn one_content_per_interactive_payload() {
        store_contract::one_content_per_interactive_payload(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn unused_contents_are_deleted_only_when_unused() {
        store_contract::unused_contents_are_deleted_only_when_unused(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn a_message_holds_one_twilio_sid() {
        store_contract::a_message_holds_one_twilio_sid(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn unconfirmed_and_destination_changes() {
        store_contract::unconfirmed_and_destination_changes(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn pages_are_whole_whatever_the_item_size() {
        store_contract::pages_are_whole_whatever_the_item_size(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn expired_messages_are_gone() {
        store_contract::expired_messages_are_gone(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn inbound_messages_are_stored_once_per_sid() {
        store_contract::inbound_messages_are_stored_once_per_sid(&MemoryMessages::new()).await;
    }

    #[tokio::test]
    async fn inbound_is_counted_once_and_reads_only_move_forward() {
        crate::testing::inbox::inbound_is_counted_once_and_reads_only_move_forward(
            &MemoryMessages::new(),
        )
        .await;
    }

    #[tokio::test]
    async fn the_inbox_lists_recent_activity_first_in_pages() {
        crate::testing::inbox::the_inbox_lists_recent_activity_first_in_pages(
            &MemoryMessages::new(),
        )
        .await;
    }

    #[tokio::test]
    async fn unread_messages_past_retention_leave_the_counts() {
        crate::testing::inbox::unread_messages_past_retention_leave_the_counts(
            &MemoryMessages::new(),
        )
        .await;
    }

    #[tokio::test]
    async fn an_indicator_turn_comes_once_per_period() {
        crate::testing::inbox::an_indicator_turn_comes_once_per_period(&MemoryMessages::new())
            .await;
    }

    #[tokio::test]
    async fn erasure_takes_a_contacts_messages_and_only_them() {
        store_contract::erasure_takes_a_contacts_messages_and_only_them(&MemoryMessages::new())
            .await;
    }
}
