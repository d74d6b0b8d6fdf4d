//! The report as the benchmark prints it.

use std::fmt::Write as _;

use super::Report;

impl Report {
    pub fn table(&self) -> String {
        let mut out = String::new();
        self.machine_and_functions(&mut out);
        self.in_process_and_ratios(&mut out);
        self.operation_costs(&mut out);
        self.live_updates(&mut out);
        self.rates_and_targets(&mut out);
        out
    }

    /// The machine, then a row per function: init, invocations, memory, package.
    fn machine_and_functions(&self, out: &mut String) {
        let m = &self.machine;
        let _ = writeln!(
            *out,
            "\nMachine: {} · {} cores · {} GiB · Linux {} · {} · {}\n",
            m.cpu, m.cores, m.memory_gib, m.kernel, m.arch, self.taken_at
        );
        let _ = writeln!(
            *out,
            "| function | init ms (median) | first invocation ms | warm p50 ms | warm p99 ms | peak RSS MiB | zip MiB |"
        );
        let _ = writeln!(*out, "|---|---:|---:|---:|---:|---:|---:|");
        for row in self.rows.iter().chain(self.node.iter()) {
            let zip = row.zip_bytes.map_or_else(
                || "—".to_owned(),
                |b| format!("{:.2}", b as f64 / 1024.0 / 1024.0),
            );
            let _ = writeln!(
                *out,
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
    }

    /// The webhook in process, the first phone validations, init against the floor.
    fn in_process_and_ratios(&self, out: &mut String) {
        let _ = writeln!(
            *out,
            "\nWebhook handler in process (in-memory ports, {} inbound messages): p50 {:.3} ms, p99 {:.3} ms",
            self.in_memory_invocations,
            self.in_memory_webhook_ms_p50,
            self.in_memory_webhook_ms_p99
        );
        let _ = writeln!(
            *out,
            "\nFirst phone-number validation of a process (median of 5 processes each):"
        );
        for first in &self.phone_first_validation {
            let _ = writeln!(
                *out,
                "  {:<16} now {:>6.2} ms   before {:>6.2} ms",
                first.number, first.now_ms, first.before_ms
            );
        }
        if let Some(floor) = self.floor() {
            let _ = writeln!(*out, "\nRatios (init, median):");
            for row in self.functions() {
                let _ = writeln!(
                    *out,
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
    }

    /// Per operation: AWS requests, capacity units, USD per million.
    fn operation_costs(&self, out: &mut String) {
        let _ = writeln!(
            *out,
            "\nPer operation (warm; AWS requests, DynamoDB capacity units, USD per million):"
        );
        let _ = writeln!(
            *out,
            "| operation | AWS requests | RRU | WRU | USD / million |"
        );
        let _ = writeln!(*out, "|---|---|---:|---:|---:|");
        for op in &self.operations {
            let requests = op
                .requests
                .iter()
                .map(|(name, n)| format!("{n:.2} {name}"))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                *out,
                "| {} | {} | {:.2} | {:.2} | {:.2} |",
                op.operation, requests, op.read_units, op.write_units, op.usd_per_million
            );
        }
        let _ = writeln!(
            *out,
            "\nOne outbound message (send + worker + 3 status callbacks): {:.2} USD per million",
            self.outbound_message_usd_per_million
        );
    }

    /// Live updates: latency, events, the idle tab and presence.
    fn live_updates(&self, out: &mut String) {
        if let Some(live) = &self.live {
            let _ = writeln!(
                *out,
                "\nLive updates (local runner, {} replies): webhook → data frame p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
                live.replies, live.p50_ms, live.p95_ms, live.max_ms
            );
            let _ = writeln!(
                *out,
                "  events per outbound message: {:.2}; one outbound message with push (one open tab): {:.2} USD per million (without: {:.2})",
                live.events_per_outbound,
                live.outbound_usd_per_million_push,
                live.outbound_usd_per_million_poll
            );
            let _ = writeln!(*out, "  idle open tab, per hour:");
            for line in &live.idle_tab.arithmetic {
                let _ = writeln!(*out, "    {line}");
            }
            let _ = writeln!(*out, "  presence, per agent-hour (one other tab watching):");
            for line in &live.presence.arithmetic {
                let _ = writeln!(*out, "    {line}");
            }
        }
    }

    /// Per-organization rates before a key limit, and every target met or missed.
    fn rates_and_targets(&self, out: &mut String) {
        let _ = writeln!(
            *out,
            "\nPer-organization message rate before a partition key limit (1,000 WRU/s per key value):"
        );
        for rate in &self.organization_rates {
            let _ = match (&rate.busiest_shared_key, rate.messages_per_second) {
                (Some((copy, units)), Some(per_second)) => writeln!(
                    *out,
                    "  {}: busiest shared key {copy}, {units:.2} WRU per message: {per_second:.0}/s",
                    rate.flow
                ),
                _ => writeln!(
                    *out,
                    "  {}: writes no key shared across messages: no per-organization limit",
                    rate.flow
                ),
            };
        }
        let _ = writeln!(*out, "\nTargets:");
        for t in &self.targets {
            let _ = writeln!(
                *out,
                "  [{}] {}: {} (target {})",
                if t.met { "met" } else { "MISSED" },
                t.what,
                t.measured,
                t.target
            );
        }
    }
}
