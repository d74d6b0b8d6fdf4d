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

mod erasure;
mod interactive;

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

#[tokio::test]
async fn sends_and_records_sent_with_the_twilio_sid() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    let JobOutcome::Sent { sid } = w.process(&job).await.unwrap() else {
        panic!("expected Sent");
    };
    let m = stored(&w, &job).await;
    assert_eq!(m.status, MessageStatus::Sent);
    assert_eq!(m.twilio_message_sid.as_deref(), Some(sid.as_str()));

    let attempts = w.ports.sender.attempts();
    assert_eq!(attempts.len(), 1);
    let (account, outbound) = &attempts[0];
    assert_eq!(account, ACCOUNT_SID);
    assert_eq!(outbound.to.as_str(), "+60123456789");
    assert_eq!(
        outbound.content,
        OutboundContent::FreeForm {
            body: Some("Hello".into()),
            media_url: None
        }
    );
    assert_eq!(
        outbound.status_callback.as_deref(),
        Some(
            format!(
                "https://api.example.com/webhook/twilio/whatsapp/org-a/status?message_id={}#ct=3000&rt=5000&rc=3&rp=ct,rt,5xx",
                job.msg().message_id
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn a_jobs_log_lines_name_its_organization_and_message_once_and_never_the_body() {
    let w = worker().await;
    let job = pending(&w, "A private note").await;
    let (logs, guard) = shared::testing::logs::capture();
    let JobOutcome::Sent { sid } = w.process(&job).await.unwrap() else {
        panic!("expected Sent");
    };
    drop(guard);
    let sent = logs.line("sent");
    assert_eq!(sent["span"]["organization_id"], "org-a");
    assert_eq!(sent["span"]["message_id"], job.msg().message_id.to_string());
    assert_eq!(sent["fields"]["twilio_message_sid"], sid.as_str());
    // Set on the span, not repeated on the line.
    assert!(sent["fields"].get("organization_id").is_none());
    for line in logs.lines() {
        assert!(!line.to_string().contains("A private note"), "{line}");
        assert!(!line.to_string().contains(AUTH_TOKEN), "{line}");
    }
}

#[tokio::test]
async fn a_redelivered_job_does_not_send_twice() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.process(&job).await.unwrap();
    assert_eq!(w.process(&job).await.unwrap(), JobOutcome::Skipped);
    assert_eq!(w.ports.sender.attempts().len(), 1);
    let unknown = job.for_message(MessageId::new());
    assert_eq!(w.process(&unknown).await.unwrap(), JobOutcome::Skipped);
}

/// How a job ends after Twilio's answers to its attempts (then success, if any attempt is
/// left): the worker is run as the queue redelivers it, one retry at a time.
struct FaultCase {
    name: &'static str,
    answers: Vec<TwilioError>,
    /// The backoff before each retry, in seconds.
    retry_delays: &'static [u64],
    /// None: SENT; Some: FAILED with exactly this reason.
    failed: Option<&'static str>,
    /// How many times Twilio was called.
    attempts: usize,
    unsubscribes: bool,
}

fn fault_cases() -> Vec<FaultCase> {
    let gave_up_429 = "Failed to send via WhatsApp: Too Many Requests (Twilio error 20429) (gave up after 3 attempts)";
    let mut cases = vec![
        FaultCase {
            name: "accepted at once",
            answers: vec![],
            retry_delays: &[],
            failed: None,
            attempts: 1,
            unsubscribes: false,
        },
        FaultCase {
            // The timeout may hide an accepted message: the third attempt asks Twilio first,
            // finds nothing, and sends.
            name: "a 500 and a timeout are retried with growing delays, then sent",
            answers: vec![
                api_error(500, 20500, "Internal Server Error"),
                TwilioError::Timeout,
            ],
            retry_delays: &[2, 4],
            failed: None,
            attempts: 3,
            unsubscribes: false,
        },
        FaultCase {
            name: "WhatsApp's rate limit (63018) is transient",
            answers: vec![api_error(429, 63018, "Rate limit exceeded")],
            retry_delays: &[2],
            failed: None,
            attempts: 2,
            unsubscribes: false,
        },
        FaultCase {
            name: "WhatsApp's rate limit on every attempt: FAILED, saying when to send again",
            answers: (0..3)
                .map(|_| api_error(429, 63018, "Rate limit exceeded"))
                .collect(),
            retry_delays: &[2, 4],
            failed: Some(
                "Failed to send via WhatsApp: WhatsApp's rate limit was reached: too many messages from your sender or to this contact, or more new conversations than your business's messaging limit allows (Twilio error 63018). Wait a few minutes before sending it again; if the business's limit was reached, new conversations can start again as active ones end.",
            ),
            attempts: 3,
            unsubscribes: false,
        },
        FaultCase {
            name: "429 on every attempt: FAILED after the last one",
            answers: (0..3)
                .map(|_| api_error(429, 20429, "Too Many Requests"))
                .collect(),
            retry_delays: &[2, 4],
            failed: Some(gave_up_429),
            attempts: 3,
            unsubscribes: false,
        },
        FaultCase {
            name: "an unsubscribed recipient (21610) fails and marks the contact",
            answers: vec![api_error(
                400,
                21610,
                "Attempt to send to unsubscribed recipient",
            )],
            retry_delays: &[],
            failed: Some(
                "Failed to send via WhatsApp: The contact opted out by replying STOP (Twilio error 21610). Nothing reaches them until they write to you again (or reply START).",
            ),
            attempts: 1,
            unsubscribes: true,
        },
        FaultCase {
            name: "a permanent error fails at once with Twilio's reason",
            answers: vec![api_error(
                400,
                21211,
                "The 'To' number is not a valid phone number.",
            )],
            retry_delays: &[],
            failed: Some(
                "Failed to send via WhatsApp: The 'To' number is not a valid phone number. (Twilio error 21211). It was not sent again; Twilio explains error 21211 at https://www.twilio.com/docs/api/errors/21211.",
            ),
            attempts: 1,
            unsubscribes: false,
        },
    ];
    // The same configuration after one re-read: no second try.
    for code in [20003, 63007, 21606] {
        cases.push(FaultCase {
            name: "a configuration error fails with the admin message",
            answers: vec![api_error(if code == 20003 { 401 } else { 400 }, code, "x")],
            retry_delays: &[],
            failed: Some(INVALID_CONFIGURATION),
            attempts: 1,
            unsubscribes: false,
        });
    }
    cases
}

#[tokio::test]
async fn twilios_answers_decide_how_a_send_ends() {
    for case in fault_cases() {
        let name = case.name;
        let w = worker().await;
        let first = pending(&w, "Hello").await;
        w.ports.sender.fail_next(case.answers);
        let mut job = first.clone();
        let mut delays = Vec::new();
        let outcome = loop {
            match w.process(&job).await.unwrap() {
                JobOutcome::Retrying { attempt, delay }
                | JobOutcome::Reconciling { attempt, delay } => {
                    assert_eq!(
                        stored(&w, &first).await.status,
                        MessageStatus::Pending,
                        "{name}"
                    );
                    let (next, queued_delay) = w.ports.queue.drain().remove(0);
                    assert_eq!(
                        (next.msg().attempt, queued_delay),
                        (attempt, delay),
                        "{name}"
                    );
                    delays.push(delay.as_secs());
                    job = next;
                }
                other => break other,
            }
        };
        assert_eq!(delays, case.retry_delays, "{name}");
        let m = stored(&w, &first).await;
        match case.failed {
            None => {
                let JobOutcome::Sent { sid } = outcome else {
                    panic!("{name}: {outcome:?}")
                };
                assert_eq!(m.status, MessageStatus::Sent, "{name}");
                assert_eq!(
                    m.twilio_message_sid.as_deref(),
                    Some(sid.as_str()),
                    "{name}"
                );
            }
            Some(reason) => {
                assert_eq!(
                    outcome,
                    JobOutcome::Failed {
                        reason: reason.into()
                    },
                    "{name}"
                );
                assert_eq!(m.status, MessageStatus::Failed, "{name}");
                assert_eq!(m.error_reason.as_deref(), Some(reason), "{name}");
            }
        }
        assert_eq!(w.ports.sender.attempts().len(), case.attempts, "{name}");
        assert!(
            w.ports.queue.jobs().is_empty(),
            "{name}: nothing left queued"
        );
        let contact = w
            .ports
            .contacts
            .get(&org("org-a"), &ContactId::parse("c1").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(contact.whatsapp_unsubscribed, case.unsubscribes, "{name}");
    }
}

/// A cached (stale) configuration until the worker refreshes it: a rotated token.
async fn rotated_credentials() -> MemoryCredentials {
    let credentials = MemoryCredentials::cached();
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, "old-token", SENDER, true),
    );
    credentials.channel_config(&org("org-a")).await.unwrap();
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, "new-token", SENDER, true),
    );
    credentials
}

