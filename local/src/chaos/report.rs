//! What a fault-injection run counted, injected and found, printed as the test command shows it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub counts: BTreeMap<&'static str, u64>,
    pub faults: BTreeMap<String, u64>,
    pub final_statuses: BTreeMap<String, u64>,
    pub violations: Vec<String>,
    /// The traffic's time (the last request answered); the rest of `elapsed` is settling.
    pub traffic: Duration,
    pub elapsed: Duration,
}

impl Report {
    pub(super) fn add(&mut self, name: &'static str, n: u64) {
        *self.counts.entry(name).or_default() += n;
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fault-injection run (seed {}, {:.1} s: traffic {:.1} s, then settling)",
            self.seed,
            self.elapsed.as_secs_f64(),
            self.traffic.as_secs_f64()
        )?;
        for (name, n) in &self.counts {
            writeln!(f, "  {name:<44} {n:>6}")?;
        }
        writeln!(f, "  faults injected:")?;
        for (name, n) in &self.faults {
            writeln!(f, "    {name:<42} {n:>6}")?;
        }
        writeln!(f, "  final status of accepted messages:")?;
        for (name, n) in &self.final_statuses {
            writeln!(f, "    {name:<42} {n:>6}")?;
        }
        if self.violations.is_empty() {
            writeln!(f, "  invariants: all hold")
        } else {
            writeln!(f, "  VIOLATIONS ({}):", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "    {v}")?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_lists_violations() {
        let mut report = Report {
            seed: 7,
            ..Report::default()
        };
        report.add("sends requested", 3);
        assert!(report.to_string().contains("invariants: all hold"));
        report.violations.push("x reached Twilio 2 times".into());
        let text = report.to_string();
        assert!(text.contains("VIOLATIONS (1)") && text.contains("x reached Twilio 2 times"));
    }
}
