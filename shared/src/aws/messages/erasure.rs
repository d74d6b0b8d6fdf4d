//! Erasure: a contact's messages read page by page from the conversation index (expired ones
//! included), each deleted with its `SID#` item and its send's idempotency record.

use super::{
    DynamoMessages, ITEM_KEY, conversation_key, idempotency::idempotency_key_item, item_key,
    sid_marker_key,
};
use crate::aws::contention::send_contended;
use crate::aws::{s, unless_condition_failed};
use crate::domain::{ContactId, Message, MessageId, OrganizationId};
use crate::ports::{ConversationPage, PortResult};

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

    pub(super) async fn erase_items(&self, message: &Message) -> PortResult<()> {
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
}
