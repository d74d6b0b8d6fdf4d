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

#[tokio::test]
async fn stores_an_inbound_message_and_opens_the_window() {
    let w = webhook().await;
    let r = w
        .handle(inbound_event(&inbound_params(
            SID1,
            "+60123456789",
            "Hello there!",
        )))
        .await;
    assert_eq!(r.status_code, 200);
    assert_eq!(r.headers.get("content-type").unwrap(), "text/xml");
    let messages = conversation(&w).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.status, MessageStatus::Received);
    assert_eq!(m.text.as_deref(), Some("Hello there!"));
    assert_eq!(m.twilio_message_sid.as_deref(), Some(SID1));
    let c = aisha(&w).await;
    assert!(c.last_inbound_at.unwrap() > hours_ago(1));
    assert!(
        w.ports.messages.all(&org("org-b")).is_empty(),
        "the other org's contact is untouched"
    );
}

#[tokio::test]
async fn a_repeated_message_sid_is_stored_once() {
    let w = webhook().await;
    for _ in 0..3 {
        let r = w
            .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
            .await;
        assert_eq!(r.status_code, 200);
    }
    assert_eq!(w.ports.messages.all(&org("org-a")).len(), 1);
    // The inbox counts it once too.
    let summary = w
        .ports
        .messages
        .summary(&org("org-a"), &aisha(&w).await.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.unread(), 1);
}

#[tokio::test]
async fn an_unknown_number_is_kept_without_a_contact_and_not_shown() {
    let w = webhook().await;
    let r = w
        .handle(inbound_event(&inbound_params(
            SID1,
            "+447911123456",
            "Who is this?",
        )))
        .await;
    assert_eq!(r.status_code, 200);
    let all = w.ports.messages.all(&org("org-a"));
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].contact_id, None);
    assert_eq!(all[0].contact_phone.as_deref(), Some("+447911123456"));
    assert!(conversation(&w).await.is_empty());
}

/// A WhatsApp user who adopted a username writes with a `From` that is no number (a
/// business-scoped user id) and no phone: kept once like any unknown sender, with who wrote;
/// matched to the contact whose CRM record carries that id, where it opens the window and a
/// STOP counts. Twilio does not retry a 4xx: refusing it would lose the message.
#[tokio::test]
async fn a_whatsapp_user_writing_under_a_username_is_kept_and_matched_by_user_id() {
    const BSUID: &str = "US.13491208655302741918";
    let username = |sid: &str, body: &str| {
        let mut params = from_username(inbound_params(sid, "+60123456789", body), BSUID);
        params.extend(pairs(&[
            ("ParentExternalUserId", "US.ENT.11815799212886844830"),
            ("ProfileUsername", "aisha.r"),
        ]));
        params
    };
    // No contact carries the id: kept, hidden, with who wrote; a repeat stores nothing.
    let w = webhook().await;
    let params = username(SID1, "Hello from my username");
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    let all = w.ports.messages.all(&org("org-a"));
    assert_eq!(all.len(), 1, "stored once");
    assert_eq!(
        (all[0].contact_id.as_ref(), all[0].contact_phone.as_ref()),
        (None, None)
    );
    let user = all[0]
        .details
        .as_ref()
        .and_then(|d| d.user.clone())
        .unwrap();
    assert_eq!(user.user_id, BSUID);
    assert_eq!(
        user.parent_user_id.as_deref(),
        Some("US.ENT.11815799212886844830")
    );
    assert_eq!(user.username.as_deref(), Some("aisha.r"));
    assert_eq!(user.profile_name.as_deref(), Some("Aisha"));
    assert!(
        all[0]
            .details
            .as_ref()
            .unwrap()
            .params
            .iter()
            .any(|(k, v)| k == "From" && v.ends_with(BSUID)),
        "every parameter kept"
    );
    assert!(conversation(&w).await.is_empty());

    // The CRM records the id on the contact: the next message is in its conversation.
    let w = webhook().await;
    let mut aisha = aisha(&w).await;
    aisha.whatsapp_user_id = Some(BSUID.into());
    aisha.phone_number = None;
    w.ports.contacts.put(&aisha).await.unwrap();
    assert_eq!(
        w.handle(inbound_event(&username(SID1, "It's me")))
            .await
            .status_code,
        200
    );
    let thread = conversation(&w).await;
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0].text.as_deref(), Some("It's me"));
    let after = w
        .ports
        .contacts
        .get(&org("org-a"), &aisha.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.last_inbound_at > aisha.last_inbound_at,
        "the window opened"
    );
    // Without a number there is nowhere to reply: the reason says so.
    assert_eq!(
        after.eligibility().unwrap_err().to_string(),
        shared::domain::sentences::USERNAME_ONLY
    );
    assert_eq!(
        w.handle(inbound_event(&username(SID2, "STOP")))
            .await
            .status_code,
        200
    );
    assert!(
        !w.ports
            .contacts
            .get(&org("org-a"), &aisha.contact_id)
            .await
            .unwrap()
            .unwrap()
            .whatsapp_opt_in
    );

    // A number and a user id: the number decides, the id is recorded.
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "Both");
    params.push(("ExternalUserId".into(), BSUID.into()));
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    let thread = conversation(&w).await;
    assert_eq!(thread.len(), 1);
    assert_eq!(
        thread[0]
            .details
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .user_id,
        BSUID
    );

    // A `From` that is neither a number nor a user id is still refused.
    let mut params = inbound_params(SID3, "+60123456789", "?");
    for (k, v) in &mut params {
        if k == "From" {
            *v = "whatsapp:not-a-user".into();
        }
    }
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 400);
}

