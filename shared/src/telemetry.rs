//! Structured logs. On Lambda: JSON lines (CloudWatch adds the timestamp), level from
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`. Message bodies and tokens are never logged at info.

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// For Lambda functions.
pub fn init_lambda() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// For the local runner: human-readable lines.
pub fn init_local() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_target(false)
        .try_init();
}
