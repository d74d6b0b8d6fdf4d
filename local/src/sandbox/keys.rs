//! Twilio's Key resource (v2010), as documented: `POST /2010-04-01/Accounts/{AccountSid}/Keys.json`
//! makes a Standard API key and answers its secret (the only time it is shown); `GET …/Keys/{Sid}.json`
//! fetches it without the secret; `DELETE` revokes it at once (REST calls with it answer 401,
//! 20003). Only the account's auth token may call them: a Standard key cannot manage keys.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::answers::{form_body, twilio_error, unparsable_body};
use super::auth::{ApiKeyEntry, with_auth_token};
use super::{Sandbox, lock, twilio_date};

/// The friendly name's longest, as Twilio documents.
const FRIENDLY_NAME_CHARS: usize = 64;

fn not_found(path: &str) -> Response {
    twilio_error(
        StatusCode::NOT_FOUND,
        20404,
        &format!("The requested resource {path} was not found"),
    )
}

fn key_json(sid: &str, key: &ApiKeyEntry) -> serde_json::Value {
    json!({
        "sid": sid,
        "friendly_name": key.friendly_name,
        "date_created": key.date_created,
        "date_updated": key.date_created,
    })
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Keys.json` (`FriendlyName` optional).
pub async fn create_key(
    State(sandbox): State<Sandbox>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !sandbox.state.accounts.contains_key(&account_sid) {
        return not_found(&format!("/2010-04-01/Accounts/{account_sid}/Keys.json"));
    }
    if !with_auth_token(&sandbox, &headers, &account_sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let Some(form) = form_body(&body) else {
        return unparsable_body();
    };
    let friendly_name = form
        .iter()
        .find(|(name, _)| name == "FriendlyName")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    if friendly_name.chars().count() > FRIENDLY_NAME_CHARS {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            20001,
            "FriendlyName must be 64 characters or fewer",
        );
    }
    let sid = format!("SK{:032x}", ulid::Ulid::new().0);
    let secret = format!("{}{}", ulid::Ulid::new(), ulid::Ulid::new()).to_lowercase();
    let key = ApiKeyEntry {
        account_sid,
        secret: secret.clone(),
        friendly_name,
        date_created: twilio_date(chrono::Utc::now()),
    };
    let mut body = key_json(&sid, &key);
    body["secret"] = json!(secret);
    lock(&sandbox.state.keys).insert(sid, key);
    (StatusCode::CREATED, Json(body)).into_response()
}

/// The key sid of `{Sid}.json`; None for any other file name.
fn key_sid(key_file: &str) -> Option<String> {
    key_file.strip_suffix(".json").map(str::to_owned)
}

fn no_such_key(account_sid: &str, key_file: &str) -> Response {
    not_found(&format!(
        "/2010-04-01/Accounts/{account_sid}/Keys/{key_file}"
    ))
}

/// `GET /2010-04-01/Accounts/{AccountSid}/Keys/{Sid}.json`: the key, never its secret.
pub async fn fetch_key(
    State(sandbox): State<Sandbox>,
    Path((account_sid, key_file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(sid) = key_sid(&key_file) else {
        return no_such_key(&account_sid, &key_file);
    };
    if !with_auth_token(&sandbox, &headers, &account_sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    match lock(&sandbox.state.keys).get(&sid) {
        Some(key) if key.account_sid == account_sid => Json(key_json(&sid, key)).into_response(),
        _ => not_found(&format!(
            "/2010-04-01/Accounts/{account_sid}/Keys/{key_file}"
        )),
    }
}

/// `DELETE /2010-04-01/Accounts/{AccountSid}/Keys/{Sid}.json`: revoked at once, 204.
pub async fn delete_key(
    State(sandbox): State<Sandbox>,
    Path((account_sid, key_file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(sid) = key_sid(&key_file) else {
        return no_such_key(&account_sid, &key_file);
    };
    if !with_auth_token(&sandbox, &headers, &account_sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let mut keys = lock(&sandbox.state.keys);
    if keys
        .get(&sid)
        .is_none_or(|key| key.account_sid != account_sid)
    {
        return not_found(&format!(
            "/2010-04-01/Accounts/{account_sid}/Keys/{key_file}"
        ));
    }
    keys.remove(&sid);
    StatusCode::NO_CONTENT.into_response()
}