/// Under the organization's retention, an inbound message expires that many days after it
/// arrived (its store deletes it, and reads leave it out after that).
#[tokio::test]
async fn an_inbound_message_expires_under_the_organizations_retention() {
    let w = webhook().await;
    w.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)
            .replace('}', r#","message_retention_days":30}"#),
    );
    let r = w
        .handle(inbound_event(&inbound_params(
            SID1,
            "+60123456789",
            "Hello",
        )))
        .await;
    assert_eq!(r.status_code, 200);
    let m = &conversation(&w).await[0];
    assert_eq!(
        m.expires_at,
        Some(m.created_at + chrono::Duration::days(30))
    );
}

#[tokio::test]
async fn stop_opts_out_and_start_opts_back_in() {
    let w = webhook().await;
    w.handle(inbound_event(&inbound_params(
        SID1,
        "+60123456789",
        " stop ",
    )))
    .await;
    let c = aisha(&w).await;
    assert!(!c.whatsapp_opt_in);
    let eligible = w
        .ports
        .contacts
        .list_eligible(&org("org-a"), None, None, 10)
        .await
        .unwrap();
    assert!(eligible.items.is_empty());

    w.handle(inbound_event(&inbound_params(
        SID2,
        "+60123456789",
        "START",
    )))
    .await;
    assert!(aisha(&w).await.whatsapp_opt_in);
    assert_eq!(conversation(&w).await.len(), 2, "keywords are messages too");
}

#[tokio::test]
async fn twilios_opt_out_type_is_honoured() {
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "Arrêter");
    params.push(("OptOutType".into(), "STOP".into()));
    w.handle(inbound_event(&params)).await;
    assert!(!aisha(&w).await.whatsapp_opt_in);
}

#[tokio::test]
async fn bad_or_missing_signatures_are_403_and_store_nothing() {
    let w = webhook().await;
    let params = inbound_params(SID1, "+60123456789", "Hi");
    let wrong_token = event_signed_for("org-a", false, "", &params, "not-the-token", None);
    assert_eq!(w.handle(wrong_token).await.status_code, 403);

    let mut missing = inbound_event(&params);
    missing.headers.remove("x-twilio-signature");
    let r = w.handle(missing).await;
    assert_eq!(r.status_code, 403);
    assert_eq!(error_code(&r), "forbidden");

    let mut tampered = inbound_event(&params);
    let body = serde_urlencoded::to_string(inbound_params(SID1, "+60123456789", "Hi!!")).unwrap();
    tampered.body = Some(base64_encode(body.as_bytes()));
    assert_eq!(w.handle(tampered).await.status_code, 403);

    assert!(w.ports.messages.all(&org("org-a")).is_empty());
    assert!(aisha(&w).await.last_inbound_at.unwrap() < hours_ago(47));
}

/// A flood of requests that cannot be Twilio's — no signature, one of the wrong shape, no or
/// a malformed AccountSid, a garbage body — costs no secret read at all.
#[tokio::test]
async fn requests_that_cannot_be_twilios_cost_no_secret_read() {
    let w = webhook().await;
    let params = inbound_params(SID1, "+60123456789", "Hi");
    let without_account: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "AccountSid")
        .cloned()
        .collect();
    let mut bad_account = params.clone();
    for (k, v) in bad_account.iter_mut() {
        if k == "AccountSid" {
            *v = "AC-not-a-sid".into();
        }
    }
    let mut flood = vec![];
    for i in 0..50 {
        // Made-up organization ids as well as the real one.
        let org_id = if i % 2 == 0 {
            "org-a".to_owned()
        } else {
            format!("org-{i}")
        };
        let mut missing = event_signed_for(&org_id, false, "", &params, AUTH_TOKEN, None);
        missing.headers.remove("x-twilio-signature");
        flood.push((missing, 403));
        for bad in [
            "",
            "abc",
            "not base64 at all!!!!!!!!!!!",
            &base64_encode(&[7; 32]),
        ] {
            let mut e = event_signed_for(&org_id, i % 3 == 0, "", &params, AUTH_TOKEN, None);
            e.headers.insert("x-twilio-signature", bad.parse().unwrap());
            flood.push((e, 403));
        }
        flood.push((
            event_signed_for(&org_id, false, "", &without_account, AUTH_TOKEN, None),
            403,
        ));
        flood.push((
            event_signed_for(&org_id, true, "", &bad_account, AUTH_TOKEN, None),
            403,
        ));
        let mut garbage = event_signed_for(&org_id, false, "", &params, AUTH_TOKEN, None);
        garbage.body = Some("%zz=%&&=".into());
        garbage.is_base64_encoded = false;
        flood.push((garbage, 403));
    }
    for (event, status) in flood {
        assert_eq!(w.handle(event).await.status_code, status);
    }
    assert_eq!(w.ports.credentials.reads(), 0, "no secret was read");
    assert!(w.ports.messages.all(&org("org-a")).is_empty());

    // A request of the right shape is checked against the secret: one read, and one more
    // since neither token signed it (a token promoted meanwhile would be in the new one).
    let wrong_token = event_signed_for("org-a", false, "", &params, "not-the-token", None);
    assert_eq!(w.handle(wrong_token).await.status_code, 403);
    assert_eq!(w.ports.credentials.reads(), 2);
}

