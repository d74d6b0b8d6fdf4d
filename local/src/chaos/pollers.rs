//! The pollers: one per contact, polling its conversation with the `after` cursor as the page
//! does, keeping the newest copy of every message, until told to stop and caught up.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::client::Client;

/// What a poller saw: per message id, the newest copy.
pub(super) type Seen = Arc<Mutex<HashMap<String, Value>>>;

/// Polls until `stop` and an empty poll; answers how many polls it made.
pub(super) async fn poller(
    client: Client,
    contact: &'static str,
    seen: Seen,
    stop: Arc<AtomicBool>,
) -> u64 {
    let mut polls = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/whatsapp/messages?contact_id={contact}&limit=200"),
            Some(c) => format!("/whatsapp/messages?contact_id={contact}&limit=50&after={c}"),
        };
        let (status, body) = client.call(reqwest::Method::GET, &path, None).await;
        polls += 1;
        if status == 200 {
            let empty = body["messages"].as_array().is_none_or(|m| m.is_empty());
            if let Ok(mut seen) = seen.lock() {
                for m in body["messages"].as_array().into_iter().flatten() {
                    let id = m["id"].as_str().unwrap_or_default().to_owned();
                    let newer = seen
                        .get(&id)
                        .is_none_or(|old| old["revision"].as_str() < m["revision"].as_str());
                    if newer {
                        seen.insert(id, m.clone());
                    }
                }
            }
            if let Some(next) = body["next_after"].as_str() {
                cursor = Some(next.to_owned());
            }
            // Stops only after an empty poll: it has caught up with everything.
            if empty && cursor.is_some() && stop.load(Ordering::SeqCst) {
                return polls;
            }
        }
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
}
