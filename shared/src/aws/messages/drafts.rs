//! Agents' drafts: one item per conversation, `{organization_id}#DRAFT#<contact_id>`, with one
//! attribute per agent (`agent:<sub>`, the draft as a map). Saving or deleting one agent's
//! draft is an UpdateItem of that attribute alone, so agents never overwrite each other and
//! the last write of one agent wins; erasing the contact deletes the item. Neither a message
//! nor a summary, the item is in no index and the live publisher passes it by.

use aws_sdk_dynamodb::types::AttributeValue;

use super::{DynamoMessages, ITEM_KEY, item_key};
use crate::aws::contention::send_contended;
use crate::aws::{s, unavailable};
use crate::domain::{AgentId, ContactId, Draft, OrganizationId};
use crate::ports::{DraftStore, PortError, PortResult};

fn drafts_key(contact: &ContactId) -> String {
    format!("DRAFT#{contact}")
}

/// The attribute holding one agent's draft. An attribute name may hold any character
/// (through an expression attribute name), so the `sub` is kept as the token has it.
fn agent_attribute(agent: &AgentId) -> String {
    format!("agent:{agent}")
}

impl DraftStore for DynamoMessages {
    async fn draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> PortResult<Option<Draft>> {
        let item = self.item(org, drafts_key(contact), "GetItem draft").await?;
        let Some(value) = item.and_then(|mut item| item.remove(&agent_attribute(agent))) else {
            return Ok(None);
        };
        serde_dynamo::from_attribute_value(value)
            .map(Some)
            .map_err(|e| PortError::Corrupt(format!("draft: {e}")))
    }

    async fn save_draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
        draft: &Draft,
    ) -> PortResult<()> {
        let value: AttributeValue = serde_dynamo::to_attribute_value(draft)
            .map_err(|e| PortError::Corrupt(format!("draft: {e}")))?;
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &drafts_key(contact))))
            .update_expression("SET organization_id = :org, #agent = :draft")
            .expression_attribute_names("#agent", agent_attribute(agent))
            .expression_attribute_values(":org", s(org.as_str()))
            .expression_attribute_values(":draft", value);
        send_contended(|| update.clone().send())
            .await
            .map(|_| ())
            .map_err(|e| unavailable("UpdateItem draft", e.into_service_error()))
    }

    async fn delete_draft(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        agent: &AgentId,
    ) -> PortResult<()> {
        // Only an item that is there: a REMOVE on no item would create an empty one.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &drafts_key(contact))))
            .update_expression("REMOVE #agent")
            .condition_expression("attribute_exists(item_key)")
            .expression_attribute_names("#agent", agent_attribute(agent));
        crate::aws::unless_condition_failed(
            send_contended(|| update.clone().send()).await,
            "UpdateItem draft removal",
        )
        .map(|_| ())
    }

    async fn erase_drafts(&self, org: &OrganizationId, contact: &ContactId) -> PortResult<()> {
        self.delete_item(item_key(org, &drafts_key(contact)), None)
            .await
    }
}
