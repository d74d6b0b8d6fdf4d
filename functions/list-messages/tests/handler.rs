//! Handler tests: in-memory ports, API Gateway / SQS events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use chrono::Utc;
use shared::domain::{Direction, Message, MessageStatus, StatusChange};
use shared::memory::MemoryPorts;
use shared::ports::{ContactStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::messages::{a_message, next_instant};
use shared::testing::{contact, error_code, hours_ago, json_body, jwt_event, org};

use shared::domain::ContactId;

use list_messages::*;

async fn api() -> MessagesApi<MemoryPorts> {
    let ports = MemoryPorts::new("http://127.0.0.1:8080");
    let contacts = &ports.contacts;
    contacts
        .put(&contact("org-a", "c1", "Aisha Rahman", "+60123456789"))
        .await
        .unwrap();
    let mut stale = contact("org-a", "c2", "Ben Ong", "+60123456780");
    stale.last_inbound_at = Some(hours_ago(30));
    stale.whatsapp_opt_in = false;
    contacts.put(&stale).await.unwrap();
    contacts
        .put(&contact("org-b", "b1", "Other", "+60123456781"))
        .await
        .unwrap();
    MessagesApi {
        ports,
        org_claim: "custom:organization_id".into(),
        poll_settle: std::time::Duration::from_secs(30),
    }
}

fn message(org_id: &str, contact: Option<&str>, text: &str, direction: Direction) -> Message {
    a_message(org_id)
        .contact(contact)
        .direction(direction)
        .text(text)
        .build()
}

fn texts(body: &serde_json::Value) -> Vec<String> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn get(api: &MessagesApi<MemoryPorts>, q: &str) -> serde_json::Value {
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/messages",
            q,
            Some("org-a"),
            None,
        ))
        .await;
    assert_eq!(r.status_code, 200, "{q}: {:?}", r.body);
    json_body(&r)
}

#[tokio::test]
async fn returns_the_conversation_in_order_with_the_window() {
    let api = api().await;
    let mut ids = vec![];
    for (text, dir) in [
        ("hello", Direction::Inbound),
        ("hi, how can we help?", Direction::Outbound),
        ("price?", Direction::Inbound),
    ] {
        let m = message("org-a", Some("c1"), text, dir);
        ids.push(m.id);
        api.ports.messages.insert(&m).await.unwrap();
    }
    // Noise that must never show: another contact, an unknown number, another org.
    api.ports
        .messages
        .insert(&message(
            "org-a",
            Some("c2"),
            "other contact",
            Direction::Inbound,
        ))
        .await
        .unwrap();
    api.ports
        .messages
        .insert(&message(
            "org-a",
            None,
            "unknown number",
            Direction::Inbound,
        ))
        .await
        .unwrap();
    api.ports
        .messages
        .insert(&message(
            "org-b",
            Some("c1"),
            "other org",
            Direction::Inbound,
        ))
        .await
        .unwrap();

    let body = get(&api, "contact_id=c1").await;
    assert_eq!(texts(&body), ["hello", "hi, how can we help?", "price?"]);
    assert_eq!(body["messages"][0]["direction"], "INBOUND");
    assert_eq!(body["messages"][1]["status"], "PENDING");
    assert_eq!(body["window"]["open"], true);
    assert_eq!(body["contact"]["name"], "Aisha Rahman");
    assert_eq!(body["contact"]["eligible"], true);
    assert_eq!(body["next_before"], serde_json::Value::Null);
    assert!(body["messages"][0].get("organization_id").is_none());
}

#[tokio::test]
async fn pages_backwards_with_before() {
    let api = api().await;
    for i in 0..5 {
        api.ports
            .messages
            .insert(&message(
                "org-a",
                Some("c1"),
                &format!("m{i}"),
                Direction::Inbound,
            ))
            .await
            .unwrap();
    }
    let newest = get(&api, "contact_id=c1&limit=2").await;
    assert_eq!(texts(&newest), ["m3", "m4"]);
    let before = newest["next_before"].as_str().unwrap();
    let older = get(&api, &format!("contact_id=c1&limit=2&before={before}")).await;
    assert_eq!(texts(&older), ["m1", "m2"]);
    let before = older["next_before"].as_str().unwrap();
    let oldest = get(&api, &format!("contact_id=c1&limit=2&before={before}")).await;
    assert_eq!(texts(&oldest), ["m0"]);
    assert_eq!(oldest["next_before"], serde_json::Value::Null);
}

