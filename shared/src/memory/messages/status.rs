//! The in-memory messages store, status changes: forward only, the sid held by its message,
//! the conversation's summary told (`aws::messages::status`).

use chrono::Utc;

use super::{MemoryMessages, index_sid, round_trip};
use crate::domain::{MessageId, OrganizationId, StatusChange};
use crate::memory::lock;
use crate::ports::{PortResult, StatusOutcome};

impl MemoryMessages {
    pub(super) async fn apply_status_change(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        change: &StatusChange,
    ) -> PortResult<Option<StatusOutcome>> {
        round_trip().await;
        self.faults.check("apply_status")?;
        let mut state = lock(&self.state)?;
        let Some(message) = state.messages.get_mut(&(org.clone(), *id)) else {
            // Erased while it was being sent: the sid it held goes with it.
            if let Some(sid) = &change.twilio_message_sid {
                let key = (org.clone(), sid.clone());
                if state.holds.get(&key) == Some(id) {
                    state.holds.remove(&key);
                }
            }
            return Ok(None);
        };
        let changed = message.apply(change, Utc::now());
        let message = message.clone();
        index_sid(&mut state, &message);
        if changed {
            self.changed(&message);
            self.summarize(&mut state, &message, false);
        }
        Ok(Some(if changed {
            StatusOutcome::Applied(message)
        } else {
            StatusOutcome::Unchanged(message)
        }))
    }
}
