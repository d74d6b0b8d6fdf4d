//! Messaging Services (`MG…`): the sandbox answers sends that name a service as Twilio
//! documents (its errors included) and lists the service's WhatsApp senders; an
//! organization whose secret names a service sends through it, shows its senders, and hears
//! a reply to any of them.

use std::time::Duration;

use crate::common::{Local, message_id, start, start_with_seed};
use serde_json::{Value, json};
use shared::domain::{ChannelConfig, OrgConfig, PhoneNumber, parse_org_secret};
use shared::twilio::{OutboundContent, OutboundMessage, TwilioClient};

const ACME: &str = "AC00000000000000000000000000000001";
const ACME_TOKEN: &str = "sandbox-token-acme-0001";
const SERVICE: &str = "MG00000000000000000000000000000a01";
const FIRST: &str = "+14155238886";
const SECOND: &str = "+447911123456";
const AISHA: &str = "+60123456789";

/// The demo seed with acme on a Messaging Service of two WhatsApp senders and no number of
/// its own.
async fn acme_on_a_service() -> Local {
    let mut seed = local::seed::Seed::default_demo().unwrap();
    let acme = seed
        .organizations
        .iter_mut()
        .find(|o| o.organization_id.as_str() == "acme")
        .unwrap();
    let twilio = acme.twilio.as_mut().unwrap();
    twilio["twilio_messaging_service_sid"] = json!(SERVICE);
    twilio["twilio_whatsapp_from"] = json!("");
    acme.messaging_service_senders = vec![FIRST.into(), SECOND.into()];
    start_with_seed(seed, &[]).await
}

