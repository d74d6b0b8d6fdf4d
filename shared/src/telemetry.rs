//! Structured logs. On Lambda: JSON lines (CloudWatch adds the timestamp), level from
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`. Message bodies and tokens are never logged at info.
//!
//! Every unit of work (an HTTP request, a queued job, a stream record) runs in a `work` span
//! whose `organization_id` and `message_id` are set once, when they become known, instead of
//! on each line: a JSON line carries them under `span` (the innermost span) and `spans` (all,
//! outermost first, with the runtime's `requestId`). See docs/deploy.md, "Operate".

use std::fmt::Display;

use tracing::Span;
use tracing::field::{Empty, display};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::domain::{MessageId, OrganizationId};

fn filter() -> EnvFilter {
    let level = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .unwrap_or_else(|_| "info".into())
        .to_lowercase();
    EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The Lambda functions' JSON lines, written to `writer` (stdout on Lambda; a buffer in the
/// tests that hold the shape).
pub fn json_subscriber<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// For Lambda functions.
pub fn init_lambda() {
    let _ = tracing::subscriber::set_global_default(json_subscriber(std::io::stdout, filter()));
}

/// For the local runner: human-readable lines.
pub fn init_local() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_target(false)
        .try_init();
}

/// The span of one unit of work, its organization and message not known yet (an HTTP
/// request before its claim is read): `record_organization` and `record_message` fill them.
pub fn work_span() -> Span {
    tracing::info_span!("work", organization_id = Empty, message_id = Empty)
}

/// The span of one unit of work whose organization (and message) the event names: a job, a
/// stream record, a status callback.
pub fn work_span_for(organization: &OrganizationId, message: Option<&MessageId>) -> Span {
    let span = work_span();
    span.record("organization_id", display(organization));
    if let Some(message) = message {
        span.record("message_id", display(message));
    }
    span
}

/// Sets the organization of the unit of work in progress (the verified JWT claim, the
/// webhook's path), once.
pub fn record_organization(organization: &OrganizationId) {
    Span::current().record("organization_id", display(organization));
}

/// Sets the message of the unit of work in progress, once it exists or is found.
pub fn record_message(message: &impl Display) {
    Span::current().record("message_id", display(message));
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use super::*;
    use crate::testing::logs::capture;

    #[test]
    fn a_line_carries_the_organization_and_message_of_its_unit_of_work() {
        let (logs, guard) = capture();
        let org = OrganizationId::parse("org-a").unwrap();
        let message = MessageId::new();
        tracing::info!("outside any unit of work");
        let span = work_span();
        let entered = span.enter();
        tracing::info!("before the claim is read");
        record_organization(&org);
        tracing::info!(listed = 3, "after");
        record_message(&message);
        tracing::warn!("with the message");
        drop(entered);
        drop(guard);
        let lines = logs.lines();
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].get("span").is_none());
        assert_eq!(lines[1]["span"]["name"], "work");
        assert!(lines[1]["span"].get("organization_id").is_none());
        assert_eq!(lines[2]["span"]["organization_id"], "org-a");
        assert_eq!(lines[2]["fields"]["listed"], 3);
        assert_eq!(lines[2]["fields"]["message"], "after");
        assert_eq!(lines[3]["span"]["organization_id"], "org-a");
        assert_eq!(lines[3]["span"]["message_id"], message.to_string());
        assert_eq!(lines[3]["spans"][0]["organization_id"], "org-a");
        assert_eq!(lines[3]["level"], "WARN");
    }

    #[test]
    fn a_job_span_names_its_organization_and_message_from_the_start() {
        let (logs, guard) = capture();
        let org = OrganizationId::parse("org-b").unwrap();
        let message = MessageId::new();
        let entered = work_span_for(&org, Some(&message)).entered();
        tracing::info!("sent");
        drop(entered);
        drop(guard);
        let line = logs.line("sent");
        assert_eq!(line["span"]["organization_id"], "org-b");
        assert_eq!(line["span"]["message_id"], message.to_string());
    }
}
