//! The Content each interactive payload goes out as: one item per (organization, payload
//! name), `{organization_id}#CONTENT#<name>`, holding `content_sid` once made and, while a
//! worker makes it, `claim_until`. The claim is a conditional UpdateItem (no sid yet, no
//! claim that still holds), so two workers sending the same payload at once make one Content;
//! `last_used` says when it was last sent (the cleanup of Contents left unused reads it).

use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};

use super::{DynamoMessages, ITEM_KEY, item_key};
use crate::aws::contention::send_contended;
use crate::aws::{s, unavailable, unless_condition_failed};
use crate::domain::OrganizationId;
use crate::ports::{ContentClaim, ContentStore, PortError, PortResult};

/// The suffix of a payload's Content item.
pub const CONTENT_PREFIX: &str = "CONTENT#";

/// Times as fixed-width UTC RFC 3339, so DynamoDB compares them as strings.
fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_stamp(value: Option<&aws_sdk_dynamodb::types::AttributeValue>) -> Option<DateTime<Utc>> {
    let text = value?.as_s().ok()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl ContentStore for DynamoMessages {
    async fn claim_content(
        &self,
        org: &OrganizationId,
        name: &str,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> PortResult<ContentClaim> {
        // Kept to the microsecond, as the item holds it (a release names it exactly).
        let until = chrono::SubsecRound::trunc_subsecs(
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX),
            6,
        );
        let key = item_key(org, &format!("{CONTENT_PREFIX}{name}"));
        let claim = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(key.clone()))
            .update_expression("SET claim_until = :until")
            .condition_expression(
                "attribute_not_exists(content_sid) \
                 AND (attribute_not_exists(claim_until) OR claim_until <= :now)",
            )
            .expression_attribute_values(":now", s(stamp(now)))
            .expression_attribute_values(":until", s(stamp(until)))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .return_values(ReturnValue::None);
        match send_contended(|| claim.clone().send()).await {
            Ok(_) => Ok(ContentClaim::Claimed { until }),
            // Refused: the item as it is says whether the Content is made or being made.
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(failed) => {
                    let old = failed.item.unwrap_or_default();
                    if let Some(content_sid) = old.get("content_sid").and_then(|v| v.as_s().ok()) {
                        return Ok(ContentClaim::Made {
                            content_sid: content_sid.clone(),
                        });
                    }
                    match parse_stamp(old.get("claim_until")) {
                        Some(until) => Ok(ContentClaim::Held { until }),
                        None => Err(PortError::Corrupt("a content item without a claim".into())),
                    }
                }
                other => Err(unavailable("UpdateItem content claim", other)),
            },
        }
    }

    async fn record_content(
        &self,
        org: &OrganizationId,
        name: &str,
        content_sid: &str,
        now: DateTime<Utc>,
    ) -> PortResult<()> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                ITEM_KEY,
                s(item_key(org, &format!("{CONTENT_PREFIX}{name}"))),
            )
            .update_expression("SET content_sid = :sid, last_used = :now REMOVE claim_until")
            .expression_attribute_values(":sid", s(content_sid.to_owned()))
            .expression_attribute_values(":now", s(stamp(now)));
        send_contended(|| update.clone().send())
            .await
            .map(|_| ())
            .map_err(|e| unavailable("UpdateItem content sid", e.into_service_error()))
    }

    async fn release_content(
        &self,
        org: &OrganizationId,
        name: &str,
        until: DateTime<Utc>,
    ) -> PortResult<()> {
        // Only this worker's claim: a lapsed one may be another's by now.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(
                ITEM_KEY,
                s(item_key(org, &format!("{CONTENT_PREFIX}{name}"))),
            )
            .update_expression("REMOVE claim_until")
            .condition_expression("claim_until = :held")
            .expression_attribute_values(":held", s(stamp(until)));
        unless_condition_failed(
            send_contended(|| update.clone().send()).await,
            "UpdateItem release content claim",
        )
        .map(|_| ())
    }
}
