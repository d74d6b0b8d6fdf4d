//! Failure injection: make the Messages API fail like Twilio does, for every recipient or
//! one, a number of times or until cleared.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::domain::PhoneNumber;

use super::{Sandbox, lock};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// HTTP 500, Twilio code 20500.
    ServerError,
    /// HTTP 429, Twilio code 20429.
    RateLimited,
    /// No answer until the client gives up; the message is not accepted.
    Timeout,
    /// Accepted (and delivered), but the answer comes after the client has given up.
    AcceptThenTimeout,
    /// Accepted (and delivered), then the connection breaks off in the middle of the answer.
    AcceptThenDrop,
    /// HTTP 400 (401 for 20003) with the given Twilio error `code`.
    ErrorCode,
    /// HTTP 401, code 20003: the account's credentials are rejected.
    BadCredentials,
    /// Accepted, then a status callback `undelivered` with the given `code`.
    Undelivered,
    /// Accepted and delivered; every status callback comes twice and out of order (`read`
    /// before `sent`), as Twilio does not promise order or a single delivery.
    ShuffledCallbacks,
    /// Accepted (and delivered), but Twilio's edge answers 502: a 5xx that hides a message.
    AcceptThenServerError,
    /// Reads of the Messages list for the number answer 503 (what a send with an unknown
    /// outcome is looked up in); sends are not affected.
    ListUnavailable,
}

impl FaultMode {
    /// Whether the fault applies to reads of the Messages list rather than to sends.
    pub fn applies_to_lists(self) -> bool {
        self == FaultMode::ListUnavailable
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    pub mode: FaultMode,
    /// Only messages to this number (E.164); all when absent.
    #[serde(default)]
    pub to: Option<String>,
    /// How many messages it applies to; until cleared when absent.
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(default)]
    pub code: Option<u32>,
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"code": "invalid_fault", "message": message}})),
    )
        .into_response()
}

pub async fn add(State(sandbox): State<Sandbox>, body: axum::body::Bytes) -> Response {
    let fault: Fault = match serde_json::from_slice(&body) {
        Ok(f) => f,
        Err(e) => return bad_request(&format!("Not a fault: {e}.")),
    };
    if matches!(fault.mode, FaultMode::ErrorCode | FaultMode::Undelivered) && fault.code.is_none() {
        return bad_request("This mode needs a Twilio error code in \"code\".");
    }
    if let Some(to) = &fault.to
        && PhoneNumber::parse_address(to).is_err()
    {
        return bad_request("\"to\" must be an E.164 number.");
    }
    if fault.times == Some(0) {
        return bad_request("\"times\" must be at least 1.");
    }
    lock(&sandbox.state.faults).push(fault.clone());
    tracing::info!(?fault, "sandbox fault added");
    (StatusCode::CREATED, Json(fault)).into_response()
}

pub async fn list(State(sandbox): State<Sandbox>) -> Json<Vec<Fault>> {
    Json(lock(&sandbox.state.faults).clone())
}

pub async fn clear(State(sandbox): State<Sandbox>) -> StatusCode {
    lock(&sandbox.state.faults).clear();
    StatusCode::NO_CONTENT
}

impl Sandbox {
    /// The fault that applies to a message to `to` (`list`: to a read of the Messages list
    /// for it instead), used up once.
    pub(super) fn take_fault(&self, to: &PhoneNumber, list: bool) -> Option<Fault> {
        let mut faults = lock(&self.state.faults);
        let index = faults.iter().position(|f| {
            f.mode.applies_to_lists() == list
                && f.to
                    .as_deref()
                    .is_none_or(|n| PhoneNumber::parse_address(n).is_ok_and(|n| &n == to))
        })?;
        let fault = faults[index].clone();
        match &mut faults[index].times {
            Some(1) => {
                faults.remove(index);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }
}
