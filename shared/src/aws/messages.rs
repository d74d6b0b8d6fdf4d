//! Messages in DynamoDB (see `schema`). Every item has a partition key of its own
//! (`{organization_id}#{message_id}`, `…#SID#<sid>`, `…#IDEM#<key>`), so an organization's
//! message rate meets no per-key limit. A conversation page and a poll are one Query each;
//! status updates are conditional writes that never move a status backwards; inbound
//! de-duplication is a transaction with a `SID#<sid>` marker item.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{s, unavailable};
use crate::domain::{
    Attachment, ContactId, Direction, Message, MessageId, MessageStatus, MessageType,
    OrganizationId, StatusChange,
};
use crate::ports::{
    AttemptOutcome, ConversationPage, ConversationQuery, IdempotentSend, InboundInsert,
    MessageStore, PortError, PortResult, SendClaim, StatusOutcome,
};

/// Claim times as fixed-width UTC RFC 3339, so DynamoDB compares them as strings.
fn claim_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_claim_time(value: Option<&AttributeValue>) -> Option<DateTime<Utc>> {
    let text = value?.as_s().ok()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[derive(Clone)]
pub struct DynamoMessages {
    client: super::LazyClient<Client>,
    table: String,
}

#[derive(Serialize, Deserialize)]
struct MessageItem {
    organization_id: OrganizationId,
    message_id: MessageId,
    /// `{organization_id}#{contact_id}`; absent for messages from unknown numbers, which
    /// therefore appear in no conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conversation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact_id: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact_phone: Option<String>,
    direction: Direction,
    message_type: MessageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    twilio_message_sid: Option<String>,
    status: MessageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    revision: MessageId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    template: Option<crate::domain::SentTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    details: Option<crate::domain::InboundDetails>,
    /// The table's TTL attribute (epoch seconds): the organization's retention deletes the
    /// message through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
}

fn conversation_key(org: &OrganizationId, contact: &ContactId) -> String {
    format!("{org}#{contact}")
}

impl From<&Message> for MessageItem {
    fn from(m: &Message) -> Self {
        Self {
            organization_id: m.organization_id.clone(),
            message_id: m.id,
            conversation: m
                .contact_id
                .as_ref()
                .map(|c| conversation_key(&m.organization_id, c)),
            contact_id: m.contact_id.clone(),
            contact_phone: m.contact_phone.clone(),
            direction: m.direction,
            message_type: m.message_type,
            text: m.text.clone().filter(|t| !t.is_empty()),
            attachments: m.attachments.clone(),
            twilio_message_sid: m.twilio_message_sid.clone(),
            status: m.status,
            error_reason: m.error_reason.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            revision: m.revision,
            template: m.template.clone(),
            details: m.details.clone(),
            expires_at_epoch: m.expires_at.map(|t| t.timestamp()),
            idempotency_key: m.idempotency_key.clone(),
        }
    }
}

impl From<MessageItem> for Message {
    fn from(i: MessageItem) -> Self {
        Self {
            id: i.message_id,
            organization_id: i.organization_id,
            contact_id: i.contact_id,
            contact_phone: i.contact_phone,
            direction: i.direction,
            message_type: i.message_type,
            text: i.text,
            attachments: i.attachments,
            twilio_message_sid: i.twilio_message_sid,
            status: i.status,
            error_reason: i.error_reason,
            created_at: i.created_at,
            updated_at: i.updated_at,
            revision: i.revision,
            template: i.template,
            details: i.details,
            expires_at: i
                .expires_at_epoch
                .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)),
            idempotency_key: i.idempotency_key,
        }
    }
}

fn read(item: HashMap<String, AttributeValue>) -> PortResult<Message> {
    serde_dynamo::from_item::<_, MessageItem>(item)
        .map(Message::from)
        .map_err(|e| PortError::Corrupt(format!("message item: {e}")))
}

