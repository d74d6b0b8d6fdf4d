//! The typing indicator's turn per conversation: one item `{org}#IND#<contact>` (no
//! `conversation`: in no index, not published) holding when WhatsApp was last told, taken
//! with a conditional write so that all of the organization's agents and processes together
//! call Twilio at most once per period. `expires_at_epoch` (the table's TTL) removes it a day
//! later, so an erased contact leaves none behind for long.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{DynamoMessages, item_key};
use crate::aws::contention::send_contended;
use crate::aws::{s, unless_condition_failed};
use crate::domain::{ContactId, OrganizationId};
use crate::ports::PortResult;

const KEPT_SECONDS: i64 = 24 * 60 * 60;

fn indicator_suffix(contact: &ContactId) -> String {
    format!("IND#{contact}")
}

impl DynamoMessages {
    pub(super) async fn take_indicator_turn(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        now: DateTime<Utc>,
        every: chrono::Duration,
    ) -> PortResult<bool> {
        let millis = |t: DateTime<Utc>| AttributeValue::N(t.timestamp_millis().to_string());
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("item_key", s(item_key(org, &indicator_suffix(contact))))
            .item("organization_id", s(org.as_str()))
            .item("indicated_at", millis(now))
            .item(
                "expires_at_epoch",
                AttributeValue::N((now.timestamp() + KEPT_SECONDS).to_string()),
            )
            .condition_expression("attribute_not_exists(item_key) OR indicated_at <= :due")
            .expression_attribute_values(":due", millis(now - every));
        Ok(unless_condition_failed(
            send_contended(|| put.clone().send()).await,
            "PutItem typing indicator turn",
        )?
        .is_some())
    }
}
