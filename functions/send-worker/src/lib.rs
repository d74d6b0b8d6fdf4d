//! The send worker: takes a queued job, sends the PENDING message through Twilio and records
//! SENT (with the Twilio sid) or FAILED (with the reason). Transient failures are retried
//! with exponential backoff by re-queueing the job with a delay; after the last attempt the
//! message is FAILED, so no accepted message stays PENDING. A send whose outcome Twilio
//! never confirmed ends UNCONFIRMED, never sent again (`reconcile`). The same queue's
//! functions also copy inbound media (`media_copy`) and erase a deleted contact's data
//! (`erasure`).

mod erasure;
mod media_copy;
mod reconcile;

use std::time::Duration;

pub use erasure::{ERASURE_CONCURRENCY, ERASURE_PAGE};
pub use media_copy::{MEDIA_COPY_CONCURRENCY, MEDIA_FETCH_ATTEMPTS};
pub use reconcile::{CLOCK_SKEW, CONFIRM_ATTEMPTS, candidates, find_sent, reaches_back};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use chrono::Utc;
use secrecy::ExposeSecret;
use shared::config::Settings;
use shared::domain::{
    ChannelConfig, ContactChange, JobKind, Message, MessageStatus, OrgConfig, SendJob, StatusChange,
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
    /// The longest one Twilio request may take: a send is posted only while the claim
    /// outlasts it (`may_post`).
    pub twilio_timeout: Duration,
    /// Where Twilio posts status callbacks (`PUBLIC_BASE_URL`); without it, no callbacks.
    pub public_base_url: Option<String>,
    /// The longest one inbound media download may take.
    pub media_fetch_timeout: Duration,
    /// Downloads of a media copy job start only while they can end before this much time
    /// from the job's start.
    pub media_copy_deadline: Duration,
}

/// How long Twilio has to fetch an attachment (it does so right after accepting a send).
pub const MEDIA_URL_EXPIRY: Duration = Duration::from_secs(900);

impl From<&Settings> for WorkerSettings {
    fn from(settings: &Settings) -> Self {
        Self {
            max_attempts: settings.send_max_attempts,
            retry_base: settings.send_retry_base,
            claim_lease: settings.send_claim_lease,
            twilio_timeout: settings.twilio_timeout,
            public_base_url: settings.public_base_url.clone(),
            media_fetch_timeout: settings.media_fetch_timeout,
            media_copy_deadline: settings.media_copy_deadline,
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
    Reconciling {
        attempt: u32,
        delay: Duration,
    },
    /// Twilio could not confirm it for long: UNCONFIRMED, never sent again; later jobs
    /// (`CONFIRM_ATTEMPTS`) and status callbacks may still settle it.
    Unconfirmed {
        reason: String,
    },
    /// Nothing to do: unknown message, or no longer PENDING (a redelivered job).
    Skipped,
    /// An inbound message's media: copied into the bucket, or marked unavailable.
    MediaCopied,
    /// A page of a deleted contact's messages erased; `done` when nothing is left to sweep.
    Erased {
        messages: usize,
        done: bool,
    },
}

/// Extra attempts for looking up a send whose outcome is unknown, beyond the send attempts.
pub const RECONCILE_ATTEMPTS: u32 = 3;

pub use shared::config::CLAIM_MARGIN;

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
        match &job.kind {
            JobKind::CopyMedia => return self.copy_media(job).await,
            JobKind::EraseContact { contact_id } => {
                return self.erase_contact(job, contact_id).await;
            }
            JobKind::Send => {}
        }
        let org = &job.organization_id;
        let Some(message) = self.ports.messages().get(org, &job.message_id).await? else {
            tracing::warn!(organization_id = %org, message_id = %job.message_id, "job for an unknown message");
            return Ok(JobOutcome::Skipped);
        };
        let outcome = match message.status {
            MessageStatus::Pending => self.claim_and_send(job, &message).await?,
            MessageStatus::Unconfirmed => self.confirm(job, &message).await?,
            _ => return Ok(JobOutcome::Skipped),
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
            JobOutcome::Reconciling { attempt, delay } => {
                tracing::warn!(organization_id = %org, message_id = %message.id, next_attempt = attempt, delay_ms = delay.as_millis() as u64, "Twilio's answer is unknown; reconciling before any resend");
            }
            JobOutcome::Unconfirmed { reason } => {
                tracing::warn!(organization_id = %org, message_id = %message.id, attempt = job.attempt, reason, "Twilio could not confirm the send; it is not sent again");
            }
            JobOutcome::Skipped | JobOutcome::MediaCopied | JobOutcome::Erased { .. } => {}
        }
        Ok(outcome)
    }

