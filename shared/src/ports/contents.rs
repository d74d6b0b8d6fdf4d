//! The one Twilio Content each distinct interactive payload goes out as (buttons, lists):
//! named by the payload (`Interactive::content_name`), claimed by one worker at a time with a
//! conditional write, so identical sends at once, or a retry after a crash, make one Content.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::PortResult;
use crate::domain::OrganizationId;

/// What a worker may do about a payload's Content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentClaim {
    /// It exists: send with this sid.
    Made { content_sid: String },
    /// This worker makes it (or finds the one a crashed worker made), until `until`.
    Claimed { until: DateTime<Utc> },
    /// Another worker is making it until `until`: come back later.
    Held { until: DateTime<Utc> },
}

pub trait ContentStore: Clone + Send + Sync + 'static {
    /// The payload's Content if made; else a claim to make it, unless another worker holds
    /// one that has not lapsed. Two workers at once: one `Claimed`, the other `Held`.
    fn claim_content(
        &self,
        org: &OrganizationId,
        name: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> impl Future<Output = PortResult<ContentClaim>> + Send;

    /// Records the sid the claim's holder made or found (and ends the claim); `now` is when
    /// it was last used (for the cleanup of Contents left unused).
    fn record_content(
        &self,
        org: &OrganizationId,
        name: &str,
        content_sid: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<()>> + Send;

    /// Gives up a claim (`until` the holder's) without a Content: another worker may claim.
    fn release_content(
        &self,
        org: &OrganizationId,
        name: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<()>> + Send;
}
