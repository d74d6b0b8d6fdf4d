//! The in-memory messages store, send claims: one worker at a time holds a PENDING message
//! (`claim_send`), releases only its own claim, and leaves the doubt on it when Twilio's
//! answer is unknown (as `aws::messages::claims` does with a conditional write).

use chrono::{DateTime, Utc};

use super::MemoryMessages;
use crate::domain::{MessageId, MessageStatus, OrganizationId};
use crate::memory::lock;
use crate::ports::{AttemptOutcome, ClaimLease, PortResult, SendClaim};

impl MemoryMessages {
    pub(super) async fn claim(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> PortResult<SendClaim> {
        let mut state = lock(&self.state)?;
        let key = (org.clone(), *id);
        if state
            .messages
            .get(&key)
            .is_none_or(|m| m.status != MessageStatus::Pending)
        {
            return Ok(SendClaim::NotPending);
        }
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        match state.claims.get(&key).copied() {
            Some((_, held_until)) if held_until > now => Ok(SendClaim::Held { until: held_until }),
            Some((since, _)) => {
                state.claims.insert(key, (since, until));
                Ok(SendClaim::Claimed {
                    lease: ClaimLease { until },
                    unresolved_since: Some(since),
                })
            }
            None => {
                state.claims.insert(key, (now, until));
                Ok(SendClaim::Claimed {
                    lease: ClaimLease { until },
                    unresolved_since: None,
                })
            }
        }
    }

    pub(super) async fn release(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        lease: &ClaimLease,
        outcome: AttemptOutcome,
    ) -> PortResult<()> {
        let mut state = lock(&self.state)?;
        let key = (org.clone(), *id);
        // Only the caller's own claim (see the port).
        if state
            .claims
            .get(&key)
            .is_none_or(|claim| claim.1 != lease.until)
        {
            return Ok(());
        }
        match outcome {
            AttemptOutcome::NotSent => {
                state.claims.remove(&key);
            }
            AttemptOutcome::Unknown => {
                if let Some(claim) = state.claims.get_mut(&key) {
                    claim.1 = DateTime::<Utc>::MIN_UTC;
                }
            }
        }
        Ok(())
    }
}
