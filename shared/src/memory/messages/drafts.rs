//! `DraftStore` in memory: per conversation, one draft per agent, as the DynamoDB store's
//! `DRAFT#` item holds them.

use super::MemoryMessages;
use crate::domain::{AgentId, ContactId, Draft, OrganizationId};
use crate::memory::lock;
use crate::ports::{DraftStore, PortResult};

impl DraftStore for MemoryMessages {
    async fn draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> PortResult<Option<Draft>> {
        let state = lock(&self.state)?;
        Ok(state
            .drafts
            .get(&(org.clone(), contact.clone()))
            .and_then(|drafts| drafts.get(agent))
            .cloned())
    }

    async fn save_draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
        draft: &Draft,
    ) -> PortResult<()> {
        self.faults.check("save_draft")?;
        let mut state = lock(&self.state)?;
        state
            .drafts
            .entry((org.clone(), contact.clone()))
            .or_default()
            .insert(agent.clone(), draft.clone());
        Ok(())
    }

    async fn delete_draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> PortResult<()> {
        let mut state = lock(&self.state)?;
        let key = (org.clone(), contact.clone());
        if let Some(drafts) = state.drafts.get_mut(&key) {
            drafts.remove(agent);
            if drafts.is_empty() {
                state.drafts.remove(&key);
            }
        }
        Ok(())
    }

    async fn erase_drafts(&self, org: &OrganizationId, contact: &ContactId) -> PortResult<()> {
        lock(&self.state)?
            .drafts
            .remove(&(org.clone(), contact.clone()));
        Ok(())
    }
}