fn auth_token(config: ChannelConfig) -> String {
    match config {
        ChannelConfig::Configured(c) => {
            secrecy::ExposeSecret::expose_secret(&c.auth_token).to_owned()
        }
        ChannelConfig::NotConfigured { why } => panic!("not configured: {why}"),
    }
}

#[tokio::test]
async fn a_rotated_token_is_read_again_once() {
    let w = worker_with(rotated_credentials().await).await;
    let cached = w
        .ports
        .credentials
        .channel_config(&org("org-a"))
        .await
        .unwrap();
    assert_eq!(
        auth_token(cached),
        "old-token",
        "the cache is stale before the send"
    );
    let job = pending(&w, "Hello").await;
    w.ports
        .sender
        .fail_next([api_error(401, 20003, "Authenticate")]);
    assert!(matches!(
        w.process(&job).await.unwrap(),
        JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.attempts().len(), 2);
    let refreshed = w
        .ports
        .credentials
        .channel_config(&org("org-a"))
        .await
        .unwrap();
    assert_eq!(auth_token(refreshed), "new-token", "the refresh is cached");
}

/// Only the API key changed (rotated apart from the auth token): a 20003 with the old key
/// reads the secret again and sends once more with the new key.
#[tokio::test]
async fn a_rotated_api_key_is_read_again_once() {
    let with_key = |key: &str| {
        let mut secret: serde_json::Value =
            serde_json::from_str(&secret_json(ACCOUNT_SID, "same-token", SENDER, true)).unwrap();
        secret["twilio_api_key_sid"] = serde_json::json!(key);
        secret["twilio_api_key_secret"] = serde_json::json!("key-secret");
        secret.to_string()
    };
    let credentials = MemoryCredentials::cached();
    credentials.put_secret(
        &org("org-a"),
        with_key("SK0000000000000000000000000000000a"),
    );
    credentials.channel_config(&org("org-a")).await.unwrap();
    credentials.put_secret(
        &org("org-a"),
        with_key("SK0000000000000000000000000000000b"),
    );
    let w = worker_with(credentials).await;
    let job = pending(&w, "Hello").await;
    w.ports
        .sender
        .fail_next([api_error(401, 20003, "Authenticate")]);
    assert!(matches!(
        w.process(&job).await.unwrap(),
        JobOutcome::Sent { .. }
    ));
    assert_eq!(
        w.ports.sender.attempts().len(),
        2,
        "the old key, then the new"
    );
    let ChannelConfig::Configured(now) = w
        .ports
        .credentials
        .channel_config(&org("org-a"))
        .await
        .unwrap()
    else {
        panic!("configured")
    };
    assert_eq!(
        now.rest_credentials().0,
        "SK0000000000000000000000000000000b"
    );
}

#[tokio::test]
async fn contact_that_opted_out_meanwhile_is_not_messaged() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports
        .contacts
        .update(
            &org("org-a"),
            &ContactId::parse("c1").unwrap(),
            &ContactChange {
                whatsapp_opt_in: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        w.process(&job).await.unwrap(),
        JobOutcome::Failed {
            reason: "Failed to send via WhatsApp: Contact has not opted in to WhatsApp.".into()
        }
    );
    assert!(w.ports.sender.attempts().is_empty());
}

#[tokio::test]
async fn unconfigured_organization_fails_the_message() {
    let w = worker_with(MemoryCredentials::new()).await;
    let job = pending(&w, "Hello").await;
    assert_eq!(
        w.process(&job).await.unwrap(),
        JobOutcome::Failed {
            reason: NOT_CONFIGURED.into()
        }
    );
    assert!(w.ports.sender.attempts().is_empty());
}

#[tokio::test]
async fn sqs_batch_reports_only_the_malformed_record() {
    let w = worker().await;
    let event: SqsEvent =
        serde_json::from_str(include_str!("../../../../events/send-worker.json")).unwrap();
    // The fixture's first record names this message.
    let job: WorkerJob = serde_json::from_str(event.records[0].body.as_deref().unwrap()).unwrap();
    w.ports
        .messages
        .insert(
            &shared::testing::messages::a_message(job.msg().organization_id.as_str())
                .contact(Some("c1"))
                .text("from the fixture")
                .with(|m| {
                    // The fixture's message, as the send route stored it.
                    m.id = job.msg().message_id;
                    m.revision = m.id;
                    m.contact_phone = None;
                })
                .build(),
        )
        .await
        .unwrap();
    let response = w.handle_sqs(event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["2e1424d4-f796-459a-8184-9c92662be6da"]);
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Sent);
}