fn write(message: &Message) -> PortResult<HashMap<String, AttributeValue>> {
    let mut item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(MessageItem::from(message))
            .map_err(|e| PortError::Corrupt(format!("message item: {e}")))?;
    item.insert(
        ITEM_KEY.to_owned(),
        s(item_key(&message.organization_id, &message.id.to_string())),
    );
    Ok(item)
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

/// Idempotency records share the table (`IDEM#<key>`, no `conversation`: in no index) and
/// carry `expires_at_epoch`, the table's TTL attribute, so DynamoDB deletes them after a day.
fn idempotency_key_item(key: &str) -> String {
    format!("IDEM#{key}")
}

#[derive(Serialize, Deserialize)]
struct IdempotencyItem {
    organization_id: OrganizationId,
    item_key: String,
    #[serde(flatten)]
    record: IdempotentSend,
    expires_at_epoch: i64,
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

    /// What the `SID#` marker of a stored inbound message says (a consistent read: a retry
    /// can come at once). Markers from before `effects_done` existed count as done.
    async fn inbound_marker(
        &self,
        org: &OrganizationId,
        sid: &str,
    ) -> PortResult<Option<InboundInsert>> {
        let Some(item) = self
            .item(org, sid_marker_key(sid), "GetItem inbound marker")
            .await?
        else {
            return Ok(None);
        };
        let message_id = item
            .get("for_message_id")
            .and_then(|v| v.as_s().ok())
            .and_then(|id| MessageId::parse(id).ok());
        let effects_done = match item.get("effects_done") {
            Some(done) => done.as_bool().is_ok_and(|d| *d),
            None => !item.contains_key("effects_pending"),
        };
        Ok(Some(InboundInsert::Duplicate {
            message_id,
            effects_done,
        }))
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
        match update.send().await {
            Ok(out) => Ok(Some(read(out.attributes.unwrap_or_default())?)),
            Err(e) => {
                let e = e.into_service_error();
                if e.is_conditional_check_failed_exception() {
                    Ok(None)
                } else {
                    Err(unavailable(operation, e))
                }
            }
        }
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
        let mut items = Vec::new();
        let mut start = None;
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
        let mut messages = items
            .into_iter()
            .map(read)
            .collect::<PortResult<Vec<_>>>()?;
        let has_more = messages.len() > limit;
        messages.truncate(limit);
        Ok((messages, has_more))
    }

    /// Deletes one item of the organization; with `held_by`, only while that message holds
    /// it (a `SID#` item). Gone already, or held by another: nothing to do.
    async fn delete_item(&self, key: String, held_by: Option<&MessageId>) -> PortResult<()> {
        let mut delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(key));
        if let Some(id) = held_by {
            delete = delete
                .condition_expression("for_message_id = :id")
                .expression_attribute_values(":id", s(id.to_string()));
        }
        match delete.send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = e.into_service_error();
                if e.is_conditional_check_failed_exception() {
                    Ok(())
                } else {
                    Err(unavailable("DeleteItem erasure", e))
                }
            }
        }
    }

    /// The message a `SID#` item names: the sid's holder (outbound, `hold_sid`) or the
    /// inbound message it marks. None when there is no such item or it names no message
    /// (a marker written before `for_message_id` was kept).
    async fn sid_holder(&self, org: &OrganizationId, sid: &str) -> PortResult<Option<MessageId>> {
        Ok(self
            .item(org, sid_marker_key(sid), "GetItem sid holder")
            .await?
            .and_then(|item| {
                item.get("for_message_id")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|id| MessageId::parse(id).ok())
            }))
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
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        // The claim attributes are not part of the message (no revision: pollers see nothing).
        let claimed = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &id.to_string())))
            .update_expression(
                "SET claim_until = :until, claim_since = if_not_exists(claim_since, :now)",
            )
            .condition_expression(
                "attribute_exists(item_key) AND #status = :pending \
                 AND (attribute_not_exists(claim_until) OR claim_until <= :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(MessageStatus::Pending.as_str()))
            .expression_attribute_values(":now", s(claim_time(now)))
            .expression_attribute_values(":until", s(claim_time(until)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match claimed {
            Ok(out) => Ok(SendClaim::Claimed {
                unresolved_since: parse_claim_time(
                    out.attributes.as_ref().and_then(|a| a.get("claim_since")),
                ),
            }),
            Err(e) => {
                let e = e.into_service_error();
                if !e.is_conditional_check_failed_exception() {
                    return Err(unavailable("UpdateItem send claim", e));
                }
                // Lost the race, or nothing to send: a consistent read tells which.
                let item = self.item(org, id.to_string(), "GetItem send claim").await?;
                let pending = item
                    .as_ref()
                    .and_then(|i| i.get("status"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|status| status == MessageStatus::Pending.as_str());
                match item
                    .as_ref()
                    .and_then(|i| parse_claim_time(i.get("claim_until")))
                {
                    Some(until) if pending => Ok(SendClaim::Held { until }),
                    _ => Ok(SendClaim::NotPending),
                }
            }
        }
    }

    async fn release_send(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        outcome: AttemptOutcome,
    ) -> PortResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &id.to_string())))
            .condition_expression("attribute_exists(item_key)");
        let update = match outcome {
            AttemptOutcome::NotSent => update.update_expression("REMOVE claim_until, claim_since"),
            // The lease ends now; `claim_since` stays for the reconciliation.
            AttemptOutcome::Unknown => update
                .update_expression("SET claim_until = :over")
                .expression_attribute_values(":over", s(claim_time(DateTime::<Utc>::MIN_UTC))),
        };
        update.send().await.map(|_| ()).or_else(|e| {
            let e = e.into_service_error();
            if e.is_conditional_check_failed_exception() {
                Ok(())
            } else {
                Err(unavailable("UpdateItem release claim", e))
            }
        })
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
        Ok(())
    }

    async fn insert_inbound(&self, message: &Message) -> PortResult<InboundInsert> {
        let Some(sid) = &message.twilio_message_sid else {
            self.insert(message).await?;
            return Ok(InboundInsert::Stored);
        };
        // A repeat (Twilio's retry) is recognised by a consistent read of its marker: cheaper
        // than a transaction that fails its condition, which DynamoDB bills as writes.
        if let Some(repeat) = self.inbound_marker(&message.organization_id, sid).await? {
            return Ok(repeat);
        }
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(item_key)")
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))
        };
        let marker = HashMap::from([
            (
                "organization_id".to_owned(),
                s(message.organization_id.as_str()),
            ),
            (
                ITEM_KEY.to_owned(),
                s(item_key(&message.organization_id, &sid_marker_key(sid))),
            ),
            ("for_message_id".to_owned(), s(message.id.to_string())),
            // Until `inbound_effects_done`: a retried webhook applies what is missing.
            ("effects_pending".to_owned(), AttributeValue::Bool(true)),
        ]);
        // The marker goes with its message when the organization's retention ends it.
        let mut marker = marker;
        if let Some(at) = message.expires_at {
            marker.insert(
                "expires_at_epoch".to_owned(),
                AttributeValue::N(at.timestamp().to_string()),
            );
        }
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put(marker)?).build())
            .transact_items(
                TransactWriteItem::builder()
                    .put(put(write(message)?)?)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(InboundInsert::Stored),
            Err(e) => {
                let e = e.into_service_error();
                // Only the marker (first item) can fail its condition on a repeated sid.
                let duplicate = match &e {
                    TransactWriteItemsError::TransactionCanceledException(t) => {
                        t.cancellation_reasons()
                            .first()
                            .and_then(|first| first.code())
                            == Some("ConditionalCheckFailed")
                    }
                    _ => false,
                };
                if duplicate {
                    // A concurrent first delivery won; its marker is there now. If it is not,
                    // nothing is known to be stored: fail, so Twilio's retry stores it.
                    self.inbound_marker(&message.organization_id, sid)
                        .await?
                        .ok_or_else(|| {
                            PortError::Unavailable(
                                "the inbound marker's condition failed but it is not there".into(),
                            )
                        })
                } else {
                    Err(unavailable("TransactWriteItems inbound message", e))
                }
            }
        }
    }

    async fn inbound_effects_done(&self, org: &OrganizationId, sid: &str) -> PortResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &sid_marker_key(sid))))
            .update_expression("SET effects_done = :done REMOVE effects_pending")
            .condition_expression("attribute_exists(item_key)")
            .expression_attribute_values(":done", AttributeValue::Bool(true))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| unavailable("UpdateItem inbound effects", e.into_service_error()))
    }

    async fn idempotent_send(
        &self,
        org: &OrganizationId,
        key: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Option<IdempotentSend>> {
        let Some(item) = self
            .item(org, idempotency_key_item(key), "GetItem idempotency record")
            .await?
        else {
            return Ok(None);
        };
        let item: IdempotencyItem = serde_dynamo::from_item(item)
            .map_err(|e| PortError::Corrupt(format!("idempotency record: {e}")))?;
        // TTL deletes lazily (within days): an expired record is gone for us already.
        Ok(Some(item.record).filter(|_| item.expires_at_epoch > now.timestamp()))
    }

    async fn save_idempotent_send(
        &self,
        org: &OrganizationId,
        record: &IdempotentSend,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let item = serde_dynamo::to_item(IdempotencyItem {
            organization_id: org.clone(),
            item_key: item_key(org, &idempotency_key_item(&record.key)),
            record: record.clone(),
            expires_at_epoch: record.expires_at.timestamp(),
        })
        .map_err(|e| PortError::Corrupt(format!("idempotency record: {e}")))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match expected {
            None => {
                put.condition_expression(
                    "attribute_not_exists(item_key) OR expires_at_epoch <= :now",
                )
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            }
            Some(version) => put
                .condition_expression("version = :v AND expires_at_epoch > :now")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(now.timestamp().to_string()),
                ),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = e.into_service_error();
                if e.is_conditional_check_failed_exception() {
                    Ok(false)
                } else {
                    Err(unavailable("PutItem idempotency record", e))
                }
            }
        }
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
        // The sid's holder, read consistently from its `SID#` item under the organization.
        if let Some(id) = self.sid_holder(org, sid).await? {
            return self.get(org, &id).await;
        }
        // A sid recorded without a holder (before holds existed): the index, which has keys
        // only; the item key names the message, and its prefix the organization, so another
        // organization's message with the same sid is never read.
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("sid")
            .key_condition_expression("twilio_message_sid = :s")
            .expression_attribute_values(":s", s(sid))
            .send()
            .await
            .map_err(|e| unavailable("Query sid", e.into_service_error()))?;
        let prefix = item_key(org, "");
        let Some(id) = out
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(|keys| keys.get(ITEM_KEY)?.as_s().ok()?.strip_prefix(&prefix))
            .find_map(|id| MessageId::parse(id).ok())
        else {
            return Ok(None);
        };
        self.get(org, &id).await
    }

    async fn hold_sid(&self, org: &OrganizationId, sid: &str, id: &MessageId) -> PortResult<bool> {
        // An UpdateItem creates the item when there is none and never overwrites an inbound
        // marker's flags; the condition lets one message only hold the sid.
        let held = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &sid_marker_key(sid))))
            .update_expression("SET organization_id = :org, for_message_id = :id")
            .condition_expression("attribute_not_exists(item_key) OR for_message_id = :id")
            .expression_attribute_values(":org", s(org.as_str()))
            .expression_attribute_values(":id", s(id.to_string()))
            .send()
            .await;
        match held {
            Ok(_) => Ok(true),
            Err(e) => {
                let e = e.into_service_error();
                if e.is_conditional_check_failed_exception() {
                    Ok(false)
                } else {
                    Err(unavailable("UpdateItem hold sid", e))
                }
            }
        }
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
        self.conditional(update, "UpdateItem message destination")
            .await
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
        let value = serde_dynamo::to_attribute_value(attachments)
            .map_err(|e| PortError::Corrupt(format!("attachments: {e}")))?;
        let update = self
            .update(org, id)
            .update_expression("SET attachments = :a, updated_at = :now, revision = :rev")
            .condition_expression("attribute_exists(item_key)")
            .expression_attribute_values(":a", value);
        self.conditional(update, "UpdateItem message attachments")
            .await
    }

    async fn erasable(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        before: &MessageId,
        limit: usize,
    ) -> PortResult<ConversationPage> {
        let query = self.query_all(
            "conversation",
            "conversation = :c AND message_id < :id",
            vec![
                (":c", s(conversation_key(org, contact))),
                (":id", s(before.to_string())),
            ],
            false,
        );
        let (mut messages, has_more) = self.read_pages(query, limit).await?;
        messages.sort_by_key(|m| m.id);
        Ok(ConversationPage { messages, has_more })
    }

    async fn erase(&self, message: &Message) -> PortResult<()> {
        let org = &message.organization_id;
        // The message goes last: until it is gone, a retried erasure finds it again.
        if let Some(sid) = &message.twilio_message_sid {
            self.delete_item(item_key(org, &sid_marker_key(sid)), Some(&message.id))
                .await?;
        }
        if let Some(key) = &message.idempotency_key {
            self.delete_item(item_key(org, &idempotency_key_item(key)), None)
                .await?;
        }
        self.delete_item(item_key(org, &message.id.to_string()), None)
            .await
    }

    async fn apply_status(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        change: &StatusChange,
    ) -> PortResult<Option<StatusOutcome>> {
        // The statuses this change may follow: the forward-only rule as a condition.
        let predecessors: Vec<MessageStatus> = MessageStatus::ALL
            .into_iter()
            .filter(|from| from.can_advance_to(change.status))
            .collect();
        if !predecessors.is_empty() {
            let mut set = vec!["#status = :status", "updated_at = :now", "revision = :rev"];
            let mut update = self
                .update(org, id)
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(change.status.as_str()));
            if let Some(sid) = &change.twilio_message_sid {
                set.push("twilio_message_sid = if_not_exists(twilio_message_sid, :sid)");
                update = update.expression_attribute_values(":sid", s(sid.clone()));
            }
            // A reason goes with a failure or a doubt, and leaves with them.
            let mut remove = "";
            match &change.error_reason {
                Some(reason) if change.status.has_reason() => {
                    set.push("error_reason = :reason");
                    update = update.expression_attribute_values(":reason", s(reason.clone()));
                }
                _ => remove = " REMOVE error_reason",
            }
            let mut allowed = Vec::new();
            for (i, status) in predecessors.iter().enumerate() {
                let name = format!(":p{i}");
                update = update.expression_attribute_values(&name, s(status.as_str()));
                allowed.push(name);
            }
            let update = update
                .update_expression(format!("SET {}{remove}", set.join(", ")))
                .condition_expression(format!(
                    "attribute_exists(item_key) AND #status IN ({})",
                    allowed.join(", ")
                ));
            if let Some(message) = self
                .conditional(update, "UpdateItem message status")
                .await?
            {
                return Ok(Some(StatusOutcome::Applied(message)));
            }
        }
        // The status cannot move; the sid is still recorded if it was not known yet.
        if let Some(sid) = &change.twilio_message_sid {
            let update = self
                .update(org, id)
                .update_expression(
                    "SET twilio_message_sid = :sid, updated_at = :now, revision = :rev",
                )
                .condition_expression(
                    "attribute_exists(item_key) AND attribute_not_exists(twilio_message_sid)",
                )
                .expression_attribute_values(":sid", s(sid.clone()));
            if let Some(message) = self.conditional(update, "UpdateItem message sid").await? {
                return Ok(Some(StatusOutcome::Applied(message)));
            }
        }
        let current = self.get(org, id).await?;
        if current.is_none()
            && let Some(sid) = &change.twilio_message_sid
        {
            // Erased while it was being sent: the sid it held goes with it.
            self.delete_item(item_key(org, &sid_marker_key(sid)), Some(id))
                .await?;
        }
        Ok(current.map(StatusOutcome::Unchanged))
    }
}
