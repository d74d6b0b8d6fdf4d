//! Notes: recorded with their author in the conversation, for agents only — never sent,
//! never unread, never the inbox row's newest; refused whole when they cannot be taken.

use serde_json::json;
use shared::api::ApiGatewayV2httpResponse;
use shared::domain::{ContactId, MessageStatus};
use shared::ports::{ConversationQuery, ConversationStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::{as_agent, error_code, json_body, jwt_event, org};

use super::Api;
use super::api;

async fn received(api: &Api, contact: &str, text: &str) -> shared::domain::Message {
    let m = shared::domain::Message::inbound(
        &org("org-a"),
        Some(ContactId::parse(contact).unwrap()),
        None,
        &format!("SM{}", shared::domain::MessageId::new()),
        Some(text.to_owned()),
        vec![],
        chrono::Utc::now(),
    );
    api.ports.messages.insert_inbound(&m).await.unwrap();
    m
}

async fn note(
    api: &Api,
    org_claim: &str,
    agent: Option<(&str, &str)>,
    body: &str,
) -> ApiGatewayV2httpResponse {
    let event = jwt_event("POST", "/whatsapp/notes", "", Some(org_claim), Some(body));
    api.handle(as_agent(event, agent)).await
}

const ANA: Option<(&str, &str)> = Some(("u-ana", "Ana Lima"));

#[tokio::test]
async fn a_note_joins_the_conversation_with_its_author_and_changes_nothing_else() {
    let api = api().await;
    let c1 = ContactId::parse("c1").unwrap();
    let reply = received(&api, "c1", "Where is my order?").await;
    let row = api
        .ports
        .messages
        .summary(&org("org-a"), &c1)
        .await
        .unwrap()
        .unwrap();

    let r = note(
        &api,
        "org-a",
        ANA,
        r#"{"contact_id":"c1","text":"  <b>VIP</b>: call back at 5  "}"#,
    )
    .await;
    assert_eq!(r.status_code, 201, "{:?}", r.body);
    let answer = json_body(&r)["message"].clone();
    assert_eq!(answer["direction"], "INTERNAL");
    assert_eq!(answer["message_type"], "NOTE");
    assert_eq!(answer["status"], "RECORDED");
    assert_eq!(
        answer["text"], "  <b>VIP</b>: call back at 5  ",
        "kept as written"
    );
    assert_eq!(answer["agent"], json!({"sub": "u-ana", "name": "Ana Lima"}));

    // In the conversation, after the reply; the inbox row is as it was (preview, unread).
    let page = api
        .ports
        .messages
        .conversation(&org("org-a"), &c1, ConversationQuery::Latest { limit: 10 })
        .await
        .unwrap();
    let listed: Vec<_> = page.messages.iter().map(|m| (m.id, m.status)).collect();
    assert_eq!(listed[0].0, reply.id);
    assert_eq!(listed[1].1, MessageStatus::Recorded);
    assert_eq!(
        api.ports
            .messages
            .summary(&org("org-a"), &c1)
            .await
            .unwrap(),
        Some(row)
    );
    assert!(
        api.ports.sender.attempts().is_empty(),
        "nothing goes to Twilio"
    );
    // Another organization's conversation of the same id holds nothing of it.
    assert!(api.ports.messages.all(&org("org-b")).is_empty());
}

#[tokio::test]
async fn a_note_may_be_left_on_a_contact_who_cannot_be_written_to() {
    let api = api().await;
    // c2 never opted in, c3's number is no number, c4 is outside the 24-hour window.
    for contact in ["c2", "c3", "c4"] {
        let body = json!({"contact_id": contact, "text": "Asked us to write by post"}).to_string();
        let r = note(&api, "org-a", ANA, &body).await;
        assert_eq!(r.status_code, 201, "{contact}: {:?}", r.body);
    }
    assert!(api.ports.queue.jobs().is_empty());
}

#[tokio::test]
async fn notes_that_cannot_be_taken_are_refused_and_store_nothing() {
    let api = api().await;
    let long = json!({"contact_id": "c1", "text": "n".repeat(1601)}).to_string();
    let cases = [
        (
            ANA,
            r#"{"contact_id":"c1","text":"   "}"#,
            400,
            "no_content",
        ),
        (ANA, long.as_str(), 400, "text_too_long"),
        (ANA, r#"{"contact_id":"c1"}"#, 400, "invalid_json"),
        (
            ANA,
            r#"{"contact_id":"c1","text":"x","attachments":[]}"#,
            400,
            "invalid_json",
        ),
        (
            ANA,
            r#"{"contact_id":"b1","text":"theirs"}"#,
            404,
            "not_found",
        ),
        (
            ANA,
            r#"{"contact_id":"nobody","text":"x"}"#,
            404,
            "not_found",
        ),
        (
            None,
            r#"{"contact_id":"c1","text":"from a machine"}"#,
            403,
            "agent_required",
        ),
    ];
    for (agent, body, status, code) in cases {
        let r = note(&api, "org-a", agent, body).await;
        assert_eq!(
            (r.status_code, error_code(&r).as_str()),
            (status, code),
            "{body}"
        );
    }
    assert!(api.ports.messages.all(&org("org-a")).is_empty());
    let exactly = json!({"contact_id": "c1", "text": "n".repeat(1600)}).to_string();
    assert_eq!(note(&api, "org-a", ANA, &exactly).await.status_code, 201);
}
