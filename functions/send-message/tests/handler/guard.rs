//! The collision guard: `seen_up_to` refuses a send made while the contact or another agent
//! wrote since, and nothing of the refused send is stored or queued.

use shared::domain::{AgentRef, ContactId, Message, MessageId};
use shared::testing::as_agent;

use super::*;

const ANA: (&str, &str) = ("u-ana", "Ana Lima");
const BEN: (&str, &str) = ("u-ben", "Ben Ong");

/// A send by `agent` (None: a token without a user), with an Idempotency-Key if given.
async fn send_as(
    api: &Api,
    agent: Option<(&str, &str)>,
    key: Option<&str>,
    body: serde_json::Value,
) -> ApiGatewayV2httpResponse {
    let body = body.to_string();
    let mut event = as_agent(
        jwt_event("POST", "/whatsapp/messages", "", Some("org-a"), Some(&body)),
        agent,
    );
    if let Some(key) = key {
        event
            .headers
            .insert("idempotency-key", key.parse().unwrap());
    }
    api.handle(event).await
}

fn text(text: &str, seen: Option<&str>) -> serde_json::Value {
    let mut body = serde_json::json!({"contact_id": "c1", "text": text});
    if let Some(seen) = seen {
        body["seen_up_to"] = seen.into();
    }
    body
}

fn first_id(r: &ApiGatewayV2httpResponse) -> String {
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    json_body(r)["messages"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The contact writes to the conversation of c1.
async fn contact_writes(api: &Api, body: &str) -> String {
    let m = Message::inbound(
        &org("org-a"),
        Some(ContactId::parse("c1").unwrap()),
        None,
        &format!("SM{}", MessageId::new()),
        Some(body.to_owned()),
        vec![],
        chrono::Utc::now(),
    );
    api.ports.messages.insert_inbound(&m).await.unwrap();
    m.id.to_string()
}

fn counts(api: &Api) -> (usize, usize) {
    (
        api.ports.messages.all(&org("org-a")).len(),
        api.ports.queue.jobs().len(),
    )
}

#[tokio::test]
async fn a_reply_from_the_contact_since_what_was_seen_refuses_the_send_and_carries_it() {
    let api = api().await;
    let seen = first_id(&send_as(&api, Some(ANA), None, text("Your order shipped", None)).await);
    let news = contact_writes(&api, "Where is it now?").await;
    let before = counts(&api);

    let r = send_as(&api, Some(ANA), None, text("Anything else?", Some(&seen))).await;
    assert_eq!(r.status_code, 409);
    assert_eq!(error_code(&r), "conversation_changed");
    let carried = &json_body(&r)["error"]["messages"];
    assert_eq!(carried.as_array().unwrap().len(), 1);
    assert_eq!(carried[0]["id"], news.as_str());
    assert_eq!(carried[0]["text"], "Where is it now?");
    assert_eq!(counts(&api), before, "nothing stored, nothing queued");

    // Seen up to the reply: the same send goes out.
    first_id(&send_as(&api, Some(ANA), None, text("Anything else?", Some(&news))).await);
}

#[tokio::test]
async fn the_agents_own_sends_and_anyones_notes_do_not_count_another_agents_send_does() {
    let api = api().await;
    let seen = first_id(&send_as(&api, Some(ANA), None, text("one", None)).await);
    // Ana's own second message, then a note of Ben's: not news to Ana.
    first_id(&send_as(&api, Some(ANA), None, text("two", Some(&seen))).await);
    let ben = AgentRef::from_claims(BEN.0, Some(BEN.1), None).unwrap();
    let note = Message::note(
        &org("org-a"),
        &ContactId::parse("c1").unwrap(),
        "I'll call them".into(),
        ben,
        chrono::Utc::now(),
    );
    api.ports.messages.insert(&note).await.unwrap();
    first_id(&send_as(&api, Some(ANA), None, text("three", Some(&seen))).await);

    // Ben answers meanwhile, then an integration does: both are news to Ana, newest last.
    let bens = first_id(&send_as(&api, Some(BEN), None, text("On its way", None)).await);
    let apis = first_id(&send_as(&api, None, None, text("Survey", None)).await);
    let r = send_as(&api, Some(ANA), None, text("four", Some(&seen))).await;
    assert_eq!(r.status_code, 409);
    let carried: Vec<_> = json_body(&r)["error"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["id"].as_str().unwrap().to_owned(), m["agent"].clone()))
        .collect();
    assert_eq!(
        carried,
        vec![
            (bens, serde_json::json!({"sub": "u-ben", "name": "Ben Ong"})),
            (apis, serde_json::Value::Null),
        ]
    );
}

#[tokio::test]
async fn seen_up_to_must_be_a_message_of_that_conversation() {
    let api = api().await;
    let theirs = first_id(
        &api.handle(jwt_event(
            "POST",
            "/whatsapp/messages",
            "",
            Some("org-b"),
            Some(r#"{"contact_id":"b1","text":"hi"}"#),
        ))
        .await,
    );
    let before = counts(&api);
    let unknown = MessageId::new().to_string();
    for (seen, status, code) in [
        (unknown.as_str(), 422, "message_not_in_conversation"),
        (theirs.as_str(), 422, "message_not_in_conversation"),
        ("not-an-id", 400, "invalid_parameter"),
    ] {
        let r = send_as(&api, Some(ANA), None, text("hi", Some(seen))).await;
        assert_eq!(
            (r.status_code, error_code(&r).as_str()),
            (status, code),
            "{seen}"
        );
    }
    assert_eq!(counts(&api), before);
}

#[tokio::test]
async fn the_key_is_checked_first_and_send_anyway_is_the_same_send_without_seen_up_to() {
    let api = api().await;
    let seen = first_id(&send_as(&api, Some(ANA), None, text("one", None)).await);
    contact_writes(&api, "wait").await;
    let before = counts(&api);
    let r = send_as(&api, Some(ANA), Some("k-1"), text("two", Some(&seen))).await;
    assert_eq!(r.status_code, 409);
    assert_eq!(
        counts(&api),
        before,
        "a refused send records nothing, not even its key"
    );

    // "Send anyway": the same key, no seen_up_to.
    let sent = send_as(&api, Some(ANA), Some("k-1"), text("two", None)).await;
    let id = first_id(&sent);
    // A repeat (a double click) with the stale seen_up_to is the same request: its first 202.
    let again = send_as(&api, Some(ANA), Some("k-1"), text("two", Some(&seen))).await;
    assert_eq!(first_id(&again), id);
    assert_eq!(counts(&api), (before.0 + 1, before.1 + 1), "sent once");
}
