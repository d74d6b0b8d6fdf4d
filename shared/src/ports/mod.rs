//! The traits handlers depend on. Each has an in-memory implementation (`memory`) used by
//! tests and the local runner, and an AWS one used on Lambda.
//!
//! Implementations are cheap to clone (shared state behind an `Arc`, or an SDK client), so a
//! handler owns its ports and is built once per cold start.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

mod conversations;
pub use conversations::ConversationStore;

use crate::domain::{
    Attachment, ChannelConfig, Contact, ContactChange, ContactId, Message, MessageId, OrgConfig,
    OrganizationId, PhoneNumber, SendJob, StatusChange,
};
use crate::twilio::{ListedMessage, OutboundMessage, SentMessage, TwilioError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// The backing service failed or throttled; the caller may retry later.
    #[error("backing service unavailable: {0}")]
    Unavailable(String),
    /// An item could not be read back (it was written by something else, or is damaged).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A pagination cursor that this store did not issue.
    #[error("the cursor is not valid")]
    InvalidCursor,
    /// A key outside the caller's organization (or one that cannot exist).
    #[error("no such item")]
    NotFound,
}

pub type PortResult<T> = Result<T, PortError>;

/// An opaque page cursor for a sort key.
pub fn encode_cursor(sort_key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sort_key)
}

/// The sort key inside a cursor from `encode_cursor`.
pub fn decode_cursor(cursor: &str) -> PortResult<String> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(PortError::InvalidCursor)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Opaque; pass back to get the next page. None on the last page.
    pub next_cursor: Option<String>,
}

/// A page of the contact picker from up to `limit + 1` contacts in list order: the extra
/// one only tells that there is a next page, whose cursor is the last returned contact.
pub fn contact_page(mut sorted: Vec<Contact>, limit: usize) -> Page<Contact> {
    let has_more = sorted.len() > limit;
    sorted.truncate(limit);
    let next_cursor = if has_more {
        sorted.last().map(|c| encode_cursor(&c.list_sort_key()))
    } else {
        None
    };
    Page {
        items: sorted,
        next_cursor,
    }
}

