//! Messages in DynamoDB (see `schema`). Every item has a partition key of its own
//! (`{organization_id}#{message_id}`, `…#SID#<sid>`, `…#IDEM#<key>`), so an organization's
//! message rate meets no per-key limit. A conversation page and a poll are one Query each;
//! status updates are conditional writes that never move a status backwards; inbound
//! de-duplication is a transaction with a `SID#<sid>` marker item.
//!
//! Here: the table's keys, reads and pages. Beside it, one concern each:
//! `item` (a message as the table holds it), `status` (the forward-only status rule and the
//! Twilio sids a message holds), `inbound` (de-duplication markers, and in it
//! `deferred_count`: an inbound message counted after a contended webhook answered), `claims`
//! (one worker at a time), `idempotency` (`Idempotency-Key` records), `erasure` (a deleted
//! contact's messages), `conversations` (the inbox's summaries, written with the messages),
//! `drafts` (agents' drafts per conversation).

mod canned;
mod claims;
mod contents;
mod conversations;
mod drafts;
mod erasure;
mod idempotency;
mod inbound;
mod indicators;
mod item;
mod presence;
mod status;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

pub use conversations::summary_from_image;
pub use item::message_from_image;
use item::{read, write};
pub use presence::presence_change;

use super::contention::send_contended;
use super::{s, unavailable, unless_condition_failed};
use crate::domain::{
    Attachment, ContactId, Message, MessageId, MessageStatus, OrganizationId, StatusChange,
};
use crate::ports::{
    AttemptOutcome, ClaimLease, ConversationPage, ConversationQuery, Erasure, IdempotentSend,
    InboundInsert, MessageStore, PortError, PortResult, SendClaim, StatusOutcome,
};

#[derive(Clone)]
pub struct DynamoMessages {
    client: super::LazyClient<Client>,
    table: String,
}

fn conversation_key(org: &OrganizationId, contact: &ContactId) -> String {
    format!("{org}#{contact}")
}

/// The table's only key attribute.
const ITEM_KEY: &str = "item_key";

/// The partition key of an item of the organization: `{organization_id}#{suffix}`, where the
/// suffix is a message id, `SID#<sid>` or `IDEM#<key>`. Organization ids have no `#`.
fn item_key(org: &OrganizationId, suffix: &str) -> String {
    format!("{org}#{suffix}")
}

fn sid_marker_key(sid: &str) -> String {
    format!("SID#{sid}")
}

