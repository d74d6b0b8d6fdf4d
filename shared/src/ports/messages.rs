//! The message store: messages and their conversations, inbound de-duplication, send
//! claims and idempotent sends (the inbox's summaries are `conversations`).

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::PortResult;
use crate::domain::{
    Attachment, ContactId, Message, MessageId, OrganizationId, PhoneNumber, StatusChange,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConversationQuery {
    /// The newest `limit` messages.
    Latest { limit: usize },
    /// The `limit` messages just older than `id` (scrolling up).
    Before { id: MessageId, limit: usize },
    /// Messages created or changed after the cursor (polling); the cursor is a message id or
    /// a revision, both ULIDs.
    ChangedAfter { cursor: MessageId, limit: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationPage {
    /// Sorted by id, that is by `created_at`.
    pub messages: Vec<Message>,
    /// More messages exist beyond this page in the queried direction.
    pub has_more: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundInsert {
    Stored,
    /// Stored, but not yet counted in its conversation's summary: other writes kept the
    /// summary busy until the webhook had to answer. `MessageStore::count_inbound` (a
    /// `WorkerJob::CountInbound` job) counts it, once.
    StoredUncounted,
    /// A message with this Twilio sid was stored before (Twilio retried the webhook): the
    /// stored message's id (unknown for markers written before it was kept), whether its
    /// effects (contact changes, media copy) were all applied, and whether it still waits
    /// to be counted.
    Duplicate {
        message_id: Option<MessageId>,
        effects_done: bool,
        count_pending: bool,
    },
}

/// How a send attempt that recorded no SENT ended, as far as Twilio's side is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    NotSent,
    Unknown,
}

/// How erasing one message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    /// Gone, with what was stored beside it (or gone already).
    Erased,
    /// The message changed since it was read (here as it is now): it stays (the `SID#` item
    /// and record it held may be gone already); erase what it is now.
    ChangedSinceRead(Box<Message>),
}

/// One claim on a PENDING message: until when it holds. A later claim (taken after this one
/// lapsed) always holds until later, so the time also tells whose claim it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimLease {
    pub until: DateTime<Utc>,
}

/// The answer to a worker asking to hand a PENDING message to Twilio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendClaim {
    /// The caller holds the message until its lease runs out. `unresolved_since`: an earlier
    /// claim (from that time on) ended without a known outcome — a worker died or lost
    /// Twilio's answer — so Twilio may already have the message: reconcile before sending.
    Claimed {
        lease: ClaimLease,
        unresolved_since: Option<DateTime<Utc>>,
    },
    /// Another worker holds it until then.
    Held { until: DateTime<Utc> },
    /// The message is no longer PENDING (or does not exist): nothing to send.
    NotPending,
}

/// A send made with an `Idempotency-Key`: the request it was, and the message of each part
/// with whether its send job is known to be queued. Kept 24 hours per organization.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdempotentSend {
    pub key: String,
    /// The request in canonical form: a repeat must be the same request.
    pub request: String,
    pub parts: Vec<SendPart>,
    /// A request is working on it until then; a repeat meanwhile is told to wait.
    pub lease_until: Option<DateTime<Utc>>,
    /// Bumped by every save: saves are conditional on the version read.
    pub version: u64,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendPart {
    pub message_id: MessageId,
    pub queued: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    Applied(Message),
    /// The event was older than what is stored, or repeated.
    Unchanged(Message),
}

