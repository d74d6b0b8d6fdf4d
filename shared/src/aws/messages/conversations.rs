//! The inbox's conversation summaries: one item `{org}#CONV#<contact>` per conversation, in
//! the messages table and its sparse `inbox` index (`inbox` = organization, `activity` = the
//! newest message's id and the contact), written with the message writes that change them:
//!
//! - an inbound message: in its de-duplication transaction (`inbound`), so a message stored
//!   once is counted once;
//! - any other message write (a send, a status, a sid, a file copied): right after it, read
//!   and written back conditionally on the summary's `version`, and again when the same
//!   write is retried (a status repeated after a failure finds its summary still behind).
//!
//! Every write of a summary is conditional on the version read, so concurrent writers never
//! lose each other's changes; the loser reads again.
//!
//! A summary with something unread is also in the sparse, keys-only `unread` index
//! (`unread_inbox` = organization, `unread` = `<retention end, 11 digits>#<count>`): the
//! organization's unread total is one Query of it, reading only the conversations with
//! something unread, and its key condition leaves the expired ones out. The total is the
//! sum of the summaries themselves, so nothing can drift: no counter to keep in step with
//! reads, erasures and retention.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, Select};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DynamoMessages, ITEM_KEY, conversation_key, item_key};
use crate::aws::{s, unavailable, unless_condition_failed};
use crate::domain::{
    ContactId, ConversationSummary, Direction, LastMessage, Message, MessageId, OrganizationId,
};
use crate::ports::{
    ConversationQuery, ConversationStore, InboxCursor, MessageStore, Page, PortError, PortResult,
};

/// Conditional writes tried before giving up on a summary that keeps changing meanwhile.
pub(super) const SUMMARY_ATTEMPTS: usize = 8;

fn summary_suffix(contact: &ContactId) -> String {
    format!("CONV#{contact}")
}

/// The `unread` index's sort key: the retention end first, so a key condition leaves the
/// expired out, then the unread count.
fn unread_key(expires_at_epoch: Option<i64>, unread: u64) -> String {
    format!(
        "{:011}#{unread}",
        expires_at_epoch.unwrap_or(NEVER).clamp(0, NEVER)
    )
}

/// The `unread` key of a summary that never expires (retention off).
const NEVER: i64 = 99_999_999_999;

/// The `inbox` index's sort key: the newest message first (ULIDs sort by time), the contact
/// to tell apart, and to rebuild the item's key from a cursor.
fn activity(last: &MessageId, contact: &ContactId) -> String {
    format!("{last}#{contact}")
}

#[derive(Serialize, Deserialize)]
struct SummaryItem {
    organization_id: OrganizationId,
    contact_id: ContactId,
    /// The `inbox` index's partition key: the organization.
    inbox: String,
    activity: String,
    /// The `unread` index's keys: present only while something is unread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unread_inbox: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unread: Option<String>,
    last_message: LastMessage,
    inbound_count: u64,
    read_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_inbound_id: Option<MessageId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_read_id: Option<MessageId>,
    version: u64,
    /// The table's TTL attribute: the summary goes with its newest message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_epoch: Option<i64>,
}

fn write_summary(summary: &ConversationSummary) -> PortResult<HashMap<String, AttributeValue>> {
    let expires_at_epoch = summary.expires_at.map(|at| at.timestamp());
    let unread = summary.unread();
    let item = SummaryItem {
        organization_id: summary.organization_id.clone(),
        contact_id: summary.contact_id.clone(),
        inbox: summary.organization_id.to_string(),
        activity: activity(&summary.last_message.id, &summary.contact_id),
        unread_inbox: (unread > 0).then(|| summary.organization_id.to_string()),
        unread: (unread > 0).then(|| unread_key(expires_at_epoch, unread)),
        last_message: summary.last_message.clone(),
        inbound_count: summary.inbound_count,
        read_count: summary.read_count,
        last_inbound_id: summary.last_inbound_id,
        last_read_id: summary.last_read_id,
        version: summary.version,
        expires_at_epoch,
    };
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(item)
        .map_err(|e| PortError::Corrupt(format!("conversation summary: {e}")))?;
    item.insert(
        ITEM_KEY.to_owned(),
        s(item_key(
            &summary.organization_id,
            &summary_suffix(&summary.contact_id),
        )),
    );
    Ok(item)
}

fn read_summary<I>(item: I) -> PortResult<ConversationSummary>
where
    I: Into<serde_dynamo::Item>,
{
    let item: SummaryItem = serde_dynamo::from_item(item.into())
        .map_err(|e| PortError::Corrupt(format!("conversation summary: {e}")))?;
    Ok(ConversationSummary {
        organization_id: item.organization_id,
        contact_id: item.contact_id,
        last_message: item.last_message,
        inbound_count: item.inbound_count,
        read_count: item.read_count,
        last_inbound_id: item.last_inbound_id,
        last_read_id: item.last_read_id,
        version: item.version,
        expires_at: item
            .expires_at_epoch
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)),
    })
}

