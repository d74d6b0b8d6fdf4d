//! REST with an API key (`SK…`): the sandbox's Keys resource as Twilio documents it, the
//! Twilio client authenticating with a key, and the product sending with the key while the
//! auth token still signs webhooks.

use std::time::Duration;

use crate::common::{message_id, start, start_with_seed};
use serde_json::{Value, json};
use shared::domain::{ChannelConfig, OrgConfig, PhoneNumber, parse_org_secret};
use shared::twilio::{FailureKind, OutboundContent, OutboundMessage, TwilioClient};

const ACME: &str = "AC00000000000000000000000000000001";
const ACME_TOKEN: &str = "sandbox-token-acme-0001";

fn with_key(auth_token: &str, key_sid: &str, key_secret: &str) -> OrgConfig {
    let secret = json!({
        "twilio_account_sid": ACME,
        "twilio_auth_token": auth_token,
        "twilio_api_key_sid": key_sid,
        "twilio_api_key_secret": key_secret,
        "twilio_whatsapp_from": "whatsapp:+14155238886",
        "whatsapp_enabled": true,
    });
    match parse_org_secret(&secret.to_string()) {
        ChannelConfig::Configured(c) => c,
        other => panic!("{other:?}"),
    }
}

fn hello() -> OutboundMessage {
    OutboundMessage {
        to: PhoneNumber::parse_e164("+60123456789").unwrap(),
        content: OutboundContent::FreeForm {
            body: Some("Hello with a key".into()),
            media_url: None,
        },
        status_callback: None,
    }
}

async fn keys(
    local: &crate::common::Local,
    method: reqwest::Method,
    path: &str,
    (user, password): (&str, &str),
    form: &[(&str, &str)],
) -> (u16, Value) {
    let url = local.url(&format!("/sandbox/2010-04-01/Accounts/{ACME}/Keys{path}"));
    let response = local
        .http
        .request(method, url)
        .basic_auth(user, Some(password))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(serde_urlencoded::to_string(form).unwrap())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn a_key_made_with_the_auth_token_sends_and_reads_templates_until_it_is_revoked() {
    let local = start().await;
    let (status, key) = keys(
        &local,
        reqwest::Method::POST,
        ".json",
        (ACME, ACME_TOKEN),
        &[("FriendlyName", "whatsapp-channel")],
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let sid = key["sid"].as_str().unwrap().to_owned();
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert!(shared::domain::is_api_key_sid(&sid), "{sid}");
    assert_eq!(key["friendly_name"], "whatsapp-channel");

    // REST with the key alone: the auth token in the config is wrong and is not used.
    let config = with_key("not-the-token", &sid, &secret);
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(2))
        .unwrap()
        .with_content_base_url(&local.url("/sandbox"))
        .unwrap();
    let sent = client.send_message(&config, &hello()).await.unwrap();
    let listed = local.sandbox(reqwest::Method::GET, "/messages", None).await;
    let at_twilio = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["sid"] == sent.sid);
    assert_eq!(at_twilio.unwrap()["api_key_sid"], sid.as_str());
    assert_eq!(client.templates(&config).await.unwrap().len(), 3);

    // A Standard key cannot manage keys; fetching shows the key, never its secret again.
    let (status, refused) =
        keys(&local, reqwest::Method::POST, ".json", (&sid, &secret), &[]).await;
    assert_eq!((status, refused["code"].as_u64()), (401, Some(20003)));
    let (status, fetched) = keys(
        &local,
        reqwest::Method::GET,
        &format!("/{sid}.json"),
        (ACME, ACME_TOKEN),
        &[],
    )
    .await;
    assert_eq!((status, fetched["sid"].as_str()), (200, Some(sid.as_str())));
    assert!(fetched.get("secret").is_none(), "{fetched}");
    // A wrong secret is refused like a wrong token.
    let wrong = client
        .send_message(&with_key(ACME_TOKEN, &sid, "wrong-secret"), &hello())
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some(20003));

    // Revoked: refused at once, as a configuration problem (not retried as transient).
    let (status, _) = keys(
        &local,
        reqwest::Method::DELETE,
        &format!("/{sid}.json"),
        (ACME, ACME_TOKEN),
        &[],
    )
    .await;
    assert_eq!(status, 204);
    let revoked = client.send_message(&config, &hello()).await.unwrap_err();
    assert_eq!(
        (revoked.code(), revoked.kind()),
        (Some(20003), FailureKind::Configuration)
    );
    let (status, gone) = keys(
        &local,
        reqwest::Method::DELETE,
        &format!("/{sid}.json"),
        (ACME, ACME_TOKEN),
        &[],
    )
    .await;
    assert_eq!((status, gone["code"].as_u64()), (404, Some(20404)));
    let (status, long_name) = keys(
        &local,
        reqwest::Method::POST,
        ".json",
        (ACME, ACME_TOKEN),
        &[("FriendlyName", &"x".repeat(65))],
    )
    .await;
    assert_eq!((status, long_name["code"].as_u64()), (400, Some(20001)));
}

/// The organization's secret names a key: the product's sends go with it, and the
/// webhooks (signed with the auth token) still reach the conversation.
#[tokio::test]
async fn an_organization_with_a_key_sends_with_it_and_still_verifies_webhooks() {
    const KEY: &str = "SK00000000000000000000000000000a01";
    let mut seed = local::seed::Seed::default_demo().unwrap();
    let acme = seed
        .organizations
        .iter_mut()
        .find(|o| o.organization_id.as_str() == "acme")
        .unwrap();
    let twilio = acme.twilio.as_mut().unwrap();
    twilio["twilio_api_key_sid"] = json!(KEY);
    twilio["twilio_api_key_secret"] = json!("seed-key-secret");
    let local = start_with_seed(seed, &[]).await;

    let sent = local
        .send_text("acme", "c-aisha", "Sent with the key")
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let id = message_id(&sent);
    local.wait_for_status("acme", "c-aisha", &id, "READ").await;
    let listed = local.sandbox(reqwest::Method::GET, "/messages", None).await;
    let at_twilio = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"] == "Sent with the key")
        .cloned()
        .unwrap();
    assert_eq!(at_twilio["api_key_sid"], KEY);

    // A reply: signed by the sandbox with the auth token, verified, stored.
    let reply = local
        .sandbox(
            reqwest::Method::POST,
            "/reply",
            Some(json!({"from": "+60123456789", "body": "Got it", "organization_id": "acme"})),
        )
        .await;
    assert_eq!(reply.body["webhook_status"], 200, "{}", reply.body);
    let conversation = local.conversation("acme", "c-aisha", None).await;
    assert!(
        conversation["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["text"] == "Got it" && m["direction"] == "INBOUND"),
        "{conversation}"
    );
    // Nothing of the key reaches the API.
    let channel = local.get("acme", "/whatsapp/channel").await;
    let text = channel.body.to_string();
    assert!(
        !text.contains("seed-key-secret") && !text.contains(KEY),
        "{text}"
    );
}
