//! Erasure: a contact's messages read page by page from the conversation index (expired ones
//! included), each deleted with its `SID#` item and its send's idempotency record, every
//! delete conditional on the item still being what was read.

use super::{
    DynamoMessages, ITEM_KEY, conversation_key, idempotency::idempotency_key_item, item_key,
    sid_marker_key,
};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::item::read;
use crate::aws::contention::{Backoff, send_contended};
use crate::aws::{s, unavailable, unless_condition_failed};
use crate::domain::{ContactId, Message, MessageId, OrganizationId};
use crate::ports::{ConversationPage, Erasure, PortError, PortResult};

impl DynamoMessages {
    /// Deletes one item of the organization; with `held_by`, only while that message holds
    /// it (a `SID#` item). Gone already, or held by another: nothing to do.
    pub(super) async fn delete_item(
        &self,
        key: String,
        held_by: Option<&MessageId>,
    ) -> PortResult<()> {
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
        // Held by another message now: not this message's to delete.
        unless_condition_failed(
            send_contended(|| delete.clone().send()).await,
            "DeleteItem erasure",
        )
        .map(|_| ())
    }

    pub(super) async fn erasable_page(
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

    pub(super) async fn erase_items(&self, message: &Message) -> PortResult<Erasure> {
        let org = &message.organization_id;
        // The message goes last: until it is gone, a retried erasure finds it again.
        if let Some(sid) = &message.twilio_message_sid {
            self.delete_item(item_key(org, &sid_marker_key(sid)), Some(&message.id))
                .await?;
        }
        if let Some(key) = &message.idempotency_key {
            self.delete_idempotency_record(org, key, &message.id)
                .await?;
        }
        // At the revision read: a media copy that recorded a file since, or a status that
        // arrived, leaves it for the caller to read again (and discard the new file).
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &message.id.to_string())))
            .condition_expression("attribute_not_exists(item_key) OR revision = :read")
            .expression_attribute_values(":read", s(message.revision.to_string()))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        match send_contended(|| delete.clone().send()).await {
            Ok(deleted) => {
                // A sid held but not recorded yet (a worker between its hold and SENT): its
                // `SID#` item goes too.
                let held = deleted
                    .attributes
                    .as_ref()
                    .and_then(|old| old.get("held_sid"))
                    .and_then(|v| v.as_s().ok())
                    .filter(|held| message.twilio_message_sid.as_ref() != Some(*held));
                if let Some(held) = held {
                    self.delete_item(item_key(org, &sid_marker_key(held)), Some(&message.id))
                        .await?;
                }
                Ok(Erasure::Erased)
            }
            Err(e) => match e.into_service_error() {
                DeleteItemError::ConditionalCheckFailedException(changed) => match changed.item {
                    Some(item) => Ok(Erasure::ChangedSinceRead(Box::new(read(item)?))),
                    None => Ok(Erasure::Erased),
                },
                other => Err(unavailable("DeleteItem erasure message", other)),
            },
        }
    }

    /// The record of the send that made `message`, deleted while it still names that message
    /// and is the version read: a key reused since (a record past its day, written again)
    /// is another send's.
    async fn delete_idempotency_record(
        &self,
        org: &OrganizationId,
        key: &str,
        message: &MessageId,
    ) -> PortResult<()> {
        let backoff = Backoff::start();
        loop {
            let Some(record) = self.read_idempotency_item(org, key).await? else {
                return Ok(());
            };
            if !record.parts.iter().any(|part| part.message_id == *message) {
                return Ok(());
            }
            let delete = self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(ITEM_KEY, s(item_key(org, &idempotency_key_item(key))))
                .condition_expression("version = :v")
                .expression_attribute_values(
                    ":v",
                    aws_sdk_dynamodb::types::AttributeValue::N(record.version.to_string()),
                );
            let deleted = unless_condition_failed(
                send_contended(|| delete.clone().send()).await,
                "DeleteItem erasure idempotency record",
            )?;
            if deleted.is_some() {
                return Ok(());
            }
            // Saved again (or deleted) since it was read: read it again.
            if backoff.expired() {
                return Err(PortError::Unavailable(
                    "the idempotency record kept changing during the erasure".into(),
                ));
            }
        }
    }
}
