//! The ports a Lambda binary runs on, built once per cold start.
//!
//! For now these are the in-process stores (state lives as long as the execution
//! environment), which is what `cargo lambda watch` and `sam local invoke` exercise; the
//! DynamoDB, Secrets Manager and SQS adapters replace them here without any handler change.

use crate::config::{ConfigError, Settings};
use crate::memory::{MemoryContacts, MemoryCredentials, MemoryMessages, MemoryQueue};

#[derive(Clone)]
pub struct Ports {
    pub contacts: MemoryContacts,
    pub messages: MemoryMessages,
    pub credentials: MemoryCredentials,
    pub queue: MemoryQueue,
}

pub async fn ports(_settings: &Settings) -> Result<Ports, ConfigError> {
    Ok(Ports {
        contacts: MemoryContacts::new(),
        messages: MemoryMessages::new(),
        credentials: MemoryCredentials::new(),
        queue: MemoryQueue::recording(),
    })
}
