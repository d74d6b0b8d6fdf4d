//! Jobs on SQS: sends on the send queue, inbound media copies and erasures on their own queue
//! (when one is configured) so a long job never shares a batch, and its timeout, with sends. Delays
//! up to SQS's 15 minutes go on the message itself.

use std::time::Duration;

use aws_sdk_sqs::Client;

use super::unavailable;
use crate::domain::WorkerJob;
use crate::ports::{PortError, PortResult, SendQueue};

const MAX_DELAY_SECONDS: u64 = 900;

#[derive(Clone)]
pub struct SqsSendQueue {
    client: super::LazyClient<Client>,
    queue_url: String,
    media_queue_url: Option<String>,
}

impl SqsSendQueue {
    pub fn new(client: impl Into<super::LazyClient<Client>>, queue_url: impl Into<String>) -> Self {
        Self {
            client: client.into(),
            queue_url: queue_url.into(),
            media_queue_url: None,
        }
    }

    /// Media copy jobs go to this queue instead.
    pub fn with_media_queue(mut self, url: Option<String>) -> Self {
        self.media_queue_url = url.filter(|u| !u.is_empty());
        self
    }

    fn queue_for(&self, job: &WorkerJob) -> PortResult<&str> {
        let (url, setting) = match &self.media_queue_url {
            // The long jobs: never in a batch, or behind a timeout, with sends.
            Some(media) if job.is_long() => (media.as_str(), "MEDIA_QUEUE_URL"),
            _ => (self.queue_url.as_str(), "SEND_QUEUE_URL"),
        };
        if url.is_empty() {
            return Err(PortError::Unavailable(format!("{setting} is not set")));
        }
        Ok(url)
    }
}

impl SendQueue for SqsSendQueue {
    async fn enqueue(&self, job: &WorkerJob, delay: Duration) -> PortResult<()> {
        let queue_url = self.queue_for(job)?;
        let body = serde_json::to_string(job).map_err(|e| PortError::Corrupt(e.to_string()))?;
        // Whole seconds, rounded up: a retry never comes earlier than its backoff.
        let seconds = delay
            .as_millis()
            .div_ceil(1000)
            .min(u128::from(MAX_DELAY_SECONDS)) as i32;
        self.client
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .delay_seconds(seconds)
            .send()
            .await
            .map_err(|e| unavailable("SendMessage", e.into_service_error()))?;
        Ok(())
    }
}

/// Received SQS messages as the Lambda event source mapping hands them to a function
/// (used by the local runner's poller and the emulator tests).
pub fn to_sqs_event(
    messages: &[aws_sdk_sqs::types::Message],
) -> Result<aws_lambda_events::event::sqs::SqsEvent, serde_json::Error> {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let attributes: std::collections::HashMap<String, String> = m
                .attributes()
                .map(|a| {
                    a.iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "md5OfBody": m.md5_of_body(),
                "attributes": attributes,
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({ "Records": records }))
}