/// Rotating the auth token: Twilio signs with the promoted token before the secret (or
/// this warm process's cache of it) names it. Nothing is refused on the way, and forged
/// webhooks cost at most one extra secret read per period.
#[tokio::test]
async fn a_rotated_auth_token_loses_no_webhook() {
    let w = webhook().await;
    let credentials = shared::memory::MemoryCredentials::cached();
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    let w = TwilioWebhook::at(w.ports.with_credentials(credentials), None);
    let send = |sid: &str, token: &str| {
        event_signed_for(
            "org-a",
            false,
            "",
            &inbound_params(sid, "+60123456789", "Hi"),
            token,
            None,
        )
    };
    assert_eq!(w.handle(send(SID1, AUTH_TOKEN)).await.status_code, 200);
    assert_eq!(w.ports.credentials.reads(), 1);

    // Step 1: the new token as secondary; step 2: promoted in Twilio's console, so Twilio
    // signs with it while this process still has the old secret cached.
    let promoted = "promoted-token-0123456789abcdef";
    w.ports.credentials.put_secret(
        &org("org-a"),
        format!(
            r#"{{"twilio_account_sid":"{ACCOUNT_SID}","twilio_auth_token":"{AUTH_TOKEN}","twilio_auth_token_secondary":"{promoted}","twilio_whatsapp_from":"{SENDER}","whatsapp_enabled":true}}"#
        ),
    );
    let sid2 = "SM22222222222222222222222222222222";
    assert_eq!(w.handle(send(sid2, promoted)).await.status_code, 200);
    assert_eq!(w.ports.credentials.reads(), 2, "read again once");
    // Both tokens now sign, without another read.
    let sid3 = "SM33333333333333333333333333333333";
    let sid4 = "SM44444444444444444444444444444444";
    assert_eq!(w.handle(send(sid3, AUTH_TOKEN)).await.status_code, 200);
    assert_eq!(w.handle(send(sid4, promoted)).await.status_code, 200);
    assert_eq!(w.ports.credentials.reads(), 2);
    assert_eq!(conversation(&w).await.len(), 4, "nothing lost");

    // 100 forged webhooks: refused, and at most one extra read.
    for i in 0..100 {
        let sid = format!("SM{i:032x}");
        assert_eq!(w.handle(send(&sid, "forged-token")).await.status_code, 403);
    }
    assert!(
        w.ports.credentials.reads() <= 3,
        "{}",
        w.ports.credentials.reads()
    );
    assert_eq!(conversation(&w).await.len(), 4);
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn signatures_over_the_url_with_the_default_port_are_accepted() {
    let w = webhook().await;
    let params = inbound_params(SID1, "+60123456789", "Hi");
    let url = format!("https://{DOMAIN}:443/webhook/twilio/whatsapp/org-a");
    let event = event_signed_for("org-a", false, "", &params, AUTH_TOKEN, Some(&url));
    assert_eq!(w.handle(event).await.status_code, 200);
}

/// Twilio may sign the configured URL with its connection-override fragment or without it
/// (its documentation does not say); both are accepted, another fragment is not.
#[tokio::test]
async fn signatures_over_the_configured_url_with_or_without_its_fragment_are_accepted() {
    let w = webhook().await;
    let url = format!("https://{DOMAIN}/webhook/twilio/whatsapp/org-a");
    let configured = format!("{url}#{}", shared::twilio::RECOMMENDED_OVERRIDES);
    let cases = [
        (SID1, configured.clone(), 200),
        (SID2, url.clone(), 200),
        (SID3, format!("{url}#rc=5&rp=all"), 403),
    ];
    for (sid, signed, status) in cases {
        let params = inbound_params(sid, "+60123456789", "Hi");
        let event = event_signed_for("org-a", false, "", &params, AUTH_TOKEN, Some(&signed));
        assert_eq!(w.handle(event).await.status_code, status, "{signed}");
    }
    assert_eq!(conversation(&w).await.len(), 2);
}

#[tokio::test]
async fn the_public_base_url_setting_is_what_gets_signed() {
    let mut w = webhook().await;
    w.public_base_url = Some("https://hooks.example.com".into());
    let params = inbound_params(SID1, "+60123456789", "Hi");
    let default = inbound_event(&params);
    assert_eq!(w.handle(default).await.status_code, 403);
    let url = "https://hooks.example.com/webhook/twilio/whatsapp/org-a";
    let event = event_signed_for("org-a", false, "", &params, AUTH_TOKEN, Some(url));
    assert_eq!(w.handle(event).await.status_code, 200);
}

/// A custom domain whose API mapping has a path (`hooks.example.com/whatsapp` → the API):
/// API Gateway's rawPath carries the mapping key, and so does PUBLIC_BASE_URL. The signed URL
/// has it once.
#[tokio::test]
async fn a_custom_domain_mapping_path_is_signed_once() {
    let mut w = webhook().await;
    w.public_base_url = Some("https://hooks.example.com/whatsapp".into());
    let params = inbound_params(SID1, "+60123456789", "Hi");
    let url = "https://hooks.example.com/whatsapp/webhook/twilio/whatsapp/org-a";
    for raw_path in [
        "/whatsapp/webhook/twilio/whatsapp/org-a",
        "/webhook/twilio/whatsapp/org-a",
    ] {
        let mut event = event_signed_for("org-a", false, "", &params, AUTH_TOKEN, Some(url));
        event.raw_path = Some(raw_path.into());
        event.request_context.domain_name = Some("hooks.example.com".into());
        assert_eq!(w.handle(event).await.status_code, 200, "{raw_path}");
    }
    let m = outbound(&w).await;
    let status_url = format!(
        "https://hooks.example.com/whatsapp/webhook/twilio/whatsapp/org-a/status?message_id={}",
        m.id
    );
    let params = status_params("SM00000000000000000000000000000abc", "sent", None);
    let mut event = event_signed_for(
        "org-a",
        true,
        &format!("message_id={}", m.id),
        &params,
        AUTH_TOKEN,
        Some(&status_url),
    );
    event.raw_path = Some("/whatsapp/webhook/twilio/whatsapp/org-a/status".into());
    assert_eq!(w.handle(event).await.status_code, 200);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Sent);
}

#[tokio::test]
async fn another_account_or_sender_is_403() {
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "Hi");
    for (k, v) in params.iter_mut() {
        if k == "AccountSid" {
            *v = "ACffffffffffffffffffffffffffffffff".into();
        }
    }
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 403);
    let mut params = inbound_params(SID1, "+60123456789", "Hi");
    for (k, v) in params.iter_mut() {
        if k == "To" {
            *v = "whatsapp:+6591234567".into();
        }
    }
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 403);
    assert!(w.ports.messages.all(&org("org-a")).is_empty());
}

