//! Handler tests: in-memory ports, API Gateway events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use shared::memory::MemoryPorts;
use shared::runtime::Handler;
use shared::testing::{
    ACCOUNT_SID, AUTH_TOKEN, SENDER, error_code, json_body, jwt_event, org, secret_json,
};

use channel::*;

async fn api() -> ChannelApi<MemoryPorts> {
    let ports = MemoryPorts::new("http://127.0.0.1:8080");
    ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    ChannelApi {
        ports,
        org_claim: "custom:organization_id".into(),
        templates: shared::template_cache::TemplateCache::new(std::time::Duration::from_secs(60)),
        service_senders: shared::cache::TtlCache::new(10),
        senders_ttl: std::time::Duration::from_secs(60),
        sender_health: shared::cache::TtlCache::new(10),
        live: None,
    }
}

#[tokio::test]
async fn channel_status_for_configured_and_unconfigured_organizations() {
    let api = api().await;
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/channel",
            "",
            Some("org-a"),
            None,
        ))
        .await;
    let body = json_body(&r);
    assert_eq!(body["enabled"], true);
    assert_eq!(body["sender"], SENDER);
    assert_eq!(body["senders"], serde_json::json!([SENDER]));
    assert_eq!(body["messaging_service_sid"], serde_json::Value::Null);
    assert!(!body.to_string().contains(AUTH_TOKEN));
    assert!(!body.to_string().contains(ACCOUNT_SID));

    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/channel",
            "",
            Some("org-b"),
            None,
        ))
        .await;
    let body = json_body(&r);
    assert_eq!(body["enabled"], false);
    assert_eq!(
        body["reason"],
        "WhatsApp is not configured for this organization."
    );

    api.ports.credentials.put_secret(
        &org("org-b"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, false),
    );
    let body = json_body(
        &api.handle(jwt_event(
            "GET",
            "/whatsapp/channel",
            "",
            Some("org-b"),
            None,
        ))
        .await,
    );
    assert_eq!(body["enabled"], false);
}

/// Through a Messaging Service the channel names the service and its pool's WhatsApp senders,
/// read from Twilio once per cache period; a failed read leaves the channel usable, the
/// senders unknown.
#[tokio::test]
async fn the_channel_of_a_messaging_service_lists_its_senders_once_per_cache_period() {
    const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";
    let api = api().await;
    let secret = serde_json::json!({
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_messaging_service_sid": SERVICE,
        "whatsapp_enabled": true,
    })
    .to_string();
    for id in ["org-a", "org-b"] {
        api.ports.credentials.put_secret(&org(id), secret.clone());
    }
    let number = |n: &str| shared::domain::PhoneNumber::parse_e164(n).unwrap();
    api.ports
        .sender
        .set_service_senders(vec![number(SENDER), number("+447911123456")]);
    let channel = |id: &'static str| {
        let api = api.clone();
        async move {
            json_body(
                &api.handle(jwt_event("GET", "/whatsapp/channel", "", Some(id), None))
                    .await,
            )
        }
    };
    let body = channel("org-a").await;
    assert_eq!(body["enabled"], true);
    assert_eq!(body["sender"], serde_json::Value::Null);
    assert_eq!(body["messaging_service_sid"], SERVICE);
    assert_eq!(
        body["senders"],
        serde_json::json!([SENDER, "+447911123456"])
    );

    // The pool changes at Twilio: the cached list stands until it expires.
    api.ports.sender.set_service_senders(vec![number(SENDER)]);
    assert_eq!(
        channel("org-a").await["senders"],
        serde_json::json!([SENDER, "+447911123456"])
    );
    // Another organization, and Twilio fails: enabled, senders unknown; then read again.
    api.ports
        .sender
        .fail_service_senders(shared::twilio::TwilioError::Timeout);
    let body = channel("org-b").await;
    assert_eq!(body["enabled"], true);
    assert_eq!(body["senders"], serde_json::Value::Null);
    assert_eq!(
        channel("org-b").await["senders"],
        serde_json::json!([SENDER])
    );
}

