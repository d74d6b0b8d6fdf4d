//! Builds API Gateway HTTP API (payload 2.0) events the way API Gateway does: used by the
//! local runner to put an HTTP request in front of a handler, and by tests.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

#[derive(Debug, Clone, Default)]
pub struct GatewayRequest {
    pub method: String,
    pub raw_path: String,
    /// `"POST /whatsapp/messages"`: the matched route, as API Gateway reports it.
    pub route_key: String,
    pub raw_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub path_parameters: HashMap<String, String>,
    /// The verified JWT claims; None for routes without the authorizer.
    pub claims: Option<HashMap<String, String>>,
    pub domain_name: String,
    pub source_ip: String,
}

/// Bodies API Gateway passes as text; everything else arrives base64-encoded.
fn is_text(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let ct = ct.to_ascii_lowercase();
        ct.starts_with("text/") || ct.contains("json") || ct.contains("xml")
    })
}

pub fn gateway_event(req: GatewayRequest) -> Result<ApiGatewayV2httpRequest, serde_json::Error> {
    let mut headers: serde_json::Map<String, Value> = serde_json::Map::new();
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        let joined = match headers.get(&name).and_then(Value::as_str) {
            Some(existing) => format!("{existing},{value}"),
            None => value.clone(),
        };
        headers.insert(name, Value::String(joined));
    }
    let content_type = headers
        .get("content-type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let user_agent = headers.get("user-agent").cloned().unwrap_or(Value::Null);

    let mut query: serde_json::Map<String, Value> = serde_json::Map::new();
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(&req.raw_query).unwrap_or_default();
    for (name, value) in pairs {
        let joined = match query.get(&name).and_then(Value::as_str) {
            Some(existing) => format!("{existing},{value}"),
            None => value,
        };
        query.insert(name, Value::String(joined));
    }

    let (body, encoded) = match &req.body {
        None => (Value::Null, false),
        Some(bytes) if is_text(content_type.as_deref()) => match std::str::from_utf8(bytes) {
            Ok(text) => (Value::String(text.to_owned()), false),
            Err(_) => (Value::String(STANDARD.encode(bytes)), true),
        },
        Some(bytes) => (Value::String(STANDARD.encode(bytes)), true),
    };
    let now = chrono::Utc::now();
    let authorizer = req
        .claims
        .map(|claims| json!({"jwt": {"claims": claims, "scopes": null}}));
    let mut context = json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": req.domain_name,
        "domainPrefix": req.domain_name.split('.').next().unwrap_or_default(),
        "http": {
            "method": req.method,
            "path": req.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": req.source_ip,
            "userAgent": user_agent,
        },
        "requestId": ulid::Ulid::new().to_string(),
        "routeKey": req.route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    });
    if let (Some(auth), Some(obj)) = (authorizer, context.as_object_mut()) {
        obj.insert("authorizer".into(), auth);
    }
    let event = json!({
        "version": "2.0",
        "routeKey": req.route_key,
        "rawPath": req.raw_path,
        "rawQueryString": req.raw_query,
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": if req.path_parameters.is_empty() { Value::Null } else { json!(req.path_parameters) },
        "requestContext": context,
        "body": body,
        "isBase64Encoded": encoded,
    });
    serde_json::from_value(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{body_bytes, organization_id, query};

    #[test]
    fn builds_an_event_handlers_can_read() {
        let event = gateway_event(GatewayRequest {
            method: "POST".into(),
            raw_path: "/webhook/twilio/whatsapp/org-a".into(),
            route_key: "POST /webhook/twilio/whatsapp/{organization_id}".into(),
            raw_query: "a=1&a=2&b=x%20y&q=Rahman%2C%20Aisha".into(),
            headers: vec![(
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            )],
            body: Some(b"Body=hi".to_vec()),
            path_parameters: HashMap::from([("organization_id".into(), "org-a".into())]),
            claims: Some(HashMap::from([(
                "custom:organization_id".into(),
                "org-a".into(),
            )])),
            domain_name: "abc.execute-api.eu-west-1.amazonaws.com".into(),
            source_ip: "127.0.0.1".into(),
        })
        .unwrap();
        assert!(event.is_base64_encoded, "forms arrive base64-encoded");
        assert_eq!(body_bytes(&event).unwrap(), b"Body=hi");
        assert_eq!(query(&event, "a").as_deref(), Some("1"));
        assert_eq!(query(&event, "b").as_deref(), Some("x y"));
        assert_eq!(query(&event, "q").as_deref(), Some("Rahman, Aisha"));
        assert_eq!(query(&event, "missing"), None);
        assert_eq!(
            organization_id(&event, "custom:organization_id")
                .unwrap()
                .as_str(),
            "org-a"
        );
        assert_eq!(
            event.route_key.as_deref(),
            Some("POST /webhook/twilio/whatsapp/{organization_id}")
        );
    }
}
