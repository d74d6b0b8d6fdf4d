//! A contact as the contacts table holds it: the contact plus what its indexes need, and
//! how items and stream images become contacts.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Contact, ContactId, OrganizationId};
use crate::ports::{PortError, PortResult};

/// The stored item: the contact plus what the indexes need.
#[derive(Serialize, Deserialize)]
pub(super) struct ContactItem {
    pub(super) organization_id: OrganizationId,
    pub(super) contact_id: ContactId,
    pub(super) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) email: Option<String>,
    /// A key of the `phone` index: absent rather than empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) phone_number: Option<String>,
    #[serde(default)]
    pub(super) whatsapp_opt_in: bool,
    #[serde(default)]
    pub(super) whatsapp_blocked: bool,
    #[serde(default)]
    pub(super) whatsapp_unsubscribed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_inbound_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) whatsapp_opt_changed_at: Option<DateTime<Utc>>,
    /// The CRM's BSUID for the contact; a key of the `whatsapp_user` index: absent, not empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) whatsapp_user_id: Option<String>,
    /// Present only while the contact is eligible: the `eligible` index lists exactly those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) eligible_sort: Option<String>,
    #[serde(default)]
    pub(super) version: u64,
}

impl ContactItem {
    pub(super) fn new(c: &Contact, version: u64) -> Self {
        Self {
            organization_id: c.organization_id.clone(),
            contact_id: c.contact_id.clone(),
            name: c.name.clone(),
            email: c.email.clone().filter(|e| !e.is_empty()),
            phone_number: c.phone_number.clone().filter(|p| !p.is_empty()),
            whatsapp_opt_in: c.whatsapp_opt_in,
            whatsapp_blocked: c.whatsapp_blocked,
            whatsapp_unsubscribed: c.whatsapp_unsubscribed,
            last_inbound_at: c.last_inbound_at,
            whatsapp_opt_changed_at: c.whatsapp_opt_changed_at,
            whatsapp_user_id: c.whatsapp_user_id.clone().filter(|u| !u.is_empty()),
            eligible_sort: c.eligibility().is_ok().then(|| c.list_sort_key()),
            version,
        }
    }

    pub(super) fn into_contact(self) -> Contact {
        Contact {
            organization_id: self.organization_id,
            contact_id: self.contact_id,
            name: self.name,
            email: self.email,
            phone_number: self.phone_number,
            whatsapp_opt_in: self.whatsapp_opt_in,
            whatsapp_blocked: self.whatsapp_blocked,
            whatsapp_unsubscribed: self.whatsapp_unsubscribed,
            last_inbound_at: self.last_inbound_at,
            whatsapp_opt_changed_at: self.whatsapp_opt_changed_at,
            whatsapp_user_id: self.whatsapp_user_id,
        }
    }
}

/// A contact as a stream record's image holds it; None for an empty image (the record of a
/// creation has no old image, that of a deletion no new one).
pub fn contact_from_image(image: serde_dynamo::Item) -> PortResult<Option<Contact>> {
    if image.is_empty() {
        return Ok(None);
    }
    serde_dynamo::from_item::<_, ContactItem>(image)
        .map(|item| Some(item.into_contact()))
        .map_err(|e| PortError::Corrupt(format!("contact image: {e}")))
}

pub(super) fn read(item: HashMap<String, AttributeValue>) -> PortResult<ContactItem> {
    serde_dynamo::from_item(item).map_err(|e| PortError::Corrupt(format!("contact item: {e}")))
}

pub(super) fn write(item: &ContactItem) -> PortResult<HashMap<String, AttributeValue>> {
    serde_dynamo::to_item(item).map_err(|e| PortError::Corrupt(format!("contact item: {e}")))
}
