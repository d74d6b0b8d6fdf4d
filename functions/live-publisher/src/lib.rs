//! The live publisher: the messages and contacts tables' streams in, each change the page
//! shows out on its organization's channel of the Event API, as the API's own JSON
//! (`shared::live`).
//!
//! - A message record is published when its revision moved (a send claim or another
//!   attribute the page never sees changes nothing and costs nothing). `SID#` and `IDEM#`
//!   items are not messages; a message of an unknown sender belongs to no conversation; a
//!   removed message (erasure, retention) is told by its contact's removal.
//! - A conversation summary (`{org}#CONV#<contact>`) is published when its version moved:
//!   the inbox's row, its unread count and newest message, for every agent.
//! - A presence item (`{org}#PRESENCE#<contact>`) is published as the one agent's presence
//!   the write set, renewed or removed (`left`).
//! - A contact record is published when what the conversation shows of it (who, eligible or
//!   why not, the 24-hour window) differs between its old and new image; a removal as
//!   `contact_deleted`.
//!
//! Records are published in stream order, consecutive ones of an organization together (at
//! most five events a publish). When a publish fails for a reason that may pass (throttling,
//! a 5xx, credentials), its first record is reported as the batch's item failure and nothing
//! after it is published: Lambda retries from there, so nothing is skipped, and a record is
//! published twice at most after a partial failure (harmless: the page keeps the newest
//! revision). A record that keeps failing ends in the dead-letter queue (the event source
//! mapping's `OnFailure`), with its alarm. A publish the Event API refuses for good (a 4xx:
//! an event it cannot take) is tried again event by event; an event refused for good alone
//! is logged and skipped, and the records behind it are still published. An organization
//! whose id cannot be a channel segment (`live::channel`) has no channel: its records are
//! skipped, logged, and its page polls.
#![cfg_attr(test, allow(clippy::too_many_lines))]

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::Utc;
use shared::api::{ConversationSummaryView, contact_state, message_views};
use shared::aws::{contact_from_image, message_from_image, presence_change, summary_from_image};
use shared::domain::{ContactId, OrganizationId};
use shared::live::{Change, LiveEvent, MAX_EVENTS_PER_PUBLISH, channel};
use shared::ports::{ChannelPublisher, MediaStore, PublishError};
use shared::runtime::Handler;

#[derive(Clone)]
pub struct LivePublisher<M, C> {
    /// Presigns the download URLs of attachments, as the conversation route does.
    pub media: M,
    pub channels: C,
}

/// Where a batch stopped: the index of the first change not published, and why.
#[derive(Debug)]
pub struct Stopped {
    pub at: usize,
    pub error: PublishError,
}

impl<M: MediaStore, C: ChannelPublisher> LivePublisher<M, C> {
    pub fn new(media: M, channels: C) -> Self {
        Self { media, channels }
    }

    /// The event a change is shown as; None for a change the page does not show.
    async fn event(&self, change: &Change) -> Result<Option<LiveEvent>, PublishError> {
        Ok(match change {
            Change::Message(message) if message.contact_id.is_some() => {
                let mut views = message_views(
                    &self.media,
                    &message.organization_id,
                    std::slice::from_ref(message),
                )
                .await
                .map_err(|e| PublishError::Unavailable(format!("download URL: {e}")))?;
                views.pop().map(|message| LiveEvent::Message {
                    message: Box::new(message),
                })
            }
            Change::Message(_) => None,
            Change::Contact(contact) => Some(LiveEvent::contact(contact, Utc::now())),
            Change::Conversation(summary) => Some(LiveEvent::Conversation {
                conversation: ConversationSummaryView::from(summary.as_ref()),
            }),
            Change::ContactRemoved { contact_id, .. } => Some(LiveEvent::ContactDeleted {
                contact_id: contact_id.clone(),
            }),
            Change::Presence {
                contact_id,
                presence,
                ..
            } => Some(LiveEvent::Presence {
                contact_id: contact_id.clone(),
                agent: presence.agent.clone(),
                state: presence.state,
                expires_at: presence.expires_at,
            }),
        })
    }

    /// Publishes the changes in order: consecutive ones of an organization together, at most
    /// five a publish. Stops at the first publish that fails for a reason that may pass.
    pub async fn publish(&self, changes: &[Change]) -> Result<usize, Stopped> {
        let mut published = 0;
        let mut start = 0;
        while start < changes.len() {
            let org = changes[start].organization_id();
            let Some(channel) = channel(org) else {
                // No channel can exist for it: its page polls (GET /whatsapp/channel says so).
                let end = start
                    + changes[start..]
                        .iter()
                        .take_while(|c| c.organization_id() == org)
                        .count();
                tracing::warn!(organization_id = %org, skipped = end - start, "the organization id cannot name an Event API channel: not published");
                start = end;
                continue;
            };
            // This publish: the next changes of the same organization with up to five events.
            let mut end = start;
            let mut events = Vec::new();
            while end < changes.len()
                && changes[end].organization_id() == org
                && events.len() < MAX_EVENTS_PER_PUBLISH
            {
                let event = self
                    .event(&changes[end])
                    .await
                    .map_err(|error| Stopped { at: start, error })?;
                events.extend(event.map(|e| e.to_json()));
                end += 1;
            }
            if !events.is_empty() {
                published += self
                    .publish_group(&channel, &events)
                    .await
                    .map_err(|error| Stopped { at: start, error })?;
            }
            start = end;
        }
        Ok(published)
    }
}

