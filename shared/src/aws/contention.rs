//! Contention is not failure. DynamoDB does not queue a write behind another on the same
//! item: a transaction that meets one in flight is cancelled (`TransactionConflict`), a
//! single-item write meeting a transaction fails (`TransactionConflictException`), and a
//! hot key is throttled. The SDK retries throttling a few times and conflicts never, so the
//! writes on items that concurrent requests share (inbox rows, markers, claims, records)
//! retry here with jittered, growing pauses until the invocation's deadline
//! (`crate::deadline`): a burst of webhooks to one conversation is stored, not refused.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;

/// Service error codes that mean "another writer, or too many, right now".
const CONTENDED_ERRORS: &[&str] = &[
    "TransactionConflictException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
];

/// Cancellation reasons of a transaction that mean the same.
const CONTENDED_REASONS: &[&str] = &[
    "TransactionConflict",
    "ProvisionedThroughputExceeded",
    "ThrottlingError",
];

/// The first pause's ceiling; each retry doubles it up to `MAX_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const MAX_PAUSE: Duration = Duration::from_millis(1000);

/// Whether a single-item request failed only because others were writing the item.
pub(crate) fn is_contention<E: ProvideErrorMetadata, R>(error: &SdkError<E, R>) -> bool {
    error
        .as_service_error()
        .and_then(ProvideErrorMetadata::code)
        .is_some_and(|code| CONTENDED_ERRORS.contains(&code))
}

/// Whether a transaction was cancelled only by contention: some reason is a conflict or
/// throttling and none is a failed condition (that one is an answer, not contention).
pub(crate) fn cancelled_by_contention(error: &TransactWriteItemsError) -> bool {
    match error {
        TransactWriteItemsError::TransactionCanceledException(t) => {
            let codes = || t.cancellation_reasons().iter().filter_map(|r| r.code());
            codes().any(|code| CONTENDED_REASONS.contains(&code))
                && !codes().any(|code| code == "ConditionalCheckFailed")
        }
        other => other
            .code()
            .is_some_and(|code| CONTENDED_ERRORS.contains(&code)),
    }
}

/// The pauses between attempts of one write: "full jitter" (a random pause up to a ceiling
/// that doubles each time), so writers that met once spread out instead of meeting again;
/// ending at the deadline in force when the write began.
pub(crate) struct Backoff {
    ends: Instant,
    ceiling: Duration,
}

impl Backoff {
    pub(crate) fn start() -> Self {
        Self::until(crate::deadline::retries_end())
    }

    /// Pauses that end `reserve` before the deadline in force (never before now), leaving
    /// that much for a fallback.
    pub(crate) fn reserving(reserve: Duration) -> Self {
        let ends = crate::deadline::retries_end()
            .checked_sub(reserve)
            .unwrap_or_else(Instant::now)
            .max(Instant::now());
        Self::until(ends)
    }

    pub(crate) fn until(ends: Instant) -> Self {
        Self {
            ends,
            ceiling: FIRST_PAUSE,
        }
    }

    /// Whether the deadline has passed (no attempt may start).
    pub(crate) fn expired(&self) -> bool {
        Instant::now() >= self.ends
    }

    /// Waits before the next attempt; false, at once, when that attempt could not start
    /// before the deadline (then the caller answers "try again later").
    pub(crate) async fn pause(&mut self) -> bool {
        let ceiling = u64::try_from(self.ceiling.as_micros()).unwrap_or(u64::MAX);
        let wait = Duration::from_micros(fastrand::u64(0..=ceiling));
        if Instant::now() + wait >= self.ends {
            return false;
        }
        self.ceiling = (self.ceiling * 2).min(MAX_PAUSE);
        tokio::time::sleep(wait).await;
        true
    }
}

