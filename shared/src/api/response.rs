//! Building API Gateway responses: JSON bodies, TwiML for Twilio's webhooks.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use http::{HeaderMap, HeaderValue, header};
use serde::Serialize;

fn response(status: u16, content_type: &'static str, body: String) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Conversations are private: never cached by a browser or proxy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = i64::from(status);
    r.headers = headers;
    r.body = Some(Body::Text(body));
    r
}

pub fn json_response<T: Serialize>(status: u16, body: &T) -> ApiGatewayV2httpResponse {
    match serde_json::to_string(body) {
        Ok(json) => response(status, "application/json", json),
        Err(e) => {
            tracing::error!(error = %e, "response did not serialize");
            response(
                503,
                "application/json",
                r#"{"error":{"code":"service_unavailable","message":"The service is temporarily unavailable. Please try again."}}"#.into(),
            )
        }
    }
}

/// Twilio expects TwiML from a messaging webhook; an empty `<Response/>` sends no reply.
pub fn twiml_response() -> ApiGatewayV2httpResponse {
    response(
        200,
        "text/xml",
        r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#.into(),
    )
}