fn sandbox_messages(listed: &Value, body: &str) -> Vec<Value> {
    listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"] == body)
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_organization_on_a_messaging_service_sends_through_it_and_hears_every_sender() {
    let local = acme_on_a_service().await;
    let channel = local.get("acme", "/whatsapp/channel").await;
    assert_eq!(channel.status, 200, "{}", channel.body);
    assert_eq!(channel.body["enabled"], true);
    assert_eq!(channel.body["sender"], Value::Null);
    assert_eq!(channel.body["messaging_service_sid"], SERVICE);
    assert_eq!(channel.body["senders"], json!([FIRST, SECOND]));

    // The send names the service; the sandbox (Twilio) picks the pool's first sender.
    let sent = local
        .send_text("acme", "c-aisha", "Through the service")
        .await;
    let id = message_id(&sent);
    local.wait_for_status("acme", "c-aisha", &id, "READ").await;
    let listed = local.sandbox(reqwest::Method::GET, "/messages", None).await;
    let at_twilio = sandbox_messages(&listed.body, "Through the service");
    assert_eq!(at_twilio.len(), 1, "sent once: {at_twilio:?}");
    assert_eq!(at_twilio[0]["from"], format!("whatsapp:{FIRST}"));
    assert_eq!(at_twilio[0]["messaging_service_sid"], SERVICE);

    // The contact writes to the pool's other sender: the organization hears it.
    let reply = local
        .sandbox(
            reqwest::Method::POST,
            "/reply",
            Some(json!({"from": AISHA, "to": SECOND, "body": "Answering the other number", "organization_id": "acme"})),
        )
        .await;
    assert_eq!(reply.body["webhook_status"], 200, "{}", reply.body);
    let conversation = local.conversation("acme", "c-aisha", None).await;
    assert!(
        conversation["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Answering the other number" && m["direction"] == "INBOUND"),
        "{conversation}"
    );

    // Sticky sender: the next send goes out from the number the contact last wrote to.
    let sent = local.send_text("acme", "c-aisha", "Sticky").await;
    let id = message_id(&sent);
    local.wait_for_status("acme", "c-aisha", &id, "READ").await;
    let listed = local.sandbox(reqwest::Method::GET, "/messages", None).await;
    let sticky = sandbox_messages(&listed.body, "Sticky");
    assert_eq!(sticky[0]["from"], format!("whatsapp:{SECOND}"));

    // A number that is none of the organization's senders is not the organization's.
    let stray = local
        .sandbox(
            reqwest::Method::POST,
            "/reply",
            Some(json!({"from": AISHA, "to": "+6591234567", "body": "Elsewhere", "organization_id": "acme"})),
        )
        .await;
    assert_eq!(stray.status, 400, "{}", stray.body);
}

fn config(secret: Value) -> OrgConfig {
    match parse_org_secret(&secret.to_string()) {
        ChannelConfig::Configured(c) => c,
        other => panic!("{other:?}"),
    }
}

async fn post_message(local: &Local, form: &[(&str, &str)]) -> (u16, Value) {
    let response = local
        .http
        .post(local.url(&format!(
            "/sandbox/2010-04-01/Accounts/{ACME}/Messages.json"
        )))
        .basic_auth(ACME, Some(ACME_TOKEN))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_sandbox_answers_messaging_service_sends_and_lists_its_senders_as_twilio_documents() {
    let local = acme_on_a_service().await;
    let to = format!("whatsapp:{AISHA}");
    for (form, code) in [
        (vec![("To", to.as_str()), ("Body", "x")], 21603),
        (
            vec![("MessagingServiceSid", "MG123"), ("To", &to), ("Body", "x")],
            21705,
        ),
        (
            vec![
                ("MessagingServiceSid", "MG00000000000000000000000000000b02"),
                ("To", &to),
                ("Body", "x"),
            ],
            21701,
        ),
        (
            vec![
                ("MessagingServiceSid", SERVICE),
                ("From", "whatsapp:+6591234567"),
                ("To", &to),
                ("Body", "x"),
            ],
            63007,
        ),
    ] {
        let (status, error) = post_message(&local, &form).await;
        assert_eq!(
            (status, error["code"].as_u64()),
            (400, Some(code)),
            "{form:?}: {error}"
        );
    }
    // Through the service Twilio answers `accepted` and names it.
    let (status, accepted) = post_message(
        &local,
        &[
            ("MessagingServiceSid", SERVICE),
            ("To", &to),
            ("Body", "Via MG"),
        ],
    )
    .await;
    assert_eq!(status, 201, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["messaging_service_sid"], SERVICE);

    // The Twilio client: the pool's senders, and a service's send found when reconciling.
    let service = config(json!({
        "twilio_account_sid": ACME,
        "twilio_auth_token": ACME_TOKEN,
        "twilio_messaging_service_sid": SERVICE,
        "whatsapp_enabled": true,
    }));
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(2))
        .unwrap()
        .with_messaging_base_url(&local.url("/sandbox"))
        .unwrap();
    let senders = client.service_senders(&service).await.unwrap();
    let shown: Vec<&str> = senders.iter().map(PhoneNumber::as_str).collect();
    assert_eq!(shown, [FIRST, SECOND]);
    let listed = client
        .recent_messages(
            &service,
            &PhoneNumber::parse_e164(AISHA).unwrap(),
            chrono::Utc::now() - chrono::Duration::days(1),
        )
        .await
        .unwrap();
    assert!(
        listed.iter().any(|m| m.body.as_deref() == Some("Via MG")),
        "{listed:?}"
    );
    // The list names every sender of the account (the worker judges its reach on all of it);
    // another organization's number on the same account does not count the service's sends.
    let numbered = config(json!({
        "twilio_account_sid": ACME,
        "twilio_auth_token": ACME_TOKEN,
        "twilio_whatsapp_from": "whatsapp:+6591234567",
        "whatsapp_enabled": true,
    }));
    let sent = client
        .send_message(
            &service,
            &OutboundMessage {
                to: PhoneNumber::parse_e164(AISHA).unwrap(),
                content: OutboundContent::FreeForm {
                    body: Some("Client via MG".into()),
                    media_url: None,
                },
                status_callback: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(sent.status, "accepted");
    let elsewhere = client
        .recent_messages(
            &numbered,
            &PhoneNumber::parse_e164(AISHA).unwrap(),
            chrono::Utc::now() - chrono::Duration::days(1),
        )
        .await
        .unwrap();
    assert!(
        elsewhere
            .iter()
            .any(|m| m.body.as_deref() == Some("Client via MG")),
        "{elsewhere:?}"
    );
    assert!(
        elsewhere
            .iter()
            .all(|m| !numbered.sent_from(m.from.as_deref(), m.messaging_service_sid.as_deref())),
        "{elsewhere:?}"
    );

    // ChannelSenders: paged as Twilio pages; unknown to another credential; 20003 without one.
    let page = |query: &str, user: &str, password: &str| {
        let request = local
            .http
            .get(local.url(&format!(
                "/sandbox/v1/Services/{SERVICE}/ChannelSenders{query}"
            )))
            .basic_auth(user, Some(password));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let bytes = response.bytes().await.unwrap();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let (status, first) = page("?PageSize=1", ACME, ACME_TOKEN).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["senders"][0]["sender"], format!("whatsapp:{FIRST}"));
    assert_eq!(first["senders"][0]["sender_type"], "WhatsApp");
    let next = first["meta"]["next_page_url"].as_str().unwrap();
    let second = local
        .http
        .get(next)
        .basic_auth(ACME, Some(ACME_TOKEN))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let second: Value = serde_json::from_slice(&second).unwrap();
    assert_eq!(second["senders"][0]["sender"], format!("whatsapp:{SECOND}"));
    assert_eq!(second["meta"]["next_page_url"], Value::Null);
    let (status, wrong) = page("", ACME, "wrong-token").await;
    assert_eq!((status, wrong["code"].as_u64()), (401, Some(20003)));
    drop(local);

    // The plain demo: acme has no service, so the same sid is not found.
    let local = start().await;
    let response = local
        .http
        .get(local.url(&format!("/sandbox/v1/Services/{SERVICE}/ChannelSenders")))
        .basic_auth(ACME, Some(ACME_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
