//! Running one function process under the Runtime API: cold starts (exec → first `/next`, then
//! the first invocation), warm invocations, peak RSS and the AWS requests per invocation.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::process::{Child, Command};

use crate::aws_proxy::{AwsProxy, Usage};
use crate::provision::Resources;
use crate::runtime_api::{Outcome, RuntimeApi};

pub struct Function {
    pub name: String,
    program: PathBuf,
    args: Vec<String>,
    dir: Option<PathBuf>,
}

impl Function {
    pub fn binary(name: &str, path: PathBuf) -> Self {
        Self {
            name: name.to_owned(),
            program: path,
            args: vec![],
            dir: None,
        }
    }

    /// The Node.js alternative: `node bootstrap.mjs` in its folder.
    pub fn node(name: &str, dir: &Path) -> Self {
        Self {
            name: name.to_owned(),
            program: PathBuf::from("node"),
            args: vec!["bootstrap.mjs".to_owned()],
            dir: Some(dir.to_owned()),
        }
    }
}

pub struct Options {
    pub invocations: usize,
    pub cold_starts: usize,
    pub env: Vec<(String, String)>,
    pub proxy: AwsProxy,
}

/// What Lambda sets, plus the functions' own configuration, pointed at loopback.
pub fn function_env(resources: &Resources, aws: &str, twilio: &str) -> Vec<(String, String)> {
    let pairs = [
        ("AWS_REGION", "eu-west-1"),
        ("AWS_DEFAULT_REGION", "eu-west-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("AWS_ENDPOINT_URL", aws),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        ("CONTACTS_TABLE", &resources.contacts_table),
        ("CONTACT_SEARCH_TABLE", &resources.contact_search_table),
        ("MESSAGES_TABLE", &resources.messages_table),
        ("SEND_QUEUE_URL", &resources.queue_url),
        // One queue for both kinds of job here; AWS deploys a media copy queue of its own.
        ("MEDIA_QUEUE_URL", &resources.queue_url),
        ("MEDIA_BUCKET", &resources.bucket),
        ("SECRET_PREFIX", &resources.secret_prefix),
        ("TWILIO_API_BASE_URL", twilio),
        ("TWILIO_MESSAGING_BASE_URL", twilio),
        ("TWILIO_CONTENT_BASE_URL", twilio),
        ("PUBLIC_BASE_URL", crate::events::PUBLIC_BASE_URL),
        // The Node.js alternative reads these two.
        ("TWILIO_AUTH_TOKEN", crate::events::AUTH_TOKEN),
        ("TWILIO_ACCOUNT_SID", crate::events::ACCOUNT_SID),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ("LANG", "C.UTF-8"),
    ];
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    pub name: String,
    /// exec → first `/next`, per cold start.
    pub init: Vec<Duration>,
    /// The first invocation after each cold start.
    pub first: Vec<Duration>,
    pub warm: Vec<Duration>,
    pub peak_rss_kb: u64,
    pub errors: usize,
    /// AWS requests and capacity per warm invocation, by operation of the product.
    pub usage: Vec<(String, Cost)>,
    #[serde(skip)]
    pub extra_usage: Vec<(String, Cost)>,
    #[serde(skip)]
    pub message_ids: Vec<String>,
}

struct Process {
    child: Child,
    api: RuntimeApi,
    log: PathBuf,
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

async fn start(function: &Function, options: &Options) -> Result<(Process, Duration), String> {
    let api = RuntimeApi::start().await.map_err(|e| e.to_string())?;
    let log = std::env::temp_dir().join(format!(
        "lambda-bench-{}.log",
        function
            .name
            .split_whitespace()
            .next()
            .unwrap_or("function")
    ));
    let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let mut command = Command::new(&function.program);
    command
        .args(&function.args)
        .env_clear()
        .envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api.address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &function.name)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
        .stderr(log_file)
        .kill_on_drop(true);
    if let Some(dir) = &function.dir {
        command.current_dir(dir);
    }
    let spawned = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("{}: {e}", function.program.display()))?;
    let first_next = tokio::select! {
        at = api.wait_for_first_next() => at,
        status = child.wait() => {
            return Err(format!("{} exited during init ({status:?}):\n{}", function.name, log_tail(&log)));
        }
        _ = tokio::time::sleep(Duration::from_secs(30)) => {
            return Err(format!("{} did not ask for work within 30 s:\n{}", function.name, log_tail(&log)));
        }
    };
    if let Some(error) = api.init_error() {
        return Err(format!("{} failed to init: {error}", function.name));
    }
    Ok((Process { child, api, log }, first_next - spawned))
}

