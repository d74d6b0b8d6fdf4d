//! Counting an inbound message later. When other messages keep a conversation's summary busy
//! (an album of photos, a burst) until the webhook must answer, the message is stored with
//! its marker but without its count, the marker saying so (`count_pending`); a
//! `CountInbound` job then counts it with the marker's flag in the same transaction, so it
//! is counted once however often the job runs. Twilio gets its 200 and nothing is lost,
//! whichever retry policy its URL has.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use super::super::conversations::counted;
use super::super::{DynamoMessages, ITEM_KEY, item_key, sid_marker_key};
use crate::aws::contention::{Backoff, cancelled_by_contention};
use crate::aws::{s, unavailable};
use crate::domain::{ConversationSummary, Message};
use crate::ports::{InboundInsert, PortError, PortResult};

/// The marker attribute of a message stored uncounted.
pub(super) const COUNT_PENDING: &str = "count_pending";

/// How long before the webhook's deadline counting in line gives up, leaving time to store
/// the message uncounted, queue its count and apply its other effects (the job moves the
/// contact's window: the burst contends for the contact item as for the conversation).
pub(super) const COUNT_RESERVE: Duration = Duration::from_millis(3000);

fn contended() -> PortError {
    PortError::Unavailable("the conversation stayed contended until the deadline".into())
}

impl DynamoMessages {
    /// Stores an inbound message and its marker without counting it (no shared item in the
    /// transaction: nothing another message writes). A duplicate delivery that won
    /// meanwhile is answered as one.
    pub(super) async fn store_uncounted(
        &self,
        message: &Message,
        marker: &HashMap<String, AttributeValue>,
    ) -> PortResult<InboundInsert> {
        let Some(sid) = message
            .twilio_message_sid
            .as_deref()
            .filter(|_| counted(message))
        else {
            return Err(contended());
        };
        let mut marker = marker.clone();
        marker.insert(COUNT_PENDING.to_owned(), AttributeValue::Bool(true));
        let mut backoff = Backoff::start();
        loop {
            let transaction = self.inbound_transaction(message, &marker, None)?;
            let e = match transaction.send().await {
                Ok(_) => {
                    tracing::warn!(
                        message_id = %message.id,
                        "conversation contended: inbound message stored, its count deferred"
                    );
                    return Ok(InboundInsert::StoredUncounted);
                }
                Err(e) => e.into_service_error(),
            };
            if let TransactWriteItemsError::TransactionCanceledException(t) = &e
                && t.cancellation_reasons().first().and_then(|r| r.code())
                    == Some("ConditionalCheckFailed")
            {
                return self
                    .inbound_marker(&message.organization_id, sid)
                    .await?
                    .ok_or_else(contended);
            }
            if !cancelled_by_contention(&e) {
                return Err(unavailable("TransactWriteItems uncounted inbound", e));
            }
            if !backoff.pause().await {
                return Err(contended());
            }
        }
    }

    /// `MessageStore::count_inbound`: the summary counts the message and the marker's flag
    /// goes, in one transaction; nothing when the flag is gone (counted already).
    pub(in crate::aws::messages) async fn count_deferred(
        &self,
        message: &Message,
    ) -> PortResult<()> {
        let (Some(sid), Some(contact)) = (&message.twilio_message_sid, &message.contact_id) else {
            return Ok(());
        };
        let org = &message.organization_id;
        let marker_key = item_key(org, &sid_marker_key(sid));
        let mut backoff = Backoff::start();
        loop {
            let pending = self
                .item(org, sid_marker_key(sid), "GetItem inbound marker")
                .await?
                .is_some_and(|marker| marker.contains_key(COUNT_PENDING));
            if !pending {
                return Ok(());
            }
            let stored = self.stored_summary(org, contact).await?;
            let next = ConversationSummary::with_message(stored.summary.as_ref(), message, true)
                .ok_or_else(|| PortError::Corrupt("an inbound message counted nothing".into()))?;
            let flag = Update::builder()
                .table_name(&self.table)
                .key(ITEM_KEY, s(marker_key.clone()))
                .update_expression("REMOVE #pending")
                .condition_expression("attribute_exists(#pending)")
                .expression_attribute_names("#pending", COUNT_PENDING)
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))?;
            let summary = self.summary_put(stored.version, &stored.successor(next))?;
            let sent = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().update(flag).build())
                .transact_items(TransactWriteItem::builder().put(summary).build())
                .send()
                .await;
            let e = match sent {
                Ok(_) => return Ok(()),
                Err(e) => e.into_service_error(),
            };
            let failed = |index: usize| match &e {
                TransactWriteItemsError::TransactionCanceledException(t) => {
                    t.cancellation_reasons().get(index).and_then(|r| r.code())
                        == Some("ConditionalCheckFailed")
                }
                _ => false,
            };
            // Counted by another run of the job meanwhile.
            if failed(0) {
                return Ok(());
            }
            if !failed(1) && !cancelled_by_contention(&e) {
                return Err(unavailable("TransactWriteItems deferred count", e));
            }
            if !backoff.pause().await {
                return Err(contended());
            }
        }
    }
}
