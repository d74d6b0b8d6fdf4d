//! The second job of the worker: copying an inbound message's media from Twilio into the
//! organization's prefix of the bucket, so the conversation shows it through our own
//! short-lived URLs. The files of one message are fetched concurrently (a few at a time:
//! each may be 16 MB and the function has 128 MB), each within the fetch timeout, and a
//! download is only started while the job's deadline leaves it its whole timeout; what was
//! not started is copied by the next job, what failed briefly is retried on its own.

use std::sync::Arc;
use std::time::Duration;

use shared::domain::{
    Attachment, ChannelConfig, MessageJob, OrgConfig, OrganizationId, media_rule,
    sentences::MEDIA_UNAVAILABLE,
};
use shared::ports::{
    CredentialStore, MediaStore, MessageStore, PortError, Ports, SendQueue, WhatsAppSender,
};
use shared::twilio::{FailureKind, TwilioError};
use tokio::time::Instant;

use crate::{JobOutcome, SendWorker, retry_delay};

/// Tries per inbound media: Twilio can answer 404 for a moment right after the webhook.
pub const MEDIA_FETCH_ATTEMPTS: u32 = 3;

/// Downloads of one message running at once.
pub const MEDIA_COPY_CONCURRENCY: usize = 3;

/// What became of one file.
enum Copy {
    Stored(Attachment),
    /// Failed for good: marked unavailable.
    Unavailable,
    /// Failed briefly (a 404 right after the webhook, a timeout): try again later.
    Brief,
    /// Not started: the job's deadline could not have let it finish.
    Deferred,
}

/// Each copy's ending into the message's attachments: whether one failed briefly, one was
/// deferred, and a store failure, if any.
async fn gather(
    mut copies: tokio::task::JoinSet<(usize, Result<Copy, PortError>)>,
    attachments: &mut [Attachment],
) -> (bool, bool, Option<PortError>) {
    let (mut brief, mut deferred) = (false, false);
    let mut failure = None;
    while let Some(joined) = copies.join_next().await {
        let Ok((index, copy)) = joined else {
            failure = Some(PortError::Unavailable("a media copy task ended".into()));
            continue;
        };
        match copy {
            Ok(Copy::Stored(stored)) => attachments[index] = stored,
            Ok(Copy::Unavailable) => attachments[index].error = Some(MEDIA_UNAVAILABLE.into()),
            Ok(Copy::Brief) => brief = true,
            Ok(Copy::Deferred) => deferred = true,
            Err(e) => failure = Some(e),
        }
    }
    (brief, deferred, failure)
}

