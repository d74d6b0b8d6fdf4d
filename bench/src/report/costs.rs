//! What an operation costs on AWS: public on-demand prices, the requests and capacity the
//! proxy counted, and the per-organization message rate a shared partition key allows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::measure::Cost;

/// Public on-demand prices (USD, us-east-1, arm64) the cost model uses.
pub mod prices {
    pub const LAMBDA_PER_REQUEST: f64 = 0.20 / 1e6;
    /// arm64, per GB-second.
    pub const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
    pub const LAMBDA_MEMORY_GB: f64 = 128.0 / 1024.0;
    pub const HTTP_API_PER_REQUEST: f64 = 1.00 / 1e6;
    pub const DYNAMODB_PER_WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const DYNAMODB_PER_READ_UNIT: f64 = 0.125 / 1e6;
    pub const SQS_PER_REQUEST: f64 = 0.40 / 1e6;
    pub const SECRETS_MANAGER_PER_CALL: f64 = 0.05 / 10_000.0;
    pub const S3_PER_PUT: f64 = 0.005 / 1000.0;
    pub const S3_PER_GET: f64 = 0.0004 / 1000.0;
}

/// DynamoDB's write units per second on one partition key value (table or index).
const PARTITION_KEY_WRITE_UNITS: f64 = 1000.0;

#[derive(Debug, Serialize)]
pub struct OperationCost {
    pub operation: String,
    pub requests: Vec<(String, f64)>,
    pub read_units: f64,
    pub write_units: f64,
    /// Write units per operation on the busiest partition key value, per table and index.
    pub busiest_keys: Vec<(String, f64)>,
    /// USD per million operations: AWS requests and capacity, Lambda and API Gateway.
    pub usd_per_million: f64,
}

/// How many messages per second an organization can have before one of the partition key
/// values it shares across messages reaches DynamoDB's 1,000 write units per second.
#[derive(Debug, Serialize)]
pub struct OrganizationRate {
    pub flow: String,
    /// The copy (table or index, keyed by `organization_id`) written most per message, and its
    /// write units per message; None when no such key is written.
    pub busiest_shared_key: Option<(String, f64)>,
    /// 1,000 / those units; None: no limit from a shared key.
    pub messages_per_second: Option<f64>,
}

pub(super) fn usd(cost: &Cost, duration_ms: f64, through_api_gateway: bool) -> f64 {
    use prices::*;
    let mut total = LAMBDA_PER_REQUEST
        + LAMBDA_PER_GB_SECOND * LAMBDA_MEMORY_GB * duration_ms.max(1.0).ceil() / 1000.0
        + cost.read_units * DYNAMODB_PER_READ_UNIT
        + cost.write_units * DYNAMODB_PER_WRITE_UNIT;
    if through_api_gateway {
        total += HTTP_API_PER_REQUEST;
    }
    for (op, count) in &cost.requests {
        total += count
            * match op.split('.').next().unwrap_or_default() {
                "sqs" => SQS_PER_REQUEST,
                "secretsmanager" => SECRETS_MANAGER_PER_CALL,
                "s3" if op.ends_with("PUT") => S3_PER_PUT,
                "s3" => S3_PER_GET,
                _ => 0.0,
            };
    }
    total * 1e6
}

/// Key attributes whose value is the organization id.
const ORGANIZATION_KEYS: [&str; 3] = ["organization_id", "inbox", "unread_inbox"];

/// The busiest organization-wide key of a flow of operations (each with how many times it
/// runs per message), summed per copy over the flow, and the rate it allows.
pub(super) fn organization_rate(
    operations: &[OperationCost],
    flow: &str,
    parts: &[(&str, f64)],
) -> OrganizationRate {
    let mut per_copy: BTreeMap<&str, f64> = BTreeMap::new();
    for (name, times) in parts {
        for op in operations.iter().filter(|o| o.operation == *name) {
            // Keys whose value is the organization (`organization_id`, the inbox index's
            // `inbox`) are shared by all of its messages; `item_key`, `twilio_message_sid`
            // and `conversation` keys are not.
            for (copy, units) in &op.busiest_keys {
                if ORGANIZATION_KEYS
                    .iter()
                    .any(|key| copy.ends_with(&format!("({key})")))
                {
                    *per_copy.entry(copy).or_default() += units * times;
                }
            }
        }
    }
    let busiest = per_copy
        .into_iter()
        .filter(|(_, units)| *units > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(copy, units)| (copy.to_owned(), units));
    OrganizationRate {
        flow: flow.to_owned(),
        messages_per_second: busiest
            .as_ref()
            .map(|(_, units)| PARTITION_KEY_WRITE_UNITS / units),
        busiest_shared_key: busiest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_adds_lambda_api_gateway_and_requests() {
        let cost = Cost {
            requests: [("sqs.SendMessage".to_owned(), 1.0)].into_iter().collect(),
            read_units: 0.0,
            write_units: 2.0,
            busiest_keys: BTreeMap::new(),
        };
        let expected = (prices::LAMBDA_PER_REQUEST
            + prices::LAMBDA_PER_GB_SECOND * prices::LAMBDA_MEMORY_GB * 0.001
            + 2.0 * prices::DYNAMODB_PER_WRITE_UNIT
            + prices::HTTP_API_PER_REQUEST
            + prices::SQS_PER_REQUEST)
            * 1e6;
        assert!((usd(&cost, 0.4, true) - expected).abs() < 1e-9);
    }

    fn operation(name: &str, busiest_keys: &[(&str, f64)]) -> OperationCost {
        OperationCost {
            operation: name.into(),
            requests: vec![],
            read_units: 0.0,
            write_units: 0.0,
            busiest_keys: busiest_keys
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect(),
            usd_per_million: 0.0,
        }
    }

    #[test]
    fn the_organization_rate_comes_from_its_busiest_shared_key() {
        let operations = [
            operation(
                "send",
                &[
                    ("messages (item_key)", 1.0),
                    ("contacts (organization_id)", 0.5),
                ],
            ),
            operation(
                "status callback",
                &[
                    ("messages (item_key)", 0.01),
                    ("messages.changes (conversation)", 2.0),
                    ("contacts.phone (organization_id)", 1.0),
                ],
            ),
        ];
        // Per message: contacts 0.5, contacts.phone 3 × 1.0. Per-message and per-conversation
        // keys are not shared by the organization's messages and do not count.
        let rate = organization_rate(
            &operations,
            "outbound",
            &[("send", 1.0), ("status callback", 3.0)],
        );
        assert_eq!(
            rate.busiest_shared_key,
            Some(("contacts.phone (organization_id)".to_owned(), 3.0))
        );
        assert_eq!(rate.messages_per_second, Some(1000.0 / 3.0));
        // The inbox index is keyed by the organization too.
        let inbox = [operation(
            "inbound message",
            &[
                ("contacts.phone (organization_id)", 1.0),
                ("messages.inbox (inbox)", 2.0),
            ],
        )];
        let rate = organization_rate(&inbox, "inbound", &[("inbound message", 1.0)]);
        assert_eq!(
            (rate.busiest_shared_key, rate.messages_per_second),
            (
                Some(("messages.inbox (inbox)".to_owned(), 2.0)),
                Some(500.0)
            )
        );
        let none = organization_rate(&operations[..1], "outbound", &[("worker run", 1.0)]);
        assert_eq!(
            (none.busiest_shared_key, none.messages_per_second),
            (None, None)
        );
    }
}