#[test]
fn retry_delay_doubles_and_is_capped() {
    let base = Duration::from_secs(2);
    assert_eq!(retry_delay(base, 2), Duration::from_secs(2));
    assert_eq!(retry_delay(base, 3), Duration::from_secs(4));
    assert_eq!(retry_delay(base, 4), Duration::from_secs(8));
    assert_eq!(retry_delay(base, 40), Duration::from_secs(900));
}

#[tokio::test]
async fn an_attachment_goes_as_a_short_lived_media_url_with_its_caption() {
    let w = worker().await;
    let job = pending(&w, "Your invoice").await;
    // Give the stored message its attachment, as the send route would have.
    let mut message = stored(&w, &job).await;
    message.id = MessageId::new();
    message.revision = message.id;
    message.message_type = MessageType::Document;
    message.attachments = vec![shared::domain::Attachment {
        key: Some("org-a/sent/01J0/invoice.pdf".into()),
        url: None,
        content_type: "application/pdf".into(),
        filename: Some("invoice.pdf".into()),
        size: Some(100),
        error: None,
        card: None,
    }];
    w.ports.messages.insert(&message).await.unwrap();
    let job = job.for_message(message.id);
    assert!(matches!(
        w.process(&job).await.unwrap(),
        JobOutcome::Sent { .. }
    ));
    let (_, outbound) = w.ports.sender.attempts().pop().unwrap();
    let OutboundContent::FreeForm { body, media_url } = outbound.content else {
        panic!("free-form expected");
    };
    assert_eq!(body.as_deref(), Some("Your invoice"));
    // Our signed link, which answers HEAD as well as GET (see media-url), not a presigned GET.
    let url = media_url.unwrap();
    let prefix = "https://api.example.com/media/org-a/";
    assert!(
        url.starts_with(prefix) && url.ends_with("/invoice.pdf"),
        "{url}"
    );
    let token = url[prefix.len()..].split('/').next().unwrap();
    let link = shared::media_link::LinkToken::parse(token).unwrap();
    assert_eq!(link.key, "org-a/sent/01J0/invoice.pdf");
    assert_eq!(
        link.verify(AUTH_TOKEN, &org("org-a"), Utc::now().timestamp()),
        Ok(()),
        "signed with the organization's token"
    );
    assert!(link.expires <= Utc::now().timestamp() + 900, "short-lived");
}

const TWILIO_MEDIA: &str = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";

/// An inbound message with one media still at Twilio, and its copy job.
async fn inbound_with_media(w: &Worker) -> WorkerJob {
    inbound_with_files(w, &[TWILIO_MEDIA.to_owned()]).await
}

/// An inbound image message whose files are at these Twilio URLs, not copied yet.
async fn inbound_with_files(w: &Worker, urls: &[String]) -> WorkerJob {
    let job = pending(w, "").await;
    let mut message = stored(w, &job).await;
    message.id = MessageId::new();
    message.revision = message.id;
    message.direction = Direction::Inbound;
    message.status = MessageStatus::Received;
    message.text = None;
    message.message_type = MessageType::Image;
    message.attachments = urls
        .iter()
        .map(|url| shared::domain::Attachment {
            key: None,
            url: Some(url.clone()),
            content_type: "image/jpeg".into(),
            filename: None,
            size: None,
            error: None,
            card: None,
        })
        .collect();
    w.ports.messages.insert(&message).await.unwrap();
    WorkerJob::CopyMedia(job.msg().clone()).for_message(message.id)
}

#[tokio::test]
async fn inbound_media_is_copied_under_the_organizations_prefix() {
    let w = worker().await;
    let job = inbound_with_media(&w).await;
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Ok((
            b"\xff\xd8\xff\xe0jpeg".to_vec(),
            "image/jpeg".to_owned(),
        ))],
    );
    assert_eq!(w.process(&job).await.unwrap(), JobOutcome::MediaCopied);
    let m = stored(&w, &job).await;
    let key = m.attachments[0].key.clone().unwrap();
    assert_eq!(key, format!("org-a/inbound/{}/0.jpg", m.id));
    assert_eq!(m.attachments[0].size, Some(8));
    assert_eq!(
        w.ports.media.object(&key).unwrap().0,
        b"\xff\xd8\xff\xe0jpeg"
    );
    assert!(m.revision > job.msg().message_id, "pollers see the change");
}

/// Many large files: fetched concurrently, a few at a time (each may be 16 MB in a 128 MB
/// function); what is copied is kept, one that failed briefly is retried on its own, and
/// what the job's deadline left no room for goes to the next job without using an attempt.
#[tokio::test]
async fn a_messages_files_are_fetched_a_few_at_a_time_and_each_retried_on_its_own() {
    let mut w = worker().await;
    let url = |i: usize| format!("{TWILIO_MEDIA}-{i}");
    let job = inbound_with_files(&w, &(0..6).map(url).collect::<Vec<_>>()).await;
    let jpeg = || Ok((b"\xff\xd8\xff\xe0jpeg".to_vec(), "image/jpeg".to_owned()));
    for i in 0..6 {
        let answers = if i == 4 {
            vec![Err(TwilioError::Timeout), jpeg()]
        } else {
            vec![jpeg()]
        };
        w.ports.sender.media_answers(&url(i), answers);
    }
    w.ports.sender.media_delay(Duration::from_millis(50));
    let outcome = w.process(&job).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Retrying {
            attempt: 2,
            delay: Duration::from_secs(2)
        }
    );
    assert_eq!(
        w.ports.sender.media_most_at_once(),
        MEDIA_COPY_CONCURRENCY,
        "concurrent, a few at a time"
    );
    let m = stored(&w, &job).await;
    let copied: Vec<bool> = m.attachments.iter().map(|a| a.key.is_some()).collect();
    assert_eq!(copied, [true, true, true, true, false, true]);
    // The retry fetches only the one left.
    let (next, _) = w.ports.queue.drain().remove(0);
    assert_eq!(w.process(&next).await.unwrap(), JobOutcome::MediaCopied);
    let m = stored(&w, &job).await;
    assert!(
        m.attachments
            .iter()
            .all(|a| a.key.is_some() && a.error.is_none())
    );

    // No time left in the job: nothing starts, nothing is marked, the next job carries on
    // as the same attempt.
    w.settings.media_copy_deadline = Duration::ZERO;
    let job = inbound_with_media(&w).await;
    w.ports.sender.media_answers(TWILIO_MEDIA, [jpeg()]);
    assert_eq!(
        w.process(&job).await.unwrap(),
        JobOutcome::Retrying {
            attempt: 1,
            delay: Duration::ZERO
        }
    );
    assert_eq!(stored(&w, &job).await.attachments[0].error, None);
    w.settings.media_copy_deadline = Duration::from_secs(40);
    let (next, _) = w.ports.queue.drain().remove(0);
    assert_eq!(w.process(&next).await.unwrap(), JobOutcome::MediaCopied);
}

