//! The in-memory messages store, idempotency records: what a send with an Idempotency-Key
//! stored, read until it expires and replaced only from the version read
//! (`aws::messages::idempotency`).

use chrono::{DateTime, Utc};

use super::MemoryMessages;
use crate::domain::OrganizationId;
use crate::memory::lock;
use crate::ports::{IdempotentSend, PortResult};

impl MemoryMessages {
    pub(super) async fn idempotent_record(
        &self,
        org: &OrganizationId,
        key: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Option<IdempotentSend>> {
        let state = lock(&self.state)?;
        Ok(state
            .idempotent_sends
            .get(&(org.clone(), key.to_owned()))
            .filter(|r| r.expires_at.timestamp() > now.timestamp())
            .cloned())
    }

    pub(super) async fn save_idempotent_record(
        &self,
        org: &OrganizationId,
        record: &IdempotentSend,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        self.faults.check("save_idempotent_send")?;
        let mut state = lock(&self.state)?;
        let slot = (org.clone(), record.key.clone());
        let current = state
            .idempotent_sends
            .get(&slot)
            .filter(|r| r.expires_at.timestamp() > now.timestamp())
            .map(|r| r.version);
        if current != expected {
            return Ok(false);
        }
        state.idempotent_sends.insert(slot, record.clone());
        Ok(true)
    }
}
