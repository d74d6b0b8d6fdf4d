//! Inbound messages in memory: stored once per sid with their marker's state (effects
//! applied, count pending), as `aws::messages::inbound` keeps them in DynamoDB.

use super::{MemoryMessages, index_sid};
use crate::domain::{Message, OrganizationId};
use crate::memory::lock;
use crate::ports::{InboundInsert, PortResult};

impl MemoryMessages {
    /// `MessageStore::insert_inbound`: stored and counted once per sid; with the
    /// `count_inline` fault, stored uncounted as contention leaves it on DynamoDB.
    pub(super) fn store_inbound(&self, message: &Message) -> PortResult<InboundInsert> {
        self.faults.check("insert_inbound")?;
        let mut state = lock(&self.state)?;
        if let Some(sid) = &message.twilio_message_sid {
            let key = (message.organization_id.clone(), sid.clone());
            if let Some(stored) = state.by_sid.get(&key) {
                return Ok(InboundInsert::Duplicate {
                    message_id: Some(*stored),
                    effects_done: state.effects_done.contains(&key),
                    count_pending: state.uncounted.contains(&key),
                });
            }
        }
        index_sid(&mut state, message);
        if let Some(sid) = &message.twilio_message_sid {
            state
                .holds
                .insert((message.organization_id.clone(), sid.clone()), message.id);
        }
        state.messages.insert(
            (message.organization_id.clone(), message.id),
            message.clone(),
        );
        self.changed(message);
        // `count_inline`: the summary stayed contended until the webhook had to answer, as
        // it can on DynamoDB; the message is stored, its count left to `count_inbound`.
        if let (Err(_), Some(sid)) = (
            self.faults.check("count_inline"),
            &message.twilio_message_sid,
        ) && crate::domain::ConversationSummary::counts(message)
        {
            state
                .uncounted
                .insert((message.organization_id.clone(), sid.clone()));
            return Ok(InboundInsert::StoredUncounted);
        }
        // Counted with the store, once: a repeat returned above.
        self.summarize(&mut state, message, true);
        Ok(InboundInsert::Stored)
    }

    /// `MessageStore::count_inbound`: counts a message stored uncounted, once.
    pub(super) fn count_deferred(&self, message: &Message) -> PortResult<()> {
        let Some(sid) = &message.twilio_message_sid else {
            return Ok(());
        };
        let mut state = lock(&self.state)?;
        if state
            .uncounted
            .remove(&(message.organization_id.clone(), sid.clone()))
        {
            self.summarize(&mut state, message, true);
        }
        Ok(())
    }

    pub(super) fn mark_effects_done(&self, org: &OrganizationId, sid: &str) -> PortResult<()> {
        self.faults.check("inbound_effects_done")?;
        lock(&self.state)?
            .effects_done
            .insert((org.clone(), sid.to_owned()));
        Ok(())
    }
}
