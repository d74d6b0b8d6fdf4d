//! `local erase ORGANIZATION_ID CONTACT_ID…`: starts the erasure of contacts the CRM already
//! deleted, as the contact indexer does for a removal the stream shows — for a removal the
//! indexer gave up on (its dead-letter queue records the stream's sequence numbers, not the
//! contacts), or a contact deleted before erasure existed. The jobs go to the queue the
//! worker erases from; a contact still in the contacts table is refused (its erasure would
//! stop at once).

use std::time::Duration;

use shared::aws::{DynamoContacts, Resources, SqsSendQueue};
use shared::domain::{ContactId, OrganizationId, WorkerJob};
use shared::ports::{ContactStore, SendQueue};

/// What became of one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    Queued,
    /// The contact is in the contacts table: delete it there first.
    StillAContact,
}

pub async fn queue_erasures(
    sdk: &aws_config::SdkConfig,
    resources: &Resources,
    org: &OrganizationId,
    contacts: &[ContactId],
) -> Result<Vec<(ContactId, Erasure)>, String> {
    let Some(send_queue) = resources.send_queue_url.clone() else {
        return Err("SEND_QUEUE_URL (or MEDIA_QUEUE_URL as well) is required".into());
    };
    let queue = SqsSendQueue::new(aws_sdk_sqs::Client::new(sdk), send_queue)
        .with_media_queue(resources.media_queue_url.clone());
    let store = DynamoContacts::new(
        aws_sdk_dynamodb::Client::new(sdk),
        resources.contacts_table.clone(),
    );
    let mut done = Vec::with_capacity(contacts.len());
    for contact in contacts {
        if store
            .get(org, contact)
            .await
            .map_err(|e| format!("{org}/{contact}: {e}"))?
            .is_some()
        {
            done.push((contact.clone(), Erasure::StillAContact));
            continue;
        }
        queue
            .enqueue(&WorkerJob::erase_contact(org, contact), Duration::ZERO)
            .await
            .map_err(|e| format!("{org}/{contact}: {e}"))?;
        done.push((contact.clone(), Erasure::Queued));
    }
    Ok(done)
}
