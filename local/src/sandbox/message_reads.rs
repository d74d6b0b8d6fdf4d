//! Reading the Messages API as Twilio answers it: one message, the account's list a page at a
//! time, and the sandbox's own list for the page and tests (`/sandbox/messages`).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use shared::domain::PhoneNumber;

use super::answers::{twilio_error, whatsapp_number};
use super::auth::authenticated;
use super::{Sandbox, SandboxMessage};

/// A message as Twilio's API shows it.
pub(super) fn resource(m: &SandboxMessage) -> serde_json::Value {
    let (account_sid, sid) = (&m.account_sid, &m.sid);
    json!({
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": m.body,
        "date_created": m.date_created,
        "date_sent": null,
        "date_updated": m.date_created,
        "direction": m.direction,
        "error_code": m.error_code,
        "error_message": null,
        "from": m.from,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": m.media_url.len().to_string(),
        "num_segments": "1",
        "price": null,
        "price_unit": null,
        "sid": sid,
        "status": m.status,
        "subresource_uris": {"media": format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json")},
        "to": m.to,
        "uri": format!("/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"),
    })
}

/// `GET …/Messages/{sid}.json`: one message of the account (Twilio's Message resource),
/// sent or received; 404 with Twilio's 20404 for any other.
pub async fn read_message(
    State(sandbox): State<Sandbox>,
    Path((account_sid, message_file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let not_found = || {
        twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        )
    };
    if !sandbox.state.accounts.contains_key(&account_sid) {
        return not_found();
    }
    if !authenticated(&sandbox, &headers, &account_sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let Some(sid) = message_file.strip_suffix(".json") else {
        return not_found();
    };
    let messages = super::lock(&sandbox.state.messages);
    match messages
        .iter()
        .find(|m| m.sid == sid && m.account_sid == account_sid)
    {
        Some(m) => Json(resource(m)).into_response(),
        None => not_found(),
    }
}

/// `GET …/Messages.json?To=&From=&PageSize=&Page=`: the account's messages, newest first,
/// a page at a time as Twilio's Messages list answers (`next_page_uri` null on the last).
pub async fn read_messages(
    State(sandbox): State<Sandbox>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> Response {
    if !sandbox.state.accounts.contains_key(&account_sid) {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        );
    }
    if !authenticated(&sandbox, &headers, &account_sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    if let Some(to) = query.get("To").and_then(|to| whatsapp_number(to))
        && sandbox.take_fault(&to, true).is_some()
    {
        return twilio_error(
            StatusCode::SERVICE_UNAVAILABLE,
            20503,
            "Service Unavailable",
        );
    }
    let page_size = match query.get("PageSize").map(|p| p.parse::<usize>()) {
        None => 50,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid PageSize"),
    };
    let page_number = match query.get("Page").map(|p| p.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return twilio_error(StatusCode::BAD_REQUEST, 20001, "Invalid Page"),
    };
    let messages = super::lock(&sandbox.state.messages);
    let matching: Vec<&SandboxMessage> = messages
        .iter()
        .rev()
        .filter(|m| m.account_sid == account_sid)
        .filter(|m| query.get("To").is_none_or(|to| &m.to == to))
        .filter(|m| query.get("From").is_none_or(|from| &m.from == from))
        .collect();
    let start = page_number.saturating_mul(page_size);
    let page: Vec<serde_json::Value> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|m| resource(m))
        .collect();
    // The same filters on every page, as Twilio's own page URIs carry them.
    let uri_of = |n: usize| {
        let mut uri = url::form_urlencoded::Serializer::new(String::new());
        for key in ["To", "From"] {
            if let Some(value) = query.get(key) {
                uri.append_pair(key, value);
            }
        }
        uri.append_pair("PageSize", &page_size.to_string());
        uri.append_pair("Page", &n.to_string());
        uri.append_pair("PageToken", &format!("PASandbox{}", n * page_size));
        format!(
            "/2010-04-01/Accounts/{account_sid}/Messages.json?{}",
            uri.finish()
        )
    };
    let more = matching.len() > start + page.len();
    Json(json!({
        "end": (start + page.len()).saturating_sub(1),
        "first_page_uri": uri_of(0),
        "messages": page,
        "next_page_uri": more.then(|| uri_of(page_number + 1)),
        "page": page_number,
        "page_size": page_size,
        "previous_page_uri": (page_number > 0).then(|| uri_of(page_number - 1)),
        "start": start,
        "uri": uri_of(page_number),
    }))
    .into_response()
}

#[derive(Deserialize)]
pub struct ListQuery {
    to: Option<String>,
}

pub async fn list_messages(
    State(sandbox): State<Sandbox>,
    Query(query): Query<ListQuery>,
) -> Json<Vec<SandboxMessage>> {
    let messages = super::lock(&sandbox.state.messages);
    let wanted = query
        .to
        .as_deref()
        .and_then(|n| PhoneNumber::parse_address(n).ok());
    Json(
        messages
            .iter()
            .filter(|m| {
                wanted.as_ref().is_none_or(|n| {
                    PhoneNumber::parse_address(&m.to).is_ok_and(|to| &to == n)
                        || PhoneNumber::parse_address(&m.from).is_ok_and(|f| &f == n)
                })
            })
            .cloned()
            .collect(),
    )
}
