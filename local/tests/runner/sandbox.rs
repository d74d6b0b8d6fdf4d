//! The sandbox answers the Messages API like Twilio; the real Twilio client is tested
//! against it.

use std::time::Duration;

use crate::common::start;
use reqwest::Method;
use serde_json::json;
use shared::domain::{ChannelConfig, PhoneNumber, parse_org_secret};
use shared::twilio::{FailureKind, OutboundContent, OutboundMessage, TwilioClient};

fn config(token: &str) -> shared::domain::OrgConfig {
    let secret = json!({
        "twilio_account_sid": "AC00000000000000000000000000000001",
        "twilio_auth_token": token,
        "twilio_whatsapp_from": "whatsapp:+14155238886",
        "whatsapp_enabled": true,
    });
    match parse_org_secret(&secret.to_string()) {
        ChannelConfig::Configured(c) => c,
        other => panic!("{other:?}"),
    }
}

fn long_ago() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::days(1)
}

fn text(to: &str, body: &str) -> OutboundMessage {
    OutboundMessage {
        to: PhoneNumber::parse_e164(to).unwrap(),
        content: OutboundContent::FreeForm {
            body: Some(body.into()),
            media_url: None,
        },
        status_callback: None,
    }
}

#[tokio::test]
async fn the_twilio_client_sends_and_reads_twilio_errors() {
    let local = start().await;
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(2)).unwrap();
    let sent = client
        .send_message(
            &config("sandbox-token-acme-0001"),
            &text("+60123456789", "hi"),
        )
        .await
        .unwrap();
    assert!(sent.sid.starts_with("SM") && sent.sid.len() == 34);
    assert_eq!(sent.status, "queued");

    let wrong = client
        .send_message(&config("wrong-token"), &text("+60123456789", "hi"))
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), Some(20003));
    assert_eq!(wrong.kind(), FailureKind::Configuration);

    let mut other_sender = config("sandbox-token-acme-0001");
    other_sender.whatsapp_from = Some(PhoneNumber::parse_e164("+6591234567").unwrap());
    let unknown_sender = client
        .send_message(&other_sender, &text("+60123456789", "hi"))
        .await
        .unwrap_err();
    assert_eq!(unknown_sender.code(), Some(63007));
    assert_eq!(unknown_sender.kind(), FailureKind::Configuration);

    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "server_error", "times": 1})),
        )
        .await;
    let e = client
        .send_message(
            &config("sandbox-token-acme-0001"),
            &text("+60123456789", "hi"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), FailureKind::Transient);
}

