//! Fixtures for handler tests (feature `testing`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::api::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, GatewayRequest, gateway_event,
};
use crate::domain::{Contact, ContactId, OrganizationId};

pub mod inbox;
pub mod logs;
pub mod messages;
pub mod store_contract;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
pub const SENDER: &str = "+14155238886";

pub fn org(id: &str) -> OrganizationId {
    OrganizationId::parse(id).expect("valid organization id")
}

/// An organization secret document as stored in Secrets Manager.
pub fn secret_json(account_sid: &str, auth_token: &str, from: &str, enabled: bool) -> String {
    serde_json::json!({
        "twilio_account_sid": account_sid,
        "twilio_auth_token": auth_token,
        "twilio_whatsapp_from": format!("whatsapp:{from}"),
        "whatsapp_enabled": enabled,
    })
    .to_string()
}

/// An eligible contact who wrote an hour ago (inside the 24-hour window).
pub fn contact(org_id: &str, id: &str, name: &str, phone: &str) -> Contact {
    Contact {
        organization_id: org(org_id),
        contact_id: ContactId::parse(id).expect("valid contact id"),
        name: name.into(),
        email: Some(format!(
            "{}@example.com",
            name.to_lowercase().replace(' ', ".")
        )),
        phone_number: Some(phone.into()),
        whatsapp_opt_in: true,
        whatsapp_blocked: false,
        whatsapp_unsubscribed: false,
        last_inbound_at: Some(Utc::now() - chrono::Duration::hours(1)),
        whatsapp_opt_changed_at: None,
        whatsapp_user_id: None,
    }
}

/// An approved text template with one variable, `{{1}}`, sampled "Aisha".
pub fn template(content_sid: &str, name: &str) -> crate::domain::Template {
    crate::domain::Template {
        content_sid: content_sid.into(),
        name: name.into(),
        language: "en".into(),
        category: "UTILITY".into(),
        content_type: "twilio/text".into(),
        body: "Hi {{1}}, thanks for your order.".into(),
        variables: [("1".to_owned(), "Aisha".to_owned())].into(),
        media: vec![],
        actions: vec![],
    }
}

pub fn hours_ago(hours: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::hours(hours)
}

/// An API Gateway event for a JWT-protected route, with the organization claim set (or no
/// authorizer context at all when `org_claim` is None).
pub fn jwt_event(
    method: &str,
    path: &str,
    query: &str,
    org_claim: Option<&str>,
    body: Option<&str>,
) -> ApiGatewayV2httpRequest {
    let claims = org_claim.map(|org| {
        HashMap::from([
            ("sub".to_owned(), "user-1".to_owned()),
            ("custom:organization_id".to_owned(), org.to_owned()),
        ])
    });
    let mut headers = vec![("authorization".to_owned(), "Bearer eyJ...".to_owned())];
    if body.is_some() {
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
    }
    gateway_event(GatewayRequest {
        method: method.into(),
        raw_path: path.into(),
        route_key: format!("{method} {path}"),
        raw_query: query.into(),
        headers,
        body: body.map(|b| b.as_bytes().to_vec()),
        path_parameters: HashMap::new(),
        claims,
        domain_name: "api.example.com".into(),
        source_ip: "203.0.113.7".into(),
    })
    .expect("valid event")
}

/// `event` as made by the agent `sub` named `name` (the token's claims; the organization
/// claim stays). None: a token without a user (no `sub`).
pub fn as_agent(
    mut event: ApiGatewayV2httpRequest,
    agent: Option<(&str, &str)>,
) -> ApiGatewayV2httpRequest {
    if let Some(jwt) = event
        .request_context
        .authorizer
        .as_mut()
        .and_then(|a| a.jwt.as_mut())
    {
        jwt.claims.remove("sub");
        if let Some((sub, name)) = agent {
            jwt.claims.insert("sub".to_owned(), sub.to_owned());
            jwt.claims.insert("name".to_owned(), name.to_owned());
        }
    }
    event
}

/// The JSON body of a response.
pub fn json_body(response: &ApiGatewayV2httpResponse) -> serde_json::Value {
    match &response.body {
        Some(aws_lambda_events::encodings::Body::Text(t)) => {
            serde_json::from_str(t).expect("JSON body")
        }
        other => panic!("expected a text body, got {other:?}"),
    }
}

/// The `error.code` of an error response.
pub fn error_code(response: &ApiGatewayV2httpResponse) -> String {
    json_body(response)["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