/// An organization on a Messaging Service hears every sender of its pool (Twilio names the
/// service); a sender of another service, or none, is still refused.
#[tokio::test]
async fn inbound_to_any_sender_of_the_organizations_messaging_service_is_its_own() {
    const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";
    let w = webhook().await;
    w.ports.credentials.put_secret(
        &org("org-a"),
        serde_json::json!({
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": AUTH_TOKEN,
            "twilio_messaging_service_sid": SERVICE,
            "whatsapp_enabled": true,
        })
        .to_string(),
    );
    let to_pool_sender = |sid: &str, service: Option<&str>| {
        let mut params = inbound_params(sid, "+60123456789", "Hi from the pool");
        for (k, v) in params.iter_mut() {
            if k == "To" {
                *v = "whatsapp:+447911123456".into();
            }
        }
        if let Some(service) = service {
            params.push(("MessagingServiceSid".into(), service.into()));
        }
        params
    };
    for refused in [None, Some("MG0123456789abcdef0123456789abcdee")] {
        let r = w
            .handle(inbound_event(&to_pool_sender(SID1, refused)))
            .await;
        assert_eq!(r.status_code, 403, "{refused:?}");
    }
    assert!(w.ports.messages.all(&org("org-a")).is_empty());
    let r = w
        .handle(inbound_event(&to_pool_sender(SID1, Some(SERVICE))))
        .await;
    assert_eq!(r.status_code, 200);
    let stored = w.ports.messages.all(&org("org-a"));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].text.as_deref(), Some("Hi from the pool"));
    assert_eq!(
        stored[0].contact_id.as_ref().map(ContactId::as_str),
        Some("c1")
    );
}

#[tokio::test]
async fn unknown_or_unconfigured_organizations_are_404() {
    let w = webhook().await;
    let params = inbound_params(SID1, "+60123456789", "Hi");
    for org_id in ["org-b", "org-zzz"] {
        let r = w
            .handle(event_signed_for(
                org_id, false, "", &params, AUTH_TOKEN, None,
            ))
            .await;
        assert_eq!(r.status_code, 404, "{org_id}");
    }
    assert!(w.ports.messages.all(&org("org-b")).is_empty());
}

#[tokio::test]
async fn a_form_without_message_sid_is_400() {
    let w = webhook().await;
    let params: Vec<(String, String)> = inbound_params(SID1, "+60123456789", "Hi")
        .into_iter()
        .filter(|(k, _)| k != "MessageSid")
        .collect();
    let r = w.handle(inbound_event(&params)).await;
    assert_eq!(r.status_code, 400);
    assert!(w.ports.messages.all(&org("org-a")).is_empty());
}

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

/// Status callbacks as Twilio delivers them — in order, out of order, twice, failing — and
/// where the message ends: each `(MessageStatus, ErrorCode)` posted in turn, every one answered
/// 200.
struct StatusCase {
    name: &'static str,
    callbacks: &'static [(&'static str, Option<&'static str>)],
    status: MessageStatus,
    error_reason: Option<&'static str>,
    unsubscribes: bool,
}

const STATUS_CASES: &[StatusCase] = &[
    StatusCase {
        name: "in order",
        callbacks: &[("sent", None), ("delivered", None), ("read", None)],
        status: MessageStatus::Read,
        error_reason: None,
        unsubscribes: false,
    },
    StatusCase {
        name: "out of order and repeated: a late delivered never replaces read",
        callbacks: &[
            ("sent", None),
            ("read", None),
            ("delivered", None),
            ("sent", None),
            ("queued", None),
        ],
        status: MessageStatus::Read,
        error_reason: None,
        unsubscribes: false,
    },
    StatusCase {
        name: "undelivered records Twilio's error",
        callbacks: &[("sent", None), ("undelivered", Some("63003"))],
        status: MessageStatus::Failed,
        error_reason: Some(
            "Failed to send via WhatsApp: This number has no WhatsApp account (Twilio error 63003). Reach the contact another way, or correct the number in the CRM; sending to this number again fails the same way.",
        ),
        unsubscribes: false,
    },
    StatusCase {
        name: "63016 (free-form outside the window) reads as the window sentence",
        callbacks: &[("failed", Some("63016"))],
        status: MessageStatus::Failed,
        error_reason: Some(
            "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.",
        ),
        unsubscribes: false,
    },
    StatusCase {
        name: "failed 21610 marks the contact unsubscribed",
        callbacks: &[("failed", Some("21610"))],
        status: MessageStatus::Failed,
        error_reason: Some(
            "Failed to send via WhatsApp: The contact opted out by replying STOP (Twilio error 21610). Nothing reaches them until they write to you again (or reply START).",
        ),
        unsubscribes: true,
    },
    StatusCase {
        name: "a failure after delivery is too late to count",
        callbacks: &[("delivered", None), ("failed", Some("30003"))],
        status: MessageStatus::Delivered,
        error_reason: None,
        unsubscribes: false,
    },
];