#[tokio::test]
async fn polling_returns_new_and_changed_messages_then_nothing() {
    let api = api().await;
    let first = message("org-a", Some("c1"), "sent earlier", Direction::Outbound);
    api.ports.messages.insert(&first).await.unwrap();
    let initial = get(&api, "contact_id=c1").await;
    let cursor = initial["next_after"].as_str().unwrap().to_owned();

    let empty = get(&api, &format!("contact_id=c1&after={cursor}")).await;
    assert!(
        texts(&empty).is_empty(),
        "what the first page showed is not news"
    );
    // The contact's state comes with every poll, news or not.
    assert_eq!(empty["contact"]["eligible"], true);
    assert!(empty["window"]["open"].is_boolean());
    let cursor = empty["next_after"].as_str().unwrap().to_owned();

    // A change after the cursor, in a later millisecond.
    next_instant();
    api.ports
        .messages
        .apply_status(
            &org("org-a"),
            &first.id,
            &StatusChange {
                status: MessageStatus::Delivered,
                twilio_message_sid: Some("SM1".into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    api.ports
        .messages
        .insert(&message("org-a", Some("c1"), "a reply", Direction::Inbound))
        .await
        .unwrap();
    let poll = get(&api, &format!("contact_id=c1&after={cursor}")).await;
    assert_eq!(texts(&poll), ["sent earlier", "a reply"]);
    assert_eq!(
        poll["window"]["open"], true,
        "a poll with news carries the window"
    );
    assert_eq!(poll["messages"][0]["status"], "DELIVERED");
    let next = poll["next_after"].as_str().unwrap();
    assert!(texts(&get(&api, &format!("contact_id=c1&after={next}")).await).is_empty());
}

/// A change whose revision was minted before one the poller already saw, but which became
/// visible only afterwards (a slow write, an index catching up), is still returned — once.
#[tokio::test]
async fn a_change_that_becomes_visible_late_is_not_skipped() {
    let api = api().await;
    let slow = message("org-a", Some("c1"), "written slowly", Direction::Inbound);
    let quick = message("org-a", Some("c1"), "written quickly", Direction::Inbound);
    api.ports.messages.insert(&quick).await.unwrap();
    let initial = get(&api, "contact_id=c1").await;
    assert_eq!(texts(&initial), ["written quickly"]);
    let cursor = initial["next_after"].as_str().unwrap().to_owned();
    let poll = get(&api, &format!("contact_id=c1&after={cursor}")).await;
    assert!(texts(&poll).is_empty());
    let cursor = poll["next_after"].as_str().unwrap().to_owned();

    api.ports.messages.insert(&slow).await.unwrap();
    let poll = get(&api, &format!("contact_id=c1&after={cursor}")).await;
    assert_eq!(texts(&poll), ["written slowly"]);
    let cursor = poll["next_after"].as_str().unwrap().to_owned();
    let again = get(&api, &format!("contact_id=c1&after={cursor}")).await;
    assert!(texts(&again).is_empty(), "returned once: {again}");
}

/// Polls re-read the settle window; what they returned before stays out of the answer,
/// also when the window holds more changes than a page.
#[tokio::test]
async fn repeated_polls_return_each_change_once() {
    let api = api().await;
    let mut cursor = get(&api, "contact_id=c1").await["next_after"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut returned = vec![];
    for round in 0..4 {
        for i in 0..3 {
            let m = message(
                "org-a",
                Some("c1"),
                &format!("r{round}m{i}"),
                Direction::Inbound,
            );
            api.ports.messages.insert(&m).await.unwrap();
        }
        // Small pages: a poll may stop at its limit and the next one goes on from there.
        loop {
            let poll = get(&api, &format!("contact_id=c1&limit=2&after={cursor}")).await;
            cursor = poll["next_after"].as_str().unwrap().to_owned();
            let got = texts(&poll);
            if got.is_empty() {
                break;
            }
            returned.extend(got);
        }
    }
    let expected: Vec<String> = (0..4)
        .flat_map(|r| (0..3).map(move |i| format!("r{r}m{i}")))
        .collect();
    assert_eq!(returned, expected);
}

#[tokio::test]
async fn a_malformed_cursor_is_a_clear_error() {
    let api = api().await;
    for bad in [
        "nope",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV.x",
        "01ARZ3NDEKTSV4RRFFQ69G5FAV.",
    ] {
        let r = api
            .handle(jwt_event(
                "GET",
                "/whatsapp/messages",
                &format!("contact_id=c1&after={bad}"),
                Some("org-a"),
                None,
            ))
            .await;
        assert_eq!(r.status_code, 400, "{bad}");
        assert_eq!(error_code(&r), "invalid_parameter");
    }
}

#[tokio::test]
async fn an_empty_conversation_still_gives_a_poll_cursor() {
    let api = api().await;
    let body = get(&api, "contact_id=c1").await;
    assert!(texts(&body).is_empty());
    let cursor = body["next_after"].as_str().unwrap().to_owned();
    api.ports
        .messages
        .insert(&message("org-a", Some("c1"), "first", Direction::Inbound))
        .await
        .unwrap();
    assert_eq!(
        texts(&get(&api, &format!("contact_id=c1&after={cursor}")).await),
        ["first"]
    );
}

#[tokio::test]
async fn closed_window_and_ineligibility_are_reported() {
    let api = api().await;
    let body = get(&api, "contact_id=c2").await;
    assert_eq!(body["window"]["open"], false);
    assert_eq!(body["contact"]["eligible"], false);
    assert_eq!(
        body["contact"]["ineligible_reason"],
        "Contact has not opted in to WhatsApp."
    );
}

#[tokio::test]
async fn another_organizations_contact_is_404_like_an_unknown_one() {
    let api = api().await;
    // A poll too: with an `after` cursor, the contact is read like without one.
    let cursor = get(&api, "contact_id=c1").await["next_after"]
        .as_str()
        .unwrap()
        .to_owned();
    let polls: Vec<String> = ["b1", "nope"]
        .iter()
        .map(|c| format!("contact_id={c}&after={cursor}"))
        .collect();
    let plain = ["contact_id=b1", "contact_id=nope", "contact_id=bad%20id"];
    for q in plain
        .iter()
        .copied()
        .chain(polls.iter().map(String::as_str))
    {
        let r = api
            .handle(jwt_event(
                "GET",
                "/whatsapp/messages",
                q,
                Some("org-a"),
                None,
            ))
            .await;
        assert_eq!(r.status_code, 404, "{q}");
        assert_eq!(json_body(&r)["error"]["message"], "Contact not found.");
    }
}

#[tokio::test]
async fn bad_parameters_are_400_and_missing_jwt_401() {
    let api = api().await;
    for q in [
        "",
        "contact_id=c1&after=nope",
        "contact_id=c1&before=1",
        "contact_id=c1&limit=201",
        // Given without a value: the description asks for one.
        "contact_id=c1&limit=",
        "contact_id=c1&after=",
        "contact_id=c1&before=%20",
    ] {
        let r = api
            .handle(jwt_event(
                "GET",
                "/whatsapp/messages",
                q,
                Some("org-a"),
                None,
            ))
            .await;
        assert_eq!(r.status_code, 400, "{q}");
        assert_eq!(error_code(&r), "invalid_parameter");
    }
    // Each is valid alone; together they mean nothing: 422, as the description says.
    let both = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/messages",
            "contact_id=c1&after=01ARZ3NDEKTSV4RRFFQ69G5FAV&before=01ARZ3NDEKTSV4RRFFQ69G5FAV",
            Some("org-a"),
            None,
        ))
        .await;
    assert_eq!(
        (both.status_code, error_code(&both)),
        (422, "not_supported".to_owned())
    );
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/messages",
            "contact_id=c1",
            None,
            None,
        ))
        .await;
    assert_eq!(r.status_code, 401);
}

