//! What an armed fault makes of a send: a refusal in Twilio's form instead of taking the
//! message, or, once Twilio took it, an answer that is lost (too late, cut off, a 502 from
//! Twilio's edge).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use shared::twilio::describe_error_code;

use super::answers::twilio_error;
use super::{Fault, FaultMode};

/// The answer an armed fault gives instead of taking the message, if it refuses it.
pub(super) async fn refused_by(fault: &Fault) -> Option<Response> {
    Some(match fault.mode {
        FaultMode::ServerError => twilio_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            20500,
            "Internal Server Error",
        ),
        FaultMode::RateLimited => {
            twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests")
        }
        FaultMode::BadCredentials => twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate"),
        FaultMode::Timeout => {
            // Longer than any sensible client timeout; the client hangs up first.
            tokio::time::sleep(Duration::from_secs(120)).await;
            twilio_error(StatusCode::GATEWAY_TIMEOUT, 20504, "Gateway Timeout")
        }
        FaultMode::ErrorCode => {
            let code = fault.code.unwrap_or(21211);
            let status = if code == 20003 {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            twilio_error(
                status,
                code,
                describe_error_code(code).unwrap_or("Sandbox error"),
            )
        }
        FaultMode::Undelivered
        | FaultMode::AcceptThenTimeout
        | FaultMode::AcceptThenDrop
        | FaultMode::AcceptThenServerError
        | FaultMode::ShuffledCallbacks
        | FaultMode::ListUnavailable => return None,
    })
}

/// Twilio's answer to a send it took, or what an armed fault makes of it.
pub(super) async fn answer(fault: Option<FaultMode>, resource: serde_json::Value) -> Response {
    match fault {
        Some(FaultMode::AcceptThenTimeout) => {
            // Longer than any sensible client timeout: the client gives up, Twilio sent it.
            tokio::time::sleep(Duration::from_secs(120)).await;
            (StatusCode::CREATED, Json(resource)).into_response()
        }
        Some(FaultMode::AcceptThenServerError) => {
            // Twilio's edge, not the API: an HTML page, no error document.
            let mut response = "<html><body>502 Bad Gateway</body></html>".into_response();
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            response
        }
        Some(FaultMode::AcceptThenDrop) => {
            let mut response = axum::body::Body::new(BrokenBody).into_response();
            *response.status_mut() = StatusCode::CREATED;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
        _ => (StatusCode::CREATED, Json(resource)).into_response(),
    }
}

/// A response body that breaks off: the client sees the connection drop mid-answer.
struct BrokenBody;

impl http_body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the sandbox dropped the connection",
        ))))
    }
}