impl Process {
    async fn invoke(&mut self, name: &str, event: Vec<u8>) -> Result<Outcome, String> {
        tokio::select! {
            outcome = self.api.invoke(event) => outcome.ok_or_else(|| format!("{name}: no answer")),
            status = self.child.wait() => Err(format!("{name} exited ({status:?}):\n{}", log_tail(&self.log))),
        }
    }

    /// The process's peak resident set (VmHWM), in KiB.
    fn peak_rss_kb(&self) -> u64 {
        let Some(pid) = self.child.id() else { return 0 };
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse().ok())
            })
            .unwrap_or(0)
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The `messages[].id` of an API Gateway answer (send-message's 202).
fn message_ids(outcome: &Outcome) -> Vec<String> {
    api_body(outcome)
        .and_then(|body| body["messages"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_owned))
        .collect()
}

/// The JSON body inside an API Gateway answer.
pub fn api_body(outcome: &Outcome) -> Option<serde_json::Value> {
    let response: serde_json::Value = serde_json::from_slice(&outcome.body).ok()?;
    serde_json::from_str(response["body"].as_str()?).ok()
}

/// An answer counts as an error when the runtime reported one, it is neither a 2xx nor the
/// media link's redirect, or a batch answer names failed records (every event of the benchmark
/// is one the function accepts).
fn failed(outcome: &Outcome) -> bool {
    if outcome.error {
        return true;
    }
    let Ok(answer) = serde_json::from_slice::<serde_json::Value>(&outcome.body) else {
        return false;
    };
    let bad_status = answer["statusCode"]
        .as_u64()
        .is_some_and(|status| !(200..300).contains(&status) && status != 302);
    let failed_records = answer["batchItemFailures"]
        .as_array()
        .is_some_and(|failures| !failures.is_empty());
    bad_status || failed_records
}

/// Counts a failed answer, and shows the first few of a function (its log keeps only the
/// last process's output).
fn count_failure(measured: &mut Measured, outcome: &Outcome) {
    if failed(outcome) {
        measured.errors += 1;
        if measured.errors <= 3 {
            eprintln!(
                "{}: failed invocation after {:.0} ms: {}",
                measured.name,
                outcome.latency.as_secs_f64() * 1000.0,
                String::from_utf8_lossy(&outcome.body)
            );
        }
    }
}

/// AWS requests and DynamoDB capacity per invocation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cost {
    pub requests: std::collections::BTreeMap<String, f64>,
    pub read_units: f64,
    pub write_units: f64,
    /// Per copy (table or index) written: the write units per invocation on its busiest
    /// partition key value (DynamoDB allows 1,000 per second on each).
    pub busiest_keys: std::collections::BTreeMap<String, f64>,
}

fn per_invocation(usage: Option<&Usage>, invocations: usize) -> Cost {
    let n = invocations.max(1) as f64;
    usage.map_or_else(Cost::default, |usage| Cost {
        requests: usage
            .requests
            .iter()
            .map(|(op, count)| (op.clone(), *count as f64 / n))
            .collect(),
        read_units: usage.read_units / n,
        write_units: usage.write_units / n,
        busiest_keys: usage
            .key_writes
            .iter()
            .map(|(copy, keys)| {
                let busiest = keys.values().copied().fold(0.0, f64::max);
                (copy.clone(), busiest / n)
            })
            .collect(),
    })
}

/// The Lambda functions, as their binaries are named.
pub const FUNCTIONS: [&str; 12] = [
    "canned-responses",
    "channel",
    "contact-indexer",
    "inbox",
    "list-contacts",
    "list-messages",
    "live-publisher",
    "media-url",
    "presign-upload",
    "send-message",
    "send-worker",
    "twilio-webhook",
];

/// The floor and every function, for the interleaved init rounds.
pub fn init_functions(bin_dir: &std::path::Path) -> Vec<Function> {
    std::iter::once(Function::binary(FLOOR, bin_dir.join("hello-floor")))
        .chain(
            FUNCTIONS
                .iter()
                .map(|name| Function::binary(name, bin_dir.join(name))),
        )
        .collect()
}

pub const FLOOR: &str = "hello-floor (floor)";