/// A received file is stored with the organization's retention tag, so the bucket deletes
/// it when its message expires.
#[tokio::test]
async fn a_received_file_carries_the_organizations_retention() {
    let credentials = MemoryCredentials::new();
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)
            .replace('}', r#","message_retention_days":365}"#),
    );
    let w = worker_with(credentials).await;
    let job = inbound_with_media(&w).await;
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Ok((
            b"\xff\xd8\xff\xe0jpeg".to_vec(),
            "image/jpeg".to_owned(),
        ))],
    );
    assert_eq!(w.process(&job).await.unwrap(), JobOutcome::MediaCopied);
    let key = stored(&w, &job).await.attachments[0].key.clone().unwrap();
    assert_eq!(w.ports.media.retention_days(&key), Some(365));
}

#[tokio::test]
async fn a_brief_404_is_retried_then_the_copy_succeeds() {
    let w = worker().await;
    let job = inbound_with_media(&w).await;
    let not_yet = TwilioError::Api {
        http_status: 404,
        code: Some(20404),
        message: "Not found".into(),
        more_info: None,
    };
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Err(not_yet), Ok((b"OggS".to_vec(), "audio/ogg".to_owned()))],
    );
    let JobOutcome::Retrying { attempt: 2, .. } = w.process(&job).await.unwrap() else {
        panic!("expected a retry")
    };
    let (retry, _) = w.ports.queue.drain().remove(0);
    assert!(matches!(retry, WorkerJob::CopyMedia(_)), "{retry:?}");
    assert_eq!(w.process(&retry).await.unwrap(), JobOutcome::MediaCopied);
    let m = stored(&w, &job).await;
    assert!(m.attachments[0].key.as_deref().unwrap().ends_with("/0.ogg"));
    assert_eq!(m.attachments[0].content_type, "audio/ogg");
}

#[tokio::test]
async fn media_that_cannot_be_fetched_is_marked_and_the_message_kept() {
    let w = worker().await;
    let job = inbound_with_media(&w).await;
    let gone = TwilioError::Api {
        http_status: 404,
        code: Some(20404),
        message: "Not found".into(),
        more_info: None,
    };
    w.ports.sender.media_answers(TWILIO_MEDIA, [Err(gone)]);
    let mut job = job;
    loop {
        match w.process(&job).await.unwrap() {
            JobOutcome::Retrying { .. } => job = w.ports.queue.drain().remove(0).0,
            JobOutcome::MediaCopied => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(job.msg().attempt, MEDIA_FETCH_ATTEMPTS);
    let m = stored(&w, &job).await;
    assert_eq!(m.attachments[0].key, None);
    assert_eq!(
        m.attachments[0].error.as_deref(),
        Some("The media could not be downloaded from WhatsApp.")
    );
    assert_eq!(
        m.status,
        MessageStatus::Received,
        "the message itself is kept"
    );
}

/// A media URL the policy refuses (another account's, a private address, too large) is not
/// worth a retry: the attachment is marked at once.
#[tokio::test]
async fn refused_media_is_marked_unavailable_without_retries() {
    for refusal in [
        shared::twilio::MediaRefusal::NotAccountMedia,
        shared::twilio::MediaRefusal::PrivateAddress,
        shared::twilio::MediaRefusal::TooLarge,
    ] {
        let w = worker().await;
        let job = inbound_with_media(&w).await;
        w.ports
            .sender
            .media_answers(TWILIO_MEDIA, [Err(TwilioError::MediaRefused(refusal))]);
        assert_eq!(w.process(&job).await.unwrap(), JobOutcome::MediaCopied);
        assert!(w.ports.queue.drain().is_empty(), "{refusal:?}: no retry");
        let m = stored(&w, &job).await;
        assert_eq!(m.attachments[0].key, None);
        assert_eq!(
            m.attachments[0].error.as_deref(),
            Some("The media could not be downloaded from WhatsApp.")
        );
    }
}

/// Whatever type a contact's file claims, only what WhatsApp displays is stored to be shown;
/// an HTML page is stored as an opaque download.
#[tokio::test]
async fn a_received_web_page_is_stored_as_a_download() {
    let w = worker().await;
    let job = inbound_with_media(&w).await;
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Ok((
            b"<script>alert(document.cookie)</script>".to_vec(),
            "text/html; charset=utf-8".to_owned(),
        ))],
    );
    assert_eq!(w.process(&job).await.unwrap(), JobOutcome::MediaCopied);
    let m = stored(&w, &job).await;
    let key = m.attachments[0].key.clone().unwrap();
    let (_, stored_type) = w.ports.media.object(&key).unwrap();
    assert_eq!(stored_type, "application/octet-stream");
    assert_eq!(w.ports.media.disposition(&key), Some("attachment"));
    assert_eq!(m.attachments[0].content_type, "text/html; charset=utf-8");

    let w = worker().await;
    let photo = inbound_with_media(&w).await;
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Ok((
            b"\xff\xd8\xff\xe0jpeg".to_vec(),
            "image/jpeg".to_owned(),
        ))],
    );
    assert_eq!(w.process(&photo).await.unwrap(), JobOutcome::MediaCopied);
    let key = stored(&w, &photo).await.attachments[0].key.clone().unwrap();
    assert_eq!(w.ports.media.object(&key).unwrap().1, "image/jpeg");
    assert_eq!(w.ports.media.disposition(&key), None);
}

// ---------- exactly once: claims and reconciliation ----------

