//! The send worker: takes a queued job, sends the PENDING message through Twilio and records
//! SENT (with the Twilio sid) or FAILED (with the reason). Transient failures are retried
//! with exponential backoff by re-queueing the job with a delay; after the last attempt the
//! message is FAILED, so no accepted message stays PENDING.

mod reconcile;

use std::time::Duration;

pub use reconcile::{CLOCK_SKEW, candidates, find_sent};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::Utc;
use secrecy::ExposeSecret;
use shared::config::Settings;
use shared::domain::{
    ChannelConfig, ContactChange, JobKind, Message, MessageStatus, OrgConfig, SendJob,
    StatusChange, media_rule,
};
use shared::ports::{
    AttemptOutcome, ContactStore, CredentialStore, MediaStore, MessageStore, PortError, Ports,
    SendClaim, SendQueue, WhatsAppSender,
};
use shared::routes::status_callback_path;
use shared::runtime::Handler;
use shared::twilio::{
    FailureKind, OutboundContent, OutboundMessage, RECOMMENDED_OVERRIDES, TwilioError,
};

/// Longest delay SQS can put on a message (15 minutes).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(900);

use shared::domain::sentences::send_failed;
pub use shared::domain::sentences::{INVALID_CONFIGURATION, NOT_CONFIGURED};

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub max_attempts: u32,
    pub retry_base: Duration,
    /// How long a claim on a message lasts (see `MessageStore::claim_send`).
    pub claim_lease: Duration,
    /// Where Twilio posts status callbacks (`PUBLIC_BASE_URL`); without it, no callbacks.
    pub public_base_url: Option<String>,
}

/// How long Twilio has to fetch an attachment (it does so right after accepting a send).
pub const MEDIA_URL_EXPIRY: Duration = Duration::from_secs(900);

impl From<&Settings> for WorkerSettings {
    fn from(settings: &Settings) -> Self {
        Self {
            max_attempts: settings.send_max_attempts,
            retry_base: settings.send_retry_base,
            claim_lease: settings.send_claim_lease,
            public_base_url: settings.public_base_url.clone(),
        }
    }
}

/// Attachments go to Twilio as short-lived presigned GETs of the stored object.
#[derive(Clone)]
pub struct SendWorker<P> {
    pub ports: P,
    pub settings: WorkerSettings,
}

/// What became of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    Sent {
        sid: String,
    },
    Failed {
        reason: String,
    },
    /// Queued again as attempt `attempt` after `delay`.
    Retrying {
        attempt: u32,
        delay: Duration,
    },
    /// Twilio may have accepted the message but its answer was lost: attempt `attempt`,
    /// after `delay`, looks for it at Twilio before it sends again.
    Unconfirmed {
        attempt: u32,
        delay: Duration,
    },
    /// Nothing to do: unknown message, or no longer PENDING (a redelivered job).
    Skipped,
    /// An inbound message's media: copied into the bucket, or marked unavailable.
    MediaCopied,
}

/// Extra attempts for looking up a send whose outcome is unknown, beyond the send attempts.
pub const RECONCILE_ATTEMPTS: u32 = 3;

/// Tries per inbound media: Twilio can answer 404 for a moment right after the webhook.
pub const MEDIA_FETCH_ATTEMPTS: u32 = 3;
const MEDIA_UNAVAILABLE: &str = "The media could not be downloaded from WhatsApp.";

/// Backoff before attempt `next_attempt` (2, 3, …): base, 2×base, 4×base … capped.
pub fn retry_delay(base: Duration, next_attempt: u32) -> Duration {
    let exponent = next_attempt.saturating_sub(2).min(16);
    base.saturating_mul(1 << exponent).min(MAX_RETRY_DELAY)
}

impl<P: Ports> Handler<SqsEvent> for SendWorker<P> {
    type Response = SqsBatchResponse;

    async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        self.handle_sqs(event).await
    }
}

