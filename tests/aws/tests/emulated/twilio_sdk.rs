//! Webhook signatures made by the official Twilio SDK (Python `twilio` in the test venv,
//! `tests/aws/sdk/twilio_signatures.py`): over the configured URL with its connection-override
//! fragment and without it, as Twilio's documentation leaves open which one it signs. Both
//! are accepted; a signature over another fragment or with another token is not.

use std::collections::HashMap;

use shared::api::{ApiGatewayV2httpRequest, GatewayRequest, gateway_event};
use shared::memory::MemoryPorts;
use shared::ports::{ContactStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::{ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, org, secret_json};
use shared::twilio::RECOMMENDED_OVERRIDES;
use twilio_webhook::TwilioWebhook;

const DOMAIN: &str = "abc123.execute-api.eu-west-1.amazonaws.com";

/// The SDK's signature of each (url, params), with `token`.
fn sdk_signatures(token: &str, cases: &[(String, Vec<(String, String)>)]) -> Vec<String> {
    let request = serde_json::json!({
        "token": token,
        "cases": cases.iter().map(|(url, params)| serde_json::json!({"url": url, "params": params})).collect::<Vec<_>>(),
    });
    serde_json::from_value(crate::emulator::venv_script(
        "twilio_signatures.py",
        &request,
    ))
    .unwrap()
}

fn event(
    path: &str,
    query: &str,
    params: &[(String, String)],
    signature: &str,
) -> ApiGatewayV2httpRequest {
    let status = path.ends_with("/status");
    let route = if status {
        "POST /webhook/twilio/whatsapp/{organization_id}/status"
    } else {
        "POST /webhook/twilio/whatsapp/{organization_id}"
    };
    gateway_event(GatewayRequest {
        method: "POST".into(),
        raw_path: path.into(),
        route_key: route.into(),
        raw_query: query.into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("x-twilio-signature".into(), signature.into()),
        ],
        body: Some(serde_urlencoded::to_string(params).unwrap().into_bytes()),
        path_parameters: HashMap::from([("organization_id".into(), "org-a".into())]),
        claims: None,
        domain_name: DOMAIN.into(),
        source_ip: "54.172.60.1".into(),
    })
    .unwrap()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
#[ignore = "needs the test venv's Twilio SDK (./scripts/test.sh installs it)"]
async fn signatures_by_the_official_sdk_with_or_without_the_fragment_are_accepted() {
    let ports = MemoryPorts::new("http://127.0.0.1:8080");
    ports
        .contacts
        .put(&contact("org-a", "c1", "Aisha Rahman", "+60123456789"))
        .await
        .unwrap();
    ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    let webhook = TwilioWebhook::at(ports.clone(), None);
    let inbound_path = "/webhook/twilio/whatsapp/org-a";
    let inbound_url = format!("https://{DOMAIN}{inbound_path}");
    let inbound = |sid: &str| {
        pairs(&[
            ("SmsMessageSid", sid),
            ("NumMedia", "0"),
            ("ProfileName", "Aisha"),
            ("MessageType", "text"),
            ("SmsSid", sid),
            ("WaId", "60123456789"),
            ("SmsStatus", "received"),
            ("Body", "Hello from the SDK"),
            ("To", &format!("whatsapp:{SENDER}")),
            ("NumSegments", "1"),
            ("MessageSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", "whatsapp:+60123456789"),
            ("ApiVersion", "2010-04-01"),
        ])
    };
    let sids = [
        "SM5dk0000000000000000000000000000a",
        "SM5dk0000000000000000000000000000b",
        "SM5dk0000000000000000000000000000c",
        "SM5dk0000000000000000000000000000d",
    ];
    let cases = vec![
        // What docs/deploy.md tells operators to configure, fragment included.
        (
            format!("{inbound_url}#{RECOMMENDED_OVERRIDES}"),
            inbound(sids[0]),
        ),
        (inbound_url.clone(), inbound(sids[1])),
        // The same URL with the default port: the SDK's validators accept both.
        (
            format!("https://{DOMAIN}:443{inbound_path}#{RECOMMENDED_OVERRIDES}"),
            inbound(sids[2]),
        ),
        // Another fragment than the configured one: not what Twilio was given.
        (format!("{inbound_url}#rc=5"), inbound(sids[3])),
    ];
    let signatures = sdk_signatures(AUTH_TOKEN, &cases);
    let expected = [200, 200, 200, 403];
    for ((case, signature), want) in cases.iter().zip(&signatures).zip(expected) {
        let r = webhook
            .handle(event(inbound_path, "", &case.1, signature))
            .await;
        assert_eq!(r.status_code, want, "{}", case.0);
    }
    let stored = ports.messages.all(&org("org-a"));
    assert_eq!(stored.len(), 3, "one message per accepted delivery");

    // A status callback for a message the worker sent: its URL carries our query and the
    // fragment the worker put on it.
    let message = shared::domain::Message::outbound_pending(
        &org("org-a"),
        &shared::domain::ContactId::parse("c1").unwrap(),
        &shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
        shared::domain::OutboundPart {
            message_type: shared::domain::MessageType::Text,
            text: Some("Your order shipped".into()),
            attachment: None,
        },
        chrono::Utc::now(),
    );
    ports.messages.insert(&message).await.unwrap();
    let status_path = "/webhook/twilio/whatsapp/org-a/status";
    let query = format!("message_id={}", message.id);
    let status_url = format!("https://{DOMAIN}{status_path}?{query}");
    let callback = |status: &str| {
        pairs(&[
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("MessageSid", "SM5dk000000000000000000000000000ff"),
            ("SmsSid", "SM5dk000000000000000000000000000ff"),
            ("AccountSid", ACCOUNT_SID),
            ("From", &format!("whatsapp:{SENDER}")),
            ("To", "whatsapp:+60123456789"),
            ("ApiVersion", "2010-04-01"),
        ])
    };
    let cases = vec![
        (
            format!("{status_url}#{RECOMMENDED_OVERRIDES}"),
            callback("sent"),
        ),
        (status_url.clone(), callback("delivered")),
        (
            format!("{status_url}#{RECOMMENDED_OVERRIDES}"),
            callback("read"),
        ),
    ];
    let signatures = sdk_signatures(AUTH_TOKEN, &cases);
    for (case, signature) in cases.iter().zip(&signatures) {
        let r = webhook
            .handle(event(status_path, &query, &case.1, signature))
            .await;
        assert_eq!(r.status_code, 200, "{}", case.0);
    }
    let read = ports
        .messages
        .get(&org("org-a"), &message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.status, shared::domain::MessageStatus::Read);

    // The SDK's signature with another account's token is refused in both forms.
    let cases = vec![
        (
            format!("{status_url}#{RECOMMENDED_OVERRIDES}"),
            callback("failed"),
        ),
        (status_url, callback("failed")),
    ];
    for (case, signature) in cases
        .iter()
        .zip(sdk_signatures("0123456789abcdef0123456789abcdef", &cases))
    {
        let r = webhook
            .handle(event(status_path, &query, &case.1, &signature))
            .await;
        assert_eq!(r.status_code, 403, "{}", case.0);
    }
}
