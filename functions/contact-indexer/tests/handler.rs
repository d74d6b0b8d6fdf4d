//! The indexer over DynamoDB stream events shaped as Lambda delivers them (NEW_AND_OLD_IMAGES),
//! against the in-memory search index.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use aws_lambda_events::event::dynamodb::Event;
use contact_indexer::ContactIndexer;
use serde_json::{Value, json};
use shared::domain::{ContactId, MessageId, WorkerJob};
use shared::memory::{MemoryQueue, MemorySearchIndex};
use shared::runtime::Handler;
use shared::testing::org;

/// A contact item as the contacts table stores it, in DynamoDB's JSON.
fn image(id: &str, name: &str, phone: &str, opted_in: bool, unsubscribed: bool) -> Value {
    json!({
        "organization_id": {"S": "acme"},
        "contact_id": {"S": id},
        "name": {"S": name},
        "email": {"S": format!("{}@example.com", name.split(' ').next().unwrap().to_lowercase())},
        "phone_number": {"S": phone},
        "whatsapp_opt_in": {"BOOL": opted_in},
        "whatsapp_blocked": {"BOOL": false},
        "whatsapp_unsubscribed": {"BOOL": unsubscribed},
        "version": {"N": "3"},
        "crm_owner": {"S": "an attribute of the CRM's own"}
    })
}

