//! The benchmark's table, ratios, targets and cost model, printed and written as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;

use crate::measure::{Cost, Measured};

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

pub const TARGET_INIT_VS_FLOOR: f64 = 1.3;
pub const TARGET_NODE_VS_OURS: f64 = 10.0;
pub const TARGET_WEBHOOK_P99_MS: f64 = 2.0;
pub const TARGET_ZIP_BYTES: u64 = 8 * 1024 * 1024;
pub const TARGET_RSS_KB: u64 = 32 * 1024;
pub const TARGET_FIRST_PHONE_MS: f64 = 5.0;
/// "A few read units" for the first page of a search, whatever the organization's size.
pub const TARGET_SEARCH_READ_UNITS: f64 = 5.0;
/// Twilio's default rate for one WhatsApp sender, in messages per second.
pub const TARGET_ORGANIZATION_RATE: f64 = 80.0;
/// DynamoDB's write units per second on one partition key value (table or index).
const PARTITION_KEY_WRITE_UNITS: f64 = 1000.0;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The value below which `q` of the samples fall (nearest rank).
pub fn percentile(samples: &[Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    ms(sorted[rank - 1])
}

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
pub struct Target {
    pub what: String,
    pub target: String,
    pub measured: String,
    pub met: bool,
}

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

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub arch: &'static str,
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

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or_else(|| "unknown".to_owned(), |m| m.trim().to_owned());
    let memory_kb: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: (memory_kb / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        arch: std::env::consts::ARCH,
    }
}

/// `bootstrap.zip` per function under cargo lambda's output folder.
pub fn zip_sizes(dir: Option<&Path>) -> Vec<(String, u64)> {
    let Some(dir) = dir else { return vec![] };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut sizes: Vec<(String, u64)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let size = std::fs::metadata(e.path().join("bootstrap.zip"))
                .ok()?
                .len();
            Some((e.file_name().to_string_lossy().into_owned(), size))
        })
        .collect();
    sizes.sort();
    sizes
}