pub trait ContactStore: Clone + Send + Sync + 'static {
    fn get(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> impl Future<Output = PortResult<Option<Contact>>> + Send;

    /// The contacts of these ids that exist, in no particular order: one request where the
    /// store has one (an inbox page names up to 100). Eventually consistent.
    fn get_many(
        &self,
        org: &OrganizationId,
        ids: &[ContactId],
    ) -> impl Future<Output = PortResult<Vec<Contact>>> + Send;

    /// Inbound resolution: every contact of the organization with this number (a CRM may
    /// hold the same person twice), sorted by contact id.
    fn contacts_by_phone(
        &self,
        org: &OrganizationId,
        phone: &PhoneNumber,
    ) -> impl Future<Output = PortResult<Vec<Contact>>> + Send;

    /// Inbound resolution of a WhatsApp user who writes under a username (no phone number):
    /// every contact whose CRM record carries that business-scoped user id, by contact id.
    fn contacts_by_whatsapp_user(
        &self,
        org: &OrganizationId,
        user_id: &str,
    ) -> impl Future<Output = PortResult<Vec<Contact>>> + Send;

    /// The organization's eligible contacts sorted by name, optionally filtered by a search
    /// term over name, email and phone.
    fn list_eligible(
        &self,
        org: &OrganizationId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = PortResult<Page<Contact>>> + Send;

    /// Applies a change atomically; None if there is no such contact.
    fn update(
        &self,
        org: &OrganizationId,
        id: &ContactId,
        change: &ContactChange,
    ) -> impl Future<Output = PortResult<Option<Contact>>> + Send;

    /// Creates or replaces a contact (CRM sync, seeding, tests).
    fn put(&self, contact: &Contact) -> impl Future<Output = PortResult<()>> + Send;

    /// Deletes a contact, as the CRM does (the local runner, tests); no error if there is none.
    fn delete(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

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
    /// A message with this Twilio sid was stored before (Twilio retried the webhook): the
    /// stored message's id (unknown for markers written before it was kept), and whether its
    /// effects (contact changes, media copy) were all applied.
    Duplicate {
        message_id: Option<MessageId>,
        effects_done: bool,
    },
}

/// How a send attempt that recorded no SENT ended, as far as Twilio's side is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    NotSent,
    Unknown,
}

/// The answer to a worker asking to hand a PENDING message to Twilio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendClaim {
    /// The caller holds the message until its lease runs out. `unresolved_since`: an earlier
    /// claim (from that time on) ended without a known outcome — a worker died or lost
    /// Twilio's answer — so Twilio may already have the message: reconcile before sending.
    Claimed {
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

pub trait MessageStore: Clone + Send + Sync + 'static {
    /// Stores a new outbound message.
    fn insert(&self, message: &Message) -> impl Future<Output = PortResult<()>> + Send;

    /// Stores an inbound message once per Twilio sid, however often or concurrently the
    /// webhook is delivered.
    fn insert_inbound(
        &self,
        message: &Message,
    ) -> impl Future<Output = PortResult<InboundInsert>> + Send;

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

    /// Reserves a Twilio sid for one message, atomically: the first message to hold a sid
    /// keeps it, so two look-alike messages reconciled at once can never both adopt the one
    /// Twilio message. True when `id` holds it (now or already), false when another does.
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

    /// Replaces a message's attachments (inbound media copied, or marked unavailable); a
    /// change pollers see. None if there is no such message.
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
    /// unresolved attempts began, so the next attempt reconciles first.
    fn release_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
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

    /// Deletes a message and what is stored beside it: the `SID#` item it holds and the
    /// idempotency record of the send that made it. Its files are the media store's.
    /// Deleting what is already gone is no error.
    fn erase(&self, message: &Message) -> impl Future<Output = PortResult<()>> + Send;
}

pub trait CredentialStore: Clone + Send + Sync + 'static {
    /// The organization's Twilio configuration; may be cached.
    fn channel_config(
        &self,
        org: &OrganizationId,
    ) -> impl Future<Output = PortResult<ChannelConfig>> + Send;

    /// Reads the configuration again, bypassing any cache (after Twilio rejected the
    /// credentials: the token may have been rotated).
    fn refresh(
        &self,
        org: &OrganizationId,
    ) -> impl Future<Output = PortResult<ChannelConfig>> + Send;
}

