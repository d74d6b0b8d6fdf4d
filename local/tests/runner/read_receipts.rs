//! Read receipts and the typing indicator end to end: the page's read and typing routes,
//! Twilio's `POST /v2/Indicators/Typing.json` as the sandbox answers it (its errors
//! included), and what the contact's phone shows: blue ticks, "typing…" until a reply is
//! delivered; nothing for an organization that turns read receipts off.

use std::time::Duration;

use crate::common::{Local, message_id, start, start_with_seed};
use serde_json::{Value, json};
use shared::domain::{ChannelConfig, OrgConfig, parse_org_secret};
use shared::twilio::{TwilioClient, TwilioError, new_message_sid};

const ACME: &str = "AC00000000000000000000000000000001";
const ACME_TOKEN: &str = "sandbox-token-acme-0001";
const AISHA: &str = "+60123456789";

async fn reply(local: &Local, body: &str) -> String {
    let answer = local
        .sandbox(
            reqwest::Method::POST,
            "/reply",
            Some(json!({"from": AISHA, "body": body, "organization_id": "acme"})),
        )
        .await;
    assert_eq!(answer.body["webhook_status"], 200, "{}", answer.body);
    answer.body["message_sid"].as_str().unwrap().to_owned()
}

/// Aisha's phone, as the sandbox shows it.
async fn phone(local: &Local) -> Value {
    local
        .sandbox(
            reqwest::Method::GET,
            &format!("/phone?phone=%2B{}&organization_id=acme", &AISHA[1..]),
            None,
        )
        .await
        .body
}

fn read_ticks(phone: &Value) -> Vec<(String, bool)> {
    phone["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["body"].as_str().unwrap_or("").to_owned(),
                m["read"].as_bool().unwrap(),
            )
        })
        .collect()
}

async fn newest_inbound_id(local: &Local) -> String {
    let conversation = local.conversation("acme", "c-aisha", None).await;
    conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["direction"] == "INBOUND")
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn reading_shows_blue_ticks_and_typing_until_the_reply_is_delivered() {
    let local = start().await;
    reply(&local, "Is the shop open?").await;
    reply(&local, "Hello?").await;
    let before = phone(&local).await;
    assert_eq!(before["typing"], false);
    assert!(
        read_ticks(&before).iter().all(|(_, read)| !read),
        "{before}"
    );

    let up_to = newest_inbound_id(&local).await;
    let read = local
        .post(
            "acme",
            "/whatsapp/conversations/c-aisha/read",
            json!({ "up_to": up_to }),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let after = phone(&local).await;
    assert_eq!(after["typing"], true, "{after}");
    let ticks = read_ticks(&after);
    for body in ["Is the shop open?", "Hello?"] {
        assert!(
            ticks.contains(&(body.to_owned(), true)),
            "{body} read: {after}"
        );
    }

    // Typing straight after: the indicator is up already.
    let typing = local
        .post("acme", "/whatsapp/conversations/c-aisha/typing", json!({}))
        .await;
    assert_eq!(
        (typing.status, &typing.body),
        (200, &json!({"indicator": "not_due"}))
    );

    // The reply is delivered: WhatsApp takes "typing…" down.
    let sent = local.send_text("acme", "c-aisha", "Yes, until six").await;
    local
        .wait_for_status("acme", "c-aisha", &message_id(&sent), "DELIVERED")
        .await;
    assert_eq!(phone(&local).await["typing"], false);
}

#[tokio::test]
async fn an_organization_that_turns_read_receipts_off_shows_the_contact_nothing() {
    let mut seed = local::seed::Seed::default_demo().unwrap();
    let acme = seed
        .organizations
        .iter_mut()
        .find(|o| o.organization_id.as_str() == "acme")
        .unwrap();
    acme.twilio.as_mut().unwrap()["send_read_receipts"] = json!(false);
    let local = start_with_seed(seed, &[]).await;
    reply(&local, "Anyone?").await;
    let up_to = newest_inbound_id(&local).await;
    let read = local
        .post(
            "acme",
            "/whatsapp/conversations/c-aisha/read",
            json!({ "up_to": up_to }),
        )
        .await;
    assert_eq!(
        (read.status, read.body["unread_count"].as_u64()),
        (200, Some(0))
    );
    let typing = local
        .post("acme", "/whatsapp/conversations/c-aisha/typing", json!({}))
        .await;
    assert_eq!(typing.body, json!({"indicator": "off"}));
    let shown = phone(&local).await;
    assert_eq!(shown["typing"], false);
    assert!(read_ticks(&shown).iter().all(|(_, read)| !read), "{shown}");
}

fn acme() -> OrgConfig {
    let secret = json!({
        "twilio_account_sid": ACME,
        "twilio_auth_token": ACME_TOKEN,
        "twilio_whatsapp_from": "whatsapp:+14155238886",
        "whatsapp_enabled": true,
    });
    match parse_org_secret(&secret.to_string()) {
        ChannelConfig::Configured(c) => c,
        other => panic!("{other:?}"),
    }
}

fn code(e: TwilioError) -> (u16, Option<u32>) {
    match e {
        TwilioError::Api {
            http_status, code, ..
        } => (http_status, code),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_sandbox_answers_typing_indicators_as_twilio_documents() {
    let local = start().await;
    let inbound = reply(&local, "Hi there").await;
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(2))
        .unwrap()
        .with_messaging_base_url(&local.url("/sandbox"))
        .unwrap();
    let config = acme();
    client.typing_indicator(&config, &inbound).await.unwrap();

    // A sid the account never received: ours, an unknown one, one of its own sends.
    assert_eq!(
        code(
            client
                .typing_indicator(&config, &new_message_sid())
                .await
                .unwrap_err()
        ),
        (404, Some(20404))
    );
    let sent = local.send_text("acme", "c-aisha", "An outbound one").await;
    local
        .wait_for_status("acme", "c-aisha", &message_id(&sent), "SENT")
        .await;
    let listed = local.sandbox(reqwest::Method::GET, "/messages", None).await;
    let outbound = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"] == "An outbound one")
        .unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        code(
            client
                .typing_indicator(&config, &outbound)
                .await
                .unwrap_err()
        ),
        (404, Some(20404))
    );
    // Another account's credentials.
    let mut wrong = acme();
    wrong.auth_token = "not-the-token".to_owned().into();
    assert_eq!(
        code(client.typing_indicator(&wrong, &inbound).await.unwrap_err()),
        (401, Some(20003))
    );

    // Parameters as Twilio's OpenAPI describes them.
    let post = |form: Vec<(&'static str, String)>| {
        local
            .http
            .post(local.url("/sandbox/v2/Indicators/Typing.json"))
            .basic_auth(ACME, Some(ACME_TOKEN))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).unwrap())
            .send()
    };
    for form in [
        vec![("messageId", inbound.clone())],
        vec![
            ("messageId", inbound.clone()),
            ("channel", "rcs".to_owned()),
        ],
        vec![
            ("messageId", "SM123".to_owned()),
            ("channel", "whatsapp".to_owned()),
        ],
        vec![("channel", "whatsapp".to_owned())],
    ] {
        let answer = post(form.clone()).await.unwrap();
        assert_eq!(answer.status(), 400, "{form:?}");
        let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
        assert_eq!(body["code"], 20001, "{form:?}: {body}");
    }
    let ok = post(vec![
        ("messageId", inbound.clone()),
        ("channel", "whatsapp".to_owned()),
    ])
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = serde_json::from_slice(&ok.bytes().await.unwrap()).unwrap();
    assert_eq!(body, json!({"success": true}));
}