/// The channel reports the health of the organization's senders (not the account's others),
/// read from Twilio once per cache period; Twilio unreadable: null, and not asked again at
/// every request; `sender_health=false` leaves it out without asking Twilio.
#[tokio::test]
async fn the_channel_reports_its_senders_health_once_per_cache_period() {
    use shared::domain::{OfflineReason, SenderHealth};
    let api = api().await;
    let health = |number: &str, status: &str, rating: &str| {
        SenderHealth::new(
            number.into(),
            status.into(),
            Some(rating.into()),
            Some("10K Customers/24hr".into()),
            vec![],
        )
    };
    let mut offline = health("+447911123456", "OFFLINE", "HIGH");
    offline.offline_reasons.push(OfflineReason {
        code: Some("30008".into()),
        message: Some("No delivery".into()),
        more_info: None,
    });
    api.ports
        .sender
        .set_sender_health(vec![health(SENDER, "ONLINE", "MEDIUM"), offline]);
    let channel = |query: &'static str| {
        let api = api.clone();
        async move {
            api.handle(jwt_event(
                "GET",
                "/whatsapp/channel",
                query,
                Some("org-a"),
                None,
            ))
            .await
        }
    };
    let body = json_body(&channel("").await);
    assert_eq!(
        body["sender_health"],
        serde_json::json!([{
            "sender": SENDER, "status": "ONLINE", "quality_rating": "MEDIUM",
            "messaging_limit": "10K Customers/24hr", "offline_reasons": [], "level": "amber"
        }]),
        "only the organization's own sender"
    );
    assert_eq!(api.ports.sender.sender_health_reads(), 1);

    // Cached: Twilio's change shows after the period; not asked again meanwhile.
    api.ports
        .sender
        .set_sender_health(vec![health(SENDER, "OFFLINE", "LOW")]);
    assert_eq!(
        json_body(&channel("").await)["sender_health"][0]["level"],
        "amber"
    );
    let body = json_body(&channel("sender_health=false").await);
    assert!(body.get("sender_health").is_none(), "{body}");
    assert_eq!(body["enabled"], true);
    assert_eq!(api.ports.sender.sender_health_reads(), 1);

    let r = channel("sender_health=maybe").await;
    assert_eq!(r.status_code, 400);
    assert_eq!(error_code(&r), "invalid_parameter");

    // Twilio cannot be read (a fresh instance): null, and the failure stands a while instead
    // of a wait per request.
    let api = self::api().await;
    api.ports
        .sender
        .fail_sender_health(shared::twilio::TwilioError::Timeout);
    let channel = || {
        let api = api.clone();
        async move {
            api.handle(jwt_event(
                "GET",
                "/whatsapp/channel",
                "",
                Some("org-a"),
                None,
            ))
            .await
        }
    };
    let r = channel().await;
    assert_eq!(r.status_code, 200);
    assert_eq!(json_body(&r)["enabled"], true);
    assert_eq!(json_body(&r)["sender_health"], serde_json::Value::Null);
    assert_eq!(
        json_body(&channel().await)["sender_health"],
        serde_json::Value::Null
    );
    assert_eq!(api.ports.sender.sender_health_reads(), 1);
}

#[tokio::test]
async fn the_channel_says_where_to_subscribe_for_live_updates() {
    let mut api = api().await;
    let get = |org: &'static str| jwt_event("GET", "/whatsapp/channel", "", Some(org), None);
    // Push not configured: the page polls.
    let body = json_body(&api.handle(get("org-a")).await);
    assert!(body["live"].is_null(), "{body}");
    api.live = Some(shared::config::LiveEndpoint {
        http_host: "abc.appsync-api.eu-west-1.amazonaws.com".into(),
        realtime_url: "wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime"
            .into(),
    });
    let body = json_body(&api.handle(get("org-a")).await);
    assert_eq!(
        body["live"],
        serde_json::json!({
            "realtime_url": "wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
            "host": "abc.appsync-api.eu-west-1.amazonaws.com",
            "channel": "/whatsapp/org-a",
        })
    );
    // Only the caller's own channel, and nothing for an organization without WhatsApp.
    let body = json_body(&api.handle(get("org-b")).await);
    assert!(body["live"].is_null(), "{body}");
    // An organization whose id AppSync cannot take as a channel segment polls.
    api.ports.credentials.put_secret(
        &shared::testing::org("org_c"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    let body = json_body(&api.handle(get("org_c")).await);
    assert_eq!(body["enabled"], true, "{body}");
    assert!(body["live"].is_null(), "{body}");
}

async fn get_templates(
    api: &ChannelApi<MemoryPorts>,
    org_id: &str,
    q: &str,
) -> (u16, serde_json::Value) {
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/templates",
            q,
            Some(org_id),
            None,
        ))
        .await;
    (r.status_code as u16, json_body(&r))
}

