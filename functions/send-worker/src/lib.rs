//! The send worker: takes a queued job, sends the PENDING message through Twilio and records
//! SENT (with the Twilio sid) or FAILED (with the reason). Transient failures are retried
//! with exponential backoff by re-queueing the job with a delay; after the last attempt the
//! message is FAILED, so no accepted message stays PENDING. A send whose outcome Twilio
//! never confirmed ends UNCONFIRMED, never sent again (`reconcile`). The same queue's
//! functions also copy inbound media (`media_copy`) and erase a deleted contact's data
//! (`erasure`).
//!
//! One job per module, and calls only go down (`shared/tests/module_loops.rs` holds it):
//! - here: the settings, the SQS batch, and which job a record is;
//! - `send` (a send job: claim, then attempt or reconcile) → `reconcile` (look for the
//!   message at Twilio before any resend) → `attempt` (one POST to Twilio, its answer) →
//!   `interactive` (the Content a button or list message goes out as) → `outcome` (how an
//!   attempt ends: record, fail, queue again, what a Twilio failure means);
//! - `content_sweep` (Contents left unused), `count` (an inbound message counted later),
//!   `media_copy` (inbound media into the bucket), `erasure` (a deleted contact's data).
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod attempt;
mod content_sweep;
mod count;
mod erasure;
mod interactive;
mod media_copy;
mod outcome;
mod reconcile;
mod send;

use std::time::Duration;

pub use erasure::{ERASURE_CONCURRENCY, ERASURE_PAGE};
pub use media_copy::{MEDIA_COPY_CONCURRENCY, MEDIA_FETCH_ATTEMPTS};
pub use outcome::{JobOutcome, RECONCILE_ATTEMPTS, retry_delay};
pub use reconcile::{CLOCK_SKEW, CONFIRM_ATTEMPTS, candidates, find_sent, reaches_back};
pub use shared::config::CLAIM_MARGIN;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use shared::config::Settings;
use shared::domain::WorkerJob;
use shared::ports::{PortError, Ports};
use shared::runtime::Handler;
use shared::telemetry;
use tracing::Instrument;

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
}