/// Messages, and beside them the Contents interactive messages go out as.
pub trait MessageStore: super::ContentStore + Clone + Send + Sync + 'static {
    /// Stores a new outbound message.
    fn insert(&self, message: &Message) -> impl Future<Output = PortResult<()>> + Send;

    /// Stores an inbound message once per Twilio sid, however often or concurrently the
    /// webhook is delivered.
    fn insert_inbound(
        &self,
        message: &Message,
    ) -> impl Future<Output = PortResult<InboundInsert>> + Send;

    /// Counts an inbound message stored uncounted (`InboundInsert::StoredUncounted`) in its
    /// conversation's summary, once however often it is called; nothing for one counted
    /// already.
    fn count_inbound(&self, message: &Message) -> impl Future<Output = PortResult<()>> + Send;

    /// Records that every effect of the inbound message with this sid is applied: a
    /// repeated webhook then changes nothing more.
    fn inbound_effects_done(
        &self,
        org: &OrganizationId,
        sid: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;

    fn get(
        &self,
        org: &OrganizationId,
        id: &MessageId,
    ) -> impl Future<Output = PortResult<Option<Message>>> + Send;

    /// The message that holds a Twilio sid in the organization (see `hold_sid`): a
    /// strongly consistent read where the store has one.
    fn find_by_sid(
        &self,
        org: &OrganizationId,
        sid: &str,
    ) -> impl Future<Output = PortResult<Option<Message>>> + Send;

    /// Reserves a Twilio sid for one message, atomically and both ways: the first message
    /// to hold a sid keeps it, and a message holds one sid (a sid recorded on it counts).
    /// So two look-alike messages reconciled at once can never both adopt one Twilio
    /// message, and a message that adopted a look-alike's Twilio message cannot also take
    /// its own (a status callback naming it): that one stays free for the look-alike. True
    /// when `id` holds it (now or already); false when another message holds it, `id` holds
    /// another sid, or `id` is gone.
    fn hold_sid(
        &self,
        org: &OrganizationId,
        sid: &str,
        id: &MessageId,
    ) -> impl Future<Output = PortResult<bool>> + Send;

    /// Records the number a PENDING message is about to be sent to (the contact's current
    /// one), so that a lost answer is looked for, and a resend made, at the number the
    /// attempt used; a change pollers see. None if there is no such PENDING message.
    fn record_destination(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        phone: &PhoneNumber,
    ) -> impl Future<Output = PortResult<Option<Message>>> + Send;

    fn conversation(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        query: ConversationQuery,
    ) -> impl Future<Output = PortResult<ConversationPage>> + Send;

    /// Records what a copy did to a message's files (inbound media copied, or marked
    /// unavailable), merged file by file into what is stored (`merge_attachments`: a file
    /// another copy stored meanwhile stays stored); a change pollers see. The message as
    /// stored after it; None if there is no such message.
    fn update_attachments(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        attachments: &[Attachment],
    ) -> impl Future<Output = PortResult<Option<Message>>> + Send;

    /// Claims a PENDING message for one send attempt, with a conditional write: of two
    /// workers given the same job, one gets `Claimed`, the other `Held`. The claim stays
    /// until `release_send` or a status leaves PENDING; it is invisible to the API.
    fn claim_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> impl Future<Output = PortResult<SendClaim>> + Send;

    /// Ends the caller's claim when its attempt is over without a SENT to record: `NotSent`
    /// (Twilio certainly did not take it: an error answer, no connection) clears it, so the
    /// next attempt sends straight away; `Unknown` (Twilio may have it) keeps when the
    /// unresolved attempts began, so the next attempt reconciles first. Only while `lease` is
    /// still the message's claim: a worker whose lease lapsed and was taken over leaves the
    /// new holder's claim alone (and Ok).
    fn release_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        lease: &ClaimLease,
        outcome: AttemptOutcome,
    ) -> impl Future<Output = PortResult<()>> + Send;

    /// The send recorded under an idempotency key; None when there is none or it expired.
    /// A strongly consistent read.
    fn idempotent_send(
        &self,
        org: &OrganizationId,
        key: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<Option<IdempotentSend>>> + Send;

    /// Writes the record if the stored one is still at version `expected` (None: there is
    /// none, or it expired); false, changing nothing, when another request saved first.
    fn save_idempotent_send(
        &self,
        org: &OrganizationId,
        record: &IdempotentSend,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<bool>> + Send;

    /// Applies a status event atomically and only forwards (see `Message::apply`); None if
    /// there is no such message — erased while it was being sent, and then a sid the change
    /// names that was held for it is released, so nothing of it is left.
    fn apply_status(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        change: &StatusChange,
    ) -> impl Future<Output = PortResult<Option<StatusOutcome>>> + Send;

    // Erasure: a contact the CRM deleted takes its messages with it.

    /// The `limit` newest of a contact's messages older than `before` (sorted by id), those
    /// its retention expired included (they are still stored); `has_more` unless the
    /// conversation ends there. Read from the conversation index: a message deleted a
    /// moment ago may still be listed.
    fn erasable(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        before: &MessageId,
        limit: usize,
    ) -> impl Future<Output = PortResult<ConversationPage>> + Send;

    /// Deletes a message as it was read, and what is stored beside it, each only while it
    /// is still what was read: the `SID#` item while this message holds it, the idempotency
    /// record while it names this message (a key reused since is another send's), and the
    /// message at the revision read — changed since (a media copy recorded a file, a status
    /// arrived), it stays and the answer is `ChangedSinceRead`: read it again, its files
    /// too. Its files are the media store's. Deleting what is already gone is no error.
    fn erase(&self, message: &Message) -> impl Future<Output = PortResult<Erasure>> + Send;
}