impl<M: MediaStore, C: ChannelPublisher> LivePublisher<M, C> {
    /// One publish of an organization's events; refused for good, each event again on its
    /// own, so one the Event API can never take does not hold back the others. The number
    /// of events published.
    async fn publish_group(&self, channel: &str, events: &[String]) -> Result<usize, PublishError> {
        match self.channels.publish(channel, events).await {
            Ok(()) => Ok(events.len()),
            Err(error) if error.is_permanent() => {
                let mut published = 0;
                for event in events {
                    match self
                        .channels
                        .publish(channel, std::slice::from_ref(event))
                        .await
                    {
                        Ok(()) => published += 1,
                        Err(error) if error.is_permanent() => {
                            tracing::error!(%error, "an event the Event API refuses for good: skipped");
                        }
                        Err(error) => return Err(error),
                    }
                }
                Ok(published)
            }
            Err(error) => Err(error),
        }
    }
}

/// The keys of a contacts table record (organization, contact); None for another table's.
fn contact_keys(record: &EventRecord) -> Option<(OrganizationId, ContactId)> {
    let key = |name: &str| match record.change.keys.get(name) {
        Some(serde_dynamo::AttributeValue::S(value)) => Some(value.clone()),
        _ => None,
    };
    Some((
        OrganizationId::parse(&key("organization_id")?).ok()?,
        ContactId::parse(&key("contact_id")?).ok()?,
    ))
}

/// What a stream record changed that the page shows; None for the rest.
pub fn change_of(record: &EventRecord) -> Option<Change> {
    let unreadable = |e: shared::ports::PortError| {
        // Not ours to fix here, and never going to publish: skipped, with its sequence.
        tracing::warn!(event_id = %record.event_id, error = %e, "a stream image that is not readable: skipped");
    };
    if let Some((organization_id, contact_id)) = contact_keys(record) {
        if record.event_name == "REMOVE" {
            return Some(Change::ContactRemoved {
                organization_id,
                contact_id,
            });
        }
        let new = contact_from_image(record.change.new_image.clone())
            .map_err(unreadable)
            .ok()??;
        let old = contact_from_image(record.change.old_image.clone())
            .ok()
            .flatten();
        // What the page shows of the contact, before and after.
        let now = Utc::now();
        let shown = |c: &shared::domain::Contact| contact_state(c, now);
        if old.as_ref().map(shown) == Some(shown(&new)) {
            return None;
        }
        return Some(Change::Contact(new));
    }
    if record.event_name == "REMOVE" {
        return None;
    }
    if let Some((organization_id, contact_id, presence)) = presence_change(
        record.change.old_image.clone(),
        record.change.new_image.clone(),
    ) {
        return Some(Change::Presence {
            organization_id,
            contact_id,
            presence,
        });
    }
    if let Some(summary) = summary_from_image(record.change.new_image.clone())
        .map_err(unreadable)
        .ok()?
    {
        let old = summary_from_image(record.change.old_image.clone())
            .ok()
            .flatten();
        if old.is_some_and(|old| old.version == summary.version) {
            return None;
        }
        return Some(Change::Conversation(Box::new(summary)));
    }
    let new = message_from_image(record.change.new_image.clone())
        .map_err(unreadable)
        .ok()??;
    let old = message_from_image(record.change.old_image.clone())
        .ok()
        .flatten();
    if old.is_some_and(|old| old.revision == new.revision) {
        return None;
    }
    Some(Change::Message(Box::new(new)))
}

impl<M: MediaStore, C: ChannelPublisher> Handler<Event> for LivePublisher<M, C> {
    type Response = DynamoDbEventResponse;

    async fn handle(&self, event: Event) -> DynamoDbEventResponse {
        // Each change with the record it came from.
        let (records, changes): (Vec<&EventRecord>, Vec<Change>) = event
            .records
            .iter()
            .filter_map(|record| change_of(record).map(|change| (record, change)))
            .unzip();
        let mut response = DynamoDbEventResponse::default();
        match self.publish(&changes).await {
            Ok(published) => {
                tracing::info!(
                    records = event.records.len(),
                    published,
                    "changes published"
                );
            }
            Err(Stopped { at, error }) => {
                let record = records[at];
                tracing::warn!(
                    organization_id = %changes[at].organization_id(),
                    event_id = %record.event_id,
                    error = %error,
                    "publish failed: retried from this record"
                );
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                response.batch_item_failures.push(failure);
            }
        }
        response
    }
}
