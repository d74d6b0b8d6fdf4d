//! In-process implementations of the ports, for tests and the local runner. They keep the
//! same guarantees as the AWS ones (organization isolation, forward-only status, one
//! message per Twilio sid), so handler tests against them mean something.

mod contacts;
mod credentials;
mod faults;
mod feed;
mod media;
mod messages;
mod queue;
mod search;
mod sender;

use std::sync::{Mutex, MutexGuard};

pub use contacts::MemoryContacts;
pub use credentials::MemoryCredentials;
pub use faults::StoreFaults;
pub use feed::ChangeFeed;
pub use media::{MediaGrant, MemoryMedia};
pub use messages::MemoryMessages;
pub use queue::MemoryQueue;
pub use search::MemorySearchIndex;
pub use sender::ScriptedSender;

use crate::ports::{PortError, PortResult, port_bundle};

/// The in-process set of ports. The sender is Twilio's stand-in by default; the local
/// runner puts a real `TwilioClient` (aimed at its sandbox) in its place.
#[derive(Clone)]
pub struct MemoryPorts<W = ScriptedSender> {
    pub contacts: MemoryContacts,
    pub messages: MemoryMessages,
    pub credentials: MemoryCredentials,
    pub queue: MemoryQueue,
    pub media: MemoryMedia,
    pub sender: W,
}

port_bundle!(
    MemoryPorts,
    MemoryContacts,
    MemoryMessages,
    MemoryCredentials,
    MemoryQueue,
    MemoryMedia
);

impl MemoryPorts {
    /// Empty stores, a recording queue and a scripted sender; presigned media URLs point at
    /// `media_base_url`.
    pub fn new(media_base_url: impl Into<String>) -> Self {
        Self {
            contacts: MemoryContacts::new(),
            messages: MemoryMessages::new(),
            credentials: MemoryCredentials::new(),
            queue: MemoryQueue::recording(),
            media: MemoryMedia::new(media_base_url),
            sender: ScriptedSender::new(),
        }
    }
}

impl<W> MemoryPorts<W> {
    pub fn with_sender<V>(self, sender: V) -> MemoryPorts<V> {
        MemoryPorts {
            contacts: self.contacts,
            messages: self.messages,
            credentials: self.credentials,
            queue: self.queue,
            media: self.media,
            sender,
        }
    }

    pub fn with_queue(self, queue: MemoryQueue) -> Self {
        Self { queue, ..self }
    }

    pub fn with_credentials(self, credentials: MemoryCredentials) -> Self {
        Self {
            credentials,
            ..self
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> PortResult<MutexGuard<'_, T>> {
    mutex
        .lock()
        .map_err(|_| PortError::Unavailable("in-memory store lock poisoned".into()))
}
