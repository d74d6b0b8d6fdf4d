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
    /// The payload's Content if made (and `now` recorded as its last use); else a claim to
    /// make it, unless another worker holds one that has not lapsed (a maker's, or a sweep's
    /// deleting it). Two workers at once: one `Claimed`, the other `Held`.
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

    /// Whether this worker sweeps the organization's unused Contents now: true at most once
    /// per `every` for an organization (a conditional write on its sweep marker).
    fn begin_content_sweep(
        &self,
        org: &OrganizationId,
        now: DateTime<Utc>,
        every: Duration,
    ) -> impl Future<Output = PortResult<bool>> + Send;

    /// Claims a payload's Content for deletion, if it was last used before `unused_since`
    /// (or its use was never recorded) and no worker holds it: the claim's end, else None.
    /// A send meanwhile finds it `Held`, and after the deletion makes a new one.
    fn claim_unused_content(
        &self,
        org: &OrganizationId,
        name: &str,
        unused_since: DateTime<Utc>,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> impl Future<Output = PortResult<Option<DateTime<Utc>>>> + Send;

    /// Forgets a payload's Content the holder of the claim (`until`) deleted at Twilio.
    fn forget_content(
        &self,
        org: &OrganizationId,
        name: &str,
        until: DateTime<Utc>,
    ) -> impl Future<Output = PortResult<()>> + Send;
}
