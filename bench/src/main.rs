//! `lambda-bench`: runs the release Lambda binaries under a Runtime API on loopback, beside the
//! hello-world floor and the Node.js + twilio alternative, with AWS (an emulator behind a
//! counting proxy) and Twilio (a stub) on loopback. Prints the table and writes the JSON.
//! `scripts/bench.sh` builds everything and starts the emulator; see docs/benchmarks.md.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod aws_proxy;
mod cold_start;
mod dynamodb_units;
mod event_api_stub;
mod events;
mod in_memory;
mod inbox;
mod live;
mod measure;
mod phone;
mod provision;
mod report;
mod runtime_api;
mod samples;
mod script;
mod search;
mod twilio_stub;

use std::path::PathBuf;

const USAGE: &str = "usage: lambda-bench --bin-dir DIR [--node-dir DIR] [--zip-dir DIR]
    [--invocations N] [--cold-starts K] [--out FILE]
  --bin-dir DIR      release binaries of the functions and hello-floor (target/release)
  --node-dir DIR     the Node.js + twilio alternative (bench/node-twilio, npm ci done)
  --zip-dir DIR      cargo lambda's output with bootstrap.zip per function (target/lambda)
  --invocations N    warm invocations per function (default 1000)
  --cold-starts K    cold starts per function (default 10)
  --out FILE         where the JSON results go (default bench/results.json)
  --cold-start-only  only the first phone validations and init against the floor, printed
                     (no emulator needed, nothing written)
AWS_ENDPOINT_URL must point at the AWS emulator.";

struct Args {
    bin_dir: PathBuf,
    node_dir: Option<PathBuf>,
    zip_dir: Option<PathBuf>,
    invocations: usize,
    cold_starts: usize,
    out: PathBuf,
    cold_start_only: bool,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        bin_dir: PathBuf::new(),
        node_dir: None,
        zip_dir: None,
        invocations: 1000,
        cold_starts: 10,
        out: PathBuf::from("bench/results.json"),
        cold_start_only: false,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| USAGE.to_owned())
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bin-dir" => args.bin_dir = it.next().map(PathBuf::from).ok_or(USAGE)?,
            "--node-dir" => args.node_dir = it.next().map(PathBuf::from),
            "--zip-dir" => args.zip_dir = it.next().map(PathBuf::from),
            "--invocations" => args.invocations = number(it.next())?,
            "--cold-starts" => args.cold_starts = number(it.next())?,
            "--out" => args.out = it.next().map(PathBuf::from).ok_or(USAGE)?,
            "--cold-start-only" => args.cold_start_only = true,
            _ => return Err(USAGE.into()),
        }
    }
    if args.bin_dir.as_os_str().is_empty() {
        return Err(USAGE.into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    match script::run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lambda-bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
