//! Handler tests: in-memory ports, API Gateway / SQS events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use shared::runtime::Handler;
use std::collections::HashMap;

use chrono::Utc;
use shared::api::ApiGatewayV2httpRequest;
use shared::api::{GatewayRequest, gateway_event};
use shared::domain::{Contact, ContactId};
use shared::domain::{Direction, Message, MessageId, MessageStatus, MessageType, StatusChange};
use shared::memory::MemoryPorts;
use shared::ports::MessageStore;
use shared::ports::{ContactStore, ConversationQuery, ConversationStore};
use shared::testing::{
    ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, error_code, hours_ago, org, secret_json,
};
use shared::twilio::compute_signature;

use twilio_webhook::*;

mod exactly_once;
mod inbound;
mod signatures;
mod status_callback;

type Webhook = TwilioWebhook<MemoryPorts>;

const DOMAIN: &str = "abc123.execute-api.eu-west-1.amazonaws.com";

async fn webhook() -> Webhook {
    let ports = MemoryPorts::new("http://127.0.0.1:8080");
    let contacts = &ports.contacts;
    let mut aisha = contact("org-a", "c1", "Aisha Rahman", "+60123456789");
    aisha.last_inbound_at = Some(hours_ago(48));
    contacts.put(&aisha).await.unwrap();
    contacts
        .put(&contact(
            "org-b",
            "b1",
            "Same Number Other Org",
            "+60123456789",
        ))
        .await
        .unwrap();
    let credentials = &ports.credentials;
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    TwilioWebhook::at(ports, None)
}

fn pairs(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn inbound_params(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    pairs(&[
        ("SmsMessageSid", sid),
        ("NumMedia", "0"),
        ("ProfileName", "Aisha"),
        ("MessageType", "text"),
        ("SmsSid", sid),
        ("WaId", from.trim_start_matches('+')),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", &format!("whatsapp:{SENDER}")),
        ("NumSegments", "1"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", &format!("whatsapp:{from}")),
        ("ApiVersion", "2010-04-01"),
    ])
}

/// A webhook event as API Gateway delivers it, signed as Twilio signs it (over `signed_url`).
fn event_signed_for(
    org_id: &str,
    status: bool,
    query: &str,
    params: &[(String, String)],
    token: &str,
    signed_url: Option<&str>,
) -> ApiGatewayV2httpRequest {
    let suffix = if status { "/status" } else { "" };
    let path = format!("/webhook/twilio/whatsapp/{org_id}{suffix}");
    let mut url = format!("https://{DOMAIN}{path}");
    if !query.is_empty() {
        url = format!("{url}?{query}");
    }
    let signature = compute_signature(token, signed_url.unwrap_or(&url), params);
    gateway_event(GatewayRequest {
        method: "POST".into(),
        raw_path: path,
        route_key: format!("POST /webhook/twilio/whatsapp/{{organization_id}}{suffix}"),
        raw_query: query.into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=UTF-8".into(),
            ),
            ("x-twilio-signature".into(), signature),
            ("user-agent".into(), "TwilioProxy/1.1".into()),
            (
                "i-twilio-idempotency-token".into(),
                "7c7f0d1a-0000-4000-8000-000000000000".into(),
            ),
        ],
        body: Some(serde_urlencoded::to_string(params).unwrap().into_bytes()),
        path_parameters: HashMap::from([("organization_id".into(), org_id.into())]),
        claims: None,
        domain_name: DOMAIN.into(),
        source_ip: "54.172.60.1".into(),
    })
    .unwrap()
}

fn inbound_event(params: &[(String, String)]) -> ApiGatewayV2httpRequest {
    event_signed_for("org-a", false, "", params, AUTH_TOKEN, None)
}

async fn aisha(w: &Webhook) -> Contact {
    stored_contact(w, "org-a", "c1").await
}

async fn stored_contact(w: &Webhook, org_id: &str, id: &str) -> Contact {
    w.ports
        .contacts
        .get(&org(org_id), &ContactId::parse(id).unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// `params` as Twilio posts them for a WhatsApp user writing under a username: `From` is the
/// user's business-scoped id, with no `WaId`.
fn from_username(params: Vec<(String, String)>, user_id: &str) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> =
        params.into_iter().filter(|(k, _)| k != "WaId").collect();
    for (k, v) in &mut params {
        if k == "From" {
            *v = format!("whatsapp:{user_id}");
        }
    }
    params.push(("ExternalUserId".into(), user_id.into()));
    params
}

/// Aisha's unread count in her conversation's summary (0 without one).
async fn unread(w: &Webhook) -> u64 {
    w.ports
        .messages
        .summary(&org("org-a"), &ContactId::parse("c1").unwrap())
        .await
        .unwrap()
        .map_or(0, |s| s.unread())
}

async fn conversation(w: &Webhook) -> Vec<Message> {
    w.ports
        .messages
        .conversation(
            &org("org-a"),
            &ContactId::parse("c1").unwrap(),
            ConversationQuery::Latest { limit: 50 },
        )
        .await
        .unwrap()
        .messages
}

const SID1: &str = "SM11111111111111111111111111111111";
const SID2: &str = "SM22222222222222222222222222222222";
const SID3: &str = "SM33333333333333333333333333333333";

// ---------- every effect exactly once, whatever fails in between ----------

// ---------- outbound messages and their status callbacks ----------

async fn outbound(w: &Webhook) -> Message {
    outbound_as(w, None).await
}

/// An outbound message as the send route stores it, free-form or from a template.
async fn outbound_as(w: &Webhook, template: Option<shared::domain::SentTemplate>) -> Message {
    let m = shared::testing::messages::a_message("org-a")
        .contact(Some("c1"))
        .text("Your order shipped")
        .with(|m| m.template = template)
        .build();
    w.ports.messages.insert(&m).await.unwrap();
    m
}

fn status_params(sid: &str, status: &str, error_code: Option<&str>) -> Vec<(String, String)> {
    let mut p = pairs(&[
        ("SmsSid", sid),
        ("SmsStatus", status),
        ("MessageStatus", status),
        ("ChannelToAddress", "+60123456789"),
        ("To", "whatsapp:+60123456789"),
        ("ChannelPrefix", "whatsapp"),
        ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", &format!("whatsapp:{SENDER}")),
        ("ApiVersion", "2010-04-01"),
        ("ChannelInstallSid", "XE00000000000000000000000000000000"),
    ]);
    if let Some(code) = error_code {
        p.push(("ErrorCode".into(), code.into()));
    }
    p
}

async fn callback(w: &Webhook, m: &Message, sid: &str, status: &str, code: Option<&str>) -> u16 {
    let query = format!("message_id={}", m.id);
    let event = event_signed_for(
        "org-a",
        true,
        &query,
        &status_params(sid, status, code),
        AUTH_TOKEN,
        None,
    );
    w.handle(event).await.status_code as u16
}

async fn reload(w: &Webhook, m: &Message) -> Message {
    w.ports
        .messages
        .get(&org("org-a"), &m.id)
        .await
        .unwrap()
        .unwrap()
}
