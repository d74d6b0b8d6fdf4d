//! The Content each interactive payload goes out as: one item per (organization, payload
//! name), `{organization_id}#CONTENT#<name>`, holding `content_sid` once made and, while a
//! worker makes it, `claim_until`. The claim is a conditional UpdateItem (no sid yet, no
//! claim that still holds), so two workers sending the same payload at once make one Content;
//! `last_used` says when it was last sent: a Content unused for 30 days is claimed by the
//! sweep that deletes it (the same `claim_until`, conditional on `last_used`), so a send
//! meanwhile waits and then makes a new one. `{organization_id}#CONTENT_SWEEP` says when the
//! organization's Contents were last swept (at most once a day).

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
/// The suffix of the item saying when an organization's unused Contents were last swept.
const CONTENT_SWEEP: &str = "CONTENT_SWEEP";

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

fn content_key(org: &OrganizationId, name: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    s(item_key(org, &format!("{CONTENT_PREFIX}{name}")))
}

impl DynamoMessages {
    /// An UpdateItem of a payload's Content item.
    fn content_update(
        &self,
        org: &OrganizationId,
        name: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, content_key(org, name))
    }
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
        // Made, and nobody deleting it: its use recorded (one write, the common case).
        let touch = self
            .content_update(org, name)
            .update_expression("SET last_used = :now")
            .condition_expression(
                "attribute_exists(content_sid) \
                 AND (attribute_not_exists(claim_until) OR claim_until <= :now)",
            )
            .expression_attribute_values(":now", s(stamp(now)))
            .return_values(ReturnValue::AllNew);
        match send_contended(|| touch.clone().send()).await {
            Ok(out) => {
                if let Some(content_sid) = out
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get("content_sid"))
                    .and_then(|v| v.as_s().ok())
                {
                    return Ok(ContentClaim::Made {
                        content_sid: content_sid.clone(),
                    });
                }
                return Err(PortError::Corrupt("a made content without its sid".into()));
            }
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => {}
                other => return Err(unavailable("UpdateItem content use", other)),
            },
        }
        let claim = self
            .content_update(org, name)
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
                    if let Some(until) = parse_stamp(old.get("claim_until")).filter(|u| *u > now) {
                        return Ok(ContentClaim::Held { until });
                    }
                    // Recorded between the two writes by the worker that made it.
                    match old.get("content_sid").and_then(|v| v.as_s().ok()) {
                        Some(content_sid) => Ok(ContentClaim::Made {
                            content_sid: content_sid.clone(),
                        }),
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
            .content_update(org, name)
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
            .content_update(org, name)
            .update_expression("REMOVE claim_until")
            .condition_expression("claim_until = :held")
            .expression_attribute_values(":held", s(stamp(until)));
        unless_condition_failed(
            send_contended(|| update.clone().send()).await,
            "UpdateItem release content claim",
        )
        .map(|_| ())
    }

    async fn begin_content_sweep(
        &self,
        org: &OrganizationId,
        now: DateTime<Utc>,
        every: std::time::Duration,
    ) -> PortResult<bool> {
        let since = now - chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
        let mark = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, CONTENT_SWEEP)))
            .update_expression("SET swept_at = :now")
            .condition_expression("attribute_not_exists(swept_at) OR swept_at <= :since")
            .expression_attribute_values(":now", s(stamp(now)))
            .expression_attribute_values(":since", s(stamp(since)));
        match send_contended(|| mark.clone().send()).await {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(unavailable("UpdateItem content sweep", other)),
            },
        }
    }

    async fn claim_unused_content(
        &self,
        org: &OrganizationId,
        name: &str,
        unused_since: DateTime<Utc>,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> PortResult<Option<DateTime<Utc>>> {
        let until = chrono::SubsecRound::trunc_subsecs(
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX),
            6,
        );
        let claim = self
            .content_update(org, name)
            .update_expression("SET claim_until = :until")
            .condition_expression(
                "(attribute_not_exists(claim_until) OR claim_until <= :now) \
                 AND (attribute_not_exists(last_used) OR last_used < :since)",
            )
            .expression_attribute_values(":now", s(stamp(now)))
            .expression_attribute_values(":until", s(stamp(until)))
            .expression_attribute_values(":since", s(stamp(unused_since)));
        match send_contended(|| claim.clone().send()).await {
            Ok(_) => Ok(Some(until)),
            Err(e) => match e.into_service_error() {
                UpdateItemError::ConditionalCheckFailedException(_) => Ok(None),
                other => Err(unavailable("UpdateItem unused content claim", other)),
            },
        }
    }

    async fn forget_content(
        &self,
        org: &OrganizationId,
        name: &str,
        until: DateTime<Utc>,
    ) -> PortResult<()> {
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(ITEM_KEY, content_key(org, name))
            .condition_expression("claim_until = :held")
            .expression_attribute_values(":held", s(stamp(until)));
        unless_condition_failed(
            send_contended(|| delete.clone().send()).await,
            "DeleteItem content",
        )
        .map(|_| ())
    }
}