#[tokio::test]
async fn status_callbacks_move_the_message_forward_only() {
    // Every case for a free-form message and for one sent from a template: the callbacks of
    // a template message move it the same way and leave what it records alone.
    let template = shared::domain::SentTemplate {
        content_sid: "HX00000000000000000000000000000001".into(),
        name: "order_shipped".into(),
        variables: [("1".to_owned(), "Aisha".to_owned())].into(),
    };
    for (case, kind) in STATUS_CASES
        .iter()
        .flat_map(|c| [(c, None), (c, Some(template.clone()))])
    {
        let name = format!(
            "{} ({})",
            case.name,
            if kind.is_some() {
                "template"
            } else {
                "free-form"
            }
        );
        let w = webhook().await;
        let m = outbound_as(&w, kind.clone()).await;
        for (status, code) in case.callbacks {
            assert_eq!(
                callback(&w, &m, SID1, status, *code).await,
                200,
                "{name}: {status}"
            );
        }
        let after = reload(&w, &m).await;
        assert_eq!(after.template, kind, "{name}");
        assert_eq!(after.text, m.text, "{name}");
        assert_eq!(after.status, case.status, "{name}");
        assert_eq!(after.error_reason.as_deref(), case.error_reason, "{name}");
        assert_eq!(after.twilio_message_sid.as_deref(), Some(SID1), "{name}");
        assert_eq!(
            aisha(&w).await.whatsapp_unsubscribed,
            case.unsubscribes,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_callback_that_overtakes_the_worker_is_not_lost() {
    let w = webhook().await;
    let m = outbound(&w).await;
    // Twilio's `delivered` arrives before the worker recorded SENT and the sid.
    assert_eq!(callback(&w, &m, SID1, "delivered", None).await, 200);
    let now = reload(&w, &m).await;
    assert_eq!(now.status, MessageStatus::Delivered);
    // The worker's own SENT then only records nothing new.
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(SID1.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Delivered);
}

/// Callbacks belong to the message holding their sid: a look-alike that adopted the sid
/// while reconciling gets them, not the message the URL names; a named message that holds no
/// sid yet takes the callback's.
#[tokio::test]
async fn a_callback_goes_to_the_message_holding_its_sid() {
    let w = webhook().await;
    let named = outbound(&w).await;
    let look_alike = outbound(&w).await;
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), SID1, &look_alike.id)
            .await
            .unwrap()
    );
    assert_eq!(callback(&w, &named, SID1, "delivered", None).await, 200);
    assert_eq!(reload(&w, &named).await.status, MessageStatus::Pending);
    let adopted = reload(&w, &look_alike).await;
    assert_eq!(
        (adopted.status, adopted.twilio_message_sid.as_deref()),
        (MessageStatus::Delivered, Some(SID1))
    );
    assert_eq!(callback(&w, &named, SID2, "sent", None).await, 200);
    let own = reload(&w, &named).await;
    assert_eq!(
        (own.status, own.twilio_message_sid.as_deref()),
        (MessageStatus::Sent, Some(SID2))
    );
    assert!(
        !w.ports
            .messages
            .hold_sid(&org("org-a"), SID2, &look_alike.id)
            .await
            .unwrap(),
        "the callback made the named message hold its sid"
    );
}

/// Look-alikes that adopted each other's Twilio messages: the named message holds the
/// look-alike's sid, so the callback of its own post is the look-alike's to adopt. Answered
/// 503 (Twilio retries) and held by no one until the look-alike holds it; then it lands there.
#[tokio::test]
async fn a_callback_for_a_sid_the_named_message_cannot_hold_waits_for_its_look_alike() {
    let w = webhook().await;
    let named = outbound(&w).await;
    let look_alike = outbound(&w).await;
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), SID2, &named.id)
            .await
            .unwrap()
    );
    assert_eq!(callback(&w, &named, SID1, "delivered", None).await, 503);
    assert_eq!(
        w.ports
            .messages
            .find_by_sid(&org("org-a"), SID1)
            .await
            .unwrap(),
        None,
        "held by no one"
    );
    assert_eq!(reload(&w, &named).await.status, MessageStatus::Pending);
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), SID1, &look_alike.id)
            .await
            .unwrap()
    );
    assert_eq!(callback(&w, &named, SID1, "delivered", None).await, 200);
    let adopted = reload(&w, &look_alike).await;
    assert_eq!(
        (adopted.status, adopted.twilio_message_sid.as_deref()),
        (MessageStatus::Delivered, Some(SID1))
    );
    assert_eq!(reload(&w, &named).await.status, MessageStatus::Pending);
}

/// A message whose send Twilio could not confirm is settled by Twilio's later callback: it
/// did go out, and the page stops saying it is being confirmed.
#[tokio::test]
async fn a_callback_settles_an_unconfirmed_message() {
    let w = webhook().await;
    let m = outbound(&w).await;
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange::unconfirmed("Not confirmed by Twilio yet: x"),
        )
        .await
        .unwrap();
    assert_eq!(callback(&w, &m, SID1, "delivered", None).await, 200);
    let settled = reload(&w, &m).await;
    assert_eq!(
        (
            settled.status,
            settled.error_reason,
            settled.twilio_message_sid.as_deref()
        ),
        (MessageStatus::Delivered, None, Some(SID1))
    );
    assert_eq!(callback(&w, &m, SID1, "read", None).await, 200);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Read);
}

#[tokio::test]
async fn callbacks_find_messages_by_sid_without_a_message_id() {
    let w = webhook().await;
    let m = outbound(&w).await;
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(SID1.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let event = event_signed_for(
        "org-a",
        true,
        "",
        &status_params(SID1, "delivered", None),
        AUTH_TOKEN,
        None,
    );
    assert_eq!(w.handle(event).await.status_code, 200);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Delivered);
    // A message id that does not match the sid is not trusted over the sid.
    let other = outbound(&w).await;
    let query = format!("message_id={}", other.id);
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &other.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(SID2.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let event = event_signed_for(
        "org-a",
        true,
        &query,
        &status_params(SID1, "read", None),
        AUTH_TOKEN,
        None,
    );
    w.handle(event).await;
    assert_eq!(reload(&w, &other).await.status, MessageStatus::Sent);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Read);
}

#[tokio::test]
async fn status_callbacks_are_signature_checked_too() {
    let w = webhook().await;
    let m = outbound(&w).await;
    let query = format!("message_id={}", m.id);
    let event = event_signed_for(
        "org-a",
        true,
        &query,
        &status_params(SID1, "delivered", None),
        "wrong",
        None,
    );
    assert_eq!(w.handle(event).await.status_code, 403);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Pending);
}

