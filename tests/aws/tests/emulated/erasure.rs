//! A contact deleted in the CRM, end to end on the emulator: sends (with an Idempotency-Key)
//! and replies stored by the real handlers, files in the bucket, the contact's removal as the
//! table's stream hands it to the indexer, the erasure jobs through SQS to the worker. Then
//! every table and the bucket are read whole: nothing of the contact is left, and everything
//! of everyone else is.

use std::collections::BTreeSet;

use aws_lambda_events::event::dynamodb::Event;
use contact_indexer::ContactIndexer;
use send_message::SendApi;
use send_worker::{JobOutcome, SendWorker};
use serde_json::json;
use shared::aws::AwsPorts;
use shared::domain::{Attachment, ContactId, ErasureJob, MessageId, WorkerJob, served_as};
use shared::memory::ScriptedSender;
use shared::ports::{ContactStore, MediaStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::{ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, jwt_event, org, secret_json};

use crate::emulator::Stack;
use crate::flows::{acknowledge, receive, signed, stack_with_demo_data};

type Item = std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>;

/// Every item of a table (a Scan: the test reads everything, the product never does).
async fn scan(stack: &Stack, table: &str) -> Vec<Item> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(out.items.unwrap_or_default());
        start = out.last_evaluated_key.filter(|k| !k.is_empty());
        if start.is_none() {
            return items;
        }
    }
}

