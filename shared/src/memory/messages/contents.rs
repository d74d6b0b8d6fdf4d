//! `ContentStore` in memory: per (organization, payload name) the Content's sid once made,
//! when it was last used, and the claim to make (or delete) it, as the DynamoDB store's
//! `CONTENT#` item holds them; per organization when its unused Contents were last swept.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::MemoryMessages;
use crate::domain::OrganizationId;
use crate::memory::lock;
use crate::ports::{ContentClaim, ContentStore, PortResult};

/// The payload's entry, made empty the first time.
fn entry<'a>(
    state: &'a mut super::State,
    org: &OrganizationId,
    name: &str,
) -> &'a mut super::ContentEntry {
    state
        .contents
        .entry((org.clone(), name.to_owned()))
        .or_default()
}

impl ContentStore for MemoryMessages {
    async fn claim_content(
        &self,
        org: &OrganizationId,
        name: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<ContentClaim> {
        self.faults.check("claim_content")?;
        let mut state = lock(&self.state)?;
        let entry = entry(&mut state, org, name);
        if let Some(until) = entry.claim_until.filter(|until| *until > now) {
            return Ok(ContentClaim::Held { until });
        }
        if let Some(content_sid) = &entry.content_sid {
            entry.last_used = Some(now);
            return Ok(ContentClaim::Made {
                content_sid: content_sid.clone(),
            });
        }
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        entry.claim_until = Some(until);
        Ok(ContentClaim::Claimed { until })
    }

    async fn record_content(
        &self,
        org: &OrganizationId,
        name: &str,
        content_sid: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        self.faults.check("record_content")?;
        let mut state = lock(&self.state)?;
        let entry = entry(&mut state, org, name);
        entry.content_sid = Some(content_sid.to_owned());
        entry.claim_until = None;
        entry.last_used = Some(now);
        Ok(())
    }

    async fn release_content(
        &self,
        org: &OrganizationId,
        name: &str,
        until: DateTime<Utc>,
    ) -> PortResult<()> {
        let mut state = lock(&self.state)?;
        if let Some(entry) = state.contents.get_mut(&(org.clone(), name.to_owned()))
            && entry.claim_until == Some(until)
        {
            entry.claim_until = None;
        }
        Ok(())
    }

    async fn begin_content_sweep(
        &self,
        org: &OrganizationId,
        now: DateTime<Utc>,
        every: Duration,
    ) -> PortResult<bool> {
        self.faults.check("begin_content_sweep")?;
        let mut state = lock(&self.state)?;
        let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        match state.content_sweeps.get(org) {
            Some(last) if *last > now - every => Ok(false),
            _ => {
                state.content_sweeps.insert(org.clone(), now);
                Ok(true)
            }
        }
    }

    async fn claim_unused_content(
        &self,
        org: &OrganizationId,
        name: &str,
        unused_since: DateTime<Utc>,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> PortResult<Option<DateTime<Utc>>> {
        self.faults.check("claim_unused_content")?;
        let mut state = lock(&self.state)?;
        let entry = entry(&mut state, org, name);
        let held = entry.claim_until.is_some_and(|until| until > now);
        let used = entry.last_used.is_some_and(|at| at >= unused_since);
        if held || used {
            return Ok(None);
        }
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        entry.claim_until = Some(until);
        Ok(Some(until))
    }

    async fn forget_content(
        &self,
        org: &OrganizationId,
        name: &str,
        until: DateTime<Utc>,
    ) -> PortResult<()> {
        let mut state = lock(&self.state)?;
        let key = (org.clone(), name.to_owned());
        if state
            .contents
            .get(&key)
            .is_some_and(|entry| entry.claim_until == Some(until))
        {
            state.contents.remove(&key);
        }
        Ok(())
    }
}
