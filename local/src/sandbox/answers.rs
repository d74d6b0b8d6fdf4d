//! Twilio's answers as every sandbox API gives them: its error document, the form a POST
//! carries, and the number of a `whatsapp:` address.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use shared::domain::PhoneNumber;

/// A POSTed form as Twilio reads it; None for a body that is not one (`unparsable_body`).
pub(super) fn form_body(body: &[u8]) -> Option<Vec<(String, String)>> {
    serde_urlencoded::from_bytes(body).ok()
}

/// Twilio's answer to a body that is not a form.
pub(super) fn unparsable_body() -> Response {
    twilio_error(
        StatusCode::BAD_REQUEST,
        20001,
        "Unable to parse the request body",
    )
}

/// Twilio's error document.
pub(super) fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

/// The number of a `whatsapp:+…` address.
pub(super) fn whatsapp_number(value: &str) -> Option<PhoneNumber> {
    value
        .strip_prefix("whatsapp:")
        .and_then(|n| PhoneNumber::parse_e164(n).ok())
}
