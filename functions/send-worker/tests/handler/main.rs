//! Handler tests: in-memory ports, API Gateway / SQS events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use chrono::Utc;
use shared::domain::{ContactId, Direction, MessageId, MessageType};
use shared::memory::{MemoryCredentials, MemoryPorts};
use shared::ports::ContactStore;
use shared::testing::{ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, org, secret_json};

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsEvent;
use shared::domain::{
    ChannelConfig, ContactChange, Message, MessageJob, MessageStatus, StatusChange, WorkerJob,
};
use shared::ports::{CredentialStore, MessageStore};
use shared::twilio::{OutboundContent, TwilioError};

use send_worker::*;

mod count;
mod erasure;
mod interactive;
mod look_alikes;
mod media_copy;
mod reconcile;
mod send;

type Worker = SendWorker<MemoryPorts>;

fn settings() -> WorkerSettings {
    WorkerSettings {
        max_attempts: 3,
        retry_base: Duration::from_secs(2),
        claim_lease: Duration::from_secs(30),
        twilio_timeout: std::time::Duration::from_secs(10),
        public_base_url: Some("https://api.example.com".into()),
        media_fetch_timeout: std::time::Duration::from_secs(20),
        media_copy_deadline: std::time::Duration::from_secs(40),
        content_unused_for: std::time::Duration::from_secs(30 * 86_400),
    }
}

async fn worker_with(credentials: MemoryCredentials) -> Worker {
    let ports = MemoryPorts::new("https://files.example.com").with_credentials(credentials);
    ports
        .contacts
        .put(&contact("org-a", "c1", "Aisha Rahman", "+60123456789"))
        .await
        .unwrap();
    SendWorker {
        ports,
        settings: settings(),
    }
}

async fn worker() -> Worker {
    let credentials = MemoryCredentials::new();
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    worker_with(credentials).await
}

/// A job of one message, as the tests look into it.
trait OfMessage {
    fn msg(&self) -> &MessageJob;
    /// The same kind of job for another message.
    fn for_message(&self, id: MessageId) -> WorkerJob;
}

impl OfMessage for WorkerJob {
    fn msg(&self) -> &MessageJob {
        match self {
            WorkerJob::Send(job) | WorkerJob::CopyMedia(job) => job,
            other => panic!("not a message's job: {other:?}"),
        }
    }

    fn for_message(&self, id: MessageId) -> WorkerJob {
        let job = MessageJob {
            message_id: id,
            ..self.msg().clone()
        };
        match self {
            WorkerJob::CopyMedia(_) => WorkerJob::CopyMedia(job),
            _ => WorkerJob::Send(job),
        }
    }
}

async fn pending(w: &Worker, text: &str) -> WorkerJob {
    pending_with(w, text, |_| {}).await
}

/// A PENDING message of the test contact, changed by `edit` before it is stored.
async fn pending_with(w: &Worker, text: &str, edit: impl FnOnce(&mut Message)) -> WorkerJob {
    let message = shared::testing::messages::a_message("org-a")
        .contact(Some("c1"))
        .text(text)
        .with(edit)
        .build();
    w.ports.messages.insert(&message).await.unwrap();
    WorkerJob::Send(MessageJob::new(&org("org-a"), message.id))
}

async fn stored(w: &Worker, job: &WorkerJob) -> Message {
    w.ports
        .messages
        .get(&job.msg().organization_id, &job.msg().message_id)
        .await
        .unwrap()
        .unwrap()
}

fn api_error(http_status: u16, code: u32, message: &str) -> TwilioError {
    TwilioError::Api {
        http_status,
        code: Some(code),
        message: message.into(),
        more_info: None,
    }
}

// ---------- exactly once: claims and reconciliation ----------
