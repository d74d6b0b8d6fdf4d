//! The run's only way in: HTTP to the runner, as the page, Twilio (through the sandbox) and
//! the CRM reach it.

use std::time::Duration;

use serde_json::{Value, json};

use super::{MOVER, ORGANIZATION};

#[derive(Clone)]
pub(super) struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Client {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_with(method, path, body, None).await
    }

    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(30));
        if path.starts_with("/whatsapp/") || path.starts_with("/local/contacts/") {
            request = request.bearer_auth(&self.token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap_or_default();
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                (status, body)
            }
            Err(_) => (0, Value::Null),
        }
    }

    /// Every message of a contact's conversation, paging back to the first.
    pub async fn conversation(&self, contact: &str) -> Result<Vec<Value>, String> {
        let mut messages = vec![];
        let mut before: Option<String> = None;
        loop {
            let mut path = format!("/whatsapp/messages?contact_id={contact}&limit=200");
            if let Some(b) = &before {
                path.push_str(&format!("&before={b}"));
            }
            let (status, body) = self.call(reqwest::Method::GET, &path, None).await;
            if status != 200 {
                return Err(format!("conversation of {contact}: {status} {body}"));
            }
            let page = body["messages"].as_array().cloned().unwrap_or_default();
            messages.splice(0..0, page);
            match body["next_before"].as_str() {
                Some(b) => before = Some(b.to_owned()),
                None => return Ok(messages),
            }
        }
    }

    /// The contact writes through the sandbox (Twilio's retries as the documented overrides
    /// say); the webhook's final status.
    pub async fn reply(&self, from: &str, body: &str, deliveries: u32, at_once: bool) -> u16 {
        let (status, answer) = self
            .call(
                reqwest::Method::POST,
                "/sandbox/reply",
                Some(json!({
                    "organization_id": ORGANIZATION,
                    "from": from,
                    "body": body,
                    "deliveries": deliveries,
                    "at_once": at_once,
                })),
            )
            .await;
        if status != 200 {
            return status;
        }
        answer["webhook_status"].as_u64().unwrap_or(0) as u16
    }

    /// The CRM writes the mover with `number`, after the contact wrote from it (so that
    /// Twilio's 24-hour window is open there: until the write, the number is an unknown
    /// sender's).
    pub async fn write_mover(&self, number: &str, tag: &str) -> Result<(), String> {
        // Store faults may refuse a delivery even after Twilio's retries: the contact writes
        // again.
        let mut status = 0;
        for attempt in 0..5 {
            status = self
                .reply(
                    number,
                    &format!("moving-{tag}-{number}-{attempt}"),
                    1,
                    false,
                )
                .await;
            if status == 200 {
                break;
            }
        }
        if status != 200 {
            return Err(format!(
                "the mover's message from {number} answered {status}"
            ));
        }
        let (status, body) = self
            .call(
                reqwest::Method::PUT,
                &format!("/local/contacts/{}", MOVER.0),
                Some(json!({
                    "name": "Chaos Mover",
                    "phone_number": number,
                    "whatsapp_opt_in": true,
                    "last_inbound_minutes_ago": 1,
                })),
            )
            .await;
        if status != 204 {
            return Err(format!(
                "the CRM's write of the mover answered {status} {body}"
            ));
        }
        Ok(())
    }
}