/// Init of each function, in rounds: every function (the floor among them) started once per
/// round, in turn, and stopped as soon as it asks for work. Interleaved, a slow stretch of
/// the machine (the emulator compacting, the page cache) touches every function alike
/// instead of whichever was measured then; the ratios to the floor are what the targets read.
pub async fn inits(
    functions: &[Function],
    options: &Options,
    rounds: usize,
) -> Result<Vec<Vec<Duration>>, String> {
    let mut inits = vec![Vec::with_capacity(rounds); functions.len()];
    for _ in 0..rounds {
        for (function, samples) in functions.iter().zip(&mut inits) {
            let (process, init) = start(function, options).await?;
            samples.push(init);
            process.stop().await;
        }
    }
    Ok(inits)
}

pub async fn measure(
    function: &Function,
    options: &Options,
    mut event: impl FnMut(usize) -> Vec<u8>,
    label: Option<&str>,
) -> Result<Measured, String> {
    let mut measured = Measured {
        name: function.name.clone(),
        ..Measured::default()
    };
    let mut n = 0;
    // Cold starts first, while the tables are small (the emulator's reads slow down as they
    // grow), then one process for the warm series.
    for cold_start in 0..=options.cold_starts {
        let warm_run = cold_start == options.cold_starts;
        let (mut process, init) = start(function, options).await?;
        let first = process.invoke(&function.name, event(n)).await?;
        n += 1;
        count_failure(&mut measured, &first);
        measured.message_ids.extend(message_ids(&first));
        if !warm_run {
            measured.init.push(init);
            measured.first.push(first.latency);
        } else {
            options.proxy.label(label);
            for _ in 0..options.invocations {
                let outcome = process.invoke(&function.name, event(n)).await?;
                n += 1;
                measured.warm.push(outcome.latency);
                count_failure(&mut measured, &outcome);
                measured.message_ids.extend(message_ids(&outcome));
            }
            options.proxy.label(None);
            measured.peak_rss_kb = process.peak_rss_kb();
        }
        process.stop().await;
    }
    if let Some(label) = label {
        let usage = options.proxy.usage().await;
        measured.usage.push((
            label.to_owned(),
            per_invocation(usage.get(label), options.invocations),
        ));
    }
    Ok(measured)
}

/// The AWS cost of another kind of event for a function already measured: a warm process
/// handles `count` of them. Answers the usage per event and the answers' bodies.
pub async fn extra(
    function: &Function,
    options: &Options,
    label: &str,
    count: usize,
    event: impl FnMut(usize) -> Vec<u8>,
) -> Result<((String, Cost), Vec<Outcome>), String> {
    extra_answering(function, options, label, count, None, event).await
}

/// `extra` for events the function refuses on purpose: every answer must have `status`.
pub async fn extra_refused(
    function: &Function,
    options: &Options,
    label: &str,
    count: usize,
    status: u64,
    event: impl FnMut(usize) -> Vec<u8>,
) -> Result<((String, Cost), Vec<Outcome>), String> {
    extra_answering(function, options, label, count, Some(status), event).await
}

async fn extra_answering(
    function: &Function,
    options: &Options,
    label: &str,
    count: usize,
    refused_with: Option<u64>,
    mut event: impl FnMut(usize) -> Vec<u8>,
) -> Result<((String, Cost), Vec<Outcome>), String> {
    let (mut process, _) = start(function, options).await?;
    // Warm the process (and its secret cache) first.
    process.invoke(&function.name, event(0)).await?;
    options.proxy.label(Some(label));
    let mut outcomes = Vec::with_capacity(count);
    for i in 1..=count {
        outcomes.push(process.invoke(&function.name, event(i)).await?);
    }
    options.proxy.label(None);
    process.stop().await;
    let wrong = |o: &Outcome| match refused_with {
        None => failed(o),
        Some(status) => {
            o.error
                || serde_json::from_slice::<serde_json::Value>(&o.body)
                    .ok()
                    .and_then(|answer| answer["statusCode"].as_u64())
                    != Some(status)
        }
    };
    if let Some(bad) = outcomes.iter().find(|o| wrong(o)) {
        return Err(format!("{label}: {}", String::from_utf8_lossy(&bad.body)));
    }
    let usage = options.proxy.usage().await;
    Ok((
        (label.to_owned(), per_invocation(usage.get(label), count)),
        outcomes,
    ))
}
