//! Agents' presence: one item per conversation, `{organization_id}#PRESENCE#<contact_id>`,
//! with one attribute per agent (`agent:<sub>`, the presence as a map), as drafts are kept.
//! Setting one agent's presence is an UpdateItem of that attribute alone, so agents never
//! overwrite each other; leaving removes it. Each presence carries its own expiry (a tab that
//! died is no longer shown once it passes); the item's `expires_at_epoch` (the table's TTL)
//! is a day after its last write, so DynamoDB deletes a conversation's presence item once
//! nobody has been there for a day. The stream shows each write; the live publisher tells
//! the organization's pages which agent's attribute changed (`presence_change`).

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{DynamoMessages, ITEM_KEY, item_key};
use crate::aws::contention::send_contended;
use crate::aws::s;
use crate::domain::{AgentId, ContactId, OrganizationId, Presence, PresenceState};
use crate::ports::{PortError, PortResult, PresenceStore};

/// The suffix of a conversation's presence item.
pub const PRESENCE_PREFIX: &str = "PRESENCE#";

/// How long a presence item outlives its last write before DynamoDB's TTL deletes it.
const ITEM_KEPT: chrono::Duration = chrono::Duration::days(1);

fn presence_key(contact: &ContactId) -> String {
    format!("{PRESENCE_PREFIX}{contact}")
}

/// The attribute holding one agent's presence (the `sub` as the token has it, through an
/// expression attribute name).
fn agent_attribute(agent: &AgentId) -> String {
    format!("agent:{agent}")
}

impl PresenceStore for DynamoMessages {
    async fn set_presence(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        presence: &Presence,
    ) -> PortResult<()> {
        let key = s(item_key(org, &presence_key(contact)));
        let attribute = agent_attribute(&presence.agent.sub);
        let update = if presence.state == PresenceState::Left {
            // Only an item that is there: a REMOVE on no item would create an empty one.
            self.client
                .update_item()
                .table_name(&self.table)
                .key(ITEM_KEY, key)
                .update_expression("REMOVE #agent")
                .condition_expression("attribute_exists(item_key)")
                .expression_attribute_names("#agent", attribute)
        } else {
            let value: AttributeValue = serde_dynamo::to_attribute_value(presence)
                .map_err(|e| PortError::Corrupt(format!("presence: {e}")))?;
            let kept = (Utc::now() + ITEM_KEPT).timestamp();
            self.client
                .update_item()
                .table_name(&self.table)
                .key(ITEM_KEY, key)
                .update_expression(
                    "SET organization_id = :org, contact_id = :contact, #agent = :presence, expires_at_epoch = :kept",
                )
                .expression_attribute_names("#agent", attribute)
                .expression_attribute_values(":org", s(org.as_str()))
                .expression_attribute_values(":contact", s(contact.as_str()))
                .expression_attribute_values(":presence", value)
                .expression_attribute_values(":kept", AttributeValue::N(kept.to_string()))
        };
        crate::aws::unless_condition_failed(
            send_contended(|| update.clone().send()).await,
            "UpdateItem presence",
        )
        .map(|_| ())
    }

    async fn presences(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        now: DateTime<Utc>,
    ) -> PortResult<Vec<Presence>> {
        let Some(item) = self
            .item(org, presence_key(contact), "GetItem presence")
            .await?
        else {
            return Ok(Vec::new());
        };
        Ok(agents(item)
            .1
            .into_iter()
            .filter(|p| p.is_shown(now))
            .collect())
    }
}

/// Every agent's presence an item (or a stream image of it) holds, and its key; a presence
/// that cannot be read is left out, logged.
fn agents<I: Into<serde_dynamo::Item>>(item: I) -> (Option<String>, Vec<Presence>) {
    let Ok(attributes) =
        serde_dynamo::from_item::<_, HashMap<String, serde_json::Value>>(item.into())
    else {
        return (None, Vec::new());
    };
    let key = attributes
        .get(ITEM_KEY)
        .and_then(|k| k.as_str())
        .map(str::to_owned);
    let presences = attributes
        .into_iter()
        .filter(|(name, _)| name.starts_with("agent:"))
        .filter_map(|(name, value)| {
            serde_json::from_value(value)
                .inspect_err(
                    |e| tracing::warn!(attribute = %name, error = %e, "presence unreadable"),
                )
                .ok()
        })
        .collect();
    (key, presences)
}

/// What a write of a presence item changed, from its stream images: the organization, the
/// contact and the one agent's presence set (or `Left`, when the write removed it). None for
/// another item, or a write that changed no agent's presence (the TTL's deletion of a
/// forgotten item changes nothing anybody shows).
pub fn presence_change(
    old: serde_dynamo::Item,
    new: serde_dynamo::Item,
) -> Option<(OrganizationId, ContactId, Presence)> {
    let (key, after) = agents(new);
    let (org, rest) = key.as_deref()?.split_once('#')?;
    let contact = rest.strip_prefix(PRESENCE_PREFIX)?;
    let org = OrganizationId::parse(org).ok()?;
    let contact = ContactId::parse(contact).ok()?;
    let (_, before) = agents(old);
    let changed = after
        .iter()
        .find(|p| !before.contains(p))
        .cloned()
        .or_else(|| {
            before
                .iter()
                .find(|p| !after.iter().any(|a| a.agent.sub == p.agent.sub))
                .map(|gone| Presence {
                    state: PresenceState::Left,
                    ..gone.clone()
                })
        })?;
    Some((org, contact, changed))
}
