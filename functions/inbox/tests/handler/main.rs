//! Handler tests: in-memory ports, API Gateway events shaped like the real ones.
//! `indicator`: the typing indicator and read receipts; `draft`: agents' drafts.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

mod draft;
mod indicator;
mod presence;

use std::collections::HashMap;

use inbox::InboxApi;
use shared::api::{ApiGatewayV2httpResponse, GatewayRequest, gateway_event};
use shared::domain::{ContactId, Direction, Message, MessageId};
use shared::memory::MemoryPorts;
use shared::ports::{ContactStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::messages::a_message;
use shared::testing::{contact, error_code, json_body, jwt_event, org};

async fn api() -> InboxApi<MemoryPorts> {
    let ports = MemoryPorts::new("http://127.0.0.1:8080");
    for (o, id, name, phone) in [
        ("org-a", "c1", "Aisha Rahman", "+60123456789"),
        ("org-a", "c2", "Ben Ong", "+60123456780"),
        ("org-a", "c3", "Carla Mendes", "+447911123456"),
        ("org-b", "b1", "Other", "+60123456781"),
    ] {
        ports
            .contacts
            .put(&contact(o, id, name, phone))
            .await
            .unwrap();
    }
    InboxApi {
        ports,
        org_claim: "custom:organization_id".into(),
        presence_ttl: std::time::Duration::from_secs(300),
    }
}

fn message(org_id: &str, contact: Option<&str>, text: &str, direction: Direction) -> Message {
    let inbound = direction == Direction::Inbound;
    a_message(org_id)
        .contact(contact)
        .direction(direction)
        .text(text)
        .sid(inbound.then(shared::twilio::new_message_sid).as_deref())
        .build()
}

async fn received(
    api: &InboxApi<MemoryPorts>,
    o: &str,
    contact: Option<&str>,
    text: &str,
) -> Message {
    let m = message(o, contact, text, Direction::Inbound);
    api.ports.messages.insert_inbound(&m).await.unwrap();
    m
}

async fn list(api: &InboxApi<MemoryPorts>, o: &str, query: &str) -> ApiGatewayV2httpResponse {
    api.handle(jwt_event(
        "GET",
        "/whatsapp/conversations",
        query,
        Some(o),
        None,
    ))
    .await
}

fn contacts_of(body: &serde_json::Value) -> Vec<String> {
    body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contact"]["contact_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn read(
    api: &InboxApi<MemoryPorts>,
    o: Option<&str>,
    contact: &str,
    body: &str,
) -> ApiGatewayV2httpResponse {
    post(api, o, contact, "read", Some(body)).await
}

/// `POST /whatsapp/conversations/{contact}/{action}` as API Gateway delivers it.
async fn post(
    api: &InboxApi<MemoryPorts>,
    o: Option<&str>,
    contact: &str,
    action: &str,
    body: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let claims = o.map(|o| {
        HashMap::from([
            ("sub".to_owned(), "user-1".to_owned()),
            ("custom:organization_id".to_owned(), o.to_owned()),
        ])
    });
    let event = gateway_event(GatewayRequest {
        method: "POST".into(),
        raw_path: format!("/whatsapp/conversations/{contact}/{action}"),
        route_key: format!("POST /whatsapp/conversations/{{contact_id}}/{action}"),
        raw_query: String::new(),
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: body.map(|b| b.as_bytes().to_vec()),
        path_parameters: HashMap::from([("contact_id".to_owned(), contact.to_owned())]),
        claims,
        domain_name: "api.example.com".into(),
        source_ip: "203.0.113.7".into(),
    })
    .unwrap();
    api.handle(event).await
}

fn up_to(id: MessageId) -> String {
    serde_json::json!({ "up_to": id.to_string() }).to_string()
}

#[tokio::test]
async fn conversations_are_listed_most_recent_first_with_unread_counts_and_previews() {
    let api = api().await;
    received(&api, "org-a", Some("c1"), "Hello").await;
    received(&api, "org-a", Some("c2"), "Is my order on its way?").await;
    received(&api, "org-a", Some("c2"), "Hello?").await;
    let reply = message(
        "org-a",
        Some("c1"),
        &"A long answer ".repeat(10),
        Direction::Outbound,
    );
    api.ports.messages.insert(&reply).await.unwrap();
    // Unknown senders have no conversation; another organization's stay there.
    received(&api, "org-a", None, "who is this").await;
    received(&api, "org-b", Some("b1"), "elsewhere").await;

    let r = list(&api, "org-a", "").await;
    assert_eq!(r.status_code, 200);
    let body = json_body(&r);
    assert_eq!(contacts_of(&body), ["c1", "c2"]);
    let first = &body["conversations"][0];
    assert_eq!(first["contact"]["name"], "Aisha Rahman");
    assert_eq!(first["contact"]["eligible"], true);
    assert_eq!(first["unread_count"], 1);
    assert_eq!(first["last_message"]["direction"], "OUTBOUND");
    assert_eq!(first["last_message"]["status"], "PENDING");
    let preview = first["last_message"]["preview"].as_str().unwrap();
    assert_eq!(
        preview.chars().count(),
        81,
        "80 characters and an ellipsis: {preview}"
    );
    assert!(preview.ends_with('…'));
    assert_eq!(
        first["last_activity_at"],
        first["last_message"]["created_at"]
    );
    let second = &body["conversations"][1];
    assert_eq!(
        (
            second["unread_count"].as_u64(),
            second["last_message"]["preview"].as_str()
        ),
        (Some(2), Some("Hello?"))
    );
    assert!(body["next_cursor"].is_null());
    // The organization's total: one in c1, two in c2 (not the unknown sender's, not org-b's).
    assert_eq!(body["unread_total"], 3);
    let text = serde_json::to_string(&body).unwrap();
    // A sid is a value starting `SM`/`MM` (a ULID may hold the letters `SM` inside).
    assert!(
        !text.contains("org-a") && !text.contains("\"SM") && !text.contains("\"MM"),
        "no organization or sid: {text}"
    );

    let b = json_body(&list(&api, "org-b", "").await);
    assert_eq!(contacts_of(&b), ["b1"]);
    assert_eq!(b["unread_total"], 1);
}

#[tokio::test]
async fn a_requests_log_lines_name_the_organization_of_its_verified_claim() {
    let api = api().await;
    received(&api, "org-b", Some("b1"), "elsewhere").await;
    let (logs, guard) = shared::testing::logs::capture();
    assert_eq!(list(&api, "org-b", "").await.status_code, 200);
    // Without a claim: unauthorized, and nothing names an organization.
    let mut anonymous = jwt_event("GET", "/whatsapp/conversations", "", None, None);
    anonymous.request_context.authorizer = None;
    assert_eq!(api.handle(anonymous).await.status_code, 401);
    drop(guard);
    let listed = logs.line("conversations listed");
    assert_eq!(listed["span"]["name"], "work");
    assert_eq!(listed["span"]["organization_id"], "org-b");
    assert_eq!(listed["fields"]["listed"], 1);
    assert!(listed["fields"].get("organization_id").is_none());
    let named: Vec<_> = logs
        .lines()
        .into_iter()
        .filter_map(|line| line["span"]["organization_id"].as_str().map(str::to_owned))
        .collect();
    assert!(named.iter().all(|org| org == "org-b"), "{named:?}");
}

#[tokio::test]
async fn pages_follow_the_cursor_and_bad_parameters_are_refused() {
    let api = api().await;
    for c in ["c1", "c2", "c3"] {
        received(&api, "org-a", Some(c), c).await;
    }
    let page = json_body(&list(&api, "org-a", "limit=2").await);
    assert_eq!(contacts_of(&page), ["c3", "c2"]);
    // The total covers every conversation, the ones on later pages too.
    assert_eq!(page["unread_total"], 3);
    let cursor = page["next_cursor"].as_str().unwrap().to_owned();
    let rest = json_body(&list(&api, "org-a", &format!("limit=2&cursor={cursor}")).await);
    assert_eq!(contacts_of(&rest), ["c1"]);
    assert!(rest["next_cursor"].is_null());
    assert!(rest.get("unread_total").is_none(), "on the first page only");
    for query in ["limit=0", "limit=101", "limit=x", "cursor=%21%21"] {
        let r = list(&api, "org-a", query).await;
        assert_eq!(
            (r.status_code, error_code(&r)),
            (400, "invalid_parameter".into()),
            "{query}"
        );
    }
    let r = api
        .handle(jwt_event("GET", "/whatsapp/conversations", "", None, None))
        .await;
    assert_eq!(r.status_code, 401);
}

#[tokio::test]
async fn a_contact_no_longer_eligible_is_listed_with_why_and_a_deleted_one_is_not() {
    let api = api().await;
    received(&api, "org-a", Some("c1"), "STOP").await;
    received(&api, "org-a", Some("c2"), "bye").await;
    let mut stopped = api
        .ports
        .contacts
        .get(&org("org-a"), &ContactId::parse("c1").unwrap())
        .await
        .unwrap()
        .unwrap();
    stopped.whatsapp_unsubscribed = true;
    api.ports.contacts.put(&stopped).await.unwrap();
    api.ports
        .contacts
        .delete(&org("org-a"), &ContactId::parse("c2").unwrap())
        .await
        .unwrap();

    let body = json_body(&list(&api, "org-a", "").await);
    assert_eq!(contacts_of(&body), ["c1"]);
    let row = &body["conversations"][0];
    assert_eq!(row["contact"]["eligible"], false);
    assert!(row["contact"]["ineligible_reason"].as_str().unwrap().len() > 10);
}

#[tokio::test]
async fn reading_marks_the_conversation_read_once_and_never_backwards() {
    let api = api().await;
    let first = received(&api, "org-a", Some("c1"), "one").await;
    let second = received(&api, "org-a", Some("c1"), "two").await;

    let r = read(&api, Some("org-a"), "c1", &up_to(first.id)).await;
    assert_eq!(r.status_code, 200);
    let body = json_body(&r);
    assert_eq!(
        (
            body["unread_count"].as_u64(),
            body["last_read_message_id"].as_str()
        ),
        (Some(1), Some(first.id.to_string().as_str()))
    );
    assert_eq!(body["contact"]["contact_id"], "c1");

    let r = read(&api, Some("org-a"), "c1", &up_to(second.id)).await;
    assert_eq!(json_body(&r)["unread_count"], 0);
    // Again, or an older marker (another tab): 200, nothing changes.
    for id in [second.id, first.id] {
        let r = read(&api, Some("org-a"), "c1", &up_to(id)).await;
        assert_eq!(r.status_code, 200);
        let body = json_body(&r);
        assert_eq!(
            (
                body["unread_count"].as_u64(),
                body["last_read_message_id"].as_str()
            ),
            (Some(0), Some(second.id.to_string().as_str()))
        );
    }
    // One shared inbox: the list says so too.
    let listed = json_body(&list(&api, "org-a", "").await);
    assert_eq!(listed["conversations"][0]["unread_count"], 0);
    assert_eq!(listed["unread_total"], 0);
}

#[tokio::test]
async fn reads_of_other_organizations_conversations_or_messages_are_refused_and_change_nothing() {
    let api = api().await;
    let mine = received(&api, "org-a", Some("c1"), "mine").await;
    let other_contact = received(&api, "org-a", Some("c2"), "Ben's").await;
    let foreign = received(&api, "org-b", Some("b1"), "theirs").await;
    let stranger = received(&api, "org-a", None, "unknown sender").await;

    let cases = [
        (Some("org-a"), "b1", up_to(foreign.id), 404, "not_found"),
        (Some("org-b"), "c1", up_to(mine.id), 404, "not_found"),
        (Some("org-a"), "nobody", up_to(mine.id), 404, "not_found"),
        (
            Some("org-a"),
            "c1",
            up_to(other_contact.id),
            422,
            "message_not_in_conversation",
        ),
        (
            Some("org-a"),
            "c1",
            up_to(foreign.id),
            422,
            "message_not_in_conversation",
        ),
        (
            Some("org-a"),
            "c1",
            up_to(stranger.id),
            422,
            "message_not_in_conversation",
        ),
        (
            Some("org-a"),
            "c1",
            up_to(MessageId::new()),
            422,
            "message_not_in_conversation",
        ),
        (
            Some("org-a"),
            "c1",
            r#"{"up_to": "not-an-id"}"#.to_owned(),
            400,
            "invalid_parameter",
        ),
        (
            Some("org-a"),
            "c1",
            r#"{"up_to": 42}"#.to_owned(),
            400,
            "invalid_json",
        ),
        (
            Some("org-a"),
            "c1",
            r#"{"up_to": "x", "extra": 1}"#.to_owned(),
            400,
            "invalid_json",
        ),
        (Some("org-a"), "c1", "{}".to_owned(), 400, "invalid_json"),
        (None, "c1", up_to(mine.id), 401, "unauthorized"),
    ];
    for (o, contact, body, status, code) in cases {
        let r = read(&api, o, contact, &body).await;
        assert_eq!(
            (r.status_code, error_code(&r)),
            (status, code.to_owned()),
            "{o:?} {contact} {body}"
        );
    }
    let listed = json_body(&list(&api, "org-a", "").await);
    assert!(
        listed["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["unread_count"] == 1 && c["last_read_message_id"].is_null())
    );
    let theirs = json_body(&list(&api, "org-b", "").await);
    assert_eq!(theirs["conversations"][0]["unread_count"], 1);
}
