//! The Contents made for buttons and lists do not pile up in the organization's Twilio
//! account: after an interactive message is sent, the worker deletes the organization's
//! Contents unused for `content_unused_for` (30 days), at most once a day per organization
//! (`begin_content_sweep`). Twilio's list is what is swept (a Content a crashed worker made
//! and never recorded goes too); each one is claimed before it is deleted, so a send of the
//! same payload meanwhile waits and then makes a new one. A sweep that fails changes nothing
//! about the send and is tried again at the next day's first interactive send.

use std::time::Duration;

use chrono::Utc;
use shared::domain::{ChannelConfig, OrgConfig, OrganizationId};
use shared::ports::{ContentStore, CredentialStore, Ports, WhatsAppSender};

use crate::SendWorker;

/// An organization's Contents are swept at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(86_400);
/// At most this many Contents are deleted in one sweep (the next sweep goes on).
const MAX_DELETES: usize = 200;
/// How long a Content is held while it is deleted.
const DELETE_LEASE: Duration = Duration::from_secs(60);

/// What a sweep did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub deleted: usize,
    pub kept: usize,
}

impl<P: Ports> SendWorker<P> {
    /// After buttons or a list went out: the organization's Contents are swept if it is
    /// their turn.
    pub(crate) async fn after_interactive_send(&self, org: &OrganizationId) {
        match self.ports.credentials().channel_config(org).await {
            Ok(ChannelConfig::Configured(config)) => self.sweep_contents(org, &config).await,
            Ok(ChannelConfig::NotConfigured { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "the Contents' sweep could not read the channel"),
        }
    }

    /// Sweeps the organization's unused Contents if it is their turn; never fails the job.
    pub(crate) async fn sweep_contents(&self, org: &OrganizationId, config: &OrgConfig) {
        let every = SWEEP_EVERY.min(self.settings.content_unused_for);
        match self
            .ports
            .messages()
            .begin_content_sweep(org, Utc::now(), every)
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the Contents' sweep could not be begun");
                return;
            }
        }
        match self.delete_unused_contents(org, config).await {
            Ok(report) => tracing::info!(
                deleted = report.deleted,
                kept = report.kept,
                "unused Contents swept"
            ),
            Err(e) => tracing::warn!(error = %e, "the Contents' sweep stopped"),
        }
    }

    async fn delete_unused_contents(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
    ) -> Result<SweepReport, Box<dyn std::error::Error + Send + Sync>> {
        let now = Utc::now();
        let cutoff = now
            - chrono::Duration::from_std(self.settings.content_unused_for)
                .unwrap_or(chrono::Duration::MAX);
        let sender = self.ports.sender();
        let store = self.ports.messages();
        let mut report = SweepReport::default();
        for content in sender.product_contents(config).await? {
            // Changed since the cutoff (or of an unknown date): young enough to keep.
            if content.changed.is_none_or(|changed| changed >= cutoff) {
                report.kept += 1;
                continue;
            }
            if report.deleted == MAX_DELETES {
                break;
            }
            let Some(until) = store
                .claim_unused_content(org, &content.name, cutoff, now, DELETE_LEASE)
                .await?
            else {
                report.kept += 1;
                continue;
            };
            match sender.delete_content(config, &content.sid).await {
                Ok(()) => {
                    store.forget_content(org, &content.name, until).await?;
                    report.deleted += 1;
                }
                Err(e) => {
                    store.release_content(org, &content.name, until).await?;
                    return Err(Box::new(e));
                }
            }
        }
        Ok(report)
    }
}
