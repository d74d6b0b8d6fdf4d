//! Send jobs: what Twilio's answers make of a send, the token read again once, the contact
//! or organization changed meanwhile, the SQS batch, an attachment's link.

use super::*;

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
