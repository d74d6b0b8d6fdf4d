//! The benchmark's table, ratios, targets and cost model, printed and written as JSON:
//! `costs` (prices and what an operation costs), `targets` (one check per target),
//! `machine` (the machine and the zip sizes), `table` (the printed report).

mod costs;
mod machine;
mod table;
mod targets;

use std::time::Duration;

use serde::Serialize;

pub use costs::{OperationCost, OrganizationRate};
use costs::{organization_rate, usd};
use machine::machine;
pub use machine::{Machine, zip_sizes};
pub use targets::{TARGET_FIRST_PHONE_MS, TARGET_INIT_VS_FLOOR, Target};

use crate::measure::{Cost, Measured};
use crate::samples::{ms, percentile};

#[derive(Debug, Serialize)]
pub struct Row {
    pub function: String,
    pub init_ms_median: f64,
    pub init_ms_min: f64,
    pub first_invocation_ms_median: f64,
    pub warm_ms_p50: f64,
    pub warm_ms_p99: f64,
    pub warm_invocations: usize,
    pub peak_rss_kb: u64,
    pub errors: usize,
    pub zip_bytes: Option<u64>,
    pub cost: Vec<(String, Cost)>,
}

impl Row {
    fn of(m: &Measured, zips: &[(String, u64)]) -> Self {
        let mut cost = m.usage.clone();
        cost.extend(m.extra_usage.iter().cloned());
        let key = m.name.split_whitespace().next().unwrap_or_default();
        Self {
            function: m.name.clone(),
            init_ms_median: percentile(&m.init, 0.5),
            init_ms_min: m.init.iter().min().copied().map_or(0.0, ms),
            first_invocation_ms_median: percentile(&m.first, 0.5),
            warm_ms_p50: percentile(&m.warm, 0.5),
            warm_ms_p99: percentile(&m.warm, 0.99),
            warm_invocations: m.warm.len(),
            peak_rss_kb: m.peak_rss_kb,
            errors: m.errors,
            zip_bytes: zips.iter().find(|(name, _)| name == key).map(|(_, b)| *b),
            cost,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub taken_at: String,
    pub machine: Machine,
    pub rows: Vec<Row>,
    pub node: Option<Row>,
    pub in_memory_webhook_ms_p50: f64,
    pub in_memory_webhook_ms_p99: f64,
    pub in_memory_invocations: usize,
    pub operations: Vec<OperationCost>,
    pub outbound_message_usd_per_million: f64,
    /// Outbound and inbound messages per second per organization before a shared key's limit.
    pub organization_rates: Vec<OrganizationRate>,
    pub targets: Vec<Target>,
    pub twilio_messages_accepted: u64,
    /// The first phone-number validation of a fresh process, per calling code.
    pub phone_first_validation: Vec<crate::phone::FirstValidation>,
    /// Live updates: latency to a subscribed page, publishes, idle-tab cost (`crate::live`).
    pub live: Option<crate::live::LiveReport>,
}

impl Report {
    pub fn new(
        measured: Vec<Measured>,
        node: Option<Measured>,
        in_memory: Vec<Duration>,
        zips: Vec<(String, u64)>,
        twilio_messages_accepted: u64,
    ) -> Self {
        let rows: Vec<Row> = measured.iter().map(|m| Row::of(m, &zips)).collect();
        let node = node.map(|m| Row::of(&m, &zips));
        let mut operations = Vec::new();
        for row in &rows {
            // The worker is fed by SQS and the stream consumers by DynamoDB streams; everything
            // else comes through API Gateway.
            let through_api_gateway = !matches!(
                row.function.as_str(),
                "send-worker" | "contact-indexer" | "live-publisher"
            );
            for (operation, cost) in &row.cost {
                operations.push(OperationCost {
                    operation: operation.clone(),
                    requests: cost.requests.iter().map(|(k, v)| (k.clone(), *v)).collect(),
                    read_units: cost.read_units,
                    write_units: cost.write_units,
                    busiest_keys: cost
                        .busiest_keys
                        .iter()
                        .map(|(k, v)| (k.clone(), *v))
                        .collect(),
                    usd_per_million: usd(cost, row.warm_ms_p50, through_api_gateway),
                });
            }
        }
        let per = |name: &str| {
            operations
                .iter()
                .find(|o| o.operation == name)
                .map_or(0.0, |o| o.usd_per_million)
        };
        // One outbound message: the send, the worker's run and three status callbacks.
        let outbound = per("send") + per("worker run") + 3.0 * per("status callback");
        let mut report = Self {
            taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            machine: machine(),
            in_memory_webhook_ms_p50: percentile(&in_memory, 0.5),
            in_memory_webhook_ms_p99: percentile(&in_memory, 0.99),
            in_memory_invocations: in_memory.len(),
            rows,
            node,
            outbound_message_usd_per_million: outbound,
            organization_rates: vec![
                organization_rate(
                    &operations,
                    "outbound message (send + worker + 3 status callbacks)",
                    &[("send", 1.0), ("worker run", 1.0), ("status callback", 3.0)],
                ),
                organization_rate(&operations, "inbound message", &[("inbound message", 1.0)]),
            ],
            operations,
            targets: vec![],
            twilio_messages_accepted,
            phone_first_validation: vec![],
            live: None,
        };
        report.targets = report.check_targets(&zips);
        report
    }

    fn usd_per_million(&self, operation: &str) -> f64 {
        self.operations
            .iter()
            .find(|o| o.operation == operation)
            .map_or(0.0, |o| o.usd_per_million)
    }

    /// Records the live measurements, prices them and checks their targets.
    pub fn set_live(&mut self, mut live: crate::live::LiveReport) {
        use crate::live::{TARGET_IDLE_RATIO, TARGET_P95_MS, prices};
        live.idle_tab = crate::live::idle_tab(self.usd_per_million("empty poll") / 1e6);
        // Each event: one publish operation, one delivery per subscribed tab (one here), and
        // its share of the publisher's invocation (measured on batches of ten records).
        let per_record = self.usd_per_million(crate::live::TICKS_OPERATION) / 10.0;
        let per_event = 2.0 * prices::OPERATION * 1e6 + per_record;
        // A presence event reaches the agent's own tab as well as the other one.
        let per_presence_event = per_event + prices::OPERATION * 1e6;
        live.presence = crate::live::presence_hour(
            self.usd_per_million(crate::live::PRESENCE_OPERATION) / 1e6,
            per_presence_event / 1e6,
            live.idle_tab.push_usd_per_hour,
        );
        self.targets.push(Target {
            what: "presence, one agent-hour, one other tab watching".into(),
            target: format!("≤ ${}", crate::live::TARGET_PRESENCE_USD_PER_AGENT_HOUR),
            measured: format!(
                "${:.2e} ({:.1}× an idle tab's push)",
                live.presence.usd_per_agent_hour,
                live.presence.usd_per_agent_hour
                    / live.idle_tab.push_usd_per_hour.max(f64::MIN_POSITIVE)
            ),
            met: live.presence.usd_per_request > 0.0
                && live.presence.usd_per_agent_hour
                    <= crate::live::TARGET_PRESENCE_USD_PER_AGENT_HOUR,
        });
        live.outbound_usd_per_million_poll = self.outbound_message_usd_per_million;
        live.outbound_usd_per_million_push =
            self.outbound_message_usd_per_million + live.events_per_outbound * per_event;
        self.targets.push(Target {
            what: format!("webhook → data frame p95, {} replies (local)", live.replies),
            target: format!("≤ {TARGET_P95_MS} ms"),
            measured: format!("{:.1} ms (p50 {:.1} ms)", live.p95_ms, live.p50_ms),
            met: live.replies >= 200 && live.p95_ms <= TARGET_P95_MS,
        });
        self.targets.push(Target {
            what: "idle open tab, polling / push".into(),
            target: format!("≥ {TARGET_IDLE_RATIO}×"),
            measured: format!(
                "{:.0}× (${:.2e} / ${:.2e} per hour)",
                live.idle_tab.ratio,
                live.idle_tab.polling_usd_per_hour,
                live.idle_tab.push_usd_per_hour
            ),
            met: live.idle_tab.ratio >= TARGET_IDLE_RATIO,
        });
        self.live = Some(live);
    }

    /// Records the first phone validations and checks them against their target.
    pub fn set_phone_first(&mut self, firsts: Vec<crate::phone::FirstValidation>) {
        for first in &firsts {
            self.targets.push(Target {
                what: format!("first phone validation of a process, {}", first.number),
                target: format!("≤ {TARGET_FIRST_PHONE_MS} ms"),
                measured: format!("{:.2} ms (before: {:.2} ms)", first.now_ms, first.before_ms),
                met: first.now_ms <= TARGET_FIRST_PHONE_MS && first.valid,
            });
        }
        self.phone_first_validation = firsts;
    }

    fn floor(&self) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.function.starts_with("hello-floor"))
    }

    fn functions(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| !r.function.starts_with("hello-floor"))
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.5), 50.0);
        assert_eq!(percentile(&samples, 0.99), 99.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
