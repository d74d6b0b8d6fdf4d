//! In-process implementations of the ports, for tests and the local runner. They keep the
//! same guarantees as the AWS ones (organization isolation, forward-only status, one
//! message per Twilio sid), so handler tests against them mean something.

mod contacts;
mod credentials;
mod media;
mod messages;
mod queue;
mod sender;

use std::sync::{Mutex, MutexGuard};

pub use contacts::MemoryContacts;
pub use credentials::MemoryCredentials;
pub use media::{MediaGrant, MemoryMedia};
pub use messages::MemoryMessages;
pub use queue::MemoryQueue;
pub use sender::ScriptedSender;

use crate::ports::{PortError, PortResult};

fn lock<T>(mutex: &Mutex<T>) -> PortResult<MutexGuard<'_, T>> {
    mutex
        .lock()
        .map_err(|_| PortError::Unavailable("in-memory store lock poisoned".into()))
}
