//! The machine a run was taken on, and the Lambda packages' sizes.

use std::path::Path;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub arch: &'static str,
}

pub(super) fn machine() -> Machine {
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