    /// One worker at a time: a job delivered twice sends once.
    async fn claim_and_send(
        &self,
        job: &SendJob,
        message: &Message,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let claimed_at = Utc::now();
        let claim = self
            .ports
            .messages()
            .claim_send(org, &message.id, claimed_at, self.settings.claim_lease)
            .await?;
        match claim {
            SendClaim::NotPending => Ok(JobOutcome::Skipped),
            SendClaim::Held { until } => {
                // Delivered again while another worker sends it: SQS brings it back later,
                // and by then that worker is done or gone.
                tracing::info!(organization_id = %org, message_id = %message.id, %until, "message held by another worker");
                Err(PortError::Unavailable(
                    "the message is being sent by another worker".into(),
                ))
            }
            SendClaim::Claimed {
                unresolved_since: Some(since),
            } => {
                self.reconcile_then_send(job, message, since, claimed_at)
                    .await
            }
            SendClaim::Claimed {
                unresolved_since: None,
            } => self.attempt(job, message, claimed_at).await,
        }
    }

    /// Whether a request to Twilio started now ends (or times out) while the claim taken at
    /// `claimed_at` still holds: past that, another delivery of the job could take the
    /// message and reconcile while this request is still in flight.
    fn may_post(&self, claimed_at: chrono::DateTime<Utc>) -> bool {
        let needed = self.settings.twilio_timeout + CLAIM_MARGIN;
        let lease_left = (claimed_at
            + chrono::Duration::from_std(self.settings.claim_lease).unwrap_or_default())
            - Utc::now();
        lease_left.to_std().is_ok_and(|left| left > needed)
    }

    /// Too little of the claim is left to post: nothing was sent, so the claim is cleared
    /// and the same attempt comes back shortly.
    async fn postpone(&self, job: &SendJob, message: &Message) -> Result<JobOutcome, PortError> {
        self.ports
            .messages()
            .release_send(&job.organization_id, &message.id, AttemptOutcome::NotSent)
            .await?;
        tracing::info!(organization_id = %job.organization_id, message_id = %message.id, "claim too short to post; the attempt is postponed");
        self.requeue(job, job.attempt)
            .await
            .map(|(attempt, delay)| JobOutcome::Retrying { attempt, delay })
    }

    /// Queues the job again as attempt `attempt`, after the backoff for it.
    pub(crate) async fn requeue(
        &self,
        job: &SendJob,
        attempt: u32,
    ) -> Result<(u32, Duration), PortError> {
        let next = SendJob {
            attempt,
            ..job.clone()
        };
        let delay = retry_delay(self.settings.retry_base, attempt.max(2));
        self.ports.queue().enqueue(&next, delay).await?;
        Ok((attempt, delay))
    }