#[tokio::test]
async fn the_messages_api_validates_like_twilio() {
    let local = start().await;
    let url =
        local.url("/sandbox/2010-04-01/Accounts/AC00000000000000000000000000000001/Messages.json");
    let post = |form: &'static str| {
        local
            .http
            .post(&url)
            .basic_auth(
                "AC00000000000000000000000000000001",
                Some("sandbox-token-acme-0001"),
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
    };
    for (form, status, code) in [
        (
            "From=whatsapp%3A%2B14155238886&To=whatsapp%3A%2B60123456789",
            400,
            21619,
        ),
        (
            "From=whatsapp%3A%2B14155238886&To=whatsapp%3A123&Body=x",
            400,
            21211,
        ),
        ("From=whatsapp%3A%2B14155238886&Body=x", 400, 21604),
        ("To=whatsapp%3A%2B60123456789&Body=x", 400, 21603),
    ] {
        let response = post(form).await.unwrap();
        assert_eq!(response.status(), status, "{form}");
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body["code"], code, "{form}");
        assert_eq!(body["status"], status);
        assert!(
            body["more_info"]
                .as_str()
                .unwrap()
                .ends_with(&code.to_string())
        );
    }
    let unknown =
        local
            .http
            .post(local.url(
                "/sandbox/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn fault_and_reply_requests_are_validated() {
    let local = start().await;
    for body in [
        json!({"mode": "explode"}),
        json!({"mode": "error_code"}),
        json!({"mode": "server_error", "to": "0123"}),
        json!({"mode": "server_error", "times": 0}),
    ] {
        let r = local
            .sandbox(Method::POST, "/faults", Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}");
    }
    for body in [
        json!({"from": "+60123456789"}),
        json!({"from": "0123", "body": "hi", "organization_id": "acme"}),
        json!({"from": "+60123456789", "body": "hi", "organization_id": "globex"}),
        json!({"from": "+60123456789", "body": "hi", "organization_id": "acme", "deliveries": 0}),
        json!({"from": "+60123456789", "body": "hi", "organization_id": "acme", "deliveries": 6}),
    ] {
        let r = local
            .sandbox(Method::POST, "/reply", Some(body.clone()))
            .await;
        assert_eq!(r.status, 400, "{body}");
    }
    let r = local.sandbox(Method::DELETE, "/faults", None).await;
    assert_eq!(r.status, 204);
}

#[tokio::test]
async fn media_credentials_go_only_to_the_twilio_api_origin() {
    let local = start().await;
    let reply = local
        .sandbox(
            Method::POST,
            "/reply",
            Some(json!({"organization_id": "acme", "from": "+6591234567", "media": "image"})),
        )
        .await;
    assert_eq!(reply.status, 200);
    let sent = local
        .sandbox(Method::GET, "/messages?to=%2B14155238886", None)
        .await;
    let media_url = sent.body[0]["media_url"][0].as_str().unwrap().to_owned();

    // The configured Twilio API: credentials on the first hop, none after the redirect (the
    // sandbox's CDN refuses credentials). The sandbox on loopback is allowed as the runner
    // allows it.
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(2))
        .unwrap()
        .with_media_policy(
            local
                .running
                .settings
                .media_policy()
                .with_local_sandbox(&local.url("/sandbox")),
        );
    let (bytes, content_type) = client
        .fetch_media(&config("sandbox-token-acme-0001"), &media_url)
        .await
        .unwrap();
    assert_eq!(bytes, local::sandbox::SAMPLE_PHOTO);
    assert_eq!(content_type, "image/jpeg");

    // A client whose Twilio API is elsewhere does not fetch from this host at all.
    let elsewhere = TwilioClient::new("https://api.twilio.com", Duration::from_secs(2)).unwrap();
    let e = elsewhere
        .fetch_media(&config("sandbox-token-acme-0001"), &media_url)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        shared::twilio::TwilioError::MediaRefused(shared::twilio::MediaRefusal::NotAccountMedia)
    );
}

