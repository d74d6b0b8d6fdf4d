//! `PresenceStore` in memory: per conversation, one presence per agent, as the DynamoDB
//! store's `PRESENCE#` item holds them; each change told on the feed, as the stream tells it.

use chrono::{DateTime, Utc};

use super::MemoryMessages;
use crate::domain::{ContactId, OrganizationId, Presence, PresenceState};
use crate::live::Change;
use crate::memory::lock;
use crate::ports::{PortResult, PresenceStore};

impl PresenceStore for MemoryMessages {
    async fn set_presence(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        presence: &Presence,
    ) -> PortResult<()> {
        self.faults.check("set_presence")?;
        {
            let mut state = lock(&self.state)?;
            let key = (org.clone(), contact.clone());
            let agents = state.presence.entry(key.clone()).or_default();
            if presence.state == PresenceState::Left {
                agents.remove(&presence.agent.sub);
            } else {
                agents.insert(presence.agent.sub.clone(), presence.clone());
            }
            if agents.is_empty() {
                state.presence.remove(&key);
            }
        }
        self.changes.send(Change::Presence {
            organization_id: org.clone(),
            contact_id: contact.clone(),
            presence: presence.clone(),
        });
        Ok(())
    }

    async fn presences(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Presence>> {
        let state = lock(&self.state)?;
        Ok(state
            .presence
            .get(&(org.clone(), contact.clone()))
            .map(|agents| {
                agents
                    .values()
                    .filter(|p| p.is_shown(now))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default())
    }
}
