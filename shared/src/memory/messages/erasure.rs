//! The in-memory messages store, erasure: a deleted contact's messages page by page, each
//! erased with what is kept beside it, only as it was read (`aws::messages::erasure`).

use super::{MemoryMessages, newest, round_trip};
use crate::domain::{ContactId, Message, MessageId, OrganizationId};
use crate::memory::lock;
use crate::ports::{ConversationPage, Erasure, PortResult};

impl MemoryMessages {
    pub(super) async fn erasable_page(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        before: &MessageId,
        limit: usize,
    ) -> PortResult<ConversationPage> {
        let state = lock(&self.state)?;
        let thread: Vec<&Message> = state
            .messages
            .range((org.clone(), MessageId::floor_at(0))..(org.clone(), *before))
            .map(|(_, m)| m)
            .filter(|m| m.contact_id.as_ref() == Some(contact))
            .collect();
        let (page, has_more) = newest(thread, limit);
        Ok(ConversationPage {
            messages: page.into_iter().cloned().collect(),
            has_more,
        })
    }

    pub(super) async fn erase_message(&self, message: &Message) -> PortResult<Erasure> {
        round_trip().await;
        self.faults.check("erase")?;
        let mut state = lock(&self.state)?;
        let org = &message.organization_id;
        let key = (org.clone(), message.id);
        match state.messages.get(&key) {
            Some(now) if now.revision != message.revision => {
                return Ok(Erasure::ChangedSinceRead(Box::new(now.clone())));
            }
            _ => {}
        }
        if let Some(sid) = &message.twilio_message_sid {
            let key = (org.clone(), sid.clone());
            if state.holds.get(&key) == Some(&message.id) {
                state.holds.remove(&key);
                state.effects_done.remove(&key);
            }
            if state.by_sid.get(&key) == Some(&message.id) {
                state.by_sid.remove(&key);
            }
        }
        if let Some(idempotency_key) = &message.idempotency_key {
            let record = (org.clone(), idempotency_key.clone());
            // A key reused since names another send: not this message's to delete.
            if state
                .idempotent_sends
                .get(&record)
                .is_some_and(|r| r.parts.iter().any(|p| p.message_id == message.id))
            {
                state.idempotent_sends.remove(&record);
            }
        }
        // A sid held but not recorded yet goes with the message too.
        state
            .holds
            .retain(|(o, _), holder| !(o == org && *holder == message.id));
        state.claims.remove(&key);
        state.messages.remove(&key);
        Ok(Erasure::Erased)
    }
}