    async fn attempt(
        &self,
        job: &SendJob,
        message: &Message,
        claimed_at: chrono::DateTime<Utc>,
    ) -> Result<JobOutcome, PortError> {
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
        // One number per attempt: the contact's current one, recorded before it is posted
        // to, so that a lost answer is looked for where the message went.
        let recorded;
        let message = if message.contact_phone.as_deref() == Some(to.as_str()) {
            message
        } else {
            match self
                .ports
                .messages()
                .record_destination(org, &message.id, &to)
                .await?
            {
                Some(updated) => {
                    recorded = updated;
                    &recorded
                }
                None => return Ok(JobOutcome::Skipped),
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

        if !self.may_post(claimed_at) {
            return self.postpone(job, message).await;
        }
        let mut result = self.ports.sender().send(&config, &outbound).await;
        // The token may have been rotated since it was cached: read it again, once.
        if let Err(e) = &result
            && e.kind() == FailureKind::Configuration
            && let Some(fresh) = self.rotated_config(job, &config).await?
        {
            if !self.may_post(claimed_at) {
                return self.postpone(job, message).await;
            }
            result = self.ports.sender().send(&fresh, &outbound).await;
        }
        match result {
            Ok(sent) => self.adopt_answer(job, message, &sent.sid).await,
            Err(e) if e.outcome_unknown() => self.reconcile_later(job, message, e.reason()).await,
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

    /// Twilio took the message under `sid`: recorded SENT once the sid is this message's.
    /// If a look-alike message of ours adopted that sid while the answer was on its way
    /// (reconciling its own lost answer), that Twilio message counts for the look-alike, and
    /// this one is looked for again before anything is sent.
    async fn adopt_answer(
        &self,
        job: &SendJob,
        message: &Message,
        sid: &str,
    ) -> Result<JobOutcome, PortError> {
        if self
            .ports
            .messages()
            .hold_sid(&job.organization_id, sid, &message.id)
            .await?
        {
            self.record(message, StatusChange::sent(sid)).await?;
            return Ok(JobOutcome::Sent {
                sid: sid.to_owned(),
            });
        }
        tracing::warn!(organization_id = %job.organization_id, message_id = %message.id, twilio_message_sid = %sid, "Twilio's answer names a sid another message holds");
        self.reconcile_later(
            job,
            message,
            "the message Twilio answered with was recorded for another message".into(),
        )
        .await
    }

    /// Twilio may have the message: end this attempt keeping the doubt on the claim, and
    /// look at Twilio's side before any resend. When the doubt outlasts the attempts, the
    /// message is UNCONFIRMED: a person is told, it is never sent again, and later jobs keep
    /// looking (`confirm`).
    pub(crate) async fn reconcile_later(
        &self,
        job: &SendJob,
        message: &Message,
        reason: String,
    ) -> Result<JobOutcome, PortError> {
        if job.attempt >= self.settings.max_attempts + RECONCILE_ATTEMPTS {
            let reason = shared::domain::sentences::unconfirmed(reason);
            self.record(message, StatusChange::unconfirmed(reason.clone()))
                .await?;
            self.ports
                .queue()
                .enqueue(
                    &SendJob {
                        attempt: job.attempt + 1,
                        ..job.clone()
                    },
                    MAX_RETRY_DELAY,
                )
                .await?;
            return Ok(JobOutcome::Unconfirmed { reason });
        }
        self.ports
            .messages()
            .release_send(&job.organization_id, &message.id, AttemptOutcome::Unknown)
            .await?;
        let (attempt, delay) = self.requeue(job, job.attempt + 1).await?;
        Ok(JobOutcome::Reconciling { attempt, delay })
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
                tracing::info!(organization_id = %org, message_id = %message.id, error = %error, "transient Twilio failure");
                let (attempt, delay) = self.requeue(job, job.attempt + 1).await?;
                Ok(JobOutcome::Retrying { attempt, delay })
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

    pub(crate) async fn fail(
        &self,
        message: &Message,
        reason: String,
    ) -> Result<JobOutcome, PortError> {
        self.record(message, StatusChange::failed(reason.clone()))
            .await?;
        Ok(JobOutcome::Failed { reason })
    }

    pub(crate) async fn record(
        &self,
        message: &Message,
        change: StatusChange,
    ) -> Result<(), PortError> {
        self.ports
            .messages()
            .apply_status(&message.organization_id, &message.id, &change)
            .await
            .map(|_| ())
    }
}
