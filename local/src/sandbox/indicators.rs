//! Twilio's typing indicator (Messaging v2, public beta) and what the contact's phone shows
//! of it. `POST /v2/Indicators/Typing.json` with `channel=whatsapp` and `messageId` (an
//! inbound message's `SM…`/`MM…` sid): the account's credentials (20003), the parameters as
//! Twilio's OpenAPI describes them (20001 otherwise), a message of the account that a contact
//! sent (20404 otherwise); answers `{"success": true}`. The contact then sees "typing…" for 25
//! seconds or until a message to them is delivered, and that message and every earlier one
//! they sent to the account read (blue ticks), as WhatsApp marks them.
//!
//! `GET /sandbox/phone?phone=+E164[&organization_id=]` is the contact's phone: whether the
//! business is typing, and the contact's own messages with their ticks (the panel shows it).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use shared::domain::PhoneNumber;
use shared::twilio::is_message_sid;

use super::answers::{form_body, twilio_error, unparsable_body};
use super::{Sandbox, lock};

/// How long WhatsApp shows "typing…" without a reply.
pub const TYPING_SHOWN_SECONDS: i64 = 25;

pub async fn typing(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(account_sid) = super::auth::account_of(&sandbox, &headers) else {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    };
    let Some(form) = form_body(&body) else {
        return unparsable_body();
    };
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match get("channel") {
        Some("whatsapp") => {}
        Some(_) => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                20001,
                "Invalid channel: only whatsapp is supported",
            );
        }
        None => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                20001,
                "Missing required parameter channel",
            );
        }
    }
    let message_id = match get("messageId") {
        Some(id) if is_message_sid(id) => id,
        Some(_) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid messageId"),
        None => {
            return twilio_error(
                StatusCode::BAD_REQUEST,
                20001,
                "Missing required parameter messageId",
            );
        }
    };
    let now = Utc::now();
    let mut messages = lock(&sandbox.state.messages);
    let Some(contact) = messages
        .iter()
        .find(|m| m.sid == message_id && m.account_sid == account_sid && m.direction == "inbound")
        .map(|m| m.from.clone())
    else {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            &format!("The requested resource /Messages/{message_id} was not found"),
        );
    };
    // That message and every earlier one the contact sent to the account.
    let mut reached = false;
    for m in messages.iter_mut() {
        if m.account_sid == account_sid && m.direction == "inbound" && m.from == contact && !reached
        {
            m.read_by_business = true;
        }
        reached |= m.sid == message_id;
    }
    drop(messages);
    lock(&sandbox.state.typing).insert(
        (account_sid, contact),
        now + chrono::Duration::seconds(TYPING_SHOWN_SECONDS),
    );
    Json(json!({ "success": true })).into_response()
}

impl Sandbox {
    /// A message to the contact was delivered: WhatsApp takes the typing indicator down.
    pub(super) fn typing_ends(&self, account_sid: &str, contact: &str) {
        lock(&self.state.typing).remove(&(account_sid.to_owned(), contact.to_owned()));
    }

    fn typing_until(&self, account_sid: &str, contact: &str) -> Option<DateTime<Utc>> {
        lock(&self.state.typing)
            .get(&(account_sid.to_owned(), contact.to_owned()))
            .copied()
    }
}

#[derive(Deserialize)]
pub struct PhoneQuery {
    phone: String,
    #[serde(default)]
    organization_id: Option<String>,
}

/// The contact's phone: "typing…" while shown, and their messages with blue ticks.
pub async fn phone(State(sandbox): State<Sandbox>, Query(query): Query<PhoneQuery>) -> Response {
    let Ok(phone) = PhoneNumber::parse_address(&query.phone) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "error": "phone is not an E.164 number" })),
        )
            .into_response();
    };
    let contact = phone.whatsapp_address();
    let accounts: Vec<&String> = sandbox
        .state
        .accounts
        .iter()
        .filter(|(_, a)| {
            query
                .organization_id
                .as_ref()
                .is_none_or(|o| a.organization_id.as_str() == o)
        })
        .map(|(sid, _)| sid)
        .collect();
    let now = Utc::now();
    let typing = accounts.iter().any(|sid| {
        sandbox
            .typing_until(sid, &contact)
            .is_some_and(|until| until > now)
    });
    let sent: Vec<serde_json::Value> = lock(&sandbox.state.messages)
        .iter()
        .filter(|m| {
            m.direction == "inbound" && m.from == contact && accounts.contains(&&m.account_sid)
        })
        .map(|m| {
            json!({
                "sid": m.sid,
                "body": m.body,
                "read": m.read_by_business,
                "lost": m.lost_webhooks.iter().any(|w| w == "inbound"),
            })
        })
        .collect();
    Json(json!({ "typing": typing, "messages": sent })).into_response()
}
