//! Inbound de-duplication: an inbound message, its `SID#<MessageSid>` marker and its
//! conversation's count are written in one transaction, so a repeated or concurrent delivery
//! stores nothing and counts nothing. When other messages keep the conversation's summary
//! busy until the webhook must answer, the message is stored without its count and counted
//! later (`deferred_count`): contention never loses a message.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};

mod deferred_count;

use super::conversations::{Stored, counted};
use super::{DynamoMessages, ITEM_KEY, item::write, item_key, sid_marker_key};
use crate::aws::contention::{Backoff, cancelled_by_contention, send_contended};
use crate::aws::{s, unavailable};
use crate::domain::{ConversationSummary, Message, MessageId, OrganizationId};
use crate::ports::{InboundInsert, MessageStore, PortError, PortResult};
use deferred_count::{COUNT_PENDING, COUNT_RESERVE};

/// The `SID#` marker of an inbound message: its message, its effects still to apply until
/// `inbound_effects_done` (a retried webhook applies what is missing), and its message's
/// retention.
fn marker_item(message: &Message, sid: &str) -> HashMap<String, AttributeValue> {
    let mut marker = HashMap::from([
        (
            "organization_id".to_owned(),
            s(message.organization_id.as_str()),
        ),
        (
            ITEM_KEY.to_owned(),
            s(item_key(&message.organization_id, &sid_marker_key(sid))),
        ),
        ("for_message_id".to_owned(), s(message.id.to_string())),
        ("effects_pending".to_owned(), AttributeValue::Bool(true)),
    ]);
    if let Some(at) = message.expires_at {
        marker.insert(
            "expires_at_epoch".to_owned(),
            AttributeValue::N(at.timestamp().to_string()),
        );
    }
    marker
}

impl DynamoMessages {
    /// What the `SID#` marker of a stored inbound message says (a consistent read: a retry
    /// can come at once). Markers from before `effects_done` existed count as done.
    pub(super) async fn inbound_marker(
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
            count_pending: item.contains_key(COUNT_PENDING),
        }))
    }

    pub(super) async fn insert_with_marker(&self, message: &Message) -> PortResult<InboundInsert> {
        let Some(sid) = &message.twilio_message_sid else {
            self.insert(message).await?;
            return Ok(InboundInsert::Stored);
        };
        // A repeat (Twilio's retry) is recognised by a consistent read of its marker: cheaper
        // than a transaction that fails its condition, which DynamoDB bills as writes.
        if let Some(repeat) = self.inbound_marker(&message.organization_id, sid).await? {
            return Ok(repeat);
        }
        let marker = marker_item(message, sid);
        // The conversation's summary counts the message in the same transaction: stored once,
        // counted once. Another write of the summary meanwhile fails its condition alone (and
        // returns the summary: the next attempt goes at once), and a transaction in flight
        // on the same summary (an album's other photos) cancels this one by conflict (the
        // next attempt reads it again after a pause).
        let counted_in = message.contact_id.as_ref().filter(|_| counted(message));
        let mut summary = match counted_in {
            Some(contact) => Some(
                self.stored_summary(&message.organization_id, contact)
                    .await?,
            ),
            None => None,
        };
        // Counting in line ends early enough to store the message uncounted (and queue its
        // count) before the webhook's deadline.
        let mut backoff = Backoff::reserving(COUNT_RESERVE);
        loop {
            let transaction = self.inbound_transaction(message, &marker, summary.as_ref())?;
            let e = match transaction.send().await {
                Ok(_) => return Ok(InboundInsert::Stored),
                Err(e) => e.into_service_error(),
            };
            let reason = |index: usize| match &e {
                TransactWriteItemsError::TransactionCanceledException(t) => {
                    t.cancellation_reasons().get(index).cloned()
                }
                _ => None,
            };
            let failed = |index: usize| {
                reason(index).and_then(|r| r.code).as_deref() == Some("ConditionalCheckFailed")
            };
            // The marker (first item) fails its condition on a repeated sid.
            if failed(0) {
                // A concurrent first delivery won; its marker is there now. If it is not,
                // nothing is known to be stored: fail, so Twilio's retry stores it.
                return self
                    .inbound_marker(&message.organization_id, sid)
                    .await?
                    .ok_or_else(|| {
                        PortError::Unavailable(
                            "the inbound marker's condition failed but it is not there".into(),
                        )
                    });
            }
            let changed = failed(2);
            if !changed && !cancelled_by_contention(&e) {
                return Err(unavailable("TransactWriteItems inbound message", e));
            }
            // Another message was counted first: the failed condition returned the summary
            // as it is now, so the next attempt goes at once, before it changes again.
            let current = reason(2).and_then(|r| r.item).filter(|_| changed);
            if let Some(item) = current {
                if backoff.expired() {
                    return self.store_uncounted(message, &marker).await;
                }
                summary = Some(Stored::from_item(Some(item))?);
                continue;
            }
            // A transaction in flight on the summary (or throttling): it will have changed
            // the summary by the time it is done, so pause, then read it again.
            if !backoff.pause().await {
                return self.store_uncounted(message, &marker).await;
            }
            if let Some(contact) = counted_in {
                summary = Some(
                    self.stored_summary(&message.organization_id, contact)
                        .await?,
                );
            }
        }
    }

    /// The transaction that stores an inbound message: its marker, the message, and (when
    /// the inbox counts it) its conversation's summary over `summary`, conditional on it
    /// still being that one (and returning it when it is not).
    pub(super) fn inbound_transaction(
        &self,
        message: &Message,
        marker: &HashMap<String, AttributeValue>,
        summary: Option<&Stored>,
    ) -> PortResult<TransactWriteItemsFluentBuilder> {
        let put = |item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(item_key)")
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))
        };
        let mut transaction = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(put(marker.clone())?)
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(put(write(message)?)?)
                    .build(),
            );
        if let Some(stored) = summary {
            let next = ConversationSummary::with_message(stored.summary.as_ref(), message, true)
                .ok_or_else(|| PortError::Corrupt("an inbound message counted nothing".into()))?;
            let mut summary = self.summary_put(stored.version, &stored.successor(next))?;
            summary.return_values_on_condition_check_failure =
                Some(ReturnValuesOnConditionCheckFailure::AllOld);
            transaction =
                transaction.transact_items(TransactWriteItem::builder().put(summary).build());
        }
        Ok(transaction)
    }

    pub(super) async fn mark_effects_done(
        &self,
        org: &OrganizationId,
        sid: &str,
    ) -> PortResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &sid_marker_key(sid))))
            .update_expression("SET effects_done = :done REMOVE effects_pending")
            .condition_expression("attribute_exists(item_key)")
            .expression_attribute_values(":done", AttributeValue::Bool(true));
        send_contended(|| update.clone().send())
            .await
            .map(|_| ())
            .map_err(|e| unavailable("UpdateItem inbound effects", e.into_service_error()))
    }
}