/// Runs the job and every job it queues until one ends it.
async fn run_to_end(w: &Worker, job: &WorkerJob) -> JobOutcome {
    let mut job = job.clone();
    loop {
        match w.process(&job).await.unwrap() {
            JobOutcome::Retrying { .. } | JobOutcome::Reconciling { .. } => {
                job = w.ports.queue.drain().remove(0).0;
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn an_answer_lost_after_twilio_accepted_is_reconciled_not_resent() {
    for lost in [
        TwilioError::Timeout,
        TwilioError::ConnectionLost("dropped while reading the answer".into()),
        TwilioError::InvalidResponse("expected value at line 1".into()),
        // Twilio's edge can answer 5xx after the message was created behind it.
        api_error(502, 20500, "Bad Gateway"),
        api_error(503, 20503, "Service Unavailable"),
    ] {
        let w = worker().await;
        let job = pending(&w, "Your order shipped").await;
        w.ports.sender.accept_then_fail(lost.clone());
        let outcome = w.process(&job).await.unwrap();
        assert_eq!(
            outcome,
            JobOutcome::Reconciling {
                attempt: 2,
                delay: Duration::from_secs(2)
            },
            "{lost:?}: looked up before anything is sent again"
        );
        assert_eq!(stored(&w, &job).await.status, MessageStatus::Pending);
        let JobOutcome::Sent { sid } = run_to_end(&w, &job).await else {
            panic!("{lost:?}")
        };
        let accepted = w.ports.sender.accepted();
        assert_eq!(accepted.len(), 1, "{lost:?}: the contact got it once");
        assert_eq!(sid, accepted[0].1.sid, "{lost:?}: Twilio's sid recorded");
        assert_eq!(w.ports.sender.attempts().len(), 1, "{lost:?}");
        let m = stored(&w, &job).await;
        assert_eq!(
            (m.status, m.twilio_message_sid),
            (MessageStatus::Sent, Some(sid))
        );
    }
}

#[tokio::test]
async fn a_timeout_twilio_never_saw_is_sent_again_once() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.fail_next([TwilioError::Timeout]);
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.accepted().len(), 1);
    assert_eq!(w.ports.sender.attempts().len(), 2);
}

#[tokio::test]
async fn a_job_delivered_twice_at_once_sends_once() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    let gate = w.ports.sender.hold_next();
    let first = tokio::spawn({
        let w = w.clone();
        let job = job.clone();
        async move { w.process(&job).await }
    });
    // The first worker is at Twilio; SQS hands the same job to a second one.
    while w.ports.sender.attempts().is_empty() {
        tokio::task::yield_now().await;
    }
    let second = w.process(&job).await;
    assert!(
        matches!(second, Err(shared::ports::PortError::Unavailable(_))),
        "held by the first worker, so SQS delivers it again later: {second:?}"
    );
    gate.notify_one();
    assert!(matches!(
        first.await.unwrap().unwrap(),
        JobOutcome::Sent { .. }
    ));
    assert_eq!(
        w.process(&job).await.unwrap(),
        JobOutcome::Skipped,
        "the later delivery"
    );
    assert_eq!(w.ports.sender.attempts().len(), 1);
    assert_eq!(w.ports.sender.accepted().len(), 1);
}

#[tokio::test]
async fn a_worker_that_died_after_twilio_accepted_is_not_repeated() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    // The dead worker's claim (its lease long over) and the message it got through.
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);
    w.ports
        .messages
        .claim_send(
            &org("org-a"),
            &job.msg().message_id,
            an_hour_ago,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    let config = match w
        .ports
        .credentials
        .channel_config(&org("org-a"))
        .await
        .unwrap()
    {
        ChannelConfig::Configured(c) => c,
        ChannelConfig::NotConfigured { why } => panic!("{why}"),
    };
    let outbound = shared::twilio::OutboundMessage {
        to: shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
        content: OutboundContent::FreeForm {
            body: Some("Hello".into()),
            media_url: None,
        },
        status_callback: None,
    };
    use shared::ports::WhatsAppSender;
    let _ = w.ports.sender.send(&config, &outbound).await;
    // SQS delivers the job again.
    let JobOutcome::Sent { sid } = w.process(&job).await.unwrap() else {
        panic!("reconciled")
    };
    assert_eq!(sid, w.ports.sender.accepted()[0].1.sid);
    assert_eq!(w.ports.sender.accepted().len(), 1);
}

#[tokio::test]
async fn a_status_callback_that_came_first_settles_an_unknown_outcome() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    let sid = w.ports.sender.accepted()[0].1.sid.clone();
    // Twilio's `sent` callback carries our message id.
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &job.msg().message_id,
            &StatusChange::sent(&sid),
        )
        .await
        .unwrap();
    let (next, _) = w.ports.queue.drain().remove(0);
    assert_eq!(w.process(&next).await.unwrap(), JobOutcome::Skipped);
    w.ports.sender.fail_next_lists([TwilioError::Timeout]);
    assert_eq!(w.ports.sender.accepted().len(), 1);
}

#[tokio::test]
async fn when_twilio_cannot_say_whether_it_sent_it_stays_unconfirmed_and_is_never_resent() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.ports
        .sender
        .fail_next_lists((0..5).map(|_| TwilioError::Network("connection failed".into())));
    let JobOutcome::Unconfirmed { reason } = run_to_end(&w, &job).await else {
        panic!("an unknown outcome must end")
    };
    assert_eq!(
        reason,
        "Not confirmed by Twilio yet: could not reach Twilio: connection failed. It will not be sent again; its status updates when Twilio reports it."
    );
    assert_eq!(w.ports.sender.attempts().len(), 1, "never resent blindly");
    let m = stored(&w, &job).await;
    assert_eq!(
        (m.status, m.error_reason.as_deref()),
        (MessageStatus::Unconfirmed, Some(reason.as_str()))
    );
    // A later look at Twilio is queued, 15 minutes on.
    let (confirm, delay) = w.ports.queue.drain().remove(0);
    assert_eq!(delay, Duration::from_secs(900));
    // Twilio's list is readable again: it had the message after all.
    let JobOutcome::Sent { sid } = w.process(&confirm).await.unwrap() else {
        panic!("confirmed")
    };
    assert_eq!(sid, w.ports.sender.accepted()[0].1.sid);
    let m = stored(&w, &job).await;
    assert_eq!((m.status, m.error_reason), (MessageStatus::Sent, None));
    assert_eq!(w.ports.sender.attempts().len(), 1);
}