/// Reconciling a send reads Twilio's Messages list: newest first, only this sender to this
/// contact, behind the account's credentials; and a broken-off answer reads as such.
#[tokio::test]
async fn the_twilio_client_reads_back_what_was_sent() {
    let local = start().await;
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(2)).unwrap();
    let acme = config("sandbox-token-acme-0001");
    for body in ["first", "second"] {
        client
            .send_message(&acme, &text("+60123456789", body))
            .await
            .unwrap();
    }
    client
        .send_message(&acme, &text("+6591234567", "to someone else"))
        .await
        .unwrap();
    let aisha = PhoneNumber::parse_e164("+60123456789").unwrap();
    let listed = client
        .recent_messages(&acme, &aisha, long_ago())
        .await
        .unwrap();
    let bodies: Vec<_> = listed.iter().map(|m| m.body.clone().unwrap()).collect();
    assert_eq!(bodies, ["second", "first"]);
    assert!(
        listed
            .iter()
            .all(|m| m.created_at().is_some() && m.media_count() == 0)
    );
    let refused = client
        .recent_messages(&config("wrong-token"), &aisha, long_ago())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(20003));

    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "accept_then_drop", "times": 1})),
        )
        .await;
    let dropped = client
        .send_message(&acme, &text("+60123456789", "third"))
        .await
        .unwrap_err();
    assert!(
        matches!(dropped, shared::twilio::TwilioError::ConnectionLost(_)),
        "{dropped:?}"
    );
    assert!(dropped.outcome_unknown());
    let listed = client
        .recent_messages(&acme, &aisha, long_ago())
        .await
        .unwrap();
    assert_eq!(listed[0].body.as_deref(), Some("third"), "Twilio has it");

    // A 502 from Twilio's edge after the message was created: an unknown outcome.
    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "accept_then_server_error", "times": 1})),
        )
        .await;
    let edge = client
        .send_message(&acme, &text("+60123456789", "fourth"))
        .await
        .unwrap_err();
    assert_eq!(edge.http_status(), Some(502));
    assert!(edge.outcome_unknown());
    let listed = client
        .recent_messages(&acme, &aisha, long_ago())
        .await
        .unwrap();
    assert_eq!(listed[0].body.as_deref(), Some("fourth"), "Twilio has it");

    // The list itself can be down for a number; sends to it are not affected.
    local
        .sandbox(
            Method::POST,
            "/faults",
            Some(json!({"mode": "list_unavailable", "to": "+60123456789", "times": 1})),
        )
        .await;
    client
        .send_message(&acme, &text("+60123456789", "fifth"))
        .await
        .unwrap();
    let down = client
        .recent_messages(&acme, &aisha, long_ago())
        .await
        .unwrap_err();
    assert_eq!(down.http_status(), Some(503));
    assert_eq!(
        client
            .recent_messages(&acme, &aisha, long_ago())
            .await
            .unwrap()[0]
            .body
            .as_deref(),
        Some("fifth")
    );

    // One message by sid (Twilio's Message resource), with its time.
    let one = client.message(&acme, &listed[0].sid).await.unwrap();
    assert_eq!(
        (one.sid.as_str(), one.body.as_deref()),
        (listed[0].sid.as_str(), Some("fourth"))
    );
    assert!(one.created_at().is_some());
    let missing = client
        .message(&acme, "SM00000000000000000000000000000000")
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some(20404));
    assert_eq!(
        client
            .message(&config("wrong-token"), &listed[0].sid)
            .await
            .unwrap_err()
            .code(),
        Some(20003)
    );
}

/// A busy conversation: the list is read page after page until it reaches back far enough,
/// and no further.
#[tokio::test]
async fn the_twilio_client_reads_the_list_back_far_enough() {
    let local = start().await;
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(5)).unwrap();
    let acme = config("sandbox-token-acme-0001");
    let aisha = PhoneNumber::parse_e164("+60123456789").unwrap();
    let before = chrono::Utc::now() - chrono::Duration::seconds(2);
    for i in 0..120 {
        client
            .send_message(&acme, &text("+60123456789", &format!("busy {i}")))
            .await
            .unwrap();
    }
    // Everything is newer than `before`: every page is read, 120 messages, newest first.
    let listed = client.recent_messages(&acme, &aisha, before).await.unwrap();
    assert_eq!(listed.len(), 120);
    assert_eq!(listed[0].body.as_deref(), Some("busy 119"));
    assert_eq!(listed[119].body.as_deref(), Some("busy 0"));
    // Reaching back to a time the first page already passes reads one page only.
    let listed = client
        .recent_messages(
            &acme,
            &aisha,
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), shared::twilio::RECONCILE_PAGE_SIZE as usize);
}

