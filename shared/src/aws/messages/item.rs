//! A message as the table holds it: the item's attributes, and reading and writing it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ITEM_KEY, conversation_key, item_key};
use crate::aws::s;
use crate::domain::{
    Attachment, ContactId, Direction, Message, MessageId, MessageStatus, MessageType,
    OrganizationId,
};
use crate::ports::{PortError, PortResult};

#[derive(Serialize, Deserialize)]
pub(super) struct MessageItem {
    organization_id: OrganizationId,
    message_id: MessageId,
    /// `{organization_id}#{contact_id}`; absent for messages from unknown numbers, which
    /// therefore appear in no conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    conversation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact_id: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact_phone: Option<String>,
    direction: Direction,
    message_type: MessageType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    twilio_message_sid: Option<String>,
    status: MessageStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    revision: MessageId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    template: Option<crate::domain::SentTemplate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    details: Option<crate::domain::InboundDetails>,
    /// The table's TTL attribute (epoch seconds): the organization's retention deletes the
    /// message through it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_epoch: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    idempotency_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sent_by: Option<crate::domain::SentBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    interactive: Option<crate::domain::Interactive>,
}

impl From<&Message> for MessageItem {
    fn from(m: &Message) -> Self {
        Self {
            organization_id: m.organization_id.clone(),
            message_id: m.id,
            conversation: m
                .contact_id
                .as_ref()
                .map(|c| conversation_key(&m.organization_id, c)),
            contact_id: m.contact_id.clone(),
            contact_phone: m.contact_phone.clone(),
            direction: m.direction,
            message_type: m.message_type,
            text: m.text.clone().filter(|t| !t.is_empty()),
            attachments: m.attachments.clone(),
            twilio_message_sid: m.twilio_message_sid.clone(),
            status: m.status,
            error_reason: m.error_reason.clone(),
            created_at: m.created_at,
            updated_at: m.updated_at,
            revision: m.revision,
            template: m.template.clone(),
            details: m.details.clone(),
            expires_at_epoch: m.expires_at.map(|t| t.timestamp()),
            idempotency_key: m.idempotency_key.clone(),
            sent_by: m.sent_by.clone(),
            interactive: m.interactive.clone(),
        }
    }
}

impl From<MessageItem> for Message {
    fn from(i: MessageItem) -> Self {
        Self {
            id: i.message_id,
            organization_id: i.organization_id,
            contact_id: i.contact_id,
            contact_phone: i.contact_phone,
            direction: i.direction,
            message_type: i.message_type,
            text: i.text,
            attachments: i.attachments,
            twilio_message_sid: i.twilio_message_sid,
            status: i.status,
            error_reason: i.error_reason,
            created_at: i.created_at,
            updated_at: i.updated_at,
            revision: i.revision,
            template: i.template,
            details: i.details,
            expires_at: i
                .expires_at_epoch
                .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0)),
            idempotency_key: i.idempotency_key,
            sent_by: i.sent_by,
            interactive: i.interactive,
        }
    }
}

pub(super) fn read(item: HashMap<String, AttributeValue>) -> PortResult<Message> {
    serde_dynamo::from_item::<_, MessageItem>(item)
        .map(Message::from)
        .map_err(|e| PortError::Corrupt(format!("message item: {e}")))
}

pub(super) fn write(message: &Message) -> PortResult<HashMap<String, AttributeValue>> {
    let mut item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(MessageItem::from(message))
            .map_err(|e| PortError::Corrupt(format!("message item: {e}")))?;
    item.insert(
        ITEM_KEY.to_owned(),
        s(item_key(&message.organization_id, &message.id.to_string())),
    );
    Ok(item)
}

/// A message as a stream record's image holds it; None for an empty image (a creation's old
/// image, a deletion's new one) and for the items kept beside messages (`SID#`, `IDEM#`),
/// whose key's suffix is not a message id.
pub fn message_from_image(image: serde_dynamo::Item) -> PortResult<Option<Message>> {
    let is_message = match image.get(ITEM_KEY) {
        Some(serde_dynamo::AttributeValue::S(key)) => key
            .split_once('#')
            .is_some_and(|(_, suffix)| MessageId::parse(suffix).is_ok()),
        _ => false,
    };
    if !is_message {
        return Ok(None);
    }
    serde_dynamo::from_item::<_, MessageItem>(image)
        .map(|item| Some(Message::from(item)))
        .map_err(|e| PortError::Corrupt(format!("message image: {e}")))
}
