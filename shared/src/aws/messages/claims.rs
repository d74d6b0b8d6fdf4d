//! Send claims: one worker at a time holds a PENDING message (attributes of the message
//! itself, so pollers see nothing of them).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

use super::{DynamoMessages, ITEM_KEY, item_key};
use crate::aws::contention::send_contended;
use crate::aws::{s, unless_condition_failed};
use crate::domain::{MessageId, MessageStatus, OrganizationId};
use crate::ports::{AttemptOutcome, ClaimLease, PortResult, SendClaim};

/// Claim times as fixed-width UTC RFC 3339, so DynamoDB compares them as strings.
fn claim_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn parse_claim_time(value: Option<&AttributeValue>) -> Option<DateTime<Utc>> {
    let text = value?.as_s().ok()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

impl DynamoMessages {
    pub(super) async fn claim(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        now: DateTime<Utc>,
        lease: std::time::Duration,
    ) -> PortResult<SendClaim> {
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        // The claim attributes are not part of the message (no revision: pollers see nothing).
        let claim = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &id.to_string())))
            .update_expression(
                "SET claim_until = :until, claim_since = if_not_exists(claim_since, :now)",
            )
            .condition_expression(
                "attribute_exists(item_key) AND #status = :pending \
                 AND (attribute_not_exists(claim_until) OR claim_until <= :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s(MessageStatus::Pending.as_str()))
            .expression_attribute_values(":now", s(claim_time(now)))
            .expression_attribute_values(":until", s(claim_time(until)))
            .return_values(ReturnValue::AllOld);
        let claimed = send_contended(|| claim.clone().send()).await;
        match unless_condition_failed(claimed, "UpdateItem send claim")? {
            Some(out) => Ok(SendClaim::Claimed {
                lease: ClaimLease { until },
                unresolved_since: parse_claim_time(
                    out.attributes.as_ref().and_then(|a| a.get("claim_since")),
                ),
            }),
            None => {
                // Lost the race, or nothing to send: a consistent read tells which.
                let item = self.item(org, id.to_string(), "GetItem send claim").await?;
                let pending = item
                    .as_ref()
                    .and_then(|i| i.get("status"))
                    .and_then(|v| v.as_s().ok())
                    .is_some_and(|status| status == MessageStatus::Pending.as_str());
                match item
                    .as_ref()
                    .and_then(|i| parse_claim_time(i.get("claim_until")))
                {
                    Some(until) if pending => Ok(SendClaim::Held { until }),
                    _ => Ok(SendClaim::NotPending),
                }
            }
        }
    }

    pub(super) async fn release_claim(
        &self,
        org: &OrganizationId,
        id: &MessageId,
        lease: &ClaimLease,
        outcome: AttemptOutcome,
    ) -> PortResult<()> {
        // Only the claim this worker took: once its lease lapsed another worker may hold the
        // message, and clearing that claim would let a third send it alongside.
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(ITEM_KEY, s(item_key(org, &id.to_string())))
            .condition_expression("claim_until = :held")
            .expression_attribute_values(":held", s(claim_time(lease.until)));
        let update = match outcome {
            AttemptOutcome::NotSent => update.update_expression("REMOVE claim_until, claim_since"),
            // The lease ends now; `claim_since` stays for the reconciliation.
            AttemptOutcome::Unknown => update
                .update_expression("SET claim_until = :over")
                .expression_attribute_values(":over", s(claim_time(DateTime::<Utc>::MIN_UTC))),
        };
        let released = unless_condition_failed(
            send_contended(|| update.clone().send()).await,
            "UpdateItem release claim",
        )?;
        if released.is_none() {
            tracing::info!("the send claim was no longer this worker's: left as it is");
        }
        Ok(())
    }
}
