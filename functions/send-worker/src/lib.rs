//! The send worker: takes a queued job, sends the PENDING message through Twilio and records
//! SENT (with the Twilio sid) or FAILED (with the reason). Transient failures are retried
//! with exponential backoff by re-queueing the job with a delay; after the last attempt the
//! message is FAILED, so no accepted message stays PENDING. A send whose outcome Twilio
//! never confirmed ends UNCONFIRMED, never sent again (`reconcile`). The same queue's
//! functions also copy inbound media (`media_copy`) and erase a deleted contact's data
//! (`erasure`).
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod content_sweep;
mod erasure;
mod interactive;
mod media_copy;
mod reconcile;
mod send;

use std::time::Duration;

pub use erasure::{ERASURE_CONCURRENCY, ERASURE_PAGE};
pub use media_copy::{MEDIA_COPY_CONCURRENCY, MEDIA_FETCH_ATTEMPTS};
pub use reconcile::{CLOCK_SKEW, CONFIRM_ATTEMPTS, candidates, find_sent, reaches_back};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use shared::config::Settings;
use shared::domain::{
    Message, MessageId, MessageJob, MessageStatus, OrganizationId, StatusChange, WorkerJob,
};
use shared::ports::{AttemptOutcome, ClaimLease, MessageStore, PortError, Ports, SendQueue};
use shared::runtime::Handler;
use shared::telemetry;
use tracing::Instrument;