fn text(item: &Item, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// The keys of every item of a table, by the attributes that make them up.
async fn keys(stack: &Stack, table: &str, key: &[&str]) -> BTreeSet<String> {
    scan(stack, table)
        .await
        .iter()
        .map(|item| {
            key.iter()
                .map(|k| text(item, k))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

async fn objects(stack: &Stack) -> BTreeSet<String> {
    let s3 = aws_sdk_s3::Client::new(&stack.sdk);
    let out = s3
        .list_objects_v2()
        .bucket(stack.resources.media_bucket.clone().unwrap())
        .send()
        .await
        .unwrap();
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// An inbound message with a file in the bucket, as the webhook and the media copy leave it.
async fn reply_with_file(ports: &AwsPorts, o: &str, c: &str, n: u32) {
    let key = ports
        .media
        .put(
            &org(o),
            &format!("{o}/inbound/{c}-{n}.jpg"),
            vec![0xff, 0xd8, 0xff, 0xe0],
            &served_as("image/jpeg"),
            None,
        )
        .await
        .unwrap();
    let message = shared::domain::Message::inbound(
        &org(o),
        Some(ContactId::parse(c).unwrap()),
        None,
        &format!(
            "MM{:0>32}",
            format!("{o}{c}{n}")
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
        Some("a photo".into()),
        vec![Attachment {
            key: Some(key),
            url: None,
            content_type: "image/jpeg".into(),
            filename: None,
            size: Some(4),
            error: None,
            card: None,
        }],
        chrono::Utc::now(),
    );
    assert_eq!(
        ports.messages.insert_inbound(&message).await.unwrap(),
        shared::ports::InboundInsert::Stored
    );
    ports
        .messages
        .inbound_effects_done(&org(o), message.twilio_message_sid.as_deref().unwrap())
        .await
        .unwrap();
}

/// A text reply through the webhook, signed as Twilio signs it.
async fn reply_through_webhook(ports: &AwsPorts, o: &str, from: &str, sid: &str) {
    let webhook = twilio_webhook::TwilioWebhook::at(ports.clone(), None);
    let path = format!("/webhook/twilio/whatsapp/{o}");
    let url = format!("https://abc123.execute-api.eu-west-1.amazonaws.com{path}");
    let params: Vec<(String, String)> = [
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", &format!("whatsapp:{from}")),
        ("To", "whatsapp:+14155238886"),
        ("Body", "Thanks!"),
        ("NumMedia", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let mut event = signed(
        &path,
        "",
        "POST /webhook/twilio/whatsapp/{organization_id}",
        &url,
        &params,
    );
    event
        .path_parameters
        .insert("organization_id".into(), o.into());
    assert_eq!(webhook.handle(event).await.status_code, 200);
}

/// The contacts table's stream record of a deletion, as Lambda delivers it.
fn removal(o: &str, c: &str) -> Event {
    serde_json::from_value(json!({"Records": [{
        "eventID": "7de3041dd709b024af6f29e4fa13d34c",
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1764000000.0,
            "Keys": {"organization_id": {"S": o}, "contact_id": {"S": c}},
            "OldImage": {
                "organization_id": {"S": o}, "contact_id": {"S": c}, "name": {"S": "Aisha Rahman"},
                "phone_number": {"S": "+60123456789"}, "whatsapp_opt_in": {"BOOL": true},
                "whatsapp_blocked": {"BOOL": false}, "whatsapp_unsubscribed": {"BOOL": false},
                "version": {"N": "2"}
            },
            "SequenceNumber": "111100000000000000000042",
            "SizeBytes": 180,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/it-contacts/stream/2026-12-01T00:00:00.000"
    }]}))
    .unwrap()
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn a_deleted_contact_leaves_nothing_in_any_table_or_the_bucket() {
    let (stack, ports) = stack_with_demo_data().await;
    stack
        .put_secret(
            "globex",
            &secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
        )
        .await;
    for (o, c, name, phone) in [
        ("acme", "c2", "Ben Ong", "+6591234567"),
        ("globex", "c1", "Aisha Rahman", "+60123456789"),
    ] {
        ports
            .contacts
            .put(&contact(o, c, name, phone))
            .await
            .unwrap();
    }
    let url = stack.resources.send_queue_url.clone().unwrap();
    let sender = ScriptedSender::new();
    let worker = SendWorker {
        ports: ports.clone().with_sender(sender.clone()),
        settings: crate::flows::worker_settings(Some("https://api.example.com")),
    };
    // Each contact: a send with an Idempotency-Key (sent, its sid held), a text reply
    // through the webhook, three replies with files.
    let send = SendApi {
        ports: ports.clone(),
        org_claim: "custom:organization_id".into(),
        templates: shared::template_cache::TemplateCache::new(std::time::Duration::from_secs(60)),
    };
    for (n, (o, c, from)) in [
        ("acme", "c1", "+60123456789"),
        ("acme", "c2", "+6591234567"),
        ("globex", "c1", "+60123456789"),
    ]
    .into_iter()
    .enumerate()
    {
        let body = format!(r#"{{"contact_id":"{c}","text":"Your order shipped"}}"#);
        let mut request = jwt_event("POST", "/whatsapp/messages", "", Some(o), Some(&body));
        request
            .headers
            .insert("idempotency-key", format!("compose-{n}").parse().unwrap());
        assert_eq!(send.handle(request).await.status_code, 202);
        reply_through_webhook(&ports, o, from, &format!("SM{n:032}")).await;
        for file in 0..3 {
            reply_with_file(&ports, o, c, file).await;
        }
    }
    let event = receive(&stack, &url).await;
    assert_eq!(event.records.len(), 3);
    assert!(
        worker
            .handle_sqs(event.clone())
            .await
            .batch_item_failures
            .is_empty()
    );
    acknowledge(&stack, &url, &event, &[]).await;
    assert_eq!(sender.attempts().len(), 3);

    let tables = &stack.resources;
    let messages_before = scan(&stack, &tables.messages_table).await;
    // Everything of acme's c1 in the messages table: its messages, the `SID#` items of their
    // sids, its send's idempotency record, its conversation's inbox row.
    let mut erased: BTreeSet<String> = BTreeSet::new();
    for item in messages_before
        .iter()
        .filter(|i| text(i, "conversation") == "acme#c1")
    {
        erased.insert(text(item, "item_key"));
        if item.contains_key("twilio_message_sid") {
            erased.insert(format!("acme#SID#{}", text(item, "twilio_message_sid")));
        }
        if item.contains_key("idempotency_key") {
            erased.insert(format!("acme#IDEM#{}", text(item, "idempotency_key")));
        }
    }
    erased.insert("acme#CONV#c1".to_owned());
    assert_eq!(
        erased.len(),
        5 + 5 + 1 + 1,
        "5 messages, their 5 sids, 1 record, 1 inbox row: {erased:?}"
    );
    let all_before = keys(&stack, &tables.messages_table, &["item_key"]).await;
    assert!(erased.is_subset(&all_before));
    let files_before = objects(&stack).await;
    let erased_files: BTreeSet<String> = files_before
        .iter()
        .filter(|k| k.starts_with("acme/inbound/c1-") || k.starts_with("acme/sent/"))
        .cloned()
        .collect();
    assert_eq!(erased_files.len(), 3);
    let terms_before = keys(
        &stack,
        &tables.contact_search_table,
        &["organization_id", "term_key"],
    )
    .await;

    // The CRM deletes acme's c1; the stream hands the removal to the indexer.
    ports
        .contacts
        .delete(&org("acme"), &ContactId::parse("c1").unwrap())
        .await
        .unwrap();
    let indexer = ContactIndexer::new(
        ports.contacts.search_index().cloned().unwrap(),
        ports.queue.clone(),
    );
    assert!(
        indexer
            .handle(removal("acme", "c1"))
            .await
            .batch_item_failures
            .is_empty()
    );
    // The erasure jobs, as the event source mapping delivers them, until only the final
    // sweep (15 minutes away) is left.
    let mut erased_by_jobs = 0;
    loop {
        let event = receive(&stack, &url).await;
        if event.records.is_empty() {
            break;
        }
        assert!(
            worker
                .handle_sqs(event.clone())
                .await
                .batch_item_failures
                .is_empty()
        );
        acknowledge(&stack, &url, &event, &[]).await;
        erased_by_jobs += event.records.len();
    }
    assert!(erased_by_jobs >= 1);
    // A writer that read the contact before its deletion stores a reply after the sweep;
    // the final sweep takes it.
    reply_with_file(&ports, "acme", "c1", 9).await;
    let final_sweep = WorkerJob::EraseContact(ErasureJob {
        organization_id: org("acme"),
        contact_id: ContactId::parse("c1").unwrap(),
        older_than: MessageId::ceiling(),
        sweep: 2,
    });
    assert_eq!(
        worker.process(&final_sweep).await.unwrap(),
        JobOutcome::Erased {
            messages: 1,
            done: true
        }
    );

    let all_after = keys(&stack, &tables.messages_table, &["item_key"]).await;
    let expected: BTreeSet<String> = all_before.difference(&erased).cloned().collect();
    assert_eq!(all_after, expected, "exactly the contact's items went");
    assert!(
        scan(&stack, &tables.messages_table)
            .await
            .iter()
            .all(|i| text(i, "conversation") != "acme#c1")
    );
    let files_after = objects(&stack).await;
    let expected: BTreeSet<String> = files_before.difference(&erased_files).cloned().collect();
    assert_eq!(files_after, expected, "exactly the contact's files went");
    let terms_after = keys(
        &stack,
        &tables.contact_search_table,
        &["organization_id", "term_key"],
    )
    .await;
    assert!(
        terms_after
            .iter()
            .all(|k| !(k.starts_with("acme|") && k.ends_with("#c1")))
    );
    assert_eq!(
        terms_before
            .iter()
            .filter(|k| !(k.starts_with("acme|") && k.ends_with("#c1")))
            .collect::<Vec<_>>(),
        terms_after.iter().collect::<Vec<_>>(),
        "other contacts keep their terms"
    );
    let contacts = keys(
        &stack,
        &tables.contacts_table,
        &["organization_id", "contact_id"],
    )
    .await;
    assert_eq!(
        contacts.into_iter().collect::<Vec<_>>(),
        ["acme|c2", "globex|c1"]
    );
}

/// A removal the indexer gave up on (its dead-letter queue holds sequence numbers, not
/// contacts): `local erase` queues the erasure by hand; a contact still in the table is
/// refused.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn local_erase_queues_what_the_stream_lost() {
    let (stack, ports) = stack_with_demo_data().await;
    ports
        .contacts
        .put(&contact("acme", "c2", "Ben Ong", "+6591234567"))
        .await
        .unwrap();
    reply_with_file(&ports, "acme", "c1", 1).await;
    reply_with_file(&ports, "acme", "c2", 1).await;
    // The CRM deletes c1; no indexer sees it.
    aws_sdk_dynamodb::Client::new(&stack.sdk)
        .delete_item()
        .table_name(&stack.resources.contacts_table)
        .key(
            "organization_id",
            aws_sdk_dynamodb::types::AttributeValue::S("acme".into()),
        )
        .key(
            "contact_id",
            aws_sdk_dynamodb::types::AttributeValue::S("c1".into()),
        )
        .send()
        .await
        .unwrap();
    let (c1, c2) = (
        ContactId::parse("c1").unwrap(),
        ContactId::parse("c2").unwrap(),
    );
    let done = local::erase::queue_erasures(
        &stack.sdk,
        &stack.resources,
        &org("acme"),
        &[c1.clone(), c2.clone()],
    )
    .await
    .unwrap();
    assert_eq!(
        done,
        [
            (c1, local::erase::Erasure::Queued),
            (c2, local::erase::Erasure::StillAContact)
        ]
    );
    let url = stack.resources.send_queue_url.clone().unwrap();
    let worker = SendWorker {
        ports: ports.clone(),
        settings: crate::flows::worker_settings(None),
    };
    let event = receive(&stack, &url).await;
    assert_eq!(event.records.len(), 1);
    assert!(
        worker
            .handle_sqs(event.clone())
            .await
            .batch_item_failures
            .is_empty()
    );
    acknowledge(&stack, &url, &event, &[]).await;
    let left: Vec<String> = scan(&stack, &stack.resources.messages_table)
        .await
        .iter()
        .map(|i| text(i, "conversation"))
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(left, ["acme#c2"]);
    assert_eq!(
        objects(&stack).await.into_iter().collect::<Vec<_>>(),
        ["acme/inbound/c2-1.jpg"]
    );
}
