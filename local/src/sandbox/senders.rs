//! Twilio's Senders API for the sandbox's accounts, as the Messaging v2 reference describes
//! `GET /v2/Channels/Senders` (twilio_messaging_v2: `Channel` required, `PageSize` 1–1000,
//! `Page`, a `senders` list and a `meta` block): every WhatsApp number of the credential's
//! account (its own and its Messaging Service's pool) with a status, Meta's quality rating
//! and messaging limit under `properties`, and `offline_reasons`. Each is ONLINE, HIGH,
//! "10K Customers/24hr" until told otherwise:
//! - `POST /sandbox/senders {sender, status, quality_rating?, messaging_limit?,
//!   offline_reasons?}` sets one sender's health;
//! - `POST /sandbox/senders/unavailable {"unavailable": true}` makes the API answer 503 (as in
//!   a Twilio incident) until set back;
//! - `DELETE /sandbox/senders` puts everything back.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shared::domain::PhoneNumber;

use super::answers::twilio_error;
use super::{Sandbox, lock};

/// A sender's health as the sandbox lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderSetting {
    /// E.164.
    pub sender: String,
    pub status: String,
    #[serde(default)]
    pub quality_rating: Option<String>,
    #[serde(default)]
    pub messaging_limit: Option<String>,
    /// Twilio's `{code, message, more_info}` items.
    #[serde(default)]
    pub offline_reasons: Vec<Value>,
}

impl SenderSetting {
    fn online(number: &PhoneNumber) -> Self {
        Self {
            sender: number.to_string(),
            status: "ONLINE".into(),
            quality_rating: Some("HIGH".into()),
            messaging_limit: Some("10K Customers/24hr".into()),
            offline_reasons: Vec::new(),
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct SenderHealthState {
    by_number: std::collections::HashMap<PhoneNumber, SenderSetting>,
    unavailable: bool,
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"code": "invalid_sender_health", "message": message}})),
    )
        .into_response()
}

/// `POST /sandbox/senders`: one sender's health from now on.
pub async fn set(State(sandbox): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let setting: SenderSetting = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return bad_request(&format!("Not a sender's health: {e}.")),
    };
    let Ok(number) = PhoneNumber::parse_e164(&setting.sender) else {
        return bad_request("\"sender\" must be an E.164 number.");
    };
    if setting.status.trim().is_empty() {
        return bad_request("\"status\" must not be empty.");
    }
    lock(&sandbox.state.sender_health)
        .by_number
        .insert(number, setting.clone());
    (StatusCode::OK, Json(setting)).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unavailable {
    unavailable: bool,
}

/// `POST /sandbox/senders/unavailable`: whether the Senders API answers 503.
pub async fn set_unavailable(State(sandbox): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let Ok(Unavailable { unavailable }) = serde_json::from_slice(&body) else {
        return bad_request("Expected {\"unavailable\": true|false}.");
    };
    lock(&sandbox.state.sender_health).unavailable = unavailable;
    (StatusCode::OK, Json(json!({"unavailable": unavailable}))).into_response()
}

/// `DELETE /sandbox/senders`: every sender ONLINE again, the API available.
pub async fn reset(State(sandbox): State<Sandbox>) -> StatusCode {
    *lock(&sandbox.state.sender_health) = SenderHealthState::default();
    StatusCode::NO_CONTENT
}

/// `GET /v2/Channels/Senders?Channel=whatsapp`: the account's WhatsApp senders, one page.
pub async fn list(
    State(sandbox): State<Sandbox>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(account_sid) = super::auth::account_of(&sandbox, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let Some(channel) = query.get("Channel") else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            20001,
            "Missing required parameter Channel in the request",
        );
    };
    let page_size = match query.get("PageSize").map(|p| p.parse::<usize>()) {
        // The reference: 20 by default for WhatsApp.
        None => 20,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid PageSize"),
    };
    let page = match query.get("Page").map(|p| p.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid Page"),
    };
    let state = lock(&sandbox.state.sender_health);
    if state.unavailable {
        return twilio_error(
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "Service Unavailable",
        );
    }
    let numbers: Vec<PhoneNumber> = match sandbox.state.accounts.get(&account_sid) {
        // Only WhatsApp senders here; an RCS list is empty.
        Some(account) if channel == "whatsapp" => {
            let mut numbers: Vec<PhoneNumber> = account.number.iter().cloned().collect();
            for n in account.service.iter().flat_map(|s| s.senders.iter()) {
                if !numbers.contains(n) {
                    numbers.push(n.clone());
                }
            }
            numbers
        }
        _ => Vec::new(),
    };
    let base = format!(
        "{}/sandbox/v2/Channels/Senders",
        sandbox.state.public_base_url
    );
    let page_url = |n: usize| format!("{base}?Channel={channel}&PageSize={page_size}&Page={n}");
    let start = page.saturating_mul(page_size);
    let senders: Vec<Value> = numbers
        .iter()
        .skip(start)
        .take(page_size)
        .map(|number| {
            let setting = state
                .by_number
                .get(number)
                .cloned()
                .unwrap_or_else(|| SenderSetting::online(number));
            let digits: String = number.as_str().chars().filter(char::is_ascii_digit).collect();
            let sid = format!("XE{digits:0>32}");
            json!({
                "sid": sid,
                "status": setting.status,
                "sender_id": number.whatsapp_address(),
                "configuration": {"waba_id": "1234567890", "verification_method": null,
                    "verification_code": null, "voice_application_sid": null, "account_type": null},
                "properties": {
                    "quality_rating": setting.quality_rating,
                    "messaging_limit": setting.messaging_limit,
                },
                "offline_reasons": (!setting.offline_reasons.is_empty()).then_some(setting.offline_reasons),
                "compliance": null,
                "url": format!("{base}/{sid}"),
            })
        })
        .collect();
    let more = numbers.len() > start + senders.len();
    super::list_page("senders", senders, (page, page_size), more, page_url)
}
