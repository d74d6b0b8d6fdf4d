//! Contention is not failure: an album or a burst of messages to one conversation, delivered
//! all at once while DynamoDB refuses writes that meet a transaction in flight
//! (`scripts/emulator.py`), is stored once per message and counted once: in line, or, for
//! a message whose webhook had to answer while the summary stayed contended, by the
//! `CountInbound` job it queued.

use tokio::task::JoinSet;

use crate::emulator::Stack;
use crate::flows::{receive, signed, stack_with_demo_data};
use send_worker::SendWorker;
use shared::domain::ContactId;
use shared::domain::WorkerJob;
use shared::ports::{ConversationQuery, ConversationStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::{ACCOUNT_SID, org};
use twilio_webhook::TwilioWebhook;

const BURST: usize = 50;

/// The `n`th message of the burst; every other one carries a photo.
fn inbound(n: usize) -> shared::api::ApiGatewayV2httpRequest {
    let path = "/webhook/twilio/whatsapp/acme";
    let url = format!("https://abc123.execute-api.eu-west-1.amazonaws.com{path}");
    let sid = format!("SM{n:032x}");
    let mut params: Vec<(String, String)> = vec![
        ("MessageSid".into(), sid),
        ("AccountSid".into(), ACCOUNT_SID.into()),
        ("From".into(), "whatsapp:+60123456789".into()),
        ("To".into(), "whatsapp:+14155238886".into()),
        ("Body".into(), format!("part {n}")),
        ("ProfileName".into(), "Aisha".into()),
        ("WaId".into(), "60123456789".into()),
    ];
    if n.is_multiple_of(2) {
        params.extend([
            ("NumMedia".into(), "1".into()),
            ("MediaContentType0".into(), "image/jpeg".into()),
            (
                "MediaUrl0".into(),
                format!(
                    "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SM{n:032x}/Media/ME{n:032x}"
                ),
            ),
        ]);
    } else {
        params.push(("NumMedia".into(), "0".into()));
    }
    signed(
        path,
        "",
        "POST /webhook/twilio/whatsapp/{organization_id}",
        &url,
        &params,
    )
}

/// Delivers the whole burst at once, each webhook once (Twilio's default: no retry of an
/// answer), and answers each one's status.
async fn deliver_at_once(stack: &Stack) -> Vec<i64> {
    let webhook = TwilioWebhook::at(stack.ports(), None);
    let mut deliveries = JoinSet::new();
    for n in 0..BURST {
        let webhook = webhook.clone();
        deliveries.spawn(async move { webhook.handle(inbound(n)).await.status_code });
    }
    deliveries.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the AWS emulator"]
async fn a_burst_to_one_conversation_is_stored_once_each_and_counted() {
    let (stack, ports) = stack_with_demo_data().await;
    // DynamoDB keeps a transaction in flight for milliseconds; 50 ms makes every one of
    // the burst meet others.
    stack.transactions_in_flight(50).await;
    let statuses = deliver_at_once(&stack).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        BURST,
        "every webhook answered 200: {statuses:?}"
    );

    let deferred = count_deferred(&stack).await;
    println!("burst of {BURST}: {deferred} counted by a deferred job");

    let contact = ContactId::parse("c1").unwrap();
    let page = ports
        .messages
        .conversation(
            &org("acme"),
            &contact,
            ConversationQuery::Latest { limit: 200 },
        )
        .await
        .unwrap();
    let mut texts: Vec<_> = page
        .messages
        .iter()
        .filter_map(|m| m.text.clone())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(page.messages.len(), BURST, "each message stored once");
    assert_eq!(texts.len(), BURST);
    assert_eq!(
        page.messages
            .iter()
            .filter(|m| !m.attachments.is_empty())
            .count(),
        BURST / 2,
        "the photos are kept with their messages"
    );
    let summary = ports
        .messages
        .summary(&org("acme"), &contact)
        .await
        .unwrap()
        .expect("a conversation summary");
    assert_eq!(summary.unread(), BURST as u64, "each message counted once");
    assert_eq!(
        ports.messages.unread_total(&org("acme")).await.unwrap(),
        BURST as u64
    );

    // Delivered again (Twilio's retries of the same sids), all at once: nothing new.
    let again = deliver_at_once(&stack).await;
    assert!(again.iter().all(|s| *s == 200), "{again:?}");
    count_deferred(&stack).await;
    let summary = ports
        .messages
        .summary(&org("acme"), &contact)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.unread(), BURST as u64, "repeats count nothing");
}

/// Runs the worker on the queued `CountInbound` jobs, as the media queue's mapping would
/// (the media copies are left: Twilio's media are not reachable here), until none is left.
/// How many it ran.
async fn count_deferred(stack: &Stack) -> usize {
    let worker = SendWorker {
        ports: stack
            .ports()
            .with_sender(shared::memory::ScriptedSender::new()),
        settings: crate::flows::worker_settings(None),
    };
    let url = stack.resources.send_queue_url.clone().unwrap();
    let mut counted = 0;
    loop {
        let event = receive(stack, &url).await;
        if event.records.is_empty() {
            return counted;
        }
        for record in &event.records {
            let job: WorkerJob = serde_json::from_str(record.body.as_deref().unwrap()).unwrap();
            if matches!(job, WorkerJob::CountInbound { .. }) {
                worker.process(&job).await.expect("counted");
                counted += 1;
            }
            stack
                .sqs()
                .delete_message()
                .queue_url(&url)
                .receipt_handle(record.receipt_handle.clone().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}