impl DynamoMessages {
    /// One item of the organization (a message, a marker or a record), read consistently.
    async fn item(
        &self,
        org: &OrganizationId,
        suffix: String,
        operation: &str,
    ) -> PortResult<Option<HashMap<String, AttributeValue>>> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &suffix)))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| unavailable(operation, e.into_service_error()))
    }

    pub fn new(client: impl Into<super::LazyClient<Client>>, table: impl Into<String>) -> Self {
        Self {
            client: client.into(),
            table: table.into(),
        }
    }

    /// An UpdateItem of one message that stamps `updated_at` and a new `revision`.
    fn update(&self, org: &OrganizationId, id: &MessageId) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &id.to_string())))
            .expression_attribute_values(":now", s(Utc::now().to_rfc3339()))
            .expression_attribute_values(":rev", s(MessageId::new().to_string()))
            .return_values(ReturnValue::AllNew)
    }

    /// Sends a conditional update: the message after it, or None when the condition failed.
    async fn conditional(
        &self,
        update: UpdateItemFluentBuilder,
        operation: &str,
    ) -> PortResult<Option<Message>> {
        unless_condition_failed(send_contended(|| update.clone().send()).await, operation)?
            .map(|out| read(out.attributes.unwrap_or_default()))
            .transpose()
    }

    /// Up to `limit` messages of one index key, and whether there are more. DynamoDB stops a
    /// page at 1 MB whatever `Limit` says, so pages are read on from `LastEvaluatedKey` until
    /// `limit + 1` items are in or the key range is exhausted: a short page is never taken
    /// for the end.
    async fn query_page(
        &self,
        index: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        forward: bool,
        limit: usize,
    ) -> PortResult<(Vec<Message>, bool)> {
        // Expired by the organization's retention but not yet deleted by TTL: left out.
        let query = self
            .query_all(index, condition, values, forward)
            .filter_expression(
                "attribute_not_exists(expires_at_epoch) OR expires_at_epoch > :now_epoch",
            )
            .expression_attribute_values(
                ":now_epoch",
                AttributeValue::N(Utc::now().timestamp().to_string()),
            );
        self.read_pages(query, limit).await
    }

    /// A Query of one index key, expired messages included.
    fn query_all(
        &self,
        index: &str,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
        forward: bool,
    ) -> QueryFluentBuilder {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression(condition)
            .scan_index_forward(forward);
        for (name, value) in values {
            query = query.expression_attribute_values(name, value);
        }
        query
    }

    /// Reads `query` on past DynamoDB's 1 MB pages until `limit + 1` items are in or the key
    /// range ends: up to `limit` messages, and whether there are more.
    async fn read_pages(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
    ) -> PortResult<(Vec<Message>, bool)> {
        let (items, has_more) = self.read_items(query, limit, None).await?;
        let messages = items
            .into_iter()
            .map(read)
            .collect::<PortResult<Vec<_>>>()?;
        Ok((messages, has_more))
    }

    /// Reads `query` from `start` (a page cursor's key) on past DynamoDB's 1 MB pages (and
    /// pages a filter emptied) until `limit + 1` items are in or the key range ends: up to
    /// `limit` items, and whether there are more.
    async fn read_items(
        &self,
        query: QueryFluentBuilder,
        limit: usize,
        mut start: Option<HashMap<String, AttributeValue>>,
    ) -> PortResult<(Vec<HashMap<String, AttributeValue>>, bool)> {
        let mut items = Vec::new();
        loop {
            let wanted = (limit + 1).saturating_sub(items.len()).max(1);
            let out = query
                .clone()
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Query messages", e.into_service_error()))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key.filter(|key| !key.is_empty());
            if items.len() > limit || start.is_none() {
                break;
            }
        }
        let has_more = items.len() > limit;
        items.truncate(limit);
        Ok((items, has_more))
    }

    /// Brings the summary up to a message a conditional update changed, and passes it on.
    async fn summarize_changed(&self, changed: Option<Message>) -> PortResult<Option<Message>> {
        if let Some(message) = &changed {
            self.summarize(message).await?;
        }
        Ok(changed)
    }
}

impl MessageStore for DynamoMessages {
    async fn claim_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> PortResult<SendClaim> {
        self.claim(org, id, now, lease).await
    }

