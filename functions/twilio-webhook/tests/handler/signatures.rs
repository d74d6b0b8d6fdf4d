//! Who may post: Twilio's signature over the URL it was given (either auth token), the
//! organization's account and senders; anything else is refused before a secret is read.

use super::*;

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