#[tokio::test]
async fn an_unconfirmed_message_twilio_never_got_fails_and_one_unreadable_for_hours_stays() {
    // Twilio never got it, and says so once its list can be read.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.fail_next([TwilioError::Timeout]);
    w.ports
        .sender
        .fail_next_lists((0..5).map(|_| TwilioError::Network("connection failed".into())));
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Unconfirmed { .. }
    ));
    let (confirm, _) = w.ports.queue.drain().remove(0);
    assert_eq!(
        w.process(&confirm).await.unwrap(),
        JobOutcome::Failed {
            reason: "Failed to send via WhatsApp: Twilio has no record of it, so it was not sent."
                .into()
        }
    );
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Failed);
    assert!(w.ports.sender.accepted().is_empty());

    // The list stays unreadable: a bounded number of looks, then it stays UNCONFIRMED.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.ports
        .sender
        .fail_next_lists((0..100).map(|_| TwilioError::Network("connection failed".into())));
    let mut outcome = run_to_end(&w, &job).await;
    let mut looks = 0;
    while let Some((next, delay)) = w.ports.queue.drain().pop() {
        assert_eq!(delay, Duration::from_secs(900));
        outcome = w.process(&next).await.unwrap();
        looks += 1;
    }
    assert_eq!(looks, CONFIRM_ATTEMPTS, "then no job is left");
    assert!(matches!(outcome, JobOutcome::Unconfirmed { .. }));
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Unconfirmed);
    assert_eq!(w.ports.sender.attempts().len(), 1);
}

/// The organization is switched off while a lost answer waits to be looked up: there is no
/// way to ask Twilio, so the message is UNCONFIRMED, not FAILED, and never sent again.
#[tokio::test]
async fn an_organization_switched_off_mid_doubt_leaves_the_message_unconfirmed() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    assert!(matches!(
        w.process(&job).await.unwrap(),
        JobOutcome::Reconciling { .. }
    ));
    w.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, false),
    );
    let (next, _) = w.ports.queue.drain().remove(0);
    let JobOutcome::Unconfirmed { reason } = w.process(&next).await.unwrap() else {
        panic!("a doubt, not a failure")
    };
    assert!(
        reason.starts_with("Not confirmed by Twilio yet: WhatsApp is not configured"),
        "{reason}"
    );
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Unconfirmed);
    assert_eq!(w.ports.sender.attempts().len(), 1);
}

/// Two parts that look alike at Twilio (media-only parts of a send with attachments, or two
/// "ok"s): both lose Twilio's answer, Twilio accepted only the first. Whatever the order, or
/// at the same time, each part ends with a Twilio message of its own: one adopts the
/// accepted message, the other is sent.
#[tokio::test]
async fn two_look_alike_parts_never_share_one_twilio_message() {
    for order in [
        "first part reconciles first",
        "second part reconciles first",
        "both at once",
        "the second stops between holding the sid and recording it",
    ] {
        let w = worker().await;
        let first = pending(&w, "ok").await;
        let second = pending(&w, "ok").await;
        w.ports.sender.accept_then_fail(TwilioError::Timeout);
        w.ports.sender.fail_next([TwilioError::Timeout]);
        let [a, b] = [&first, &second].map(|job| job.clone());
        assert!(matches!(
            w.process(&a).await.unwrap(),
            JobOutcome::Reconciling { .. }
        ));
        assert!(matches!(
            w.process(&b).await.unwrap(),
            JobOutcome::Reconciling { .. }
        ));
        let retries: Vec<WorkerJob> = w.ports.queue.drain().into_iter().map(|(j, _)| j).collect();
        let (retry_a, retry_b) = (retries[0].clone(), retries[1].clone());
        assert_eq!(w.ports.sender.accepted().len(), 1, "{order}");
        let (ea, eb) = match order {
            "first part reconciles first" => {
                let ea = run_to_end(&w, &retry_a).await;
                (ea, run_to_end(&w, &retry_b).await)
            }
            "second part reconciles first" => {
                let eb = run_to_end(&w, &retry_b).await;
                (run_to_end(&w, &retry_a).await, eb)
            }
            "both at once" => {
                tokio::join!(run_to_end(&w, &retry_a), run_to_end(&w, &retry_b))
            }
            _ => {
                // The second adopts the first's Twilio message, then its SENT write fails:
                // nothing records the sid on a message yet, only the hold.
                w.ports.messages.faults.fail_next("apply_status", 1);
                assert!(w.process(&retry_b).await.is_err(), "{order}");
                let ea = run_to_end(&w, &retry_a).await;
                // SQS delivers the second's job again once its claim is over (a claim
                // taken after the lease, its outcome unknown).
                let lapsed = Utc::now() + w.settings.claim_lease + Duration::from_secs(1);
                let shared::ports::SendClaim::Claimed { lease, .. } = w
                    .ports
                    .messages
                    .claim_send(
                        &org("org-a"),
                        &retry_b.msg().message_id,
                        lapsed,
                        w.settings.claim_lease,
                    )
                    .await
                    .unwrap()
                else {
                    panic!("{order}: the lapsed claim is taken over")
                };
                w.ports
                    .messages
                    .release_send(
                        &org("org-a"),
                        &retry_b.msg().message_id,
                        &lease,
                        shared::ports::AttemptOutcome::Unknown,
                    )
                    .await
                    .unwrap();
                (ea, run_to_end(&w, &retry_b).await)
            }
        };
        let (JobOutcome::Sent { sid: sid_a }, JobOutcome::Sent { sid: sid_b }) = (ea, eb) else {
            panic!("{order}: both sent")
        };
        assert_ne!(sid_a, sid_b, "{order}: one Twilio message each");
        let accepted: Vec<String> = w
            .ports
            .sender
            .accepted()
            .into_iter()
            .map(|(_, m)| m.sid)
            .collect();
        assert_eq!(
            accepted.len(),
            2,
            "{order}: the contact got two, as two were sent"
        );
        assert!(
            accepted.contains(&sid_a) && accepted.contains(&sid_b),
            "{order}"
        );
        for job in [&first, &second] {
            assert_eq!(stored(&w, job).await.status, MessageStatus::Sent, "{order}");
        }
    }
}