/// Longest delay SQS can put on a message (15 minutes).
const MAX_RETRY_DELAY: Duration = Duration::from_secs(900);

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
    /// Contents made for buttons and lists unused this long are deleted.
    pub content_unused_for: Duration,
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
            content_unused_for: settings.content_unused_for,
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
    /// An inbound message stored uncounted is counted in its conversation (or was already).
    Counted,
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
            let job =
                record.body.as_deref().ok_or("empty body").and_then(|b| {
                    serde_json::from_str::<WorkerJob>(b).map_err(|_| "not a worker job")
                });
            let result = match job {
                Ok(job) => self.process(&job).await.map(|_| ()),
                Err(why) => {
                    tracing::error!(sqs_message_id = %id, why, "malformed worker job");
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

    /// Does one queued job. An Err means the job could not be processed (a store was
    /// unavailable) and must be delivered again. Its log lines name the job's organization
    /// and message.
    pub async fn process(&self, job: &WorkerJob) -> Result<JobOutcome, PortError> {
        let span = telemetry::work_span_for(job.organization_id(), job.message_id());
        let work = async {
            match job {
                WorkerJob::Send(job) => self.send_job(job).await,
                WorkerJob::CopyMedia(job) => self.copy_media(job).await,
                WorkerJob::CountInbound {
                    organization_id,
                    message_id,
                } => self.count_inbound(organization_id, message_id).await,
                WorkerJob::EraseContact(job) => self.erase_contact(job).await,
            }
        };
        work.instrument(span).await
    }

    /// Sends the job's message (or confirms one whose send Twilio never answered).
    async fn send_job(&self, job: &MessageJob) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let Some(message) = self.ports.messages().get(org, &job.message_id).await? else {
            tracing::warn!("job for an unknown message");
            return Ok(JobOutcome::Skipped);
        };
        let outcome = match message.status {
            MessageStatus::Pending => self.claim_and_send(job, &message).await?,
            MessageStatus::Unconfirmed => self.confirm(job, &message).await?,
            _ => return Ok(JobOutcome::Skipped),
        };
        if message.interactive.is_some() && matches!(outcome, JobOutcome::Sent { .. }) {
            self.after_interactive_send(org).await;
        }
        match &outcome {
            JobOutcome::Sent { sid } => {
                tracing::info!(twilio_message_sid = %sid, attempt = job.attempt, "sent");
            }
            JobOutcome::Failed { reason } => {
                tracing::warn!(attempt = job.attempt, reason, "send failed");
            }
            JobOutcome::Retrying { attempt, delay } => {
                tracing::warn!(
                    next_attempt = attempt,
                    delay_ms = delay.as_millis() as u64,
                    "send will be retried"
                );
            }
            JobOutcome::Reconciling { attempt, delay } => {
                tracing::warn!(
                    next_attempt = attempt,
                    delay_ms = delay.as_millis() as u64,
                    "Twilio's answer is unknown; reconciling before any resend"
                );
            }
            JobOutcome::Unconfirmed { reason } => {
                tracing::warn!(
                    attempt = job.attempt,
                    reason,
                    "Twilio could not confirm the send; it is not sent again"
                );
            }
            JobOutcome::Skipped
            | JobOutcome::MediaCopied
            | JobOutcome::Counted
            | JobOutcome::Erased { .. } => {}
        }
        Ok(outcome)
    }

    /// Counts an inbound message its webhook stored uncounted (`WorkerJob::CountInbound`):
    /// once, however often the job comes; a store failure fails the job, and SQS brings it
    /// back.
    async fn count_inbound(
        &self,
        org: &OrganizationId,
        message_id: &MessageId,
    ) -> Result<JobOutcome, PortError> {
        let messages = self.ports.messages();
        let Some(message) = messages.get(org, message_id).await? else {
            tracing::warn!("count for an unknown message");
            return Ok(JobOutcome::Skipped);
        };
        messages.count_inbound(&message).await?;
        self.move_window(&message).await?;
        Ok(JobOutcome::Counted)
    }

    /// The 24-hour window of the contacts an inbound message came from (found as the
    /// webhook finds them: by number, else by WhatsApp user id), moved to its time. The
    /// webhook leaves it to the `CountInbound` job when the conversation was contended (its
    /// contact item is, by the same burst). Only ever forward, so a job run twice is harmless.
    async fn move_window(&self, message: &shared::domain::Message) -> Result<(), PortError> {
        use shared::ports::ContactStore;
        let org = &message.organization_id;
        let contacts = self.ports.contacts();
        let phone = message
            .contact_phone
            .as_deref()
            .and_then(|p| shared::domain::PhoneNumber::parse_e164(p).ok());
        let mut found = match &phone {
            Some(phone) => contacts.contacts_by_phone(org, phone).await?,
            None => Vec::new(),
        };
        if found.is_empty()
            && let Some(user) = message.details.as_ref().and_then(|d| d.user.as_ref())
        {
            found = contacts
                .contacts_by_whatsapp_user(org, &user.user_id)
                .await?;
        }
        let change = shared::domain::ContactChange {
            last_inbound_at: Some(message.created_at),
            ..Default::default()
        };
        for contact in found {
            contacts.update(org, &contact.contact_id, &change).await?;
        }
        Ok(())
    }

    /// Queues the job again as attempt `attempt`, after the backoff for it.
    pub(crate) async fn requeue(
        &self,
        job: &MessageJob,
        attempt: u32,
    ) -> Result<(u32, Duration), PortError> {
        let delay = retry_delay(self.settings.retry_base, attempt.max(2));
        self.requeue_after(job, attempt, delay).await?;
        Ok((attempt, delay))
    }

    /// Queues the job again as attempt `attempt`, `delay` from now: the one way a job of a
    /// message comes back.
    pub(crate) async fn requeue_after(
        &self,
        job: &MessageJob,
        attempt: u32,
        delay: Duration,
    ) -> Result<(), PortError> {
        let next = WorkerJob::Send(job.attempt(attempt));
        self.ports.queue().enqueue(&next, delay).await
    }

    /// Twilio may have the message: end this attempt keeping the doubt on the claim, and
    /// look at Twilio's side before any resend. When the doubt outlasts the attempts, the
    /// message is UNCONFIRMED: a person is told, it is never sent again, and later jobs keep
    /// looking (`confirm`).
    pub(crate) async fn reconcile_later(
        &self,
        job: &MessageJob,
        message: &Message,
        lease: &ClaimLease,
        reason: String,
    ) -> Result<JobOutcome, PortError> {
        if job.attempt >= self.settings.max_attempts + RECONCILE_ATTEMPTS {
            let reason = shared::domain::sentences::unconfirmed(reason);
            self.record(message, StatusChange::unconfirmed(reason.clone()))
                .await?;
            self.requeue_after(job, job.attempt + 1, MAX_RETRY_DELAY)
                .await?;
            return Ok(JobOutcome::Unconfirmed { reason });
        }
        self.ports
            .messages()
            .release_send(
                &job.organization_id,
                &message.id,
                lease,
                AttemptOutcome::Unknown,
            )
            .await?;
        let (attempt, delay) = self.requeue(job, job.attempt + 1).await?;
        Ok(JobOutcome::Reconciling { attempt, delay })
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
