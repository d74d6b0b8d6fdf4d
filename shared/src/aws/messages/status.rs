//! Status updates and Twilio sids: the forward-only status rule as conditional writes, and
//! the `SID#` items that tie a Twilio sid to the one message holding it.

use super::{DynamoMessages, ITEM_KEY, item_key, sid_marker_key};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use crate::aws::contention::{Backoff, cancelled_by_contention};
use crate::aws::{s, unavailable};
use crate::domain::{Message, MessageId, MessageStatus, OrganizationId, StatusChange};
use crate::ports::{MessageStore, PortError, PortResult, StatusOutcome};

impl DynamoMessages {
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

    /// The forward-only status rule as conditional writes (`MessageStore::apply_status`).
    pub(super) async fn apply_status_to_message(
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

    /// `MessageStore::find_by_sid`.
    pub(super) async fn message_by_sid(
        &self,
        org: &OrganizationId,
        sid: &str,
    ) -> PortResult<Option<Message>> {
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

    /// `MessageStore::hold_sid`: one transaction writes both sides of the hold, so a sid
    /// has one message and a message one sid. The `SID#` item names the message (an
    /// UpdateItem: it never overwrites an inbound marker's flags); the message item names
    /// the sid (`held_sid`; a message from before `held_sid` was kept counts its recorded
    /// `twilio_message_sid`) and must still exist.
    pub(super) async fn hold_sid_marker(
        &self,
        org: &OrganizationId,
        sid: &str,
        id: &MessageId,
    ) -> PortResult<bool> {
        let build = |e: aws_sdk_dynamodb::error::BuildError| PortError::Unavailable(e.to_string());
        let marker = Update::builder()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &sid_marker_key(sid))))
            .update_expression("SET organization_id = :org, for_message_id = :id")
            .condition_expression("attribute_not_exists(item_key) OR for_message_id = :id")
            .expression_attribute_values(":org", s(org.as_str()))
            .expression_attribute_values(":id", s(id.to_string()))
            .build()
            .map_err(build)?;
        let message = Update::builder()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &id.to_string())))
            .update_expression("SET held_sid = :sid")
            .condition_expression(
                "attribute_exists(item_key) AND (held_sid = :sid OR (attribute_not_exists(held_sid) \
                 AND (attribute_not_exists(twilio_message_sid) OR twilio_message_sid = :sid)))",
            )
            .expression_attribute_values(":sid", s(sid))
            .build()
            .map_err(build)?;
        let transaction = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(marker).build())
            .transact_items(TransactWriteItem::builder().update(message).build());
        let mut backoff = Backoff::start();
        loop {
            let e = match transaction.clone().send().await {
                Ok(_) => return Ok(true),
                Err(e) => e.into_service_error(),
            };
            // A failed condition is the answer: the sid is another message's, or the message
            // holds another sid (or is gone).
            if let TransactWriteItemsError::TransactionCanceledException(t) = &e
                && t.cancellation_reasons()
                    .iter()
                    .any(|r| r.code() == Some("ConditionalCheckFailed"))
            {
                return Ok(false);
            }
            if !cancelled_by_contention(&e) || !backoff.pause().await {
                return Err(unavailable("TransactWriteItems hold sid", e));
            }
        }
    }
}