fn usd(cost: &Cost, duration_ms: f64, through_api_gateway: bool) -> f64 {
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

/// The busiest organization-wide key of a flow of operations (each with how many times it
/// runs per message), summed per copy over the flow, and the rate it allows.
fn organization_rate(
    operations: &[OperationCost],
    flow: &str,
    parts: &[(&str, f64)],
) -> OrganizationRate {
    let mut per_copy: BTreeMap<&str, f64> = BTreeMap::new();
    for (name, times) in parts {
        for op in operations.iter().filter(|o| o.operation == *name) {
            // Keys named `organization_id` are shared by all of an organization's messages;
            // `item_key`, `twilio_message_sid` and `conversation` keys are not.
            for (copy, units) in &op.busiest_keys {
                if copy.ends_with("(organization_id)") {
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

    fn check_targets(&self, zips: &[(String, u64)]) -> Vec<Target> {
        let mut targets = Vec::new();
        if let Some(floor) = self.floor() {
            for row in self.functions() {
                let ratio = row.init_ms_median / floor.init_ms_median.max(f64::EPSILON);
                targets.push(Target {
                    what: format!("{} init vs floor", row.function),
                    target: format!("≤ {TARGET_INIT_VS_FLOOR}×"),
                    measured: format!(
                        "{ratio:.2}× ({:.2} / {:.2} ms)",
                        row.init_ms_median, floor.init_ms_median
                    ),
                    met: ratio <= TARGET_INIT_VS_FLOOR,
                });
            }
        }
        if let (Some(node), Some(ours)) = (
            &self.node,
            self.rows.iter().find(|r| r.function == "twilio-webhook"),
        ) {
            let ratio = node.init_ms_median / ours.init_ms_median.max(f64::EPSILON);
            targets.push(Target {
                what: "Node.js + twilio init vs twilio-webhook".into(),
                target: format!("≥ {TARGET_NODE_VS_OURS}×"),
                measured: format!(
                    "{ratio:.1}× ({:.1} / {:.2} ms)",
                    node.init_ms_median, ours.init_ms_median
                ),
                met: ratio >= TARGET_NODE_VS_OURS,
            });
        }
        targets.push(Target {
            what: "webhook handler p99, in-memory ports".into(),
            target: format!("≤ {TARGET_WEBHOOK_P99_MS} ms"),
            measured: format!("{:.3} ms", self.in_memory_webhook_ms_p99),
            met: self.in_memory_webhook_ms_p99 <= TARGET_WEBHOOK_P99_MS,
        });
        for (name, bytes) in zips {
            targets.push(Target {
                what: format!("{name} zip"),
                target: "≤ 8 MiB".into(),
                measured: format!("{:.2} MiB", *bytes as f64 / 1024.0 / 1024.0),
                met: *bytes <= TARGET_ZIP_BYTES,
            });
        }
        for row in self.functions() {
            targets.push(Target {
                what: format!("{} peak RSS", row.function),
                target: "≤ 32 MiB".into(),
                measured: format!("{:.1} MiB", row.peak_rss_kb as f64 / 1024.0),
                met: row.peak_rss_kb <= TARGET_RSS_KB,
            });
        }
        if let Some(poll) = self.operations.iter().find(|o| o.operation == "empty poll") {
            // The changes and the contact (how it stands in the CRM) are read at once.
            let mut requests: Vec<(&str, f64)> = poll
                .requests
                .iter()
                .map(|(name, n)| (name.as_str(), *n))
                .collect();
            requests.sort_by(|a, b| a.0.cmp(b.0));
            let one_each = requests.len() == 2
                && requests[0].0 == "dynamodb.GetItem"
                && requests[1].0 == "dynamodb.Query"
                && requests.iter().all(|(_, n)| (n - 1.0).abs() < 1e-9);
            targets.push(Target {
                what: "empty poll".into(),
                target: "one DynamoDB Query and one GetItem, at once".into(),
                measured: format!("{:?}", poll.requests),
                met: one_each,
            });
        }
        for search in self
            .operations
            .iter()
            .filter(|o| o.operation.starts_with("search, 20000 contacts"))
        {
            targets.push(Target {
                what: search.operation.clone(),
                target: format!("≤ {TARGET_SEARCH_READ_UNITS} read units"),
                measured: format!("{:.1} read units", search.read_units),
                met: search.read_units <= TARGET_SEARCH_READ_UNITS,
            });
        }
        for rate in &self.organization_rates {
            targets.push(Target {
                what: format!("{} per second per organization", rate.flow),
                target: format!("≥ {TARGET_ORGANIZATION_RATE} (Twilio's default per sender)"),
                measured: rate.messages_per_second.map_or_else(
                    || "no key shared across messages is written".to_owned(),
                    |r| format!("{r:.0}"),
                ),
                met: rate
                    .messages_per_second
                    .is_none_or(|r| r >= TARGET_ORGANIZATION_RATE),
            });
        }
        let scans: f64 = self
            .operations
            .iter()
            .flat_map(|o| o.requests.iter())
            .filter(|(op, _)| op.ends_with(".Scan"))
            .fold(0.0, |total, (_, n)| total + n);
        targets.push(Target {
            what: "DynamoDB Scan anywhere".into(),
            target: "none".into(),
            measured: format!("{scans}"),
            met: scans == 0.0,
        });
        let errors: usize = self
            .rows
            .iter()
            .chain(self.node.iter())
            .map(|r| r.errors)
            .sum();
        targets.push(Target {
            what: "failed invocations".into(),
            target: "none".into(),
            measured: errors.to_string(),
            met: errors == 0,
        });
        targets
    }

    pub fn table(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "\nMachine: {} · {} cores · {} GiB · Linux {} · {} · {}\n",
            m.cpu, m.cores, m.memory_gib, m.kernel, m.arch, self.taken_at
        );
        let _ = writeln!(
            out,
            "| function | init ms (median) | first invocation ms | warm p50 ms | warm p99 ms | peak RSS MiB | zip MiB |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
        for row in self.rows.iter().chain(self.node.iter()) {
            let zip = row.zip_bytes.map_or_else(
                || "—".to_owned(),
                |b| format!("{:.2}", b as f64 / 1024.0 / 1024.0),
            );
            let _ = writeln!(
                out,
                "| {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.1} | {} |",
                row.function,
                row.init_ms_median,
                row.first_invocation_ms_median,
                row.warm_ms_p50,
                row.warm_ms_p99,
                row.peak_rss_kb as f64 / 1024.0,
                zip
            );
        }
        let _ = writeln!(
            out,
            "\nWebhook handler in process (in-memory ports, {} inbound messages): p50 {:.3} ms, p99 {:.3} ms",
            self.in_memory_invocations,
            self.in_memory_webhook_ms_p50,
            self.in_memory_webhook_ms_p99
        );
        let _ = writeln!(
            out,
            "\nFirst phone-number validation of a process (median of 5 processes each):"
        );
        for first in &self.phone_first_validation {
            let _ = writeln!(
                out,
                "  {:<16} now {:>6.2} ms   before {:>6.2} ms",
                first.number, first.now_ms, first.before_ms
            );
        }
        if let Some(floor) = self.floor() {
            let _ = writeln!(out, "\nRatios (init, median):");
            for row in self.functions() {
                let _ = writeln!(
                    out,
                    "  {:<16} ours / floor = {:.2}×{}",
                    row.function,
                    row.init_ms_median / floor.init_ms_median.max(f64::EPSILON),
                    self.node.as_ref().map_or_else(String::new, |node| format!(
                        "   Node / ours = {:.1}×",
                        node.init_ms_median / row.init_ms_median.max(f64::EPSILON)
                    ))
                );
            }
        }
        let _ = writeln!(
            out,
            "\nPer operation (warm; AWS requests, DynamoDB capacity units, USD per million):"
        );
        let _ = writeln!(
            out,
            "| operation | AWS requests | RRU | WRU | USD / million |"
        );
        let _ = writeln!(out, "|---|---|---:|---:|---:|");
        for op in &self.operations {
            let requests = op
                .requests
                .iter()
                .map(|(name, n)| format!("{n:.2} {name}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "| {} | {} | {:.2} | {:.2} | {:.2} |",
                op.operation, requests, op.read_units, op.write_units, op.usd_per_million
            );
        }
        let _ = writeln!(
            out,
            "\nOne outbound message (send + worker + 3 status callbacks): {:.2} USD per million",
            self.outbound_message_usd_per_million
        );
        if let Some(live) = &self.live {
            let _ = writeln!(
                out,
                "\nLive updates (local runner, {} replies): webhook → data frame p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
                live.replies, live.p50_ms, live.p95_ms, live.max_ms
            );
            let _ = writeln!(
                out,
                "  events per outbound message: {:.2}; one outbound message with push (one open tab): {:.2} USD per million (without: {:.2})",
                live.events_per_outbound,
                live.outbound_usd_per_million_push,
                live.outbound_usd_per_million_poll
            );
            let _ = writeln!(out, "  idle open tab, per hour:");
            for line in &live.idle_tab.arithmetic {
                let _ = writeln!(out, "    {line}");
            }
        }
        let _ = writeln!(
            out,
            "\nPer-organization message rate before a partition key limit (1,000 WRU/s per key value):"
        );
        for rate in &self.organization_rates {
            let _ = match (&rate.busiest_shared_key, rate.messages_per_second) {
                (Some((copy, units)), Some(per_second)) => writeln!(
                    out,
                    "  {}: busiest shared key {copy}, {units:.2} WRU per message: {per_second:.0}/s",
                    rate.flow
                ),
                _ => writeln!(
                    out,
                    "  {}: writes no key shared across messages: no per-organization limit",
                    rate.flow
                ),
            };
        }
        let _ = writeln!(out, "\nTargets:");
        for t in &self.targets {
            let _ = writeln!(
                out,
                "  [{}] {}: {} (target {})",
                if t.met { "met" } else { "MISSED" },
                t.what,
                t.measured,
                t.target
            );
        }
        out
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
        let none = organization_rate(&operations[..1], "outbound", &[("worker run", 1.0)]);
        assert_eq!(
            (none.busiest_shared_key, none.messages_per_second),
            (None, None)
        );
    }
}
