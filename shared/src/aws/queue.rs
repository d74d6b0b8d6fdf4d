//! Send jobs on SQS. Delays up to SQS's 15 minutes go on the message itself.

use std::time::Duration;

use aws_sdk_sqs::Client;

use super::unavailable;
use crate::domain::SendJob;
use crate::ports::{PortError, PortResult, SendQueue};

const MAX_DELAY_SECONDS: u64 = 900;

#[derive(Clone)]
pub struct SqsSendQueue {
    client: Client,
    queue_url: String,
}

impl SqsSendQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
        }
    }
}

impl SendQueue for SqsSendQueue {
    async fn enqueue(&self, job: &SendJob, delay: Duration) -> PortResult<()> {
        let body = serde_json::to_string(job).map_err(|e| PortError::Corrupt(e.to_string()))?;
        // Whole seconds, rounded up: a retry never comes earlier than its backoff.
        let seconds = delay
            .as_millis()
            .div_ceil(1000)
            .min(u128::from(MAX_DELAY_SECONDS)) as i32;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .delay_seconds(seconds)
            .send()
            .await
            .map_err(|e| unavailable("SendMessage", e.into_service_error()))?;
        Ok(())
    }
}
