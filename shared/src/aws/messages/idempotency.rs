//! Idempotency records: a send made with an `Idempotency-Key`, kept 24 hours (the table's TTL)
//! and saved only over the version read.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DynamoMessages, item_key};
use crate::aws::contention::send_contended;
use crate::aws::unless_condition_failed;
use crate::domain::OrganizationId;
use crate::ports::{IdempotentSend, PortError, PortResult};

/// Idempotency records share the table (`IDEM#<key>`, no `conversation`: in no index) and
/// carry `expires_at_epoch`, the table's TTL attribute, so DynamoDB deletes them after a day.
pub(super) fn idempotency_key_item(key: &str) -> String {
    format!("IDEM#{key}")
}

#[derive(Serialize, Deserialize)]
struct IdempotencyItem {
    organization_id: OrganizationId,
    item_key: String,
    #[serde(flatten)]
    record: IdempotentSend,
    expires_at_epoch: i64,
}

impl DynamoMessages {
    pub(super) async fn read_idempotency_record(
        &self,
        org: &OrganizationId,
        key: &str,
        now: DateTime<Utc>,
    ) -> PortResult<Option<IdempotentSend>> {
        let Some(item) = self.read_idempotency_raw(org, key).await? else {
            return Ok(None);
        };
        // TTL deletes lazily (within days): an expired record is gone for us already.
        Ok(Some(item.record).filter(|_| item.expires_at_epoch > now.timestamp()))
    }

    /// The record as stored, expired or not (what an erasure deletes).
    pub(super) async fn read_idempotency_item(
        &self,
        org: &OrganizationId,
        key: &str,
    ) -> PortResult<Option<IdempotentSend>> {
        Ok(self
            .read_idempotency_raw(org, key)
            .await?
            .map(|item| item.record))
    }

    async fn read_idempotency_raw(
        &self,
        org: &OrganizationId,
        key: &str,
    ) -> PortResult<Option<IdempotencyItem>> {
        let Some(item) = self
            .item(org, idempotency_key_item(key), "GetItem idempotency record")
            .await?
        else {
            return Ok(None);
        };
        serde_dynamo::from_item(item)
            .map(Some)
            .map_err(|e| PortError::Corrupt(format!("idempotency record: {e}")))
    }

    pub(super) async fn write_idempotency_record(
        &self,
        org: &OrganizationId,
        record: &IdempotentSend,
        expected: Option<u64>,
        now: DateTime<Utc>,
    ) -> PortResult<bool> {
        let item = serde_dynamo::to_item(IdempotencyItem {
            organization_id: org.clone(),
            item_key: item_key(org, &idempotency_key_item(&record.key)),
            record: record.clone(),
            expires_at_epoch: record.expires_at.timestamp(),
        })
        .map_err(|e| PortError::Corrupt(format!("idempotency record: {e}")))?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match expected {
            None => {
                put.condition_expression(
                    "attribute_not_exists(item_key) OR expires_at_epoch <= :now",
                )
                .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            }
            Some(version) => put
                .condition_expression("version = :v AND expires_at_epoch > :now")
                .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
                .expression_attribute_values(
                    ":now",
                    AttributeValue::N(now.timestamp().to_string()),
                ),
        };
        Ok(unless_condition_failed(
            send_contended(|| put.clone().send()).await,
            "PutItem idempotency record",
        )?
        .is_some())
    }
}
