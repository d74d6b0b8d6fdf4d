//! The seed's conversation history, played at start through the same doors as a real day:
//! the contact writes through the sandbox (Twilio's webhook), the agent sends through the API
//! with their demo token, and every conversation but the ones marked `unread` is read up to
//! its newest message. So a new user's first look shows exchanged messages, media, ticks and
//! one unread conversation, made by the product itself.

use std::time::Duration;

use serde_json::{Value, json};

use crate::seed::{HistorySide, SeedOrganization};

/// Plays `org`'s history against the runner at `base` as the agent of `token`; returns how
/// many messages it wrote.
pub async fn play(base: &str, org: &SeedOrganization, token: &str) -> Result<usize, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    for entry in &org.history {
        if entry.unread {
            // What came before is read; this one stays unread.
            read_up_to_newest(&http, base, token, &entry.contact_id).await?;
        }
        let contact = org
            .contacts
            .iter()
            .find(|c| c.contact_id == entry.contact_id)
            .ok_or_else(|| format!("history names no contact {}", entry.contact_id))?;
        match entry.from {
            HistorySide::Contact => {
                let phone = contact
                    .phone_number
                    .clone()
                    .ok_or_else(|| format!("{} has no number", entry.contact_id))?;
                let mut body = json!({
                    "organization_id": org.organization_id.to_string(),
                    "from": phone,
                    "body": entry.text.clone().unwrap_or_default(),
                });
                if let Some(media) = &entry.media {
                    body["media"] = json!(media);
                }
                call(&http, base, None, "/sandbox/reply", Some(body)).await?;
            }
            HistorySide::Agent => {
                let body = json!({"contact_id": entry.contact_id.to_string(), "text": entry.text});
                call(&http, base, Some(token), "/whatsapp/messages", Some(body)).await?;
            }
        }
        // One after the other, as people write: the order is the conversation's.
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let mut read = Vec::new();
    for entry in &org.history {
        if !read.contains(&entry.contact_id)
            && !org
                .history
                .iter()
                .any(|e| e.unread && e.contact_id == entry.contact_id)
        {
            read.push(entry.contact_id.clone());
        }
    }
    for contact_id in read {
        read_up_to_newest(&http, base, token, &contact_id).await?;
    }
    Ok(org.history.len())
}

/// Marks a conversation read up to its newest inbound message, as an agent who saw it.
async fn read_up_to_newest(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    contact_id: &shared::domain::ContactId,
) -> Result<(), String> {
    let path = format!("/whatsapp/messages?contact_id={contact_id}&limit=100");
    let page = call(http, base, Some(token), &path, None).await?;
    let newest_inbound = page["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["direction"] == "INBOUND")
        .filter_map(|m| m["id"].as_str())
        .max()
        .map(str::to_owned);
    if let Some(up_to) = newest_inbound {
        let path = format!("/whatsapp/conversations/{contact_id}/read");
        call(
            http,
            base,
            Some(token),
            &path,
            Some(json!({ "up_to": up_to })),
        )
        .await?;
    }
    Ok(())
}

/// One request to the runner, as the page or the sandbox's user makes it: a GET, or a POST of
/// `body`; with the agent's token where it is the API. The answer's JSON, or why not.
async fn call(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut request = match body {
        Some(body) => http
            .post(format!("{base}{path}"))
            .header("content-type", "application/json")
            .body(body.to_string()),
        None => http.get(format!("{base}{path}")),
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("{path}: {status} {body}"))
    }
}
