//! The whole text conversation through the local runner, over HTTP, as a user and Twilio
//! would drive it: the same handlers as on Lambda, the in-process worker, the sandbox.

use crate::common::{message_id, start, start_with};
use reqwest::Method;
use serde_json::json;

fn names(body: &serde_json::Value) -> Vec<String> {
    body["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_message_reaches_delivered_then_read() {
    let local = start().await;
    let id = message_id(
        &local
            .send_text("acme", "c-aisha", "Your order has shipped")
            .await,
    );
    let seen = local.wait_for_status("acme", "c-aisha", &id, "READ").await;
    assert!(seen.contains(&"DELIVERED".to_owned()), "{seen:?}");
    let conversation = local.conversation("acme", "c-aisha", None).await;
    let m = &conversation["messages"][0];
    assert!(m["twilio_message_sid"].as_str().unwrap().starts_with("SM"));

    // What Twilio received: the WhatsApp addresses and the text.
    let sandbox = local
        .sandbox(Method::GET, "/messages?to=%2B60123456789", None)
        .await;
    let sent = &sandbox.body[0];
    assert_eq!(sent["to"], "whatsapp:+60123456789");
    assert_eq!(sent["from"], "whatsapp:+14155238886");
    assert_eq!(sent["body"], "Your order has shipped");
    assert_eq!(sent["status"], "read");
}

#[tokio::test]
async fn a_reply_shows_up_when_polling_after_the_cursor() {
    let local = start().await;
    let first = local.conversation("acme", "c-ben", None).await;
    let cursor = first["next_after"].as_str().unwrap().to_owned();
    let empty = local.conversation("acme", "c-ben", Some(&cursor)).await;
    assert_eq!(empty["messages"], json!([]));

    let reply = local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+6591234567", "body": "Is it in stock?", "organization_id": "acme"})),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["webhook_status"], 200);

    let poll = local.conversation("acme", "c-ben", Some(&cursor)).await;
    let messages = poll["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["direction"], "INBOUND");
    assert_eq!(messages[0]["status"], "RECEIVED");
    assert_eq!(messages[0]["text"], "Is it in stock?");
    let next = poll["next_after"].as_str().unwrap();
    assert_eq!(
        local.conversation("acme", "c-ben", Some(next)).await["messages"],
        json!([])
    );
}

#[tokio::test]
async fn stop_takes_the_contact_off_the_list_and_start_brings_it_back() {
    let local = start().await;
    let before = local.get("acme", "/whatsapp/contacts").await;
    assert!(names(&before.body).contains(&"Ben Ong".to_owned()));

    local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+6591234567", "body": "STOP", "organization_id": "acme"})),
        )
        .await;
    let after = local.get("acme", "/whatsapp/contacts").await;
    assert!(!names(&after.body).contains(&"Ben Ong".to_owned()));
    let refused = local.send_text("acme", "c-ben", "Are you there?").await;
    assert_eq!(refused.status, 422);
    assert_eq!(
        refused.body["error"]["message"],
        "Contact has not opted in to WhatsApp."
    );

    local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+6591234567", "body": "start", "organization_id": "acme"})),
        )
        .await;
    assert!(
        names(&local.get("acme", "/whatsapp/contacts").await.body).contains(&"Ben Ong".to_owned())
    );
}

#[tokio::test]
async fn two_server_errors_are_retried_and_the_message_is_still_sent() {
    let local = start().await;
    let fault = local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "server_error", "times": 2})),
        )
        .await;
    assert_eq!(fault.status, 201);
    let id = message_id(&local.send_text("acme", "c-carla", "Retry me").await);
    local.wait_for_status("acme", "c-carla", &id, "READ").await;
    let delivered = local
        .sandbox(Method::GET, "/messages?to=%2B447911123456", None)
        .await;
    assert_eq!(
        delivered.body.as_array().unwrap().len(),
        1,
        "sent exactly once"
    );
    assert_eq!(
        local.sandbox(Method::GET, "/faults", None).await.body,
        json!([])
    );
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let local = start().await;
    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "timeout", "times": 1, "to": "+60123456789"})),
        )
        .await;
    let id = message_id(&local.send_text("acme", "c-aisha", "Slow network").await);
    local.wait_for_status("acme", "c-aisha", &id, "READ").await;
}