/// A summary as a stream record's image holds it; None for every other item.
pub fn summary_from_image(image: serde_dynamo::Item) -> PortResult<Option<ConversationSummary>> {
    let is_summary = match image.get(ITEM_KEY) {
        Some(serde_dynamo::AttributeValue::S(key)) => key
            .split_once('#')
            .is_some_and(|(_, suffix)| suffix.starts_with("CONV#")),
        _ => false,
    };
    if is_summary {
        read_summary(image).map(Some)
    } else {
        Ok(None)
    }
}

/// A stored summary: what it says (None: none, or expired) and the version its next write is
/// conditional on (None: no item).
pub(super) struct Stored {
    pub(super) summary: Option<ConversationSummary>,
    pub(super) version: Option<u64>,
}

impl Stored {
    /// `next` as it is written over this item: its version always above the stored one,
    /// also when an expired summary starts again from 1.
    pub(super) fn successor(&self, mut next: ConversationSummary) -> ConversationSummary {
        if let Some(stored) = self.version {
            next.version = next.version.max(stored + 1);
        }
        next
    }
}

impl DynamoMessages {
    /// The conversation's summary item, read consistently.
    pub(super) async fn stored_summary(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> PortResult<Stored> {
        let Some(item) = self
            .item(org, summary_suffix(contact), "GetItem conversation summary")
            .await?
        else {
            return Ok(Stored {
                summary: None,
                version: None,
            });
        };
        let summary = read_summary(item)?;
        Ok(Stored {
            version: Some(summary.version),
            summary: Some(summary).filter(|s| !s.expired(Utc::now())),
        })
    }

    /// The Put of `next` over the stored item, conditional on its version.
    pub(super) fn summary_put(
        &self,
        stored: Option<u64>,
        next: &ConversationSummary,
    ) -> PortResult<Put> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(write_summary(next)?));
        let put = match stored {
            None => put.condition_expression("attribute_not_exists(item_key)"),
            Some(version) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string())),
        };
        put.build()
            .map_err(|e| PortError::Unavailable(e.to_string()))
    }

    /// Writes `next` if the summary is still at `stored`; false, writing nothing, when
    /// another write came first.
    async fn save_summary(
        &self,
        stored: Option<u64>,
        next: &ConversationSummary,
    ) -> PortResult<bool> {
        let put = self.summary_put(stored, next)?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values)
            .send()
            .await;
        Ok(unless_condition_failed(result, "PutItem conversation summary")?.is_some())
    }

    /// Brings the summary of `m`'s conversation up to `m` (a message written or changed,
    /// not a newly counted inbound one). Writes nothing when it already shows as much.
    pub(super) async fn summarize(&self, m: &Message) -> PortResult<()> {
        let Some(contact) = &m.contact_id else {
            return Ok(());
        };
        for _ in 0..SUMMARY_ATTEMPTS {
            let stored = self.stored_summary(&m.organization_id, contact).await?;
            let Some(next) = ConversationSummary::with_message(stored.summary.as_ref(), m, false)
            else {
                return Ok(());
            };
            if self
                .save_summary(stored.version, &stored.successor(next))
                .await?
            {
                return Ok(());
            }
        }
        Err(PortError::Unavailable(
            "the conversation summary kept changing".into(),
        ))
    }

    /// Starts the summaries of conversations from before the inbox existed (an upgrade):
    /// for each contact without a summary item, one from its newest message, nothing unread
    /// (what came before is history, not new). A summary written meanwhile by a message or a
    /// read is never replaced (the write is conditional on there being none), so it is safe
    /// while traffic flows and running it twice changes nothing. Answers how many it started.
    pub async fn backfill_summaries(
        &self,
        org: &OrganizationId,
        contacts: &[ContactId],
    ) -> PortResult<usize> {
        let mut started = 0;
        for contact in contacts {
            if self.stored_summary(org, contact).await?.version.is_some() {
                continue;
            }
            let newest = self
                .conversation(org, contact, ConversationQuery::Latest { limit: 1 })
                .await?
                .messages
                .pop();
            let Some(summary) =
                newest.and_then(|m| ConversationSummary::with_message(None, &m, false))
            else {
                continue;
            };
            if self.save_summary(None, &summary).await? {
                started += 1;
            }
        }
        Ok(started)
    }

    /// Inbound messages of the conversation newer than `up_to` (retention's expired left
    /// out), counted from the `conversation` index page by page.
    async fn inbound_after(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        up_to: &MessageId,
    ) -> PortResult<u64> {
        let query = self
            .query_all(
                "conversation",
                "conversation = :c AND message_id > :id",
                vec![
                    (":c", s(conversation_key(org, contact))),
                    (":id", s(up_to.to_string())),
                ],
                true,
            )
            .filter_expression(
                "#direction = :inbound AND (attribute_not_exists(expires_at_epoch) OR expires_at_epoch > :now_epoch)",
            )
            .expression_attribute_names("#direction", "direction")
            .expression_attribute_values(":inbound", s("INBOUND"))
            .expression_attribute_values(
                ":now_epoch",
                AttributeValue::N(Utc::now().timestamp().to_string()),
            )
            .select(Select::Count);
        let mut count = 0u64;
        let mut start = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Query unread", e.into_service_error()))?;
            count += u64::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() {
                return Ok(count);
            }
        }
    }
}