/// Twilio answers with a sid a look-alike adopted a moment before (reconciling its own lost
/// answer): that Twilio message is the look-alike's, and this one is looked for, then sent.
#[tokio::test]
async fn an_answer_whose_sid_a_look_alike_holds_is_not_recorded_twice() {
    let w = worker().await;
    let mine = pending(&w, "ok").await;
    let look_alike = pending(&w, "ok").await;
    let sid = "SM00000000000000000000000000000001".to_owned();
    w.ports.sender.next_sids([sid.clone()]);
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), &sid, &look_alike.msg().message_id)
            .await
            .unwrap()
    );
    let outcome = w.process(&mine).await.unwrap();
    assert!(
        matches!(outcome, JobOutcome::Reconciling { attempt: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(stored(&w, &mine).await.status, MessageStatus::Pending);
    let JobOutcome::Sent { sid: own } = run_to_end(&w, &mine).await else {
        panic!("sent")
    };
    assert_ne!(own, sid);
    assert_eq!(w.ports.sender.accepted().len(), 2);
}

/// A message found at Twilio while reconciling is recorded with the status Twilio lists for
/// it: callbacks that came before it was held found no holder, and are not lost.
#[tokio::test]
async fn an_adopted_message_takes_the_status_twilio_lists() {
    let cases = [
        ("queued", None, MessageStatus::Sent, None),
        ("delivered", None, MessageStatus::Delivered, None),
        ("read", None, MessageStatus::Read, None),
        (
            "undelivered",
            Some(63016),
            MessageStatus::Failed,
            Some(shared::domain::sentences::OUTSIDE_WINDOW),
        ),
    ];
    for (listed_status, code, expected, reason) in cases {
        let w = worker().await;
        let job = pending(&w, "Hello").await;
        w.ports.sender.fail_next([TwilioError::Timeout]);
        w.process(&job).await.unwrap();
        let sid = shared::twilio::new_message_sid();
        w.ports.sender.sent_elsewhere(
            shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
            shared::twilio::ListedMessage {
                sid: sid.clone(),
                body: Some("Hello".into()),
                num_media: Some("0".into()),
                date_created: Some(Utc::now().to_rfc2822()),
                status: Some(listed_status.into()),
                from: Some(format!("whatsapp:{SENDER}")),
                messaging_service_sid: None,
                error_code: code,
                error_message: None,
            },
        );
        assert_eq!(
            run_to_end(&w, &job).await,
            JobOutcome::Sent { sid: sid.clone() },
            "{listed_status}"
        );
        let m = stored(&w, &job).await;
        assert_eq!(
            (
                m.status,
                m.twilio_message_sid.as_deref(),
                m.error_reason.as_deref()
            ),
            (expected, Some(sid.as_str()), reason),
            "{listed_status}"
        );
        assert_eq!(
            w.ports.sender.attempts().len(),
            1,
            "{listed_status}: posted once"
        );
    }
}

/// The number changes in the CRM between a lost answer and the retry: the retry looks where
/// the message went, and a message Twilio never got goes to the new number, recorded.
#[tokio::test]
async fn a_number_changed_mid_retry_is_reconciled_where_the_send_went() {
    let new_number = "+60198765432";
    let change_number = |w: &Worker| {
        let w = w.clone();
        async move {
            w.ports
                .contacts
                .put(&contact("org-a", "c1", "Aisha Rahman", new_number))
                .await
                .unwrap();
        }
    };
    // Accepted at the old number: found there, never sent to the new one.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    change_number(&w).await;
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Sent { .. }
    ));
    let accepted = w.ports.sender.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].0.as_str(), "+60123456789");
    assert_eq!(
        stored(&w, &job).await.contact_phone.as_deref(),
        Some("+60123456789")
    );

    // Not accepted: sent to the new number, and the message says so.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.fail_next([TwilioError::Timeout]);
    w.process(&job).await.unwrap();
    change_number(&w).await;
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Sent { .. }
    ));
    let accepted = w.ports.sender.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].0.as_str(), new_number);
    let m = stored(&w, &job).await;
    assert_eq!(m.contact_phone.as_deref(), Some(new_number));
    assert_ne!(m.revision, job.msg().message_id, "pollers see the change");
}

/// The organization's sender changes between a lost answer and the retry: Twilio lists the
/// message from the old sender. It is not sent again from the new one (the contact would
/// get it twice), nor taken as this message (it may be another system's): it stays in doubt.
#[tokio::test]
async fn a_sender_changed_mid_retry_never_sends_the_message_again() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    w.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, "+15557654321", true),
    );
    let outcome = run_to_end(&w, &job).await;
    assert!(
        matches!(outcome, JobOutcome::Unconfirmed { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        w.ports.sender.accepted().len(),
        1,
        "the contact got it once"
    );
    assert_eq!(w.ports.sender.attempts().len(), 1, "never posted again");
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Unconfirmed);
}