/// Sends one single-item request (`send` builds it anew each time), again after a pause
/// while it fails only by contention and the deadline allows. The last answer otherwise.
pub(crate) async fn send_contended<T, E, R, F, Fut>(mut send: F) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, R>>>,
{
    let mut backoff = Backoff::start();
    loop {
        let result = send().await;
        match &result {
            Err(e) if is_contention(e) => {
                if !backoff.pause().await {
                    return result;
                }
            }
            _ => return result,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::error::TransactionCanceledException;
    use aws_sdk_dynamodb::types::{AttributeValue, CancellationReason};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn cancelled(codes: &[&str]) -> TransactWriteItemsError {
        TransactWriteItemsError::TransactionCanceledException(
            TransactionCanceledException::builder()
                .set_cancellation_reasons(Some(
                    codes
                        .iter()
                        .map(|c| CancellationReason::builder().code(*c).build())
                        .collect(),
                ))
                .build(),
        )
    }

    #[test]
    fn a_conflict_or_throttling_is_contention_and_a_failed_condition_is_an_answer() {
        assert!(cancelled_by_contention(&cancelled(&[
            "None",
            "None",
            "TransactionConflict"
        ])));
        assert!(cancelled_by_contention(&cancelled(&[
            "ThrottlingError",
            "None"
        ])));
        assert!(cancelled_by_contention(&cancelled(&[
            "ProvisionedThroughputExceeded"
        ])));
        // A failed condition decides, whatever else happened.
        assert!(!cancelled_by_contention(&cancelled(&[
            "ConditionalCheckFailed",
            "TransactionConflict"
        ])));
        assert!(!cancelled_by_contention(&cancelled(&[
            "None",
            "ValidationError"
        ])));
    }

    /// A DynamoDB on loopback that answers each request with the next of `answers`
    /// (status, error type; None: success), the last one again when they run out.
    async fn dynamodb(answers: Vec<Option<&'static str>>) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let seen = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let n = seen.fetch_add(1, Ordering::SeqCst);
                let answer = answers[n.min(answers.len() - 1)];
                tokio::spawn(async move {
                    let mut request = vec![0u8; 64 * 1024];
                    let _ = socket.read(&mut request).await;
                    let (status, body) = match answer {
                        None => ("200 OK", "{}".to_owned()),
                        Some(kind) => (
                            "400 Bad Request",
                            format!(
                                r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"refused"}}"#
                            ),
                        ),
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                });
            }
        });
        (endpoint, requests)
    }

    fn client(endpoint: &str) -> aws_sdk_dynamodb::Client {
        let config =
            aws_sdk_dynamodb::config::Builder::from(&crate::aws::loopback_sdk_config(endpoint))
                .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    }

    fn put(
        client: &aws_sdk_dynamodb::Client,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        client
            .put_item()
            .table_name("t")
            .item("item_key", AttributeValue::S("acme#CONV#c1".into()))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", AttributeValue::N("1".into()))
    }

    #[tokio::test]
    async fn a_write_that_meets_a_transaction_in_flight_is_sent_again() {
        let conflict = Some("TransactionConflictException");
        let (endpoint, requests) = dynamodb(vec![conflict, conflict, None]).await;
        let client = client(&endpoint);
        let request = put(&client);
        let result = send_contended(|| request.clone().send()).await;
        assert!(result.is_ok(), "{result:?}");
        assert_eq!(requests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_failed_condition_is_answered_at_once() {
        let (endpoint, requests) = dynamodb(vec![Some("ConditionalCheckFailedException")]).await;
        let client = client(&endpoint);
        let request = put(&client);
        let e = send_contended(|| request.clone().send()).await.unwrap_err();
        assert_eq!(
            e.as_service_error().and_then(ProvideErrorMetadata::code),
            Some("ConditionalCheckFailedException")
        );
        assert_eq!(requests.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn contention_is_retried_until_the_deadline_and_then_reported() {
        let (endpoint, requests) = dynamodb(vec![Some("TransactionConflictException")]).await;
        let client = client(&endpoint);
        let request = put(&client);
        let started = Instant::now();
        let ends = started + Duration::from_millis(400);
        let result = crate::deadline::within(ends, send_contended(|| request.clone().send())).await;
        let e = result.unwrap_err();
        assert!(is_contention(&e), "{e:?}");
        assert!(
            Instant::now() <= ends + Duration::from_millis(100),
            "stopped by the deadline"
        );
        assert!(requests.load(Ordering::SeqCst) >= 3, "retried meanwhile");
    }
}
