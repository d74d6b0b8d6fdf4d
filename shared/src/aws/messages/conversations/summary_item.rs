//! A conversation summary as the messages table holds it: its item, its keys in the `inbox`
//! and `unread` indexes, and its stream image.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::messages::{ITEM_KEY, item_key};
use crate::aws::s;
use crate::domain::{ContactId, ConversationSummary, LastMessage, MessageId, OrganizationId};
use crate::ports::{PortError, PortResult};

pub(super) fn summary_suffix(contact: &ContactId) -> String {
    format!("CONV#{contact}")
}

/// The `unread` index's sort key: until when the count holds first (the summary's retention
/// end, or sooner when an unread message expires then: `unread_changes_at`), so a key
/// condition tells the counts that still hold from those to read again, then the count.
pub(super) fn unread_key(expires_at_epoch: Option<i64>, unread: u64) -> String {
    format!(
        "{:011}#{unread}",
        expires_at_epoch.unwrap_or(NEVER).clamp(0, NEVER)
    )
}

/// The `unread` key of a summary that never expires (retention off).
pub(super) const NEVER: i64 = 99_999_999_999;

/// The `inbox` index's sort key: the newest message first (ULIDs sort by time), the contact
/// to tell apart, and to rebuild the item's key from a cursor.
pub(super) fn activity(last: &MessageId, contact: &ContactId) -> String {
    format!("{last}#{contact}")
}

#[derive(Serialize, Deserialize)]
pub(super) struct SummaryItem {
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
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recent_inbound: Vec<MessageId>,
    version: u64,
    /// The table's TTL attribute: the summary goes with its newest message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_epoch: Option<i64>,
}

pub(super) fn write_summary(
    summary: &ConversationSummary,
) -> PortResult<HashMap<String, AttributeValue>> {
    let expires_at_epoch = summary.expires_at.map(|at| at.timestamp());
    let now = Utc::now();
    let unread = summary.unread_at(now);
    let holds_until = match (summary.unread_changes_at(now), expires_at_epoch) {
        (Some(change), Some(end)) => Some(change.timestamp().min(end)),
        (Some(change), None) => Some(change.timestamp()),
        (None, end) => end,
    };
    let item = SummaryItem {
        organization_id: summary.organization_id.clone(),
        contact_id: summary.contact_id.clone(),
        inbox: summary.organization_id.to_string(),
        activity: activity(&summary.last_message.id, &summary.contact_id),
        unread_inbox: (unread > 0).then(|| summary.organization_id.to_string()),
        unread: (unread > 0).then(|| unread_key(holds_until, unread)),
        last_message: summary.last_message.clone(),
        inbound_count: summary.inbound_count,
        read_count: summary.read_count,
        last_inbound_id: summary.last_inbound_id,
        last_read_id: summary.last_read_id,
        recent_inbound: summary.recent_inbound.clone(),
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

pub(super) fn read_summary<I>(item: I) -> PortResult<ConversationSummary>
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
        recent_inbound: item.recent_inbound,
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
