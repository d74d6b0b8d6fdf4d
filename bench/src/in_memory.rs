//! The webhook handler alone, in process with the in-memory ports: signature check, form
//! parsing, contact lookup, de-dup and store for one inbound message. This is the handler's own
//! cost, without a network or the Runtime API around it.

use std::time::{Duration, Instant};

use shared::memory::MemoryPorts;
use shared::ports::ContactStore;
use shared::runtime::Handler;
use twilio_webhook::TwilioWebhook;

use crate::events::{ACCOUNT_SID, AUTH_TOKEN, CONTACT_ID, CONTACT_PHONE, ORG, SENDER};

pub async fn webhook_latency(invocations: usize) -> Result<Vec<Duration>, String> {
    let ports = MemoryPorts::new("http://127.0.0.1:8080");
    ports
        .contacts
        .put(&shared::testing::contact(
            ORG,
            CONTACT_ID,
            "Aisha Rahman",
            CONTACT_PHONE,
        ))
        .await
        .map_err(|e| e.to_string())?;
    ports.credentials.put_secret(
        &shared::testing::org(ORG),
        shared::testing::secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    let webhook = TwilioWebhook::at(ports, Some(crate::events::PUBLIC_BASE_URL.to_owned()));
    let events = (0..invocations)
        .map(|i| {
            let event =
                crate::events::inbound(&crate::events::message_sid(), &format!("Reply {i}"));
            serde_json::from_slice(&event).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut latencies = Vec::with_capacity(invocations);
    for event in events {
        let started = Instant::now();
        let response = webhook.handle(event).await;
        latencies.push(started.elapsed());
        if response.status_code != 200 {
            return Err(format!(
                "in-memory webhook answered {}: {:?}",
                response.status_code, response.body
            ));
        }
    }
    Ok(latencies)
}