#[tokio::test]
async fn rate_limiting_that_never_ends_fails_after_the_last_attempt() {
    let local = start_with(&[("SEND_MAX_ATTEMPTS", "3")]).await;
    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "rate_limited"})),
        )
        .await;
    let id = message_id(&local.send_text("acme", "c-aisha", "Busy").await);
    local
        .wait_for_status("acme", "c-aisha", &id, "FAILED")
        .await;
    let m = &local.conversation("acme", "c-aisha", None).await["messages"][0];
    assert_eq!(
        m["error_reason"],
        "Failed to send via WhatsApp: Too Many Requests (Twilio error 20429) (gave up after 3 attempts)"
    );
}

#[tokio::test]
async fn a_permanent_error_fails_at_once_with_twilios_reason() {
    let local = start().await;
    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "error_code", "code": 21211, "to": "+60123456789"})),
        )
        .await;
    let id = message_id(&local.send_text("acme", "c-aisha", "Hello").await);
    local
        .wait_for_status("acme", "c-aisha", &id, "FAILED")
        .await;
    let m = &local.conversation("acme", "c-aisha", None).await["messages"][0];
    assert_eq!(
        m["error_reason"],
        "Failed to send via WhatsApp: Invalid 'To' phone number (Twilio error 21211)"
    );
    // Other recipients are unaffected.
    let ok = message_id(&local.send_text("acme", "c-ben", "Hello").await);
    local.wait_for_status("acme", "c-ben", &ok, "READ").await;
}

#[tokio::test]
async fn rejected_credentials_fail_with_the_admin_message() {
    let local = start().await;
    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "bad_credentials"})),
        )
        .await;
    let id = message_id(&local.send_text("acme", "c-aisha", "Hello").await);
    local
        .wait_for_status("acme", "c-aisha", &id, "FAILED")
        .await;
    let m = &local.conversation("acme", "c-aisha", None).await["messages"][0];
    assert_eq!(
        m["error_reason"],
        "Invalid WhatsApp configuration for your organization. Please contact admin."
    );
}

#[tokio::test]
async fn an_undelivered_callback_fails_the_message() {
    let local = start().await;
    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "undelivered", "code": 63016})),
        )
        .await;
    let id = message_id(&local.send_text("acme", "c-aisha", "Hello").await);
    let seen = local
        .wait_for_status("acme", "c-aisha", &id, "FAILED")
        .await;
    assert!(!seen.contains(&"DELIVERED".to_owned()));
    let m = &local.conversation("acme", "c-aisha", None).await["messages"][0];
    assert!(
        m["error_reason"]
            .as_str()
            .unwrap()
            .contains("(Twilio error 63016)")
    );
}

#[tokio::test]
async fn the_unconfigured_organization_is_told_so() {
    let local = start().await;
    let channel = local.get("globex", "/whatsapp/channel").await;
    assert_eq!(channel.body["enabled"], false);
    assert_eq!(
        channel.body["reason"],
        "WhatsApp is not configured for this organization."
    );
    let send = local.send_text("globex", "g-hana", "Hello").await;
    assert_eq!(send.status, 409);
    assert_eq!(
        send.body["error"]["message"],
        "WhatsApp is not configured for this organization."
    );
}

#[tokio::test]
async fn organizations_never_see_each_other() {
    let local = start().await;
    let r = local
        .get("acme", "/whatsapp/messages?contact_id=g-hana")
        .await;
    assert_eq!(r.status, 404);
    let r = local.send_text("globex", "c-aisha", "Hello").await;
    assert!(r.status == 404 || r.status == 409, "{}", r.status);
    let contacts = local.get("globex", "/whatsapp/contacts").await;
    assert_eq!(names(&contacts.body), ["Hana Suzuki"]);
}

#[tokio::test]
async fn the_seeded_edge_cases_behave() {
    let local = start().await;
    let contacts = names(&local.get("acme", "/whatsapp/contacts").await.body);
    assert_eq!(
        contacts,
        ["Aisha Rahman", "Ben Ong", "Carla Mendes", "Dev Patel"]
    );
    for (contact, message) in [
        ("c-elena", "Contact has not opted in to WhatsApp."),
        ("c-farid", "Contact has no valid phone number."),
        (
            "c-dev",
            "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.",
        ),
    ] {
        let r = local.send_text("acme", contact, "Hello").await;
        assert_eq!(r.status, 422, "{contact}");
        assert_eq!(r.body["error"]["message"], message, "{contact}");
    }
    let dev = local.conversation("acme", "c-dev", None).await;
    assert_eq!(dev["window"]["open"], false);
}
