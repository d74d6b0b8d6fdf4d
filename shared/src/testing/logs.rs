//! The Lambda functions' JSON log lines, captured: a test runs a handler with them installed
//! on its thread and reads back what a function would have written to CloudWatch.

use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;

/// The lines written while the guard of `capture` lives.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLogs {
    /// Every line, parsed (a line that is not JSON fails the test).
    pub fn lines(&self) -> Vec<serde_json::Value> {
        let bytes = self.0.lock().expect("log buffer").clone();
        String::from_utf8(bytes)
            .expect("UTF-8 log lines")
            .lines()
            .map(|line| serde_json::from_str(line).expect("a JSON log line"))
            .collect()
    }

    /// The line whose message is `message`.
    pub fn line(&self, message: &str) -> serde_json::Value {
        let lines = self.lines();
        lines
            .iter()
            .find(|line| line["fields"]["message"] == message)
            .cloned()
            .unwrap_or_else(|| panic!("no line {message:?} in {lines:#?}"))
    }
}

/// Installs the Lambda functions' JSON subscriber (`telemetry::json_subscriber`, at `debug`)
/// on this thread until the guard drops. A `#[tokio::test]` runs on one thread, so every
/// line of the handler it awaits is captured.
pub fn capture() -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
    let logs = CapturedLogs::default();
    let writer = logs.clone();
    let subscriber =
        crate::telemetry::json_subscriber(move || writer.clone(), EnvFilter::new("debug"));
    (logs, tracing::subscriber::set_default(subscriber))
}
