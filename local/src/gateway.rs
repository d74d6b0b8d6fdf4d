//! Stands in for API Gateway: matches the template's routes, emulates the JWT authorizer
//! for the demo users, turns the HTTP request into a payload-2.0 event and the handler's
//! answer back into an HTTP response.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use shared::api::{ApiError, ApiGatewayV2httpResponse, GatewayRequest, LambdaBody, gateway_event};
use shared::routes::{Auth, Route};

/// Largest body API Gateway passes to a Lambda function (payload limit is 6 MB; HTTP API
/// request bodies are capped at 10 MB, Lambda's at 6 MB).
pub const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// The claims of a verified demo token, as the JWT authorizer would pass them on.
pub type Claims = HashMap<String, String>;

pub struct GatewayInput {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub peer: SocketAddr,
}

/// Builds the event for a matched route; Err is what API Gateway would answer itself.
pub fn to_event(
    input: &GatewayInput,
    route: &Route,
    path_parameters: HashMap<String, String>,
    claims_for_token: impl Fn(&str) -> Option<Claims>,
) -> Result<shared::api::ApiGatewayV2httpRequest, ApiError> {
    let claims = match route.auth {
        Auth::TwilioSignature | Auth::SignedLink => None,
        Auth::Jwt => {
            let token = input
                .headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                })
                .map(str::trim);
            match token.and_then(&claims_for_token) {
                Some(claims) => Some(claims),
                None => return Err(ApiError::Unauthorized),
            }
        }
    };
    let headers = input
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let host = input
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    gateway_event(GatewayRequest {
        method: input.method.as_str().to_owned(),
        raw_path: input.uri.path().to_owned(),
        route_key: format!("{} {}", route.method, route.path),
        raw_query: input.uri.query().unwrap_or_default().to_owned(),
        headers,
        body: (!input.body.is_empty()).then(|| input.body.to_vec()),
        path_parameters,
        claims,
        domain_name: host,
        source_ip: input.peer.ip().to_string(),
    })
    .map_err(|e| {
        tracing::error!(error = %e, "could not build the gateway event");
        ApiError::Unavailable
    })
}

/// API Gateway's translation of a handler's answer into HTTP.
pub fn to_response(answer: ApiGatewayV2httpResponse) -> Response {
    let status = u16::try_from(answer.status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::BAD_GATEWAY);
    let body = match answer.body {
        Some(aws_body) => match aws_body {
            LambdaBody::Text(text) if answer.is_base64_encoded => {
                Body::from(STANDARD.decode(text).unwrap_or_default())
            }
            LambdaBody::Text(text) => Body::from(text),
            LambdaBody::Binary(bytes) => Body::from(bytes),
            _ => Body::empty(),
        },
        None => Body::empty(),
    };
    let mut response = (status, body).into_response();
    for (name, value) in answer.headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// The answer for a path no route matches (API Gateway's own 404, in our error shape).
pub fn no_route() -> Response {
    to_response(ApiError::NotFound("No such route.").into_response())
}

/// What API Gateway's `$default` route answers a request no route takes: 405 with the
/// path's methods, or 404.
pub fn unrouted(method: &Method, uri: &Uri) -> Response {
    to_response(shared::routes::unrouted(method.as_str(), uri.path()).into_response())
}