impl<P: Ports> SendWorker<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            settings: WorkerSettings::from(settings),
        }
    }

    /// Processes one SQS batch, reporting the records to retry (partial batch response).
    /// A record whose body is not a job fails every delivery and so ends in the DLQ.
    pub async fn handle_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            let id = record.message_id.clone().unwrap_or_default();
            let job = record
                .body
                .as_deref()
                .ok_or("empty body")
                .and_then(|b| serde_json::from_str::<SendJob>(b).map_err(|_| "not a send job"));
            let result = match job {
                Ok(job) => self.process(&job).await.map(|_| ()),
                Err(why) => {
                    tracing::error!(sqs_message_id = %id, why, "malformed send job");
                    Err(PortError::Corrupt(why.into()))
                }
            };
            if result.is_err() {
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    /// Sends one queued message. An Err means the job could not be processed (a store was
    /// unavailable) and must be delivered again.
    pub async fn process(&self, job: &SendJob) -> Result<JobOutcome, PortError> {
        if job.kind == JobKind::CopyMedia {
            return self.copy_media(job).await;
        }
        let org = &job.organization_id;
        let Some(message) = self.ports.messages().get(org, &job.message_id).await? else {
            tracing::warn!(organization_id = %org, message_id = %job.message_id, "job for an unknown message");
            return Ok(JobOutcome::Skipped);
        };
        if message.status != MessageStatus::Pending {
            return Ok(JobOutcome::Skipped);
        }
        // One worker at a time: a job delivered twice sends once.
        let claim = self
            .ports
            .messages()
            .claim_send(org, &message.id, Utc::now(), self.settings.claim_lease)
            .await?;
        let outcome = match claim {
            SendClaim::NotPending => return Ok(JobOutcome::Skipped),
            SendClaim::Held { until } => {
                // Delivered again while another worker sends it: SQS brings it back later,
                // and by then that worker is done or gone.
                tracing::info!(organization_id = %org, message_id = %message.id, %until, "message held by another worker");
                return Err(PortError::Unavailable(
                    "the message is being sent by another worker".into(),
                ));
            }
            SendClaim::Claimed {
                unresolved_since: Some(since),
            } => self.reconcile_then_send(job, &message, since).await?,
            SendClaim::Claimed {
                unresolved_since: None,
            } => self.attempt(job, &message).await?,
        };
        match &outcome {
            JobOutcome::Sent { sid } => {
                tracing::info!(organization_id = %org, message_id = %message.id, twilio_message_sid = %sid, attempt = job.attempt, "sent");
            }
            JobOutcome::Failed { reason } => {
                tracing::warn!(organization_id = %org, message_id = %message.id, attempt = job.attempt, reason, "send failed");
            }
            JobOutcome::Retrying { attempt, delay } => {
                tracing::warn!(organization_id = %org, message_id = %message.id, next_attempt = attempt, delay_ms = delay.as_millis() as u64, "send will be retried");
            }
            JobOutcome::Unconfirmed { attempt, delay } => {
                tracing::warn!(organization_id = %org, message_id = %message.id, next_attempt = attempt, delay_ms = delay.as_millis() as u64, "Twilio's answer is unknown; reconciling before any resend");
            }
            JobOutcome::Skipped | JobOutcome::MediaCopied => {}
        }
        Ok(outcome)
    }

    /// Copies an inbound message's media from Twilio into the organization's prefix of the
    /// bucket, so the conversation can show it through our own short-lived URLs.
    async fn copy_media(&self, job: &SendJob) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let Some(message) = self.ports.messages().get(org, &job.message_id).await? else {
            return Ok(JobOutcome::Skipped);
        };
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => Some(config),
            ChannelConfig::NotConfigured { .. } => None,
        };
        let mut attachments = message.attachments.clone();
        let mut retry = false;
        for (index, attachment) in attachments.iter_mut().enumerate() {
            if attachment.key.is_some() || attachment.error.is_some() {
                continue;
            }
            let (Some(url), Some(config)) = (attachment.url.clone(), config.as_ref()) else {
                attachment.error = Some(MEDIA_UNAVAILABLE.into());
                continue;
            };
            match self.ports.sender().fetch_media(config, &url).await {
                Ok((bytes, content_type)) => {
                    // Twilio's stated type wins over a generic one from the CDN.
                    let content_type = if content_type.starts_with("application/octet-stream") {
                        attachment.content_type.clone()
                    } else {
                        content_type
                    };
                    let extension = media_rule(&content_type)
                        .and_then(|rule| rule.extensions.first().copied())
                        .unwrap_or("bin");
                    let name = format!("{org}/inbound/{}/{index}.{extension}", message.id);
                    attachment.size = Some(bytes.len() as u64);
                    // A shared contact: its name and numbers are shown; the card stays a file.
                    if media_rule(&content_type).is_some_and(|r| r.content_type == "text/vcard") {
                        attachment.card = shared::domain::parse_vcard(&bytes);
                    }
                    // Served inline only if WhatsApp itself would show it; anything else
                    // (HTML, SVG, documents) as a download.
                    let served = shared::domain::served_as(&content_type);
                    attachment.key =
                        Some(self.ports.media().put(org, &name, bytes, &served).await?);
                    attachment.content_type = content_type;
                }
                Err(e) => {
                    let brief = matches!(
                        e,
                        TwilioError::Api {
                            http_status: 404,
                            ..
                        }
                    ) || e.kind() == FailureKind::Transient;
                    if brief && job.attempt < MEDIA_FETCH_ATTEMPTS {
                        retry = true;
                    } else {
                        tracing::warn!(organization_id = %org, message_id = %message.id, error = %e, "inbound media not copied");
                        attachment.error = Some(MEDIA_UNAVAILABLE.into());
                    }
                }
            }
        }
        if attachments != message.attachments {
            self.ports
                .messages()
                .update_attachments(org, &message.id, &attachments)
                .await?;
        }
        if retry {
            let next = SendJob {
                attempt: job.attempt + 1,
                ..job.clone()
            };
            let delay = retry_delay(self.settings.retry_base, next.attempt);
            self.ports.queue().enqueue(&next, delay).await?;
            return Ok(JobOutcome::Retrying {
                attempt: next.attempt,
                delay,
            });
        }
        tracing::info!(organization_id = %org, message_id = %message.id, "inbound media handled");
        Ok(JobOutcome::MediaCopied)
    }

    async fn attempt(&self, job: &SendJob, message: &Message) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let contact = match &message.contact_id {
            Some(id) => self.ports.contacts().get(org, id).await?,
            None => None,
        };
        let Some(contact) = contact else {
            return self
                .fail(message, send_failed("the contact no longer exists."))
                .await;
        };
        // The contact may have opted out since the message was accepted.
        let to = match contact.eligibility() {
            Ok(phone) => phone,
            Err(why) => {
                return self.fail(message, send_failed(why)).await;
            }
        };
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => config,
            ChannelConfig::NotConfigured { why } => {
                tracing::warn!(organization_id = %org, why, "organization not configured");
                return self.fail(message, NOT_CONFIGURED.into()).await;
            }
        };
        // WhatsApp carries one media per message; the send path split them already. Twilio
        // checks it with HEAD as well as GET: our signed link answers both (an S3 presigned
        // GET answers HEAD with 403); without a public base URL, a presigned GET.
        let media_url = match message.attachments.first().and_then(|a| a.key.as_deref()) {
            Some(key) => {
                let expires =
                    chrono::Utc::now().timestamp() + shared::media_link::LINK_LIFETIME_SECONDS;
                let link = self.settings.public_base_url.as_ref().and_then(|base| {
                    shared::media_link::path(config.auth_token.expose_secret(), org, key, expires)
                        .map(|path| format!("{base}{path}"))
                });
                match link {
                    Some(link) => Some(link),
                    None => Some(
                        self.ports
                            .media()
                            .presign_get(org, key, MEDIA_URL_EXPIRY)
                            .await?,
                    ),
                }
            }
            None => None,
        };
        let content = match &message.template {
            // An approved template: Twilio renders it; no Body, no MediaUrl.
            Some(template) => OutboundContent::Template {
                content_sid: template.content_sid.clone(),
                content_variables: (!template.variables.is_empty())
                    .then(|| serde_json::to_string(&template.variables).ok())
                    .flatten(),
            },
            None => OutboundContent::FreeForm {
                body: message.text.clone(),
                media_url,
            },
        };
        let outbound = OutboundMessage {
            to,
            content,
            // The overrides make Twilio retry a callback we answered 5xx (a store failed).
            status_callback: self.settings.public_base_url.as_ref().map(|base| {
                format!(
                    "{base}{}?message_id={}#{RECOMMENDED_OVERRIDES}",
                    status_callback_path(org.as_str()),
                    message.id
                )
            }),
        };

        let mut result = self.ports.sender().send(&config, &outbound).await;
        // The token may have been rotated since it was cached: read it again, once.
        if let Err(e) = &result
            && e.kind() == FailureKind::Configuration
            && let Some(fresh) = self.rotated_config(job, &config).await?
        {
            result = self.ports.sender().send(&fresh, &outbound).await;
        }
        match result {
            Ok(sent) => {
                self.record(message, StatusChange::sent(&sent.sid)).await?;
                Ok(JobOutcome::Sent { sid: sent.sid })
            }
            Err(e) if e.outcome_unknown() => self.unconfirmed(job, message, &e).await,
            Err(e) => {
                // Twilio certainly did not take it: the next attempt sends without asking.
                self.ports
                    .messages()
                    .release_send(org, &message.id, AttemptOutcome::NotSent)
                    .await?;
                self.handle_failure(job, message, &contact.contact_id, e)
                    .await
            }
        }
    }

    /// The message's earlier attempt (from `since`) ended without a known outcome: it is sent
    /// only if Twilio has no such message.
    async fn reconcile_then_send(
        &self,
        job: &SendJob,
        message: &Message,
        since: chrono::DateTime<Utc>,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        // A status callback (it carries our message id) may have told us already.
        if let Some(sid) = &message.twilio_message_sid {
            self.record(message, StatusChange::sent(sid)).await?;
            return Ok(JobOutcome::Sent { sid: sid.clone() });
        }
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => config,
            ChannelConfig::NotConfigured { .. } => {
                return self.fail(message, NOT_CONFIGURED.into()).await;
            }
        };
        let to = message
            .contact_phone
            .as_deref()
            .and_then(|p| shared::domain::PhoneNumber::parse_e164(p).ok());
        let Some(to) = to else {
            return self.attempt(job, message).await;
        };
        let listed = match self.ports.sender().recent_messages(&config, &to).await {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(organization_id = %org, message_id = %message.id, error = %e, "Twilio's message list could not be read");
                return self.unconfirmed(job, message, &e).await;
            }
        };
        // Only the look-alikes are checked against our store (one index Query each).
        let mut taken = std::collections::HashSet::new();
        for candidate in candidates(message, since, &listed) {
            if let Some(other) = self
                .ports
                .messages()
                .find_by_sid(org, &candidate.sid)
                .await?
                && other.id != message.id
            {
                taken.insert(candidate.sid.clone());
            }
        }
        match find_sent(message, since, &listed, |sid| taken.contains(sid)) {
            Some(found) => {
                tracing::info!(organization_id = %org, message_id = %message.id, twilio_message_sid = %found.sid, "Twilio had the message: not sent again");
                self.record(message, StatusChange::sent(&found.sid)).await?;
                Ok(JobOutcome::Sent {
                    sid: found.sid.clone(),
                })
            }
            None if job.attempt > self.settings.max_attempts => {
                self.fail(
                    message,
                    send_failed(format!(
                        "Twilio did not answer (gave up after {} attempts)",
                        self.settings.max_attempts
                    )),
                )
                .await
            }
            None => {
                tracing::info!(organization_id = %org, message_id = %message.id, "Twilio does not have the message: sending it");
                self.attempt(job, message).await
            }
        }
    }

    /// Twilio may have the message: end this attempt keeping the doubt on the claim, and
    /// look at Twilio's side before any resend.
    async fn unconfirmed(
        &self,
        job: &SendJob,
        message: &Message,
        error: &TwilioError,
    ) -> Result<JobOutcome, PortError> {
        // Reconciling may take a few more tries than sending; after that, a person is told.
        if job.attempt >= self.settings.max_attempts + RECONCILE_ATTEMPTS {
            return self
                .fail(
                    message,
                    send_failed(format!(
                        "{} (Twilio could not confirm whether it was sent)",
                        error.reason()
                    )),
                )
                .await;
        }
        self.ports
            .messages()
            .release_send(&job.organization_id, &message.id, AttemptOutcome::Unknown)
            .await?;
        let next = SendJob {
            attempt: job.attempt + 1,
            ..job.clone()
        };
        let delay = retry_delay(self.settings.retry_base, next.attempt);
        self.ports.queue().enqueue(&next, delay).await?;
        Ok(JobOutcome::Unconfirmed {
            attempt: next.attempt,
            delay,
        })
    }

    async fn rotated_config(
        &self,
        job: &SendJob,
        used: &OrgConfig,
    ) -> Result<Option<OrgConfig>, PortError> {
        match self
            .ports
            .credentials()
            .refresh(&job.organization_id)
            .await?
        {
            ChannelConfig::Configured(fresh)
                if fresh.account_sid != used.account_sid
                    || fresh.auth_token.expose_secret() != used.auth_token.expose_secret()
                    || fresh.whatsapp_from != used.whatsapp_from =>
            {
                Ok(Some(fresh))
            }
            _ => Ok(None),
        }
    }

    async fn handle_failure(
        &self,
        job: &SendJob,
        message: &Message,
        contact_id: &shared::domain::ContactId,
        error: TwilioError,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        match error.kind() {
            FailureKind::Transient if job.attempt < self.settings.max_attempts => {
                let next = SendJob {
                    attempt: job.attempt + 1,
                    ..job.clone()
                };
                let delay = retry_delay(self.settings.retry_base, next.attempt);
                tracing::info!(organization_id = %org, message_id = %message.id, error = %error, "transient Twilio failure");
                self.ports.queue().enqueue(&next, delay).await?;
                Ok(JobOutcome::Retrying {
                    attempt: next.attempt,
                    delay,
                })
            }
            FailureKind::Transient => {
                self.fail(
                    message,
                    send_failed(format!(
                        "{} (gave up after {} attempts)",
                        error.reason(),
                        job.attempt
                    )),
                )
                .await
            }
            FailureKind::Configuration => {
                tracing::error!(organization_id = %org, message_id = %message.id, error = %error, "Twilio rejected the organization's configuration");
                self.fail(message, INVALID_CONFIGURATION.into()).await
            }
            FailureKind::Unsubscribed => {
                let change = ContactChange {
                    whatsapp_unsubscribed: Some(true),
                    ..Default::default()
                };
                self.ports
                    .contacts()
                    .update(org, contact_id, &change)
                    .await?;
                self.fail(message, send_failed(error.reason())).await
            }
            FailureKind::Permanent => {
                let reason =
                    shared::domain::sentences::twilio_failure(error.code(), error.reason());
                self.fail(message, reason).await
            }
        }
    }

    async fn fail(&self, message: &Message, reason: String) -> Result<JobOutcome, PortError> {
        self.record(message, StatusChange::failed(reason.clone()))
            .await?;
        Ok(JobOutcome::Failed { reason })
    }

    async fn record(&self, message: &Message, change: StatusChange) -> Result<(), PortError> {
        self.ports
            .messages()
            .apply_status(&message.organization_id, &message.id, &change)
            .await
            .map(|_| ())
    }
}