impl ConversationStore for DynamoMessages {
    async fn conversations(
        &self,
        org: &OrganizationId,
        cursor: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<ConversationSummary>> {
        let query = self
            .query_all(
                "inbox",
                "inbox = :org",
                vec![(":org", s(org.as_str()))],
                false,
            )
            .filter_expression(
                "attribute_not_exists(expires_at_epoch) OR expires_at_epoch > :now_epoch",
            )
            .expression_attribute_values(
                ":now_epoch",
                AttributeValue::N(Utc::now().timestamp().to_string()),
            );
        let mut start = None;
        if let Some(cursor) = cursor {
            let after = InboxCursor::parse(cursor)?;
            start = Some(HashMap::from([
                (
                    ITEM_KEY.to_owned(),
                    s(item_key(org, &summary_suffix(&after.contact))),
                ),
                ("inbox".to_owned(), s(org.as_str())),
                ("activity".to_owned(), s(after.activity())),
            ]));
        }
        let (items, has_more) = self.read_items(query, limit, start).await?;
        let items = items
            .into_iter()
            .map(read_summary)
            .collect::<PortResult<Vec<_>>>()?;
        Ok(Page {
            next_cursor: has_more
                .then(|| items.last().map(|s| InboxCursor::of(s).to_string()))
                .flatten(),
            items,
        })
    }

    async fn unread_total(&self, org: &OrganizationId) -> PortResult<u64> {
        // After every key of a summary expired by now ('~' sorts after the digits).
        let live = format!("{:011}#~", Utc::now().timestamp().clamp(0, NEVER));
        let query = self
            .query_all(
                "unread",
                "unread_inbox = :org AND #unread > :live",
                vec![(":org", s(org.as_str())), (":live", s(live))],
                true,
            )
            .expression_attribute_names("#unread", "unread")
            .projection_expression("#unread");
        let mut total = 0u64;
        let mut start = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| unavailable("Query unread total", e.into_service_error()))?;
            for item in out.items() {
                let count = item
                    .get("unread")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|key| key.split_once('#'))
                    .and_then(|(_, count)| count.parse::<u64>().ok())
                    .ok_or_else(|| PortError::Corrupt("an unread index key".into()))?;
                total += count;
            }
            start = out.last_evaluated_key.filter(|key| !key.is_empty());
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    async fn summary(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
    ) -> PortResult<Option<ConversationSummary>> {
        Ok(self.stored_summary(org, contact).await?.summary)
    }

    async fn mark_read(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        up_to: &MessageId,
    ) -> PortResult<Option<ConversationSummary>> {
        for _ in 0..SUMMARY_ATTEMPTS {
            let stored = self.stored_summary(org, contact).await?;
            let current = match stored.summary.clone() {
                Some(summary) => summary,
                // A conversation without a summary (none kept yet) starts from its newest
                // message.
                None => {
                    let newest = self
                        .conversation(org, contact, ConversationQuery::Latest { limit: 1 })
                        .await?
                        .messages
                        .pop();
                    match newest.and_then(|m| ConversationSummary::with_message(None, &m, false)) {
                        Some(summary) => stored.successor(summary),
                        None => return Ok(None),
                    }
                }
            };
            let inbound_after = if current.inbound_after_needed(*up_to) {
                self.inbound_after(org, contact, up_to).await?
            } else {
                0
            };
            let Some(next) = current.read_up_to(*up_to, inbound_after) else {
                return Ok(Some(current));
            };
            if self.save_summary(stored.version, &next).await? {
                return Ok(Some(next));
            }
        }
        Err(PortError::Unavailable(
            "the conversation summary kept changing".into(),
        ))
    }

    async fn take_indicator_turn(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        now: DateTime<Utc>,
        every: chrono::Duration,
    ) -> PortResult<bool> {
        DynamoMessages::take_indicator_turn(self, org, contact, now, every).await
    }

    async fn forget(&self, org: &OrganizationId, contact: &ContactId) -> PortResult<()> {
        self.delete_item(item_key(org, &summary_suffix(contact)), None)
            .await
    }
}

/// Whether an inbound message is one the inbox counts.
pub(super) fn counted(m: &Message) -> bool {
    m.direction == Direction::Inbound && m.contact_id.is_some()
}
