//! The contact indexer: the contacts table's stream in, the search index kept in step. Every
//! write to a contact — this service's or the CRM's own — arrives as a record with the old
//! and the new image; the contact's search terms (`domain::search`) move from one to the
//! other. Records of one contact arrive in order, and applying one twice is harmless, so the
//! index ends where the table is.
//!
//! A contact removed from the table (the CRM deleted it) also starts its erasure: the first
//! job (`WorkerJob::erase_contact`) goes on the worker's queue, which erases its messages and
//! files page by page. Queued again for a replayed record, it finds less or nothing to do.
//!
//! A record that cannot be applied (the index unavailable) is reported as the batch's first
//! failure: Lambda retries from it, in order. An image that is not a contact (a malformed item
//! the CRM wrote) is logged and skipped: it has no terms to index.
#![cfg_attr(test, allow(clippy::too_many_lines))]

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use shared::aws::contact_from_image;
use shared::domain::{Contact, ContactId, OrganizationId, WorkerJob};
use shared::ports::{ContactSearchIndex, PortError, SendQueue};
use shared::runtime::Handler;

#[derive(Clone)]
pub struct ContactIndexer<I, Q> {
    pub index: I,
    /// Where a removed contact's erasure starts (the worker's queue).
    pub queue: Q,
}

/// The contact a record's keys name; None for a key that is no contact's.
fn removed_contact(record: &EventRecord) -> Option<(OrganizationId, ContactId)> {
    let key = |name: &str| match record.change.keys.get(name) {
        Some(serde_dynamo::AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    Some((
        OrganizationId::parse(&key("organization_id")?).ok()?,
        ContactId::parse(&key("contact_id")?).ok()?,
    ))
}

impl<I: ContactSearchIndex, Q: SendQueue> ContactIndexer<I, Q> {
    pub fn new(index: I, queue: Q) -> Self {
        Self { index, queue }
    }

    async fn apply(&self, record: &EventRecord) -> Result<(), PortError> {
        self.index_terms(record).await?;
        if record.event_name != "REMOVE" {
            return Ok(());
        }
        let Some((org, contact)) = removed_contact(record) else {
            tracing::warn!(event_id = %record.event_id, "a removed item that is no contact: nothing to erase");
            return Ok(());
        };
        let job = WorkerJob::erase_contact(&org, &contact);
        self.queue.enqueue(&job, std::time::Duration::ZERO).await?;
        // A stream batch mixes organizations: the line names its record's.
        tracing::info!(organization_id = %org, contact_id = %contact, "contact removed: erasure queued");
        Ok(())
    }

    async fn index_terms(&self, record: &EventRecord) -> Result<(), PortError> {
        let image = |image: &serde_dynamo::Item| match contact_from_image(image.clone()) {
            Ok(contact) => contact,
            Err(e) => {
                tracing::warn!(event_id = %record.event_id, error = %e, "a contact image that is not a contact: skipped");
                None
            }
        };
        let before: Option<Contact> = image(&record.change.old_image);
        let after: Option<Contact> = image(&record.change.new_image);
        if before.is_none() && after.is_none() {
            return Ok(());
        }
        self.index.apply(before.as_ref(), after.as_ref()).await
    }
}

impl<I: ContactSearchIndex, Q: SendQueue> Handler<Event> for ContactIndexer<I, Q> {
    type Response = DynamoDbEventResponse;

    async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for record in &event.records {
            if let Err(e) = self.apply(record).await {
                tracing::warn!(event_id = %record.event_id, error = %e, "contact change not indexed yet: retried from here");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
                // Later records of the same contact must not overtake this one.
                break;
            }
        }
        response
    }
}
