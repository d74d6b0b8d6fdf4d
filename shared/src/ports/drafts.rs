//! Agents' drafts, one per agent and conversation (`domain::Draft`), kept by the message
//! store beside the conversation's messages and erased with them.

use std::future::Future;

use super::PortResult;
use crate::domain::{AgentId, ContactId, Draft, OrganizationId};

pub trait DraftStore: Clone + Send + Sync + 'static {
    /// The agent's draft in the contact's conversation, read consistently.
    fn draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> impl Future<Output = PortResult<Option<Draft>>> + Send;

    /// Replaces the agent's draft (last write wins); other agents' drafts are untouched.
    fn save_draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
        draft: &Draft,
    ) -> impl Future<Output = PortResult<()>> + Send;

    /// Removes the agent's draft; none is fine.
    fn delete_draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> impl Future<Output = PortResult<()>> + Send;

    /// Removes every agent's draft of the contact's conversation (the contact is erased).
    fn erase_drafts(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> impl Future<Output = PortResult<()>> + Send;
}