fn template_names(body: &serde_json::Value) -> Vec<String> {
    body["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn templates_are_the_organizations_approved_ones_searchable_and_cached() {
    use shared::testing::template;
    let api = api().await;
    let mut shipped = template("HX00000000000000000000000000000001", "order_shipped");
    shipped.body = "Hi {{1}}, your order {{2}} has shipped.".into();
    api.ports.sender.set_templates(vec![
        shipped,
        template("HX00000000000000000000000000000002", "appointment_reminder"),
    ]);
    let (status, body) = get_templates(&api, "org-a", "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        template_names(&body),
        ["appointment_reminder", "order_shipped"]
    );
    let shipped = &body["templates"][1];
    assert_eq!(shipped["content_sid"], "HX00000000000000000000000000000001");
    assert_eq!(shipped["variables"]["1"], "Aisha");
    assert_eq!(shipped["content_type"], "twilio/text");

    let (_, found) = get_templates(&api, "org-a", "q=SHIPPED%20order").await;
    assert_eq!(
        template_names(&found),
        ["order_shipped"],
        "name and body, any case"
    );
    let (_, none) = get_templates(&api, "org-a", "q=refund").await;
    assert_eq!(template_names(&none), Vec::<String>::new());
    assert_eq!(
        api.ports.sender.template_reads(),
        1,
        "one read while the list is fresh"
    );

    api.ports.sender.set_templates(vec![]);
    let (_, cached) = get_templates(&api, "org-a", "").await;
    assert_eq!(template_names(&cached).len(), 2);
    let (_, refreshed) = get_templates(&api, "org-a", "refresh=true").await;
    assert_eq!(template_names(&refreshed), Vec::<String>::new());
}

#[tokio::test]
async fn templates_need_a_configured_channel_and_a_readable_twilio() {
    use shared::twilio::TwilioError;
    let api = api().await;
    let (status, body) = get_templates(&api, "org-b", "").await;
    assert_eq!(status, 409);
    assert_eq!(
        body["error"]["message"],
        "WhatsApp is not configured for this organization."
    );

    // Twilio unreachable or answering nonsense: 503, never an empty list.
    for failure in [
        TwilioError::Timeout,
        TwilioError::InvalidResponse("expected value at line 1".into()),
        TwilioError::Api {
            http_status: 500,
            code: Some(20500),
            message: "Internal".into(),
            more_info: None,
        },
    ] {
        api.ports.sender.fail_next_template_reads([failure.clone()]);
        let (status, body) = get_templates(&api, "org-a", "refresh=true").await;
        assert_eq!(status, 503, "{failure:?}: {body}");
        assert!(body.get("templates").is_none());
    }
    api.ports
        .sender
        .fail_next_template_reads([TwilioError::Api {
            http_status: 401,
            code: Some(20003),
            message: "Authenticate".into(),
            more_info: None,
        }]);
    let (status, body) = get_templates(&api, "org-a", "refresh=true").await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "whatsapp_invalid_configuration");

    for bad in ["refresh=yes", &format!("q={}", "x".repeat(101))] {
        let (status, _) = get_templates(&api, "org-a", bad).await;
        assert_eq!(status, 400, "{bad}");
    }
}
