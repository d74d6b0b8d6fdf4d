//! The traits handlers depend on. Each has an in-memory implementation (`memory`) used by
//! tests and the local runner, and an AWS one used on Lambda.
//!
//! Implementations are cheap to clone (shared state behind an `Arc`, or an SDK client), so a
//! handler owns its ports and is built once per cold start.
//!
//! Layout:
//! - `contacts`: `ContactStore`, `ContactSearchIndex`;
//! - `messages`: `MessageStore` and what it answers (queries, pages, claims, idempotent sends);
//! - `contents`: `ContentStore`, the Twilio Content each interactive payload goes out as;
//! - `conversations`: `ConversationStore`, the inbox's summaries;
//! - `drafts`: `DraftStore`, agents' drafts per conversation;
//! - `presence`: `PresenceStore`, who is viewing or writing in a conversation;
//! - `canned`: `CannedResponseStore`, the organization's shared answers;
//! - `media`: `MediaStore`, media keys, presigned requests;
//! - `whatsapp`: `WhatsAppSender`, implemented by `twilio::TwilioClient`;
//! - `paging`: `Page` and the opaque cursor codec;
//! - here: `PortError`, `CredentialStore`, `SendQueue` and the `Ports` bundle.

use std::future::Future;
use std::time::Duration;

mod canned;
mod contacts;
mod contents;
mod conversations;
mod drafts;
mod media;
mod messages;
mod paging;
mod presence;
mod publisher;
mod whatsapp;

pub use canned::{CannedResponseStore, CannedWrite};
pub use contacts::{ContactSearchIndex, ContactStore};
pub use contents::{ContentClaim, ContentStore};
pub use conversations::{ConversationStore, InboxCursor};
pub use drafts::DraftStore;
pub use media::*;
pub use messages::*;
pub use paging::{Page, contact_page, decode_cursor, encode_cursor, page_of};
pub use presence::PresenceStore;
pub use publisher::{ChannelPublisher, PublishError};
pub use whatsapp::WhatsAppSender;

use crate::domain::{ChannelConfig, OrganizationId, WorkerJob};

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

pub trait SendQueue: Clone + Send + Sync + 'static {
    fn enqueue(
        &self,
        job: &WorkerJob,
        delay: Duration,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// Everything a handler talks to, as one bundle: the AWS set on Lambda (`aws::AwsPorts`),
/// the in-process set in tests and the local runner (`memory::MemoryPorts`). A handler is
/// generic over one `P: Ports` and builds nothing itself.
pub trait Ports: Clone + Send + Sync + 'static {
    type Contacts: ContactStore;
    type Messages: MessageStore
        + ConversationStore
        + DraftStore
        + PresenceStore
        + CannedResponseStore;
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