#[tokio::test]
async fn a_recorded_api_gateway_event_is_understood() {
    let api = api().await;
    api.ports
        .messages
        .insert(&message("org-a", Some("c1"), "hello", Direction::Inbound))
        .await
        .unwrap();
    let event: shared::api::ApiGatewayV2httpRequest =
        serde_json::from_str(include_str!("../../../events/list-messages.json")).unwrap();
    let r = api.handle(event).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(texts(&json_body(&r)), ["hello"]);
}

#[tokio::test]
async fn attachments_get_our_download_urls_never_twilios() {
    let api = api().await;
    let mut stored = message("org-a", Some("c1"), "photo", Direction::Inbound);
    stored.attachments = vec![
        shared::domain::Attachment {
            key: Some("org-a/inbound/1/0.jpg".into()),
            url: Some(
                "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1".into(),
            ),
            content_type: "image/jpeg".into(),
            filename: None,
            size: Some(10),
            error: None,
            card: None,
        },
        shared::domain::Attachment {
            key: None,
            url: Some(
                "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2".into(),
            ),
            content_type: "audio/ogg".into(),
            filename: None,
            size: None,
            error: None,
            card: None,
        },
    ];
    api.ports.messages.insert(&stored).await.unwrap();
    let body = get(&api, "contact_id=c1").await;
    let attachments = &body["messages"][0]["attachments"];
    let url = attachments[0]["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:8080/local/media/org-a/inbound/1/0.jpg?"),
        "{url}"
    );
    assert!(
        attachments[1].get("url").is_none(),
        "not copied yet: no URL at all"
    );
    assert!(!body.to_string().contains("api.twilio.com"));
}

