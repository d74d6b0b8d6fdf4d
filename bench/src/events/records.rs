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

/// One record of the contacts table's stream: `event_name` on contact `id`, with the images
/// a `NEW_AND_OLD_IMAGES` stream carries for it.
fn contact_record(
    event_id: String,
    event_name: &str,
    id: &str,
    images: serde_json::Value,
    sequence: usize,
) -> Vec<u8> {
    let mut dynamodb = serde_json::json!({
        "ApproximateCreationDateTime": 1_795_752_000.0,
        "Keys": {"organization_id": {"S": ORG}, "contact_id": {"S": id}},
        "SequenceNumber": format!("{sequence:021}"),
        "SizeBytes": 400,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let (Some(record), Some(images)) = (dynamodb.as_object_mut(), images.as_object()) {
        record.extend(images.clone());
    }
    json(&serde_json::json!({"Records": [{
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": dynamodb,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-contacts/stream/2026-11-26T00:00:00.000"
    }]}))
}

/// The contacts table's stream delivering one change: the CRM renamed contact number `n`
/// (its search terms move to the new name).
pub fn contact_renamed(n: usize) -> Vec<u8> {
    let id = format!("c-renamed-{n}");
    let images = serde_json::json!({
        "OldImage": contact_image(&id, "Nur Aisha"),
        "NewImage": contact_image(&id, "Nur Aisha Rahman"),
    });
    contact_record(format!("e{n}"), "MODIFY", &id, images, n)
}

/// The stream record of the CRM deleting contact number `n` (renamed before): its terms go,
/// its erasure is queued.
pub fn contact_removed(n: usize) -> Vec<u8> {
    let id = format!("c-renamed-{n}");
    let images = serde_json::json!({ "OldImage": contact_image(&id, "Nur Aisha Rahman") });
    contact_record(format!("r{n}"), "REMOVE", &id, images, 1_000_000 + n)
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

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::dynamodb::Event;

    use super::*;

    /// The records read as Lambda's DynamoDB stream event, with the images each change
    /// carries: a rename both, a removal the old one only.
    #[test]
    fn contact_records_are_stream_events_with_their_images() {
        let renamed: Event = serde_json::from_slice(&contact_renamed(7)).unwrap();
        let record = &renamed.records[0];
        assert_eq!(record.event_name, "MODIFY");
        assert_eq!(
            record.change.sequence_number.as_deref(),
            Some("000000000000000000007")
        );
        assert!(!record.change.old_image.is_empty() && !record.change.new_image.is_empty());
        let removed: Event = serde_json::from_slice(&contact_removed(7)).unwrap();
        let record = &removed.records[0];
        assert_eq!(record.event_name, "REMOVE");
        assert!(!record.change.old_image.is_empty() && record.change.new_image.is_empty());
        assert_eq!(
            record.change.keys.get("contact_id"),
            renamed.records[0].change.keys.get("contact_id")
        );
    }
}
