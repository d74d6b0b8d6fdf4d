//! What the queues and streams deliver: SQS jobs for the worker, DynamoDB stream records for
//! the contact indexer and the live publisher.

use super::*;

/// The SQS batch the event source mapping delivers for one send job.
pub fn worker_job(message_id: &str) -> Vec<u8> {
    let body = serde_json::json!({"organization_id": ORG, "message_id": message_id, "attempt": 1});
    json(&serde_json::json!({"Records": [{
        "messageId": ulid::Ulid::new().to_string(),
        "receiptHandle": "AQEBbench",
        "body": body.to_string(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795752000000",
            "SenderId": "AROAEXAMPLE:send-message", "ApproximateFirstReceiveTimestamp": "1795752000050"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:bench-send",
        "awsRegion": "eu-west-1"
    }]}))
}

/// A contact item as the contacts table holds it, in DynamoDB's JSON.
fn contact_image(id: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "organization_id": {"S": ORG},
        "contact_id": {"S": id},
        "name": {"S": name},
        "email": {"S": format!("{id}@example.com")},
        "phone_number": {"S": CONTACT_PHONE},
        "whatsapp_opt_in": {"BOOL": true},
        "whatsapp_blocked": {"BOOL": false},
        "whatsapp_unsubscribed": {"BOOL": false},
        "version": {"N": "2"}
    })
}

/// The contacts table's stream delivering one change: the CRM renamed contact number `n`
/// (its search terms move to the new name).
pub fn contact_renamed(n: usize) -> Vec<u8> {
    let id = format!("c-renamed-{n}");
    json(&serde_json::json!({"Records": [{
        "eventID": format!("e{n}"),
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_752_000.0,
            "Keys": {"organization_id": {"S": ORG}, "contact_id": {"S": &id}},
            "OldImage": contact_image(&id, "Nur Aisha"),
            "NewImage": contact_image(&id, "Nur Aisha Rahman"),
            "SequenceNumber": format!("{n:021}"),
            "SizeBytes": 400,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-contacts/stream/2026-11-26T00:00:00.000"
    }]}))
}

/// The stream record of the CRM deleting contact number `n` (renamed before): its terms go,
/// its erasure is queued.
pub fn contact_removed(n: usize) -> Vec<u8> {
    let id = format!("c-renamed-{n}");
    json(&serde_json::json!({"Records": [{
        "eventID": format!("r{n}"),
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_752_000.0,
            "Keys": {"organization_id": {"S": ORG}, "contact_id": {"S": &id}},
            "OldImage": contact_image(&id, "Nur Aisha Rahman"),
            "SequenceNumber": format!("{:021}", 1_000_000 + n),
            "SizeBytes": 200,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-contacts/stream/2026-11-26T00:00:00.000"
    }]}))
}

/// The SQS batch of one erasure job of the benchmark contact (deleted by then): the next
/// page of its conversation, from the newest message down.
pub fn erasure_job() -> Vec<u8> {
    let (Ok(org), Ok(contact)) = (
        shared::domain::OrganizationId::parse(ORG),
        shared::domain::ContactId::parse(CONTACT_ID),
    ) else {
        return Vec::new();
    };
    let job = shared::domain::WorkerJob::erase_contact(&org, &contact);
    json(&serde_json::json!({"Records": [{
        "messageId": ulid::Ulid::new().to_string(),
        "receiptHandle": "AQEBbench",
        "body": serde_json::to_string(&job).unwrap_or_default(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795752000000",
            "SenderId": "AROAEXAMPLE:contact-indexer", "ApproximateFirstReceiveTimestamp": "1795752000050"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:bench-media-copy",
        "awsRegion": "eu-west-1"
    }]}))
}

/// A message item as the messages table's stream shows it.
fn message_image(id: &str, status: &str, revision: &str) -> serde_json::Value {
    serde_json::json!({
        "item_key": {"S": format!("{ORG}#{id}")},
        "organization_id": {"S": ORG},
        "message_id": {"S": id},
        "conversation": {"S": format!("{ORG}#{CONTACT_ID}")},
        "contact_id": {"S": CONTACT_ID},
        "contact_phone": {"S": CONTACT_PHONE},
        "direction": {"S": "OUTBOUND"},
        "message_type": {"S": "TEXT"},
        "text": {"S": "Your order has shipped and should arrive on Friday."},
        "attachments": {"L": []},
        "twilio_message_sid": {"S": format!("SM{:032x}", id.len())},
        "status": {"S": status},
        "created_at": {"S": "2026-12-03T10:00:00Z"},
        "updated_at": {"S": "2026-12-03T10:00:02Z"},
        "revision": {"S": revision}
    })
}

/// The messages table's stream delivering `records` status ticks (SENT → DELIVERED) of
/// distinct messages of one organization, as the live publisher receives them.
pub fn status_ticks(n: usize, records: usize) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..records)
        .map(|r| {
            let id = ulid::Ulid::new().to_string();
            let revision = ulid::Ulid::new().to_string();
            serde_json::json!({
                "eventID": format!("t{n}-{r}"),
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_795_752_000.0,
                    "Keys": {"item_key": {"S": format!("{ORG}#{id}")}},
                    "OldImage": message_image(&id, "SENT", &id),
                    "NewImage": message_image(&id, "DELIVERED", &revision),
                    "SequenceNumber": format!("{:021}", n * 1000 + r),
                    "SizeBytes": 700,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-messages/stream/2026-11-26T00:00:00.000"
            })
        })
        .collect();
    json(&serde_json::json!({ "Records": records }))
}