/// The contact search index (`domain::search`): kept in step with the contacts table by the
/// contact indexer, from the table's stream.
pub trait ContactSearchIndex: Clone + Send + Sync + 'static {
    /// Brings a contact's index items from `before` to `after` (either absent: the contact
    /// was created or deleted). Idempotent, so a redelivered change is harmless.
    fn apply(
        &self,
        before: Option<&Contact>,
        after: Option<&Contact>,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

pub trait SendQueue: Clone + Send + Sync + 'static {
    fn enqueue(
        &self,
        job: &SendJob,
        delay: Duration,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// The WhatsApp provider: Twilio's Messages API in production and locally (sandbox).
pub trait WhatsAppSender: Clone + Send + Sync + 'static {
    fn send(
        &self,
        config: &OrgConfig,
        message: &OutboundMessage,
    ) -> impl Future<Output = Result<SentMessage, TwilioError>> + Send;

    /// Downloads an inbound message's media (bytes and content type).
    fn fetch_media(
        &self,
        config: &OrgConfig,
        url: &str,
    ) -> impl Future<Output = Result<(Vec<u8>, String), TwilioError>> + Send;

    /// The newest messages the organization's sender sent to `to`, most recent first, read
    /// back to one created before `back_to` where the list is that long: how a send whose
    /// outcome is unknown is looked up before it is made again.
    fn recent_messages(
        &self,
        config: &OrgConfig,
        to: &PhoneNumber,
        back_to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<ListedMessage>, TwilioError>> + Send;

    /// One message of the account by its sid (Twilio's Message resource): an inbound
    /// message's own time, which the webhook does not carry.
    fn message(
        &self,
        config: &OrgConfig,
        sid: &str,
    ) -> impl Future<Output = Result<ListedMessage, TwilioError>> + Send;

    /// The organization's approved WhatsApp templates (Twilio's Content API).
    fn templates(
        &self,
        config: &OrgConfig,
    ) -> impl Future<Output = Result<Vec<crate::domain::Template>, TwilioError>> + Send;
}

impl WhatsAppSender for crate::twilio::TwilioClient {
    async fn send(
        &self,
        config: &OrgConfig,
        message: &OutboundMessage,
    ) -> Result<SentMessage, TwilioError> {
        self.send_message(config, message).await
    }

    async fn fetch_media(
        &self,
        config: &OrgConfig,
        url: &str,
    ) -> Result<(Vec<u8>, String), TwilioError> {
        crate::twilio::TwilioClient::fetch_media(self, config, url).await
    }

    async fn recent_messages(
        &self,
        config: &OrgConfig,
        to: &PhoneNumber,
        back_to: DateTime<Utc>,
    ) -> Result<Vec<ListedMessage>, TwilioError> {
        crate::twilio::TwilioClient::recent_messages(self, config, to, back_to).await
    }

    async fn message(&self, config: &OrgConfig, sid: &str) -> Result<ListedMessage, TwilioError> {
        crate::twilio::TwilioClient::message(self, config, sid).await
    }

    async fn templates(
        &self,
        config: &OrgConfig,
    ) -> Result<Vec<crate::domain::Template>, TwilioError> {
        crate::twilio::TwilioClient::templates(self, config).await
    }
}

/// Everything a handler talks to, as one bundle: the AWS set on Lambda (`aws::AwsPorts`),
/// the in-process set in tests and the local runner (`memory::MemoryPorts`). A handler is
/// generic over one `P: Ports` and builds nothing itself.
pub trait Ports: Clone + Send + Sync + 'static {
    type Contacts: ContactStore;
    type Messages: MessageStore + ConversationStore;
    type Credentials: CredentialStore;
    type Queue: SendQueue;
    type Media: MediaStore;
    type Sender: WhatsAppSender;

    fn contacts(&self) -> &Self::Contacts;
    fn messages(&self) -> &Self::Messages;
    fn credentials(&self) -> &Self::Credentials;
    fn queue(&self) -> &Self::Queue;
    fn media(&self) -> &Self::Media;
    fn sender(&self) -> &Self::Sender;
}

/// Implements `Ports` for a struct with public fields `contacts`, `messages`,
/// `credentials`, `queue`, `media` and `sender` of the given store types.
macro_rules! port_bundle {
    ($bundle:ident, $contacts:ty, $messages:ty, $credentials:ty, $queue:ty, $media:ty) => {
        impl<W: $crate::ports::WhatsAppSender> $crate::ports::Ports for $bundle<W> {
            type Contacts = $contacts;
            type Messages = $messages;
            type Credentials = $credentials;
            type Queue = $queue;
            type Media = $media;
            type Sender = W;

            fn contacts(&self) -> &Self::Contacts {
                &self.contacts
            }
            fn messages(&self) -> &Self::Messages {
                &self.messages
            }
            fn credentials(&self) -> &Self::Credentials {
                &self.credentials
            }
            fn queue(&self) -> &Self::Queue {
                &self.queue
            }
            fn media(&self) -> &Self::Media {
                &self.media
            }
            fn sender(&self) -> &Self::Sender {
                &self.sender
            }
        }
    };
}
pub(crate) use port_bundle;

/// What storage knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub size: u64,
    pub content_type: String,
}

/// A request the browser (or Twilio) makes directly to storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub url: String,
    pub method: String,
    /// Headers the request must carry as signed.
    pub headers: Vec<(String, String)>,
    pub key: String,
}

