//! The benchmark's targets, one function each: what is measured against what.

use serde::Serialize;

use super::Report;

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

#[derive(Debug, Serialize)]
pub struct Target {
    pub what: String,
    pub target: String,
    pub measured: String,
    pub met: bool,
}

fn init_vs_floor(report: &Report) -> Vec<Target> {
    let Some(floor) = report.floor() else {
        return vec![];
    };
    report
        .functions()
        .map(|row| {
            let ratio = row.init_ms_median / floor.init_ms_median.max(f64::EPSILON);
            Target {
                what: format!("{} init vs floor", row.function),
                target: format!("≤ {TARGET_INIT_VS_FLOOR}×"),
                measured: format!(
                    "{ratio:.2}× ({:.2} / {:.2} ms)",
                    row.init_ms_median, floor.init_ms_median
                ),
                met: ratio <= TARGET_INIT_VS_FLOOR,
            }
        })
        .collect()
}

fn node_vs_ours(report: &Report) -> Vec<Target> {
    let (Some(node), Some(ours)) = (
        &report.node,
        report.rows.iter().find(|r| r.function == "twilio-webhook"),
    ) else {
        return vec![];
    };
    let ratio = node.init_ms_median / ours.init_ms_median.max(f64::EPSILON);
    vec![Target {
        what: "Node.js + twilio init vs twilio-webhook".into(),
        target: format!("≥ {TARGET_NODE_VS_OURS}×"),
        measured: format!(
            "{ratio:.1}× ({:.1} / {:.2} ms)",
            node.init_ms_median, ours.init_ms_median
        ),
        met: ratio >= TARGET_NODE_VS_OURS,
    }]
}

fn webhook_in_process(report: &Report) -> Vec<Target> {
    vec![Target {
        what: "webhook handler p99, in-memory ports".into(),
        target: format!("≤ {TARGET_WEBHOOK_P99_MS} ms"),
        measured: format!("{:.3} ms", report.in_memory_webhook_ms_p99),
        met: report.in_memory_webhook_ms_p99 <= TARGET_WEBHOOK_P99_MS,
    }]
}

fn zips(zips: &[(String, u64)]) -> Vec<Target> {
    zips.iter()
        .map(|(name, bytes)| Target {
            what: format!("{name} zip"),
            target: "≤ 8 MiB".into(),
            measured: format!("{:.2} MiB", *bytes as f64 / 1024.0 / 1024.0),
            met: *bytes <= TARGET_ZIP_BYTES,
        })
        .collect()
}

fn peak_rss(report: &Report) -> Vec<Target> {
    report
        .functions()
        .map(|row| Target {
            what: format!("{} peak RSS", row.function),
            target: "≤ 32 MiB".into(),
            measured: format!("{:.1} MiB", row.peak_rss_kb as f64 / 1024.0),
            met: row.peak_rss_kb <= TARGET_RSS_KB,
        })
        .collect()
}

/// The changes and the contact (how it stands in the CRM) are read at once.
fn empty_poll(report: &Report) -> Vec<Target> {
    let Some(poll) = report
        .operations
        .iter()
        .find(|o| o.operation == "empty poll")
    else {
        return vec![];
    };
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
    vec![Target {
        what: "empty poll".into(),
        target: "one DynamoDB Query and one GetItem, at once".into(),
        measured: format!("{:?}", poll.requests),
        met: one_each,
    }]
}

fn search_reads(report: &Report) -> Vec<Target> {
    report
        .operations
        .iter()
        .filter(|o| o.operation.starts_with("search, 20000 contacts"))
        .map(|search| Target {
            what: search.operation.clone(),
            target: format!("≤ {TARGET_SEARCH_READ_UNITS} read units"),
            measured: format!("{:.1} read units", search.read_units),
            met: search.read_units <= TARGET_SEARCH_READ_UNITS,
        })
        .collect()
}

fn organization_rates(report: &Report) -> Vec<Target> {
    report
        .organization_rates
        .iter()
        .map(|rate| Target {
            what: format!("{} per second per organization", rate.flow),
            target: format!("≥ {TARGET_ORGANIZATION_RATE} (Twilio's default per sender)"),
            measured: rate.messages_per_second.map_or_else(
                || "no key shared across messages is written".to_owned(),
                |r| format!("{r:.0}"),
            ),
            met: rate
                .messages_per_second
                .is_none_or(|r| r >= TARGET_ORGANIZATION_RATE),
        })
        .collect()
}

fn no_scan(report: &Report) -> Vec<Target> {
    let scans: f64 = report
        .operations
        .iter()
        .flat_map(|o| o.requests.iter())
        .filter(|(op, _)| op.ends_with(".Scan"))
        .fold(0.0, |total, (_, n)| total + n);
    vec![Target {
        what: "DynamoDB Scan anywhere".into(),
        target: "none".into(),
        measured: format!("{scans}"),
        met: scans == 0.0,
    }]
}

fn no_failed_invocation(report: &Report) -> Vec<Target> {
    let errors: usize = report
        .rows
        .iter()
        .chain(report.node.iter())
        .map(|r| r.errors)
        .sum();
    vec![Target {
        what: "failed invocations".into(),
        target: "none".into(),
        measured: errors.to_string(),
        met: errors == 0,
    }]
}

impl Report {
    /// Every target a run is checked against (the live and phone ones come with their
    /// measurements: `set_live`, `set_phone_first`).
    pub(super) fn check_targets(&self, zip_sizes: &[(String, u64)]) -> Vec<Target> {
        [
            init_vs_floor(self),
            node_vs_ours(self),
            webhook_in_process(self),
            zips(zip_sizes),
            peak_rss(self),
            empty_poll(self),
            search_reads(self),
            organization_rates(self),
            no_scan(self),
            no_failed_invocation(self),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}