/// Twilio may deliver a webhook more than once, after the first answer or at the same time:
/// the message is stored once either way.
#[tokio::test]
async fn a_webhook_delivered_several_times_is_stored_once() {
    let local = start().await;
    for (body, at_once) in [("Delivered three times", false), ("Three at once", true)] {
        let r = local
            .sandbox(
                Method::POST,
                "/reply",
                Some(json!({
                    "from": "+60123456789", "body": body, "organization_id": "acme",
                    "deliveries": 3, "at_once": at_once,
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.body["webhook_status"], 200);
        let conversation = local.conversation("acme", "c-aisha", None).await;
        let stored = conversation["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["text"] == body)
            .count();
        assert_eq!(stored, 1, "{body}");
    }
}

/// The Content API of the sandbox pages like Twilio's, and the client reads every page with
/// the account's credentials, keeping only approved templates.
#[tokio::test]
async fn the_twilio_client_reads_every_page_of_templates() {
    let local = start().await;
    let client = TwilioClient::new(&local.url("/sandbox"), Duration::from_secs(2))
        .unwrap()
        .with_content_base_url(&local.url("/sandbox"))
        .unwrap()
        .with_content_page_size(2);
    let acme = config("sandbox-token-acme-0001");
    let mut names: Vec<String> = client
        .templates(&acme)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["appointment_reminder", "invoice_ready", "order_shipped"]
    );
    let refused = client.templates(&config("wrong-token")).await.unwrap_err();
    assert_eq!(refused.code(), Some(20003));

    // Twilio's paging: five templates in pages of two, the next page by URL and token.
    let page = |query: &str| {
        let url = local.url(&format!("/sandbox/v1/ContentAndApprovals{query}"));
        let http = local.http.clone();
        async move {
            let r = http
                .get(url)
                .basic_auth(
                    "AC00000000000000000000000000000001",
                    Some("sandbox-token-acme-0001"),
                )
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let bytes = r.bytes().await.unwrap();
            (
                status,
                serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default(),
            )
        }
    };
    let (status, first) = page("?PageSize=2").await;
    assert_eq!(status, 200);
    assert_eq!(first["contents"].as_array().unwrap().len(), 2);
    let next = first["meta"]["next_page_url"].as_str().unwrap().to_owned();
    assert!(next.ends_with("PageSize=2&Page=1&PageToken=PT1"), "{next}");
    let (_, last) = page("?PageSize=2&Page=2&PageToken=PT2").await;
    assert_eq!(last["contents"].as_array().unwrap().len(), 1);
    assert!(last["meta"]["next_page_url"].is_null());
    for bad in [
        "?PageSize=0",
        "?PageSize=1001",
        "?Page=1",
        "?Page=1&PageToken=PT9",
    ] {
        assert_eq!(page(bad).await.0, 400, "{bad}");
    }
}

/// The sandbox delivers like WhatsApp: free-form outside the window is accepted by the API
/// and then fails with 63016; a template needs its variables (21656) and a known sid (21655).
#[tokio::test]
async fn the_sandbox_enforces_the_window_and_template_rules() {
    let local = start().await;
    let client = shared::twilio::TwilioClient::new(
        &local.url("/sandbox"),
        std::time::Duration::from_secs(2),
    )
    .unwrap();
    let config = config("sandbox-token-acme-0001");
    let dev = shared::domain::PhoneNumber::parse_e164("+14155550123").unwrap();
    let send = |content| shared::twilio::OutboundMessage {
        to: dev.clone(),
        content,
        status_callback: None,
    };
    let free_form = client
        .send_message(&config, &text("+14155550123", "hello?"))
        .await
        .unwrap();
    // Accepted; WhatsApp then refuses it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let listed = local
            .sandbox(Method::GET, "/messages?to=%2B14155550123", None)
            .await;
        let m = listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["sid"] == free_form.sid)
            .cloned()
            .unwrap();
        if m["status"] == "failed" {
            assert_eq!(m["error_code"], 63016);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{m}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let template = |sid: &str, variables: Option<&str>| {
        send(shared::twilio::OutboundContent::Template {
            content_sid: sid.into(),
            content_variables: variables.map(str::to_owned),
        })
    };
    for (message, code) in [
        (template("HX0000000000000000000000000000dead", None), 21655),
        (template("HXnot-a-sid", None), 21655),
        (
            template("HX1a2b3c4d5e6f708192a3b4c5d6e7f801", Some(r#"{"1":"Dev"}"#)),
            21656,
        ),
        (
            template("HX1a2b3c4d5e6f708192a3b4c5d6e7f801", Some("not json")),
            21656,
        ),
        (
            template(
                "HX1a2b3c4d5e6f708192a3b4c5d6e7f801",
                Some(r#"{"1":"","2":"a","3":"b"}"#),
            ),
            21656,
        ),
    ] {
        let e = client.send_message(&config, &message).await.unwrap_err();
        assert_eq!(e.code(), Some(code), "{message:?}");
    }
}
