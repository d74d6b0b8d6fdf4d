//! The whole text conversation through the local runner, over HTTP, as a user and Twilio
//! would drive it: the same handlers as on Lambda, the in-process worker, the sandbox.

use crate::common::{Local, message_id, start, start_with};
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

/// A WhatsApp user writing under a username with their number withheld, end to end: the
/// sandbox posts the user id as `From`; kept but hidden until the CRM records that id on a
/// contact, then in that contact's conversation. The CRM's write is refused without a demo
/// token, or for a body that is no contact.
#[tokio::test]
async fn a_username_user_reaches_the_contact_the_crm_gave_their_user_id() {
    let local = start().await;
    let user = json!({"user_id": "US.13491208655302741918", "username": "eve.writes", "hide_number": true});
    let first = local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+60123456783", "body": "Hi, it's Eve", "organization_id": "acme", "user": user})),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["webhook_status"], 200);
    let wrote = local
        .put_contact(
            "acme",
            "c-eve",
            json!({"name": "Eve Tan", "whatsapp_opt_in": true, "whatsapp_user_id": "US.13491208655302741918"}),
        )
        .await;
    assert_eq!(wrote.status, 204, "{}", wrote.body);
    let before = local.conversation("acme", "c-eve", None).await;
    assert_eq!(
        before["messages"],
        json!([]),
        "the first message came from an unknown sender"
    );
    local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+60123456783", "body": "Me again", "organization_id": "acme", "user": user})),
        )
        .await;
    let after = local.conversation("acme", "c-eve", None).await;
    let messages = after["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "Me again");
    assert_eq!(messages[0]["details"]["user"]["username"], "eve.writes");
    assert_eq!(after["contact"]["eligible"], false);
    let refused = local.send_text("acme", "c-eve", "Hello Eve").await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["error"]["code"], "username_only");

    let no_token = reqwest::Client::new()
        .put(local.url("/local/contacts/c-x"))
        .header("content-type", "application/json")
        .body(r#"{"name":"X"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status().as_u16(), 401);
    let not_a_contact = local.put_contact("acme", "c-x", json!({"name": 42})).await;
    assert_eq!(not_a_contact.status, 400);
    let bad_user = local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+60123456783", "body": "x", "organization_id": "acme", "user": {"user_id": "nope"}})),
        )
        .await;
    assert_eq!(bad_user.status, 400);
}

