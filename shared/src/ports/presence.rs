//! Agents' presence per conversation (`domain::Presence`), kept by the message store beside
//! the conversation and pushed to the organization's pages as it changes.

use std::future::Future;

use chrono::{DateTime, Utc};

use super::PortResult;
use crate::domain::{ContactId, OrganizationId, Presence};

pub trait PresenceStore: Clone + Send + Sync + 'static {
    /// Records one agent's presence (replacing theirs; `Left` removes it); other agents'
    /// are untouched.
    fn set_presence(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        presence: &Presence,
    ) -> impl Future<Output = PortResult<()>> + Send;

    /// Every agent's presence in the conversation not expired at `now`.
    fn presences(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<Vec<Presence>>> + Send;
}