fn record(sequence: u32, name: &str, id: &str, old: Option<Value>, new: Option<Value>) -> Value {
    let mut change = json!({
        "ApproximateCreationDateTime": 1764000000.0,
        "Keys": {"organization_id": {"S": "acme"}, "contact_id": {"S": id}},
        "SequenceNumber": format!("{sequence:021}"),
        "SizeBytes": 300,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    json!({
        "eventID": format!("e{sequence}"),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/whatsapp-contacts/stream/2026-11-25T00:00:00.000"
    })
}

fn event(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn keys(index: &MemorySearchIndex) -> Vec<String> {
    index
        .items(&org("acme"))
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

#[tokio::test]
async fn the_index_follows_inserts_changes_and_removals() {
    let index = MemorySearchIndex::new();
    let indexer = ContactIndexer::new(index.clone(), MemoryQueue::recording());
    let aisha = image("c1", "Aisha Rahman", "+60123456789", true, false);
    let ben = image("c2", "Ben Ong", "+6591234567", true, false);
    let response = indexer
        .handle(event(vec![
            record(1, "INSERT", "c1", None, Some(aisha.clone())),
            record(2, "INSERT", "c2", None, Some(ben.clone())),
        ]))
        .await;
    assert!(response.batch_item_failures.is_empty());
    let after_insert = keys(&index);
    assert!(after_insert.contains(&"t#aisha#c1".to_owned()));
    assert!(after_insert.contains(&"t#aisha@example.com#c1".to_owned()));
    assert!(after_insert.contains(&"d#6789#c1".to_owned()));
    assert!(after_insert.contains(&"t#ong#c2".to_owned()));

    // Aisha replies STOP (this service's write); the CRM renames Ben; then deletes him.
    let stopped = image("c1", "Aisha Rahman", "+60123456789", true, true);
    let renamed = image("c2", "Ben Tan", "+6591234567", true, false);
    let changes = event(vec![
        record(3, "MODIFY", "c1", Some(aisha), Some(stopped.clone())),
        record(4, "MODIFY", "c2", Some(ben), Some(renamed.clone())),
    ]);
    assert!(
        indexer
            .handle(changes.clone())
            .await
            .batch_item_failures
            .is_empty()
    );
    let after_changes = keys(&index);
    assert!(
        after_changes.iter().all(|k| !k.ends_with("#c1")),
        "{after_changes:?}"
    );
    assert!(after_changes.contains(&"t#tan#c2".to_owned()));
    assert!(!after_changes.contains(&"t#ong#c2".to_owned()));
    // The same batch delivered again ends in the same index.
    indexer.handle(changes).await;
    assert_eq!(keys(&index), after_changes);

    indexer
        .handle(event(vec![record(5, "REMOVE", "c2", Some(renamed), None)]))
        .await;
    assert!(keys(&index).is_empty());
}

#[tokio::test]
async fn an_image_that_is_not_a_contact_is_skipped_and_a_failure_retried_in_order() {
    let index = MemorySearchIndex::new();
    let indexer = ContactIndexer::new(index.clone(), MemoryQueue::recording());
    let malformed = json!({"organization_id": {"S": "acme"}, "contact_id": {"S": "c9"}});
    let aisha = image("c1", "Aisha Rahman", "+60123456789", true, false);
    let ben = image("c2", "Ben Ong", "+6591234567", true, false);
    let response = indexer
        .handle(event(vec![record(
            1,
            "INSERT",
            "c9",
            None,
            Some(malformed),
        )]))
        .await;
    assert!(
        response.batch_item_failures.is_empty(),
        "skipped, not retried forever"
    );

    // The index fails on the second record: it and everything after it come back.
    index.faults.fail_after("apply", 1, 1);
    let batch = event(vec![
        record(2, "INSERT", "c1", None, Some(aisha)),
        record(3, "INSERT", "c2", None, Some(ben)),
    ]);
    let response = indexer.handle(batch.clone()).await;
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier.as_deref(),
        Some("000000000000000000003")
    );
    assert!(keys(&index).iter().all(|k| !k.ends_with("#c2")));
    // Lambda's retry of the batch completes it.
    assert!(indexer.handle(batch).await.batch_item_failures.is_empty());
    assert!(keys(&index).contains(&"t#ong#c2".to_owned()));
}

#[tokio::test]
async fn a_removed_contact_starts_its_erasure_and_nothing_else_does() {
    let queue = MemoryQueue::recording();
    let indexer = ContactIndexer::new(MemorySearchIndex::new(), queue.clone());
    let aisha = image("c1", "Aisha Rahman", "+60123456789", true, false);
    let stopped = image("c1", "Aisha Rahman", "+60123456789", true, true);
    let response = indexer
        .handle(event(vec![
            record(1, "INSERT", "c1", None, Some(aisha.clone())),
            record(2, "MODIFY", "c1", Some(aisha), Some(stopped.clone())),
        ]))
        .await;
    assert!(response.batch_item_failures.is_empty());
    assert!(
        queue.jobs().is_empty(),
        "an insert or a change erases nothing"
    );

    // The CRM deletes the contact: one erasure job for it, queued at once. An old image
    // that is not a contact still names the contact by its keys.
    let malformed = json!({"organization_id": {"S": "acme"}, "contact_id": {"S": "c9"}});
    let response = indexer
        .handle(event(vec![
            record(3, "REMOVE", "c1", Some(stopped), None),
            record(4, "REMOVE", "c9", Some(malformed), None),
        ]))
        .await;
    assert!(response.batch_item_failures.is_empty());
    let jobs = queue.drain();
    let erased: Vec<(&str, &str, MessageId, u32)> = jobs
        .iter()
        .map(|(job, delay)| {
            assert!(delay.is_zero());
            let WorkerJob::EraseContact(job) = job else {
                panic!("not an erasure: {job:?}");
            };
            (
                job.organization_id.as_str(),
                job.contact_id.as_str(),
                job.older_than,
                job.sweep,
            )
        })
        .collect();
    assert_eq!(
        erased,
        [
            ("acme", "c1", MessageId::ceiling(), 1),
            ("acme", "c9", MessageId::ceiling(), 1)
        ]
    );
    assert_eq!(
        jobs[0].0,
        WorkerJob::erase_contact(&org("acme"), &ContactId::parse("c1").unwrap())
    );
}

#[tokio::test]
async fn an_erasure_that_cannot_be_queued_is_retried_from_its_record() {
    let queue = MemoryQueue::recording();
    let index = MemorySearchIndex::new();
    let indexer = ContactIndexer::new(index.clone(), queue.clone());
    let aisha = image("c1", "Aisha Rahman", "+60123456789", true, false);
    let ben = image("c2", "Ben Ong", "+6591234567", true, false);
    indexer
        .handle(event(vec![
            record(1, "INSERT", "c1", None, Some(aisha.clone())),
            record(2, "INSERT", "c2", None, Some(ben.clone())),
        ]))
        .await;
    queue.faults.fail_after("enqueue", 0, 1);
    let batch = event(vec![
        record(3, "REMOVE", "c1", Some(aisha), None),
        record(4, "REMOVE", "c2", Some(ben), None),
    ]);
    let response = indexer.handle(batch.clone()).await;
    assert_eq!(
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_deref())
            .collect::<Vec<_>>(),
        [Some("000000000000000000003")],
        "the first removal and everything after it come back"
    );
    assert!(queue.jobs().is_empty());
    assert!(indexer.handle(batch).await.batch_item_failures.is_empty());
    assert_eq!(queue.jobs().len(), 2);
    assert!(keys(&index).is_empty());
}