impl<P: Ports> SendWorker<P> {
    pub(crate) async fn copy_media(&self, job: &MessageJob) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let Some(message) = self.ports.messages().get(org, &job.message_id).await? else {
            return Ok(JobOutcome::Skipped);
        };
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => Some(config),
            ChannelConfig::NotConfigured { .. } => None,
        };
        let deadline = Instant::now() + self.settings.media_copy_deadline;
        let permits = Arc::new(tokio::sync::Semaphore::new(MEDIA_COPY_CONCURRENCY));
        let mut copies = tokio::task::JoinSet::new();
        let mut attachments = message.attachments.clone();
        for (index, attachment) in attachments.iter_mut().enumerate() {
            if attachment.key.is_some() || attachment.error.is_some() {
                continue;
            }
            let (Some(url), Some(config)) = (attachment.url.clone(), config.clone()) else {
                attachment.error = Some(MEDIA_UNAVAILABLE.into());
                continue;
            };
            let file = FileCopy {
                ports: self.ports.clone(),
                org: org.clone(),
                message_id: message.id.to_string(),
                index,
                url,
                attachment: attachment.clone(),
                last_attempt: job.attempt >= MEDIA_FETCH_ATTEMPTS,
                fetch_time: self.settings.media_fetch_timeout,
            };
            let permits = permits.clone();
            copies.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return (index, Ok(Copy::Deferred));
                };
                if Instant::now() + file.fetch_time > deadline {
                    return (index, Ok(Copy::Deferred));
                }
                (index, file.run(&config).await)
            });
        }
        let (brief, deferred, failure) = gather(copies, &mut attachments).await;
        // What was copied is kept even when another file's store write failed.
        if attachments != message.attachments
            && self
                .ports
                .messages()
                .update_attachments(org, &message.id, &attachments)
                .await?
                .is_none()
        {
            // Erased while its files were being copied (its contact deleted): what this job
            // stored goes too.
            self.discard_copies(org, &message.attachments, &attachments)
                .await?;
            tracing::info!("message erased during its media copy: the copies are deleted");
            return Ok(JobOutcome::Skipped);
        }
        if let Some(e) = failure {
            return Err(e);
        }
        if brief || deferred {
            // A brief failure spends an attempt; files only deferred do not.
            let attempt = job.attempt + u32::from(brief);
            let delay = if brief {
                retry_delay(self.settings.retry_base, attempt)
            } else {
                Duration::ZERO
            };
            let next = shared::domain::WorkerJob::CopyMedia(job.attempt(attempt));
            self.ports.queue().enqueue(&next, delay).await?;
            tracing::info!(
                brief,
                deferred,
                "inbound media copy continues in another job"
            );
            return Ok(JobOutcome::Retrying { attempt, delay });
        }
        tracing::info!("inbound media handled");
        Ok(JobOutcome::MediaCopied)
    }

    /// The files this job stored for a message erased meanwhile: deleted.
    async fn discard_copies(
        &self,
        org: &shared::domain::OrganizationId,
        before: &[Attachment],
        after: &[Attachment],
    ) -> Result<(), PortError> {
        for key in after.iter().filter_map(|a| a.key.as_deref()) {
            if !before.iter().any(|a| a.key.as_deref() == Some(key)) {
                self.ports.media().discard(org, key).await?;
            }
        }
        Ok(())
    }
}

/// One file of the message, owned so that it can run on its own task.
struct FileCopy<P> {
    ports: P,
    org: OrganizationId,
    message_id: String,
    index: usize,
    url: String,
    attachment: Attachment,
    /// A brief failure now is the last: the file is marked unavailable.
    last_attempt: bool,
    fetch_time: Duration,
}

impl<P: Ports> FileCopy<P> {
    async fn run(mut self, config: &OrgConfig) -> Result<Copy, PortError> {
        let (bytes, content_type) = match self.ports.sender().fetch_media(config, &self.url).await {
            Ok(fetched) => fetched,
            Err(e) => {
                let brief = matches!(
                    e,
                    TwilioError::Api {
                        http_status: 404,
                        ..
                    }
                ) || e.kind() == FailureKind::Transient;
                if brief && !self.last_attempt {
                    return Ok(Copy::Brief);
                }
                tracing::warn!(error = %e, "inbound media not copied");
                return Ok(Copy::Unavailable);
            }
        };
        // Twilio's stated type wins over a generic one from the CDN.
        let content_type = if content_type.starts_with("application/octet-stream") {
            self.attachment.content_type.clone()
        } else {
            content_type
        };
        let extension = media_rule(&content_type)
            .and_then(|rule| rule.extensions.first().copied())
            .unwrap_or("bin");
        let name = format!(
            "{}/inbound/{}/{}.{extension}",
            self.org, self.message_id, self.index
        );
        self.attachment.size = Some(bytes.len() as u64);
        // A shared contact: its name and numbers are shown; the card stays a file.
        if media_rule(&content_type).is_some_and(|r| r.content_type == "text/vcard") {
            self.attachment.card = shared::domain::parse_vcard(&bytes);
        }
        // Served inline only if WhatsApp itself would show it; anything else (HTML, SVG,
        // documents) as a download.
        let served = shared::domain::served_as(&content_type);
        self.attachment.key = Some(
            self.ports
                .media()
                .put(
                    &self.org,
                    &name,
                    bytes,
                    &served,
                    config.message_retention_days,
                )
                .await?,
        );
        self.attachment.content_type = content_type;
        Ok(Copy::Stored(self.attachment))
    }
}