#[tokio::test]
async fn recorded_events_are_understood() {
    let w = webhook().await;
    let event: ApiGatewayV2httpRequest =
        serde_json::from_str(include_str!("../../../events/twilio-webhook-inbound.json")).unwrap();
    let r = w.handle(event).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let messages = conversation(&w).await;
    assert_eq!(messages.len(), 1);

    let m = outbound(&w).await;
    let mut event: ApiGatewayV2httpRequest =
        serde_json::from_str(include_str!("../../../events/twilio-webhook-status.json")).unwrap();
    // The recorded callback names a message by sid only.
    let sid = "SM0123456789abcdef0123456789abcdef";
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(sid.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    event.headers.remove("x-amzn-trace-id");
    assert_eq!(w.handle(event).await.status_code, 200);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Delivered);
}

#[tokio::test]
async fn inbound_media_is_kept_and_its_copy_queued_off_the_critical_path() {
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "");
    for (k, v) in params.iter_mut() {
        if k == "NumMedia" {
            *v = "1".into();
        }
    }
    params.push((
        "MediaUrl0".into(),
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1".into(),
    ));
    params.push(("MediaContentType0".into(), "image/jpeg".into()));
    let r = w.handle(inbound_event(&params)).await;
    assert_eq!(r.status_code, 200);
    let m = &conversation(&w).await[0];
    assert_eq!(m.message_type, MessageType::Image);
    assert_eq!(m.text, None);
    assert_eq!(m.attachments[0].content_type, "image/jpeg");
    assert_eq!(m.attachments[0].key, None, "not copied yet");
    let jobs = w.ports.queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert!(matches!(jobs[0].0, shared::domain::WorkerJob::CopyMedia(_)));
    assert_eq!(jobs[0].0.message_id(), Some(&m.id));
}

// ---------- every effect exactly once, whatever fails in between ----------

/// A step after the message was stored fails: the answer is 503, and Twilio's retry
/// (connection overrides `rc`/`rp`) applies what was missing, once.
struct HalfwayCase {
    name: &'static str,
    /// Which in-memory store operation fails, once.
    store: &'static str,
    operation: &'static str,
    body: &'static str,
    media: bool,
}

const HALFWAY_CASES: &[HalfwayCase] = &[
    HalfwayCase {
        name: "the contact update of a STOP",
        store: "contacts",
        operation: "update",
        body: "STOP",
        media: false,
    },
    HalfwayCase {
        name: "the contact update of a reply (its 24-hour window)",
        store: "contacts",
        operation: "update",
        body: "Thanks!",
        media: false,
    },
    HalfwayCase {
        name: "queueing the media copy",
        store: "queue",
        operation: "enqueue",
        body: "",
        media: true,
    },
    HalfwayCase {
        name: "recording that the effects are done",
        store: "messages",
        operation: "inbound_effects_done",
        body: "STOP",
        media: true,
    },
];

fn with_photo(mut params: Vec<(String, String)>) -> Vec<(String, String)> {
    params.retain(|(k, _)| k != "NumMedia");
    params.extend(pairs(&[
        ("NumMedia", "1"),
        ("MediaContentType0", "image/jpeg"),
        (
            "MediaUrl0",
            "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1/Media/ME1",
        ),
    ]));
    params
}

#[tokio::test]
async fn a_step_that_fails_halfway_is_applied_by_twilios_retry() {
    for case in HALFWAY_CASES {
        let name = case.name;
        let w = webhook().await;
        let faults = match case.store {
            "contacts" => &w.ports.contacts.faults,
            "queue" => &w.ports.queue.faults,
            _ => &w.ports.messages.faults,
        };
        faults.fail_next(case.operation, 1);
        let mut params = inbound_params(SID1, "+60123456789", case.body);
        if case.media {
            params = with_photo(params);
        }
        let first = w.handle(inbound_event(&params)).await;
        assert_eq!(first.status_code, 503, "{name}: Twilio must retry");
        let retry = w.handle(inbound_event(&params)).await;
        assert_eq!(retry.status_code, 200, "{name}");
        // And once more, as Twilio may: nothing changes any more.
        let again = w.handle(inbound_event(&params)).await;
        assert_eq!(again.status_code, 200, "{name}");

        assert_eq!(
            w.ports.messages.all(&org("org-a")).len(),
            1,
            "{name}: stored once"
        );
        let c = aisha(&w).await;
        let summary = w.ports.messages.summary(&org("org-a"), &c.contact_id).await;
        assert_eq!(
            summary.unwrap().map(|s| s.unread()),
            Some(1),
            "{name}: counted once"
        );
        assert!(
            c.last_inbound_at.unwrap() > hours_ago(1),
            "{name}: window opened"
        );
        assert_eq!(
            c.whatsapp_opt_in,
            case.body != "STOP",
            "{name}: opt-out applied"
        );
        let copies = w
            .ports
            .queue
            .jobs()
            .into_iter()
            .filter(|(job, _)| matches!(job, shared::domain::WorkerJob::CopyMedia(_)))
            .count();
        assert!(
            if case.media { copies >= 1 } else { copies == 0 },
            "{name}: {copies} media copy jobs"
        );
    }
}

#[tokio::test]
async fn a_retried_stop_never_undoes_the_start_that_followed_it() {
    let w = webhook().await;
    w.ports.contacts.faults.fail_next("update", 1);
    let stop = inbound_params(SID1, "+60123456789", "STOP");
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 503);
    let start = inbound_params(SID2, "+60123456789", "START");
    assert_eq!(w.handle(inbound_event(&start)).await.status_code, 200);
    assert!(aisha(&w).await.whatsapp_opt_in);
    // Twilio retries the STOP after the START was applied.
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 200);
    assert!(
        aisha(&w).await.whatsapp_opt_in,
        "the contact's last word was START"
    );
}