    async fn release_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        lease: &ClaimLease,
        outcome: AttemptOutcome,
    ) -> PortResult<()> {
        self.release_claim(org, id, lease, outcome).await
    }

    async fn insert(&self, message: &Message) -> PortResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(write(message)?))
            .condition_expression("attribute_not_exists(item_key)")
            .send()
            .await
            .map_err(|e| unavailable("PutItem message", e.into_service_error()))?;
        // The message is stored: its send must go on (it is queued next), so a summary that
        // cannot be written now is left to the message's next status, which writes it.
        if let Err(e) = self.summarize(message).await {
            tracing::warn!(
                message_id = %message.id,
                error = %e,
                "conversation summary not updated: the next status will"
            );
        }
        Ok(())
    }

    async fn get(&self, org: &OrganizationId, id: &MessageId) -> PortResult<Option<Message>> {
        // TTL deletes within days of expiry: an expired message is gone for us already.
        Ok(self
            .item(org, id.to_string(), "GetItem message")
            .await?
            .map(read)
            .transpose()?
            .filter(|m| !m.expired(Utc::now())))
    }

    async fn find_by_sid(&self, org: &OrganizationId, sid: &str) -> PortResult<Option<Message>> {
        self.message_by_sid(org, sid).await
    }

    async fn hold_sid(&self, org: &OrganizationId, sid: &str, id: &MessageId) -> PortResult<bool> {
        self.hold_sid_marker(org, sid, id).await
    }

    async fn record_destination(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        phone: &crate::domain::PhoneNumber,
    ) -> PortResult<Option<Message>> {
        let update = self
            .update(org, id)
            .update_expression("SET contact_phone = :phone, updated_at = :now, revision = :rev")
            .condition_expression("attribute_exists(item_key) AND #status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(MessageStatus::Pending.as_str()))
            .expression_attribute_values(":phone", s(phone.to_string()));
        let changed = self
            .conditional(update, "UpdateItem message destination")
            .await?;
        self.summarize_changed(changed).await
    }

    async fn conversation(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        query: ConversationQuery,
    ) -> PortResult<ConversationPage> {
        let key = s(conversation_key(org, contact));
        let (mut messages, has_more) = match query {
            ConversationQuery::Latest { limit } => {
                self.query_page(
                    "conversation",
                    "conversation = :c",
                    vec![(":c", key)],
                    false,
                    limit,
                )
                .await?
            }
            ConversationQuery::Before { id, limit } => {
                self.query_page(
                    "conversation",
                    "conversation = :c AND message_id < :id",
                    vec![(":c", key), (":id", s(id.to_string()))],
                    false,
                    limit,
                )
                .await?
            }
            ConversationQuery::ChangedAfter { cursor, limit } => {
                self.query_page(
                    "changes",
                    "conversation = :c AND revision > :r",
                    vec![(":c", key), (":r", s(cursor.to_string()))],
                    true,
                    limit,
                )
                .await?
            }
        };
        messages.sort_by_key(|m| m.id);
        Ok(ConversationPage { messages, has_more })
    }

    async fn update_attachments(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        attachments: &[Attachment],
    ) -> PortResult<Option<Message>> {
        // Two copies of one message may run at once (a redelivered job): each merges what it
        // did into what is stored, on the revision it read, and reads again after losing.
        let backoff = super::contention::Backoff::start();
        loop {
            let Some(item) = self
                .item(org, id.to_string(), "GetItem message attachments")
                .await?
            else {
                return Ok(None);
            };
            let current = read(item)?;
            let merged = crate::domain::merge_attachments(&current.attachments, attachments);
            if merged == current.attachments {
                return Ok(Some(current));
            }
            let value = serde_dynamo::to_attribute_value(&merged)
                .map_err(|e| PortError::Corrupt(format!("attachments: {e}")))?;
            let update = self
                .update(org, id)
                .update_expression("SET attachments = :a, updated_at = :now, revision = :rev")
                .condition_expression("revision = :read")
                .expression_attribute_values(":read", s(current.revision.to_string()))
                .expression_attribute_values(":a", value);
            let changed = self
                .conditional(update, "UpdateItem message attachments")
                .await?;
            if changed.is_some() {
                return self.summarize_changed(changed).await;
            }
            if backoff.expired() {
                return Err(PortError::Unavailable(
                    "the message's attachments kept changing under the copy".into(),
                ));
            }
        }
    }

    async fn apply_status(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        change: &StatusChange,
    ) -> PortResult<Option<StatusOutcome>> {
        let outcome = self.apply_status_to_message(org, id, change).await?;
        // Unchanged too: a repeat after a failure here finds the summary still behind.
        if let Some(StatusOutcome::Applied(m) | StatusOutcome::Unchanged(m)) = &outcome {
            self.summarize(m).await?;
        }
        Ok(outcome)
    }

    async fn insert_inbound(&self, message: &Message) -> PortResult<InboundInsert> {
        self.insert_with_marker(message).await
    }

    async fn count_inbound(&self, message: &Message) -> PortResult<()> {
        self.count_deferred(message).await
    }

    async fn inbound_effects_done(&self, org: &OrganizationId, sid: &str) -> PortResult<()> {
        self.mark_effects_done(org, sid).await
    }

    async fn idempotent_send(
        &self,
        org: &OrganizationId,
        key: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Option<IdempotentSend>> {
        self.read_idempotency_record(org, key, now).await
    }

    async fn save_idempotent_send(
        &self,
        org: &OrganizationId,
        record: &IdempotentSend,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        self.write_idempotency_record(org, record, expected, now)
            .await
    }

    async fn erasable(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        before: &MessageId,
        limit: usize,
    ) -> PortResult<ConversationPage> {
        self.erasable_page(org, contact, before, limit).await
    }

    async fn erase(&self, message: &Message) -> PortResult<Erasure> {
        self.erase_items(message).await
    }
}
