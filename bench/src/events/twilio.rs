//! What Twilio sends: webhooks signed with the organization's auth token as Twilio signs them
//! (inbound messages, status callbacks, a forged one), and its fetches of a media link.

use std::collections::HashMap;

use shared::api::{GatewayRequest, gateway_event};
use shared::twilio::compute_signature;

use super::*;

fn webhook(path_suffix: &str, query: &str, params: &[(String, String)]) -> Vec<u8> {
    signed_webhook(AUTH_TOKEN, path_suffix, query, params)
}

fn signed_webhook(
    token: &str,
    path_suffix: &str,
    query: &str,
    params: &[(String, String)],
) -> Vec<u8> {
    let path = format!("/webhook/twilio/whatsapp/{ORG}{path_suffix}");
    let url = if query.is_empty() {
        format!("{PUBLIC_BASE_URL}{path}")
    } else {
        format!("{PUBLIC_BASE_URL}{path}?{query}")
    };
    let signature = compute_signature(token, &url, params);
    let event = gateway_event(GatewayRequest {
        method: "POST".into(),
        raw_path: path,
        route_key: format!("POST /webhook/twilio/whatsapp/{{organization_id}}{path_suffix}"),
        raw_query: query.into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=UTF-8".into(),
            ),
            ("x-twilio-signature".into(), signature),
            ("user-agent".into(), "TwilioProxy/1.1".into()),
        ],
        body: Some(
            serde_urlencoded::to_string(params)
                .unwrap_or_default()
                .into_bytes(),
        ),
        path_parameters: HashMap::from([("organization_id".into(), ORG.into())]),
        claims: None,
        domain_name: "bench.execute-api.eu-west-1.amazonaws.com".into(),
        source_ip: "54.172.60.1".into(),
    });
    event.map(|e| json(&e)).unwrap_or_default()
}

fn pairs(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The form fields Twilio posts for an inbound WhatsApp text.
pub fn inbound_params(message_sid: &str, body: &str) -> Vec<(String, String)> {
    let from = format!("whatsapp:{CONTACT_PHONE}");
    let to = format!("whatsapp:{SENDER}");
    pairs(&[
        ("SmsMessageSid", message_sid),
        ("NumMedia", "0"),
        ("ProfileName", "Aisha"),
        ("MessageType", "text"),
        ("SmsSid", message_sid),
        ("WaId", CONTACT_PHONE.trim_start_matches('+')),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", &to),
        ("NumSegments", "1"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", message_sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", &from),
        ("ApiVersion", "2010-04-01"),
    ])
}

pub fn inbound(message_sid: &str, body: &str) -> Vec<u8> {
    webhook("", "", &inbound_params(message_sid, body))
}

/// An inbound webhook signed with a token the organization never had: refused with 403, the
/// secret read again at most once per 10 s (a token rotated meanwhile would be found).
pub fn forged_inbound(message_sid: &str) -> Vec<u8> {
    signed_webhook(
        "forged-token-0000000000000000000",
        "",
        "",
        &inbound_params(message_sid, "forged"),
    )
}

pub fn status_callback(message_id: &str, message_sid: &str, status: &str) -> Vec<u8> {
    let to = format!("whatsapp:{CONTACT_PHONE}");
    let from = format!("whatsapp:{SENDER}");
    let params = pairs(&[
        ("ChannelPrefix", "whatsapp"),
        ("ApiVersion", "2010-04-01"),
        ("MessageStatus", status),
        ("SmsSid", message_sid),
        ("SmsStatus", status),
        ("To", &to),
        ("From", &from),
        ("MessageSid", message_sid),
        ("AccountSid", ACCOUNT_SID),
    ]);
    webhook("/status", &format!("message_id={message_id}"), &params)
}

/// Twilio fetching an outbound attachment through its signed link (`HEAD` first, then `GET`).
pub fn media_link(method: &str, key: &str) -> Vec<u8> {
    let expires = chrono::Utc::now().timestamp() + shared::media_link::LINK_LIFETIME_SECONDS;
    let org = shared::domain::OrganizationId::parse(ORG).ok();
    let Some(path) = org.and_then(|org| shared::media_link::path(AUTH_TOKEN, &org, key, expires))
    else {
        return Vec::new();
    };
    let mut parts = path.trim_start_matches('/').splitn(4, '/').skip(2);
    let (token, filename) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let event = gateway_event(GatewayRequest {
        method: method.into(),
        raw_path: path.clone(),
        route_key: format!("{method} /media/{{organization_id}}/{{token}}/{{filename}}"),
        raw_query: String::new(),
        headers: vec![("user-agent".into(), "TwilioProxy/1.1".into())],
        body: None,
        path_parameters: HashMap::from([
            ("organization_id".into(), ORG.into()),
            ("token".into(), token.into()),
            ("filename".into(), filename.into()),
        ]),
        claims: None,
        domain_name: "bench.execute-api.eu-west-1.amazonaws.com".into(),
        source_ip: "54.172.60.1".into(),
    });
    event.map(|e| json(&e)).unwrap_or_default()
}

/// A Twilio-style message sid, unique per call.
pub fn message_sid() -> String {
    format!("SM{:032x}", ulid::Ulid::new().0)
}