#[tokio::test]
async fn a_poll_tells_the_page_what_the_crm_did_to_the_contact_even_without_news() {
    let api = api().await;
    let initial = get(&api, "contact_id=c1").await;
    let cursor = initial["next_after"].as_str().unwrap().to_owned();
    // The CRM blocks the contact: no message is new, the poll says so all the same.
    let mut blocked = api
        .ports
        .contacts
        .get(&org("org-a"), &ContactId::parse("c1").unwrap())
        .await
        .unwrap()
        .unwrap();
    blocked.whatsapp_blocked = true;
    api.ports.contacts.put(&blocked).await.unwrap();
    let poll = get(&api, &format!("contact_id=c1&after={cursor}")).await;
    assert!(texts(&poll).is_empty());
    assert_eq!(poll["contact"]["eligible"], false);
    assert_eq!(
        poll["contact"]["ineligible_reason"],
        shared::domain::sentences::BLOCKED
    );
    // The CRM deletes it: the next poll is a 404, and the page clears the conversation.
    api.ports
        .contacts
        .delete(&org("org-a"), &ContactId::parse("c1").unwrap())
        .await
        .unwrap();
    let r = api
        .handle(jwt_event(
            "GET",
            "/whatsapp/messages",
            &format!("contact_id=c1&after={cursor}"),
            Some("org-a"),
            None,
        ))
        .await;
    assert_eq!(r.status_code, 404);
    assert_eq!(json_body(&r)["error"]["code"], "not_found");
}

/// Outbound messages say who sent them: the agent, `null` for the API, nothing for a message
/// from before it was recorded; inbound messages have no `agent`.
#[tokio::test]
async fn each_outbound_message_says_who_sent_it() {
    use shared::domain::{AgentRef, SentBy};
    let api = api().await;
    let ana = SentBy::Agent(AgentRef::from_claims("u-ana", Some("Ana Lima"), None).unwrap());
    for (text, dir, by) in [
        ("hello", Direction::Inbound, None),
        ("by ana", Direction::Outbound, Some(ana)),
        ("by an integration", Direction::Outbound, Some(SentBy::Api)),
        ("from before", Direction::Outbound, None),
    ] {
        let mut m = message("org-a", Some("c1"), text, dir);
        m.sent_by = by;
        api.ports.messages.insert(&m).await.unwrap();
    }
    let body = get(&api, "contact_id=c1").await;
    let agents: Vec<Option<serde_json::Value>> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.get("agent").cloned())
        .collect();
    assert_eq!(
        agents,
        vec![
            None,
            Some(serde_json::json!({"sub": "u-ana", "name": "Ana Lima"})),
            Some(serde_json::Value::Null),
            None,
        ]
    );
}

#[tokio::test]
async fn the_newest_page_lists_the_other_agents_in_the_conversation() {
    use shared::domain::{AgentRef, Presence, PresenceState};
    use shared::ports::PresenceStore;
    let api = api().await;
    let c1 = ContactId::parse("c1").unwrap();
    let at = |sub: &str, name: &str, state, seconds| Presence {
        agent: AgentRef::from_claims(sub, Some(name), None).unwrap(),
        state,
        expires_at: Utc::now() + chrono::Duration::seconds(seconds),
    };
    for (o, p) in [
        ("org-a", at("u-zoe", "Zoe", PresenceState::Composing, 60)),
        ("org-a", at("u-ana", "Ana", PresenceState::Viewing, 60)),
        // The caller (jwt_event's `user-1`) is not told they are there; nor is a dead tab.
        ("org-a", at("user-1", "Me", PresenceState::Viewing, 60)),
        ("org-a", at("u-dead", "Dee", PresenceState::Viewing, -1)),
        (
            "org-b",
            at("u-other", "Other org", PresenceState::Viewing, 60),
        ),
    ] {
        api.ports
            .messages
            .set_presence(&org(o), &c1, &p)
            .await
            .unwrap();
    }
    let body = get(&api, "contact_id=c1").await;
    let viewers: Vec<(String, String)> = body["viewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert!(v["expires_at"].is_string());
            (
                v["agent"]["name"].as_str().unwrap().to_owned(),
                v["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        viewers,
        [
            ("Ana".into(), "viewing".into()),
            ("Zoe".into(), "composing".into())
        ]
    );
    // Older pages and polls do not carry it: presence events do.
    let next_after = body["next_after"].as_str().unwrap();
    let poll = get(&api, &format!("contact_id=c1&after={next_after}")).await;
    assert!(poll.get("viewers").is_none());
}