/// A STOP whose first delivery failed before it was even stored, retried by Twilio after a
/// START was applied: ordered by when the contact sent them (Twilio's record of each), not
/// by when they were received, so the START stands. And the other way round.
#[tokio::test]
async fn opt_keywords_are_ordered_by_when_the_contact_sent_them() {
    let w = webhook().await;
    let t0 = Utc::now() - chrono::Duration::minutes(2);
    w.ports.sender.received(SID1, t0);
    w.ports
        .sender
        .received(SID2, t0 + chrono::Duration::seconds(5));
    w.ports.messages.faults.fail_next("insert_inbound", 1);
    let stop = inbound_params(SID1, "+60123456789", "STOP");
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 503);
    let start = inbound_params(SID2, "+60123456789", "START");
    assert_eq!(w.handle(inbound_event(&start)).await.status_code, 200);
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 200);
    let contact = aisha(&w).await;
    assert!(contact.whatsapp_opt_in, "the contact's last word was START");
    assert_eq!(
        contact.whatsapp_opt_changed_at.map(|t| t.timestamp()),
        Some((t0 + chrono::Duration::seconds(5)).timestamp()),
        "the START's own second"
    );
    assert_eq!(conversation(&w).await.len(), 2, "both kept");

    // A START sent before a STOP but delivered after it does not undo the STOP.
    let w = webhook().await;
    w.ports
        .sender
        .received(SID1, t0 + chrono::Duration::seconds(5));
    w.ports.sender.received(SID2, t0);
    let stop = inbound_params(SID1, "+60123456789", "STOP");
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 200);
    let start = inbound_params(SID2, "+60123456789", "START");
    assert_eq!(w.handle(inbound_event(&start)).await.status_code, 200);
    assert!(!aisha(&w).await.whatsapp_opt_in);
}

#[tokio::test]
async fn stop_opts_out_every_contact_with_the_number() {
    let w = webhook().await;
    w.ports
        .contacts
        .put(&contact("org-a", "c9", "Aisha (work)", "+60123456789"))
        .await
        .unwrap();
    let r = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "STOP")))
        .await;
    assert_eq!(r.status_code, 200);
    for id in ["c1", "c9"] {
        let c = w
            .ports
            .contacts
            .get(&org("org-a"), &ContactId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(!c.whatsapp_opt_in, "{id}");
    }
    let other_org = w
        .ports
        .contacts
        .get(&org("org-b"), &ContactId::parse("b1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(other_org.whatsapp_opt_in, "another organization's contact");
}

/// A failed message says why in words a person understands: a code the product explains in
/// plain words with the next step; else WhatsApp's own text when Twilio passes it on
/// (ChannelStatusMessage), else the text for the code, and an unknown code still shows the
/// code, where Twilio explains it, and that it was not sent again.
#[tokio::test]
async fn failure_reasons_prefer_whatsapps_words_then_the_codes_text() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("ErrorCode", "63049")],
            "Failed to send via WhatsApp: Meta held back this marketing message: WhatsApp limits how many marketing messages each person receives, and delivers none to U.S. numbers since April 2025 (Twilio error 63049). Do not send it again now. To a U.S. number, use another channel; elsewhere, try again in a day or more, or send a utility template if the message is not marketing.",
        ),
        (
            &[
                ("ErrorCode", "63062"),
                ("ChannelStatusMessage", "Terms not accepted"),
            ],
            "Failed to send via WhatsApp: Your business has not accepted WhatsApp's Marketing Messages API terms (Twilio error 63062). An admin must accept them in WhatsApp Manager (Overview > Alerts); until then every marketing template fails the same way, while replies and utility templates still go out.",
        ),
        (
            &[
                ("ErrorCode", "63032"),
                (
                    "ChannelStatusMessage",
                    "User's number is part of an experiment",
                ),
            ],
            "Failed to send via WhatsApp: User's number is part of an experiment (Twilio error 63032). It was not sent again; Twilio explains error 63032 at https://www.twilio.com/docs/api/errors/63032.",
        ),
        (
            &[("ErrorCode", "63999")],
            "Failed to send via WhatsApp: Twilio reported the message failed (Twilio error 63999). It was not sent again; Twilio explains error 63999 at https://www.twilio.com/docs/api/errors/63999.",
        ),
    ];
    for (extra, reason) in cases {
        let w = webhook().await;
        let m = outbound(&w).await;
        let mut params = status_params(SID1, "failed", None);
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let event = event_signed_for(
            "org-a",
            true,
            &format!("message_id={}", m.id),
            &params,
            AUTH_TOKEN,
            None,
        );
        assert_eq!(w.handle(event).await.status_code, 200, "{extra:?}");
        let after = reload(&w, &m).await;
        assert_eq!(after.status, MessageStatus::Failed);
        assert_eq!(after.error_reason.as_deref(), Some(reason), "{extra:?}");
    }
}

async fn stored_inbound(w: &Webhook, sid: &str) -> Message {
    w.ports
        .messages
        .find_by_sid(&org("org-a"), sid)
        .await
        .unwrap()
        .expect("stored")
}

