//! `ContentStore` in memory: per (organization, payload name) the Content's sid once made,
//! and the claim to make it, as the DynamoDB store's `CONTENT#` item holds them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::lock;
use super::messages::MemoryMessages;
use crate::domain::OrganizationId;
use crate::ports::{ContentClaim, ContentStore, PortResult};

#[derive(Debug, Clone, Default)]
pub(crate) struct ContentEntry {
    content_sid: Option<String>,
    claim_until: Option<DateTime<Utc>>,
    last_used: Option<DateTime<Utc>>,
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
        let entry = state
            .contents
            .entry((org.clone(), name.to_owned()))
            .or_default();
        if let Some(content_sid) = &entry.content_sid {
            return Ok(ContentClaim::Made {
                content_sid: content_sid.clone(),
            });
        }
        match entry.claim_until {
            Some(until) if until > now => Ok(ContentClaim::Held { until }),
            _ => {
                let until =
                    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
                entry.claim_until = Some(until);
                Ok(ContentClaim::Claimed { until })
            }
        }
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
        let entry = state
            .contents
            .entry((org.clone(), name.to_owned()))
            .or_default();
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
}
