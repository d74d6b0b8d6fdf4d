//! The first phone-number validation of a fresh process, per calling code: `phone-first`
//! started once per number (and per run), as a function's first invocation pays it, now and
//! as the product validated before per-code metadata (`--before`).

use std::path::Path;

use serde::Serialize;

/// One number per calling code the CRM's contacts most often have, the largest metadata
/// (+1: 25 regions; +44; +7) among them.
pub const NUMBERS: &[&str] = &[
    "+14155238886",
    "+447911123456",
    "+60123456789",
    "+6591234567",
    "+919876543210",
    "+5511987654321",
    "+8613812345678",
    "+971501234567",
    "+61412345678",
    "+2348031234567",
    "+4915112345678",
    "+79161234567",
];

#[derive(Debug, Clone, Serialize)]
pub struct FirstValidation {
    pub number: String,
    /// Medians over the runs, milliseconds.
    pub now_ms: f64,
    pub before_ms: f64,
    pub valid: bool,
}

fn run_once(bin: &Path, before: bool, number: &str) -> Result<(f64, bool), String> {
    let mut command = std::process::Command::new(bin);
    if before {
        command.arg("--before");
    }
    let output = command
        .arg(number)
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let line = String::from_utf8_lossy(&output.stdout);
    let mut fields = line.split_whitespace().skip(1);
    let micros: f64 = fields
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| format!("phone-first printed {line:?}"))?;
    Ok((micros / 1000.0, fields.next() == Some("true")))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

pub fn first_validations(bin_dir: &Path, runs: usize) -> Result<Vec<FirstValidation>, String> {
    let bin = bin_dir.join("phone-first");
    NUMBERS
        .iter()
        .map(|number| {
            let mut now = vec![];
            let mut before = vec![];
            let mut verdicts = vec![];
            for _ in 0..runs.max(1) {
                let (ms, valid) = run_once(&bin, false, number)?;
                now.push(ms);
                verdicts.push(valid);
                let (ms, valid_before) = run_once(&bin, true, number)?;
                before.push(ms);
                if valid_before != valid {
                    return Err(format!("{number}: the verdict changed"));
                }
            }
            Ok(FirstValidation {
                number: (*number).to_owned(),
                now_ms: median(now),
                before_ms: median(before),
                valid: verdicts.iter().all(|v| *v),
            })
        })
        .collect()
}