/// A reply quotes an earlier message: linked when it is in the same conversation of this
/// organization, kept as Twilio's sid only otherwise — never another organization's message.
#[tokio::test]
async fn a_reply_is_linked_to_the_message_it_quotes_in_the_conversation() {
    let w = webhook().await;
    let ours = outbound(&w).await;
    assert_eq!(callback(&w, &ours, SID2, "sent", None).await, 200);
    // Another organization's message with a sid the contact might quote.
    let mut theirs = outbound(&w).await;
    theirs.id = MessageId::new();
    theirs.organization_id = org("org-b");
    theirs.contact_id = Some(ContactId::parse("b1").unwrap());
    theirs.twilio_message_sid = Some("SM33333333333333333333333333333333".into());
    w.ports.messages.insert(&theirs).await.unwrap();

    for (sid, quoted, linked) in [
        ("SM44444444444444444444444444444444", SID2, Some(ours.id)),
        (
            "SM55555555555555555555555555555555",
            "SM33333333333333333333333333333333",
            None,
        ),
        (
            "SM66666666666666666666666666666666",
            "SM77777777777777777777777777777777",
            None,
        ),
    ] {
        let mut params = inbound_params(sid, "+60123456789", "Yes please");
        params.push(("OriginalRepliedMessageSid".into(), quoted.into()));
        params.push((
            "OriginalRepliedMessageSender".into(),
            format!("whatsapp:{SENDER}"),
        ));
        assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
        let stored = stored_inbound(&w, sid).await;
        let reply_to = stored.details.unwrap().reply_to.unwrap();
        assert_eq!(reply_to.twilio_message_sid, quoted);
        assert_eq!(reply_to.message_id, linked, "{quoted}");
    }
}

/// What a kind carries is stored with the message, with every posted parameter; the API
/// shows the kind, never the raw parameters.
#[tokio::test]
async fn a_shared_location_is_stored_with_every_parameter() {
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "");
    params.retain(|(k, _)| k != "MessageType");
    params.extend(pairs(&[
        ("MessageType", "location"),
        ("Latitude", "3.139003"),
        ("Longitude", "101.686855"),
        ("Label", "KLCC"),
        ("Address", "Jalan Ampang"),
    ]));
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    let stored = stored_inbound(&w, SID1).await;
    let details = stored.details.clone().unwrap();
    assert_eq!(details.location.unwrap().label.as_deref(), Some("KLCC"));
    assert_eq!(details.params.len(), params.len());
    let view = serde_json::to_value(shared::api::MessageView::from(&stored)).unwrap();
    assert_eq!(view["details"]["location"]["latitude"], "3.139003");
    assert_eq!(view["details"]["kind"], "location");
    assert!(view["details"].get("params").is_none(), "{view}");
}

/// A conversation contended until the webhook had to answer (the store's `count_inline`
/// fault): the message is stored and answered 200, and its count is queued for the worker;
/// a repeat while the count is pending queues it again (the job counts once).
#[tokio::test]
async fn a_message_stored_uncounted_queues_its_count() {
    let w = webhook().await;
    let phone = shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap();
    let windows = |w: &Webhook| {
        let (w, phone) = (w.clone(), phone.clone());
        async move {
            use shared::ports::ContactStore;
            w.ports
                .contacts
                .contacts_by_phone(&org("org-a"), &phone)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.last_inbound_at)
                .collect::<Vec<_>>()
        }
    };
    let before = windows(&w).await;
    assert!(!before.is_empty());
    w.ports.messages.faults.fail_next("count_inline", 1);
    let r = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
        .await;
    assert_eq!(r.status_code, 200);
    assert_eq!(
        windows(&w).await,
        before,
        "the window is left to the count's job (the contact is as contended)"
    );
    let stored = conversation(&w).await;
    assert_eq!(stored.len(), 1, "stored");
    assert_eq!(unread(&w).await, 0, "not counted yet");
    let counts = |w: &Webhook| {
        w.ports
            .queue
            .jobs()
            .into_iter()
            .filter(|(job, _)| matches!(job, shared::domain::WorkerJob::CountInbound { .. }))
            .filter_map(|(job, _)| job.message_id().copied())
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&w), [stored[0].id]);
    // Twilio's retry while the count is pending queues it again.
    let again = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
        .await;
    assert_eq!(again.status_code, 200);
    assert_eq!(counts(&w), [stored[0].id, stored[0].id]);
    // The job counts it, once however often it runs.
    for _ in 0..2 {
        w.ports.messages.count_inbound(&stored[0]).await.unwrap();
    }
    assert_eq!(unread(&w).await, 1);
    // Counted: a later repeat queues nothing.
    let later = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
        .await;
    assert_eq!(later.status_code, 200);
    assert_eq!(counts(&w).len(), 2);
}

/// A STOP written under a WhatsApp username reaches every contact of that person: those
/// with the user id, and those with the number the user id's contacts carry.
#[tokio::test]
async fn a_stop_from_a_username_opts_out_every_contact_of_the_person() {
    const BSUID: &str = "US.13491208655302741918";
    let w = webhook().await;
    // c1 (Aisha, +60123456789) carries the user id; c2 has her number only; c3 the id only.
    let mut aisha = aisha(&w).await;
    aisha.whatsapp_user_id = Some(BSUID.into());
    w.ports.contacts.put(&aisha).await.unwrap();
    w.ports
        .contacts
        .put(&contact("org-a", "c2", "Aisha (work)", "+60123456789"))
        .await
        .unwrap();
    let mut by_id = contact("org-a", "c3", "Aisha (id only)", "+60199999999");
    by_id.phone_number = None;
    by_id.whatsapp_user_id = Some(BSUID.into());
    w.ports.contacts.put(&by_id).await.unwrap();
    let mut other = contact("org-a", "c4", "Someone else", "+60188888888");
    other.whatsapp_opt_in = true;
    w.ports.contacts.put(&other).await.unwrap();

    let mut params = from_username(inbound_params(SID1, "+60123456789", "STOP"), BSUID);
    params.extend(pairs(&[("OptOutType", "STOP")]));
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    for id in ["c1", "c2", "c3"] {
        let c = stored_contact(&w, "org-a", id).await;
        assert!(!c.whatsapp_opt_in, "{id} opted out");
    }
    let untouched = stored_contact(&w, "org-a", "c4").await;
    assert!(untouched.whatsapp_opt_in, "another person's contact");
    let other_org = stored_contact(&w, "org-b", "b1").await;
    assert!(other_org.whatsapp_opt_in, "another organization's contact");
}