/// The storage key of an organization's object: always under `{organization_id}/`. A key
/// given whole must already be under the caller's prefix; a bare name is put under it.
pub fn media_key(org: &OrganizationId, key_or_name: &str) -> PortResult<String> {
    let prefix = format!("{org}/");
    let key = if key_or_name.contains('/') {
        key_or_name.to_owned()
    } else {
        format!("{prefix}{key_or_name}")
    };
    let safe = key.starts_with(&prefix)
        && key.len() > prefix.len()
        && key.len() <= 1024
        && !key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..")
        && key.chars().all(|c| c.is_ascii_graphic());
    if safe {
        Ok(key)
    } else {
        Err(PortError::NotFound)
    }
}

pub trait MediaStore: Clone + Send + Sync + 'static {
    /// Stores a received file under the organization's prefix, to be served as `served`
    /// says (type, and whether as a download); returns the key.
    /// `retention_days`: the organization's retention, as the object's lifecycle tag
    /// (`RETENTION_TAG`), so the bucket deletes it when its message expires.
    fn put(
        &self,
        org: &OrganizationId,
        name: &str,
        bytes: Vec<u8>,
        served: &crate::domain::ServedAs,
        retention_days: Option<u32>,
    ) -> impl Future<Output = PortResult<String>> + Send;

    fn head(
        &self,
        org: &OrganizationId,
        key: &str,
    ) -> impl Future<Output = PortResult<Option<StoredObject>>> + Send;

    fn presign_get(
        &self,
        org: &OrganizationId,
        key: &str,
        expires: Duration,
    ) -> impl Future<Output = PortResult<String>> + Send;

    fn presign_put(
        &self,
        org: &OrganizationId,
        key: &str,
        content_type: &str,
        length: u64,
        expires: Duration,
    ) -> impl Future<Output = PortResult<PresignedRequest>> + Send;

    /// The first `max_bytes` of an object (for content checks); None if there is none.
    fn read_head(
        &self,
        org: &OrganizationId,
        key: &str,
        max_bytes: usize,
    ) -> impl Future<Output = PortResult<Option<Vec<u8>>>> + Send;

    /// Copies an upload to `sealed_key`, a key no presigned PUT is ever issued for and that
    /// the abandoned-upload rule does not expire: what a message sends can no longer change or
    /// vanish. The copy's own size and type; None if the upload does not exist.
    /// The copy carries no tag but the retention one (`retention_days`), so the
    /// abandoned-upload rule never expires it and the retention rule does.
    fn seal(
        &self,
        org: &OrganizationId,
        upload_key: &str,
        sealed_key: &str,
        retention_days: Option<u32>,
    ) -> impl Future<Output = PortResult<Option<StoredObject>>> + Send;

    /// Deletes an object: a sealed copy that turned out not to be what was declared, or the
    /// file of an erased message. No error if there is none.
    fn discard(
        &self,
        org: &OrganizationId,
        key: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// Where a message's attachment is sealed: `{org}/sent/{id}/{file name}`.
pub fn sealed_key(org: &OrganizationId, upload_key: &str) -> String {
    let name = upload_key.rsplit('/').next().unwrap_or("file");
    format!("{org}/sent/{}/{name}", ulid::Ulid::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_keys_stay_under_the_organizations_prefix() {
        let org = OrganizationId::parse("acme").unwrap();
        assert_eq!(media_key(&org, "a.png").unwrap(), "acme/a.png");
        assert_eq!(
            media_key(&org, "acme/uploads/a.png").unwrap(),
            "acme/uploads/a.png"
        );
        for bad in [
            "globex/a.png",
            "acme/../globex/a.png",
            "acme//a",
            "acme/",
            "acme/a b",
            "/acme/a",
        ] {
            assert_eq!(media_key(&org, bad), Err(PortError::NotFound), "{bad}");
        }
    }
}