/// The CRM deletes a contact: its messages and files go, its number writes as an unknown
/// sender afterwards, and a contact written again under the same id starts with nothing.
#[tokio::test]
async fn a_contact_deleted_in_the_crm_takes_its_conversation_with_it() {
    let local = start().await;
    let sent = message_id(&local.send_text("acme", "c-ben", "Your order shipped").await);
    local.wait_for_status("acme", "c-ben", &sent, "READ").await;
    let reply = local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"organization_id": "acme", "from": "+6591234567", "media": "image"})),
        )
        .await;
    assert_eq!(reply.body["webhook_status"], 200, "{}", reply.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let file = loop {
        let messages = local.conversation("acme", "c-ben", None).await["messages"].clone();
        if let Some(url) =
            messages.as_array().unwrap().last().unwrap()["attachments"][0]["url"].as_str()
        {
            break url.to_owned();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "media never copied: {messages}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(local.http.get(&file).send().await.unwrap().status(), 200);
    let aisha_before = local.conversation("acme", "c-aisha", None).await["messages"].clone();

    let anonymous = reqwest::Client::new()
        .delete(local.url("/local/contacts/c-ben"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let deleted = local.delete_contact("acme", "c-ben").await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    // The worker erases the conversation: the copied file is the last thing to check.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while local.http.get(&file).send().await.unwrap().status() != 404 {
        assert!(
            std::time::Instant::now() < deadline,
            "the file outlived its contact"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let gone = local
        .get("acme", "/whatsapp/messages?contact_id=c-ben")
        .await;
    assert_eq!(gone.status, 404, "{}", gone.body);
    // The number is nobody's now: a message from it is kept as an unknown sender's.
    let later = local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"from": "+6591234567", "body": "Hello?", "organization_id": "acme"})),
        )
        .await;
    assert_eq!(later.body["webhook_status"], 200, "{}", later.body);
    let restored = local
        .put_contact(
            "acme",
            "c-ben",
            json!({"name": "Ben Ong", "phone_number": "+6591234567", "whatsapp_opt_in": true}),
        )
        .await;
    assert_eq!(restored.status, 204, "{}", restored.body);
    assert_eq!(
        local.conversation("acme", "c-ben", None).await["messages"],
        json!([]),
        "nothing of the deleted contact came back"
    );
    assert_eq!(
        local.conversation("acme", "c-aisha", None).await["messages"],
        aisha_before,
        "another contact's conversation is untouched"
    );
}

/// A sandbox fault (Twilio misbehaving as it does) and how the send ends, end to end over
/// HTTP: the API, the in-process worker with its retries, the sandbox and its callbacks.
struct FaultCase {
    name: &'static str,
    fault: serde_json::Value,
    contact: &'static str,
    /// The contact's number, URL-encoded for `/sandbox/messages?to=`.
    to: &'static str,
    settings: &'static [(&'static str, &'static str)],
    status: &'static str,
    reason: Reason,
    /// How many messages the sandbox accepted for the contact, where it is certain.
    accepted: Option<usize>,
    /// A fault for a number of messages is used up by the end.
    used_up: bool,
}

enum Reason {
    None,
    Exactly(&'static str),
    EndsWith(&'static str),
}

fn fault_cases() -> Vec<FaultCase> {
    vec![
        FaultCase {
            name: "two server errors are retried and the message is still sent, once",
            fault: json!({"mode": "server_error", "times": 2}),
            contact: "c-carla",
            to: "%2B447911123456",
            settings: &[],
            status: "READ",
            reason: Reason::None,
            accepted: Some(1),
            used_up: true,
        },
        FaultCase {
            name: "a timeout Twilio never accepted is looked up, then sent once",
            fault: json!({"mode": "timeout", "times": 1, "to": "+60123456789"}),
            contact: "c-aisha",
            to: "%2B60123456789",
            settings: &[],
            status: "READ",
            reason: Reason::None,
            accepted: Some(1),
            used_up: true,
        },
        FaultCase {
            name: "accepted, but the answer came after the timeout: found at Twilio, not resent",
            fault: json!({"mode": "accept_then_timeout", "times": 1}),
            contact: "c-aisha",
            to: "%2B60123456789",
            settings: &[],
            status: "READ",
            reason: Reason::None,
            accepted: Some(1),
            used_up: true,
        },
        FaultCase {
            name: "accepted, then the connection dropped: found at Twilio, not resent",
            fault: json!({"mode": "accept_then_drop", "times": 1}),
            contact: "c-carla",
            to: "%2B447911123456",
            settings: &[],
            status: "READ",
            reason: Reason::None,
            accepted: Some(1),
            used_up: true,
        },
        FaultCase {
            name: "status callbacks twice each, read first: the message still ends READ",
            fault: json!({"mode": "shuffled_callbacks", "times": 1}),
            contact: "c-carla",
            to: "%2B447911123456",
            settings: &[],
            status: "READ",
            reason: Reason::None,
            accepted: Some(1),
            used_up: true,
        },
        FaultCase {
            name: "rate limiting that never ends fails after the last attempt",
            fault: json!({"mode": "rate_limited"}),
            contact: "c-aisha",
            to: "%2B60123456789",
            settings: &[("SEND_MAX_ATTEMPTS", "3")],
            status: "FAILED",
            reason: Reason::Exactly(
                "Failed to send via WhatsApp: Too Many Requests (Twilio error 20429) (gave up after 3 attempts)",
            ),
            accepted: Some(0),
            used_up: false,
        },
        FaultCase {
            name: "a permanent error fails at once with Twilio's reason",
            fault: json!({"mode": "error_code", "code": 21211, "to": "+60123456789"}),
            contact: "c-aisha",
            to: "%2B60123456789",
            settings: &[],
            status: "FAILED",
            reason: Reason::Exactly(
                "Failed to send via WhatsApp: Invalid 'To' phone number (Twilio error 21211). It was not sent again; Twilio explains error 21211 at https://www.twilio.com/docs/api/errors/21211.",
            ),
            accepted: Some(0),
            used_up: false,
        },
        FaultCase {
            name: "rejected credentials fail with the admin message",
            fault: json!({"mode": "bad_credentials"}),
            contact: "c-aisha",
            to: "%2B60123456789",
            settings: &[],
            status: "FAILED",
            reason: Reason::Exactly(
                "Invalid WhatsApp configuration for your organization. Please contact admin.",
            ),
            accepted: Some(0),
            used_up: false,
        },
        FaultCase {
            name: "an undelivered callback fails the message without passing DELIVERED",
            fault: json!({"mode": "undelivered", "code": 63003}),
            contact: "c-aisha",
            to: "%2B60123456789",
            settings: &[],
            status: "FAILED",
            reason: Reason::EndsWith(
                "(Twilio error 63003). Reach the contact another way, or correct the number in the CRM; sending to this number again fails the same way.",
            ),
            accepted: Some(1),
            used_up: false,
        },
        FaultCase {
            name: "WhatsApp's 63016 (window closed) reads as the window sentence with the template hint",
            fault: json!({"mode": "undelivered", "code": 63016}),
            contact: "c-aisha",
            to: "%2B60123456789",
            settings: &[],
            status: "FAILED",
            reason: Reason::Exactly(
                "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.",
            ),
            accepted: Some(1),
            used_up: false,
        },
    ]
}

async fn run_fault_case(case: FaultCase) {
    let name = case.name;
    let local = start_with(case.settings).await;
    let armed = local
        .sandbox(Method::POST, "/faults", Some(case.fault.clone()))
        .await;
    assert_eq!(armed.status, 201, "{name}");
    let id = message_id(&local.send_text("acme", case.contact, name).await);
    let seen = local
        .wait_for_status("acme", case.contact, &id, case.status)
        .await;
    if case.status == "FAILED" {
        assert!(!seen.contains(&"DELIVERED".to_owned()), "{name}: {seen:?}");
    }
    let m = &local.conversation("acme", case.contact, None).await["messages"][0];
    let reason = m["error_reason"].as_str();
    match case.reason {
        Reason::None => assert_eq!(reason, None, "{name}"),
        Reason::Exactly(text) => assert_eq!(reason, Some(text), "{name}"),
        Reason::EndsWith(text) => {
            assert!(
                reason.is_some_and(|r| r.ends_with(text)),
                "{name}: {reason:?}"
            )
        }
    }
    if let Some(accepted) = case.accepted {
        let received = local
            .sandbox(Method::GET, &format!("/messages?to={}", case.to), None)
            .await;
        assert_eq!(received.body.as_array().unwrap().len(), accepted, "{name}");
    }
    if case.used_up {
        let faults = local.sandbox(Method::GET, "/faults", None).await;
        assert_eq!(faults.body, json!([]), "{name}");
    }
    // A fault aimed at one number leaves the others alone.
    if case.fault.get("to").is_some() {
        let other = message_id(&local.send_text("acme", "c-ben", "Hello").await);
        local.wait_for_status("acme", "c-ben", &other, "READ").await;
    }
}

#[tokio::test]
async fn sandbox_faults_end_each_send_as_twilio_would() {
    // Each case on its own runner (faults are per runner), all at once.
    let runs: Vec<_> = fault_cases()
        .into_iter()
        .map(|case| tokio::spawn(run_fault_case(case)))
        .collect();
    for run in runs {
        if let Err(e) = run.await {
            std::panic::resume_unwind(e.into_panic());
        }
    }
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

/// The contact update of a STOP fails once (a throttled store): the webhook answers 503 and
/// only Twilio's retry can apply it. With the documented connection overrides Twilio (the
/// sandbox) retries and the STOP sticks; without them it does not retry, as Twilio doesn't.
#[tokio::test]
async fn a_stop_whose_store_write_failed_sticks_only_with_the_connection_overrides() {
    for (overrides, retried) in [(None, true), (Some(""), false)] {
        let local = start().await;
        arm_store_fault(
            &local,
            json!({"store": "contacts", "operation": "update", "times": 1}),
        )
        .await;
        let mut reply = json!({"from": "+6591234567", "body": "STOP", "organization_id": "acme"});
        if let Some(fragment) = overrides {
            reply["overrides"] = json!(fragment);
        }
        let delivered = local.sandbox(Method::POST, "/reply", Some(reply)).await;
        let listed = names(&local.get("acme", "/whatsapp/contacts").await.body);
        // The contact's phone (the sandbox panel) shows a message Twilio gave up on as lost.
        assert_eq!(ben_message_lost(&local).await, !retried);
        if retried {
            assert_eq!(
                delivered.body["webhook_status"], 200,
                "the retry got through"
            );
            assert!(!listed.contains(&"Ben Ong".to_owned()), "the STOP stuck");
        } else {
            assert_eq!(delivered.body["webhook_status"], 503, "no retry of a 5xx");
            assert!(listed.contains(&"Ben Ong".to_owned()), "the STOP was lost");
        }
    }
}

/// Twilio makes every attempt within the fragment's total time `tt`: a store that fails
/// twice is got through by the third attempt, unless `tt` ends before it would start.
#[tokio::test]
async fn the_sandbox_makes_every_attempt_within_the_total_time() {
    for (fragment, delivered) in [
        ("rc=3&rp=5xx&rt=2000", true),
        ("rc=3&rp=5xx&rt=2000&tt=300", false),
    ] {
        let local = start().await;
        arm_store_fault(
            &local,
            json!({"store": "messages", "operation": "insert_inbound", "times": 2}),
        )
        .await;
        let reply = json!({"from": "+6591234567", "body": "Hello?", "organization_id": "acme",
                           "overrides": fragment});
        let answer = local.sandbox(Method::POST, "/reply", Some(reply)).await;
        let expected = if delivered { 200 } else { 503 };
        assert_eq!(answer.body["webhook_status"], expected, "{fragment}");
        assert_eq!(ben_message_lost(&local).await, !delivered, "{fragment}");
    }
}

/// Arms a store fault of the runner (`POST /local/store-faults`).
async fn arm_store_fault(local: &Local, fault: serde_json::Value) {
    let armed = local
        .http
        .post(local.url("/local/store-faults"))
        .header("content-type", "application/json")
        .body(fault.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), 204);
}

/// Whether Ben's phone (the sandbox panel) shows his last message as lost: every attempt at
/// its webhook failed.
async fn ben_message_lost(local: &Local) -> bool {
    let phone = local
        .sandbox(
            Method::GET,
            "/phone?phone=%2B6591234567&organization_id=acme",
            None,
        )
        .await;
    phone.body["messages"][0]["lost"].as_bool().unwrap()
}

#[tokio::test]
async fn store_faults_are_refused_unless_well_formed() {
    let local = start().await;
    for bad in [
        json!({"store": "ledger", "operation": "update", "times": 1}),
        json!({"store": "contacts", "operation": "drop_table", "times": 1}),
        json!({"store": "contacts", "operation": "update"}),
    ] {
        let r = local
            .http
            .post(local.url("/local/store-faults"))
            .header("content-type", "application/json")
            .body(bad.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
}

/// The organization's approved templates come from the sandbox's Content API through the
/// API; the organization without WhatsApp gets the configuration sentence.
#[tokio::test]
async fn the_api_lists_the_approved_templates_of_the_seed() {
    let local = start().await;
    let r = local.get("acme", "/whatsapp/templates").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let names: Vec<&str> = r.body["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["appointment_reminder", "invoice_ready", "order_shipped"]
    );
    let reminder = &r.body["templates"][0];
    assert_eq!(reminder["content_type"], "twilio/quick-reply");
    assert_eq!(reminder["actions"][1]["title"], "Please reschedule");
    assert_eq!(reminder["variables"]["2"], "Tuesday 10:00");
    // Twilio's variables may be named: the seed's reminder greets by `{{first_name}}`.
    assert_eq!(reminder["variables"]["first_name"], "Aisha");
    let found = local.get("acme", "/whatsapp/templates?q=invoice").await;
    assert_eq!(
        found.body["templates"][0]["media"][0],
        "https://example.com/invoices/sample-invoice.pdf"
    );
    let globex = local.get("globex", "/whatsapp/templates").await;
    assert_eq!(globex.status, 409);

    // The seed's pending and rejected templates cannot be sent.
    for (sid, name) in [
        ("HX1a2b3c4d5e6f708192a3b4c5d6e7f804", "pending"),
        ("HX1a2b3c4d5e6f708192a3b4c5d6e7f805", "rejected"),
    ] {
        let refused = local
            .post(
                "acme",
                "/whatsapp/messages",
                json!({"contact_id": "c-dev", "template": {"content_sid": sid, "variables": {"1": "Dev"}}}),
            )
            .await;
        assert_eq!(refused.status, 422, "{name}");
        assert_eq!(
            refused.body["error"]["code"], "template_not_found",
            "{name}"
        );
    }
}

/// Dev Patel last wrote 30 hours ago: free-form is refused with the template hint, and an
/// approved template with its variable filled in goes out and is read — in the same
/// conversation, as what he received.
#[tokio::test]
async fn a_template_reaches_the_contact_outside_the_window() {
    let local = start().await;
    let refused = local
        .send_text("acme", "c-dev", "Are you still interested?")
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["error"]["code"], "outside_24h_window");

    let sent = local
        .post(
            "acme",
            "/whatsapp/messages",
            json!({"contact_id": "c-dev", "template": {
                "content_sid": "HX1a2b3c4d5e6f708192a3b4c5d6e7f801",
                "variables": {"1": "Dev", "2": "#2231", "3": "Monday"},
            }}),
        )
        .await;
    let id = message_id(&sent);
    assert_eq!(
        sent.body["messages"][0]["text"],
        "Hi Dev, your order #2231 has shipped and should arrive on Monday."
    );
    local.wait_for_status("acme", "c-dev", &id, "READ").await;
    let at_twilio = local
        .sandbox(Method::GET, "/messages?to=%2B14155550123", None)
        .await;
    let bodies: Vec<&str> = at_twilio
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["body"].as_str())
        .collect();
    assert_eq!(
        bodies,
        ["Hi Dev, your order #2231 has shipped and should arrive on Monday."]
    );
    let conversation = local.conversation("acme", "c-dev", None).await;
    let last = conversation["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["template"]["name"], "order_shipped");
    assert_eq!(last["status"], "READ");
}
