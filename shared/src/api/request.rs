//! Reading API Gateway requests: the organization from the verified JWT claims only, the
//! route, query parameters and JSON bodies with clear errors.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::domain::OrganizationId;

/// The caller's organization, taken only from the claims the JWT authorizer verified; a
/// request without it is unauthorized whatever its path, query or body say. The request's
/// log lines name it from here on (`telemetry::record_organization`).
pub fn organization_id(
    event: &ApiGatewayV2httpRequest,
    claim: &str,
) -> Result<OrganizationId, ApiError> {
    event
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .and_then(|jwt| jwt.claims.get(claim))
        .and_then(|value| OrganizationId::parse(value.trim()).ok())
        .inspect(crate::telemetry::record_organization)
        .ok_or(ApiError::Unauthorized)
}

/// The agent making the request: the verified token's `sub` (API Gateway's JWT authorizer
/// checked it). A token without one (a machine client) gets 403 `agent_required` where a
/// route keeps something per agent.
pub fn agent_id(event: &ApiGatewayV2httpRequest) -> Result<crate::domain::AgentId, ApiError> {
    event
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .and_then(|jwt| jwt.claims.get("sub"))
        .and_then(|sub| crate::domain::AgentId::parse(sub))
        .ok_or(ApiError::AgentRequired)
}

/// The agent making the request, with the name shown to other agents; 403
/// `agent_required` for a token without a `sub`.
pub fn agent_ref(event: &ApiGatewayV2httpRequest) -> Result<crate::domain::AgentRef, ApiError> {
    sent_by(event)
        .agent()
        .cloned()
        .ok_or(ApiError::AgentRequired)
}

/// Who a send is made by: the agent of the token (`sub`, named by its `name` or `email`),
/// or the API for a token without a user.
pub fn sent_by(event: &ApiGatewayV2httpRequest) -> crate::domain::SentBy {
    let claims = event
        .request_context
        .authorizer
        .as_ref()
        .and_then(|a| a.jwt.as_ref())
        .map(|jwt| &jwt.claims);
    let claim = |name: &str| claims.and_then(|c| c.get(name)).map(String::as_str);
    claim("sub")
        .and_then(|sub| crate::domain::AgentRef::from_claims(sub, claim("name"), claim("email")))
        .map_or(crate::domain::SentBy::Api, crate::domain::SentBy::Agent)
}

/// The matched route, `"GET /whatsapp/contacts"`: what API Gateway reports, or (for events
/// without one) the method and path.
pub fn route_key(event: &ApiGatewayV2httpRequest) -> String {
    event
        .route_key
        .clone()
        .or_else(|| event.request_context.route_key.clone())
        .filter(|k| !k.is_empty() && k != "$default")
        .unwrap_or_else(|| {
            let method = event.request_context.http.method.as_str();
            let path = event
                .request_context
                .http
                .path
                .as_deref()
                .or(event.raw_path.as_deref())
                .unwrap_or_default();
            format!("{method} {path}")
        })
}

/// A query parameter's first value, trimmed, None when blank. Read from the raw query
/// string: API Gateway's parsed map joins repeated values with commas, which would split a
/// search term that contains one.
pub fn query(event: &ApiGatewayV2httpRequest, name: &str) -> Option<String> {
    let value = match event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        Some(raw) => serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .ok()?
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v),
        None => event.query_string_parameters.first(name).map(str::to_owned),
    };
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A query parameter that has a value when it is given (a cursor, a limit, a flag): absent
/// is None, `name=` (or blanks) is refused, as the OpenAPI description says. Only a search
/// (`q`) may be empty.
pub fn query_value(
    event: &ApiGatewayV2httpRequest,
    name: &str,
) -> Result<Option<String>, ApiError> {
    let given = match event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
        Some(raw) => serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
            .map_err(|_| ApiError::InvalidParameter("The query string is not valid.".into()))?
            .into_iter()
            .any(|(k, _)| k == name),
        None => event.query_string_parameters.first(name).is_some(),
    };
    match query(event, name) {
        None if given => Err(ApiError::InvalidParameter(format!(
            "{name} must not be empty."
        ))),
        value => Ok(value),
    }
}

/// `limit` within 1..=max, `default` when absent.
pub fn query_limit(
    event: &ApiGatewayV2httpRequest,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match query_value(event, "limit")?.as_deref() {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::InvalidParameter(format!("limit must be a number from 1 to {max}."))
            }),
    }
}

pub fn path_parameter<'a>(event: &'a ApiGatewayV2httpRequest, name: &str) -> Option<&'a str> {
    event.path_parameters.get(name).map(String::as_str)
}

pub fn header<'a>(event: &'a ApiGatewayV2httpRequest, name: &str) -> Option<&'a str> {
    event.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The raw body; API Gateway base64-encodes bodies it does not consider text.
pub fn body_bytes(event: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, ApiError> {
    let body = event.body.as_deref().unwrap_or_default();
    if event.is_base64_encoded {
        STANDARD
            .decode(body)
            .map_err(|_| ApiError::InvalidJson("The body is not valid base64.".into()))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// A JSON body of the expected shape; unknown fields are refused by the target type.
pub fn json_body<T: DeserializeOwned>(event: &ApiGatewayV2httpRequest) -> Result<T, ApiError> {
    if let Some(content_type) = header(event, "content-type") {
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let bytes = body_bytes(event)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidJson(
            "The request body is empty; a JSON object is expected.".into(),
        ));
    }
    // Every body this API takes is an object; serde would also read a struct from an array
    // (`[]` as a body of defaults), which the description forbids.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::InvalidJson(
            "The request body must be a JSON object.".into(),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        // serde's message names the field and position, never echoes values.
        ApiError::InvalidJson(format!("The request body is not valid: {e}."))
    })
}
