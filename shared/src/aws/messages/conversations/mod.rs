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
//! (`unread_inbox` = organization, `unread` = `<until when the count holds, 11 digits>#<count>`):
//! the organization's unread total is one Query of it for the counts that still hold,
//! reading only the conversations with something unread, and a second for those whose count
//! has changed since (an unread message past retention, or the summary itself gone), whose
//! summaries are read again (usually none). The total is the sum of the summaries
//! themselves, so nothing can drift: no counter to keep in step with reads, erasures and
//! retention.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, Select};
use chrono::{DateTime, Utc};

mod summary_item;
mod unread_total;

pub use summary_item::summary_from_image;
use summary_item::{NEVER, read_summary, summary_suffix, write_summary};

use super::{DynamoMessages, ITEM_KEY, conversation_key, item_key};
use crate::aws::contention::{Backoff, send_contended};
use crate::aws::{s, unavailable, unless_condition_failed};
use crate::domain::{ContactId, ConversationSummary, Message, MessageId, OrganizationId};
use crate::ports::{
    ConversationQuery, ConversationStore, InboxCursor, MessageStore, Page, PortError, PortResult,
};

/// A stored summary: what it says (None: none, or expired) and the version its next write is
/// conditional on (None: no item).
pub(super) struct Stored {
    pub(super) summary: Option<ConversationSummary>,
    pub(super) version: Option<u64>,
}

impl Stored {
    /// The summary item as read (None: there is none), or as a failed condition returned it.
    pub(super) fn from_item(item: Option<HashMap<String, AttributeValue>>) -> PortResult<Self> {
        let Some(item) = item else {
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
        let item = self
            .item(org, summary_suffix(contact), "GetItem conversation summary")
            .await?;
        Stored::from_item(item)
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
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(put.item))
            .set_condition_expression(put.condition_expression)
            .set_expression_attribute_values(put.expression_attribute_values);
        let result = send_contended(|| request.clone().send()).await;
        Ok(unless_condition_failed(result, "PutItem conversation summary")?.is_some())
    }

    /// Brings the summary of `m`'s conversation up to `m` (a message written or changed,
    /// not a newly counted inbound one). Writes nothing when it already shows as much.
    pub(super) async fn summarize(&self, m: &Message) -> PortResult<()> {
        // A note never shows in the row (`with_message`): not even a read of the summary.
        let Some(contact) = m
            .contact_id
            .as_ref()
            .filter(|_| !ConversationSummary::ignores(m))
        else {
            return Ok(());
        };
        let mut backoff = Backoff::start();
        loop {
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
            if !backoff.pause().await {
                return Err(kept_changing());
            }
        }
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
        let now = Utc::now();
        // After every key whose count held until now ('~' sorts after the digits).
        let live = format!("{:011}#~", now.timestamp().clamp(0, NEVER));
        let holding = self
            .query_all(
                "unread",
                "unread_inbox = :org AND #unread > :live",
                vec![(":org", s(org.as_str())), (":live", s(live.clone()))],
                true,
            )
            .projection_expression("#unread");
        let mut total = 0u64;
        for item in self.unread_keys(holding, "Query unread total").await? {
            let count = item
                .get("unread")
                .and_then(|v| v.as_s().ok())
                .and_then(|key| key.split_once('#'))
                .and_then(|(_, count)| count.parse::<u64>().ok())
                .ok_or_else(|| PortError::Corrupt("an unread index key".into()))?;
            total += count;
        }
        // Counts that changed since they were written: their summaries, read again.
        let changed = self
            .query_all(
                "unread",
                "unread_inbox = :org AND #unread <= :live",
                vec![(":org", s(org.as_str())), (":live", s(live))],
                true,
            )
            .projection_expression(ITEM_KEY);
        let keys: Vec<AttributeValue> = self
            .unread_keys(changed, "Query unread changed")
            .await?
            .into_iter()
            .filter_map(|mut item| item.remove(ITEM_KEY))
            .collect();
        for summary in self.summaries_by_key(keys).await? {
            if !summary.expired(now) {
                total += summary.unread_at(now);
            }
        }
        Ok(total)
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
        let mut backoff = Backoff::start();
        loop {
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
            if !backoff.pause().await {
                return Err(kept_changing());
            }
        }
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

/// A summary that other writers kept changing until the invocation's deadline.
fn kept_changing() -> PortError {
    PortError::Unavailable("the conversation summary kept changing until the deadline".into())
}

/// Whether an inbound message is one the inbox counts.
pub(super) fn counted(m: &Message) -> bool {
    ConversationSummary::counts(m)
}