/// Twilio's list, read as far as the worker reads it, is full of another sender's messages
/// to the contact (another Messaging Service of the account): the attempt's own message is
/// further back, so its absence from what was read proves nothing.
#[tokio::test]
async fn a_list_full_of_another_senders_messages_proves_no_absence() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    let to = shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap();
    let read_at_most =
        shared::twilio::RECONCILE_PAGE_SIZE as usize * shared::twilio::RECONCILE_MAX_PAGES;
    for i in 0..read_at_most {
        w.ports.sender.sent_elsewhere(
            to.clone(),
            shared::twilio::ListedMessage {
                sid: shared::twilio::new_message_sid(),
                body: Some(format!("Reminder {i}")),
                num_media: Some("0".into()),
                date_created: Some(Utc::now().to_rfc2822()),
                status: Some("delivered".into()),
                from: Some("whatsapp:+15557654321".into()),
                messaging_service_sid: Some("MG00000000000000000000000000000002".into()),
                error_code: None,
                error_message: None,
            },
        );
    }
    let outcome = run_to_end(&w, &job).await;
    assert!(
        matches!(outcome, JobOutcome::Unconfirmed { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.ports.sender.attempts().len(), 1, "never posted again");
    assert_eq!(
        w.ports.sender.accepted().len(),
        read_at_most + 1,
        "the contact got it once"
    );
}

/// A request is posted only while the claim outlasts it: otherwise another delivery of the
/// job could take the message while the request is in flight.
#[tokio::test]
async fn a_send_is_not_posted_when_its_claim_could_lapse_in_flight() {
    let mut w = worker().await;
    w.settings.claim_lease = w.settings.twilio_timeout + CLAIM_MARGIN;
    let job = pending(&w, "Hello").await;
    let outcome = w.process(&job).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Retrying {
            attempt: 1,
            delay: Duration::from_secs(2)
        },
        "the same attempt, later"
    );
    assert!(w.ports.sender.attempts().is_empty(), "nothing posted");
    // The claim was cleared: the next delivery sends at once, without reconciling.
    w.settings.claim_lease = w.settings.twilio_timeout + CLAIM_MARGIN + Duration::from_secs(2);
    let (next, _) = w.ports.queue.drain().remove(0);
    assert!(matches!(
        w.process(&next).await.unwrap(),
        JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.attempts().len(), 1);
}

#[test]
fn reconciliation_matches_body_media_time_and_unclaimed_sids() {
    use shared::twilio::ListedMessage;
    let now = Utc::now();
    let listed = |sid: &str, body: &str, media: &str, at: chrono::DateTime<Utc>| ListedMessage {
        sid: sid.into(),
        body: Some(body.into()),
        num_media: Some(media.into()),
        date_created: Some(at.to_rfc2822()),
        status: Some("delivered".into()),
        from: Some(format!("whatsapp:{SENDER}")),
        messaging_service_sid: None,
        error_code: None,
        error_message: None,
    };
    let message = Message::outbound_pending(
        &org("org-a"),
        &ContactId::parse("c1").unwrap(),
        &shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
        shared::domain::OutboundPart {
            message_type: MessageType::Text,
            text: Some("Hello".into()),
            attachment: None,
        },
        now,
    );
    let page = [
        listed("SM3", "Hello", "0", now + chrono::Duration::seconds(5)),
        listed("SM2", "Hello", "0", now + chrono::Duration::seconds(1)),
        listed("SM_other_text", "Bye", "0", now),
        listed("SM_media", "Hello", "1", now),
        listed("SM_old", "Hello", "0", now - chrono::Duration::hours(1)),
    ];
    let found = find_sent(&message, now, &page, |_| false).unwrap();
    assert_eq!(
        found.sid, "SM2",
        "the earliest match since the first attempt"
    );
    let found = find_sent(&message, now, &page, |sid| sid == "SM2").unwrap();
    assert_eq!(
        found.sid, "SM3",
        "a sid another message holds is not this one"
    );
    assert!(find_sent(&message, now, &page[2..], |_| false).is_none());
}

/// A template message goes as ContentSid + ContentVariables (a JSON object as a string),
/// never with a Body; a lost answer is reconciled by its rendered text like any other.
#[tokio::test]
async fn a_template_goes_as_content_sid_and_variables_and_is_reconciled() {
    let w = worker().await;
    let sid = "HX00000000000000000000000000000001";
    w.ports
        .sender
        .set_templates(vec![shared::testing::template(sid, "order_shipped")]);
    // Stored as the send route stores a template message: its text is the rendered body.
    let mut message = Message::outbound_pending(
        &org("org-a"),
        &ContactId::parse("c1").unwrap(),
        &shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
        shared::domain::OutboundPart {
            message_type: MessageType::Text,
            text: Some("Hi Aisha, thanks for your order.".into()),
            attachment: None,
        },
        Utc::now(),
    );
    message.template = Some(shared::domain::SentTemplate {
        content_sid: sid.into(),
        name: "order_shipped".into(),
        variables: [("1".to_owned(), "Aisha".to_owned())].into(),
    });
    w.ports.messages.insert(&message).await.unwrap();
    let job = WorkerJob::Send(MessageJob::new(&org("org-a"), message.id));
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    let JobOutcome::Sent { sid: twilio_sid } = run_to_end(&w, &job).await else {
        panic!("expected Sent");
    };
    let attempts = w.ports.sender.attempts();
    assert_eq!(
        attempts.len(),
        1,
        "found at Twilio by its rendered text, not resent"
    );
    assert_eq!(
        attempts[0].1.content,
        OutboundContent::Template {
            content_sid: sid.into(),
            content_variables: Some(r#"{"1":"Aisha"}"#.into()),
        }
    );
    let ChannelConfig::Configured(config) =
        shared::domain::parse_org_secret(&secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true))
    else {
        panic!("the test secret is complete")
    };
    let form = attempts[0].1.form(&config);
    assert!(form.iter().any(|(k, v)| *k == "ContentSid" && v == sid));
    assert!(!form.iter().any(|(k, _)| *k == "Body" || *k == "MediaUrl"));
    assert_eq!(stored(&w, &job).await.twilio_message_sid, Some(twilio_sid));
}

/// A shared contact card is copied like any file, and its name and numbers are read for the
/// conversation; a card that cannot be read is still copied, just shown as a file.
#[tokio::test]
async fn a_shared_contact_card_is_copied_and_read() {
    for (bytes, expected) in [
        (
            &b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Lim\r\nTEL;type=CELL:+60 12-345 6781\r\nEND:VCARD\r\n"[..],
            Some(shared::domain::ContactCard {
                name: "Grace Lim".into(),
                phones: vec!["+60 12-345 6781".into()],
            }),
        ),
        (&b"not a card at all"[..], None),
    ] {
        let w = worker().await;
        let job = inbound_with_media(&w).await;
        w.ports
            .sender
            .media_answers(TWILIO_MEDIA, [Ok((bytes.to_vec(), "text/vcard".to_owned()))]);
        assert_eq!(w.process(&job).await.unwrap(), JobOutcome::MediaCopied);
        let m = stored(&w, &job).await;
        let attachment = &m.attachments[0];
        assert_eq!(attachment.content_type, "text/vcard");
        assert!(attachment.key.as_deref().unwrap().ends_with("/0.vcf"));
        assert_eq!(attachment.card, expected);
    }
}

/// `CountInbound`: an inbound message its webhook stored uncounted is counted in its
/// conversation, once however often the job comes; a job for an unknown message is skipped.
#[tokio::test]
async fn a_deferred_count_counts_the_message_once() {
    let w = worker().await;
    let org_a = shared::testing::org("org-a");
    let contact = shared::domain::ContactId::parse("c1").unwrap();
    let phone = shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap();
    let message = shared::domain::Message::inbound(
        &org_a,
        Some(contact.clone()),
        Some(&phone),
        "SM99999999999999999999999999999999",
        Some("part of an album".into()),
        vec![],
        chrono::Utc::now(),
    );
    w.ports.messages.faults.fail_next("count_inline", 1);
    assert_eq!(
        w.ports.messages.insert_inbound(&message).await.unwrap(),
        shared::ports::InboundInsert::StoredUncounted
    );
    let job = WorkerJob::CountInbound {
        organization_id: org_a.clone(),
        message_id: message.id,
    };
    let unread = || async {
        use shared::ports::ConversationStore;
        w.ports
            .messages
            .summary(&org_a, &contact)
            .await
            .unwrap()
            .map_or(0, |s| s.unread())
    };
    assert_eq!(unread().await, 0);
    let window = || async {
        w.ports
            .contacts
            .get(&org_a, &contact)
            .await
            .unwrap()
            .and_then(|c| c.last_inbound_at)
    };
    assert!(
        window().await < Some(message.created_at),
        "before the job, the window is the contact's earlier one"
    );
    for _ in 0..3 {
        assert_eq!(w.process(&job).await.unwrap(), JobOutcome::Counted);
    }
    assert_eq!(unread().await, 1);
    assert_eq!(
        window().await,
        Some(message.created_at),
        "the job moved the contact's 24-hour window"
    );
    let unknown = WorkerJob::CountInbound {
        organization_id: org_a.clone(),
        message_id: shared::domain::MessageId::new(),
    };
    assert_eq!(w.process(&unknown).await.unwrap(), JobOutcome::Skipped);
}
