//! The HTTP API's events: the page's requests with the agent's token (API Gateway's JWT
//! authorizer claims), one per route measured.

use shared::testing::jwt_event;

use super::*;

/// The first page of a contact search in an organization.
pub fn search_contacts(org: &str, entry: &str) -> Vec<u8> {
    let query = format!("q={}&limit=25", url_escape(entry));
    json(&jwt_event(
        "GET",
        "/whatsapp/contacts",
        &query,
        Some(org),
        None,
    ))
}

fn url_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The channel status, its senders' health included (the page's second read of it).
pub fn channel() -> Vec<u8> {
    json(&jwt_event("GET", "/whatsapp/channel", "", Some(ORG), None))
}

pub fn list_contacts() -> Vec<u8> {
    json(&jwt_event("GET", "/whatsapp/contacts", "", Some(ORG), None))
}

/// The first page of an organization's inbox (25 conversations).
pub fn inbox_page(org: &str) -> Vec<u8> {
    json(&jwt_event(
        "GET",
        "/whatsapp/conversations",
        "limit=25",
        Some(org),
        None,
    ))
}

/// A POST of the benchmark agent, with its JSON body.
fn post(path: &str, body: &str) -> Vec<u8> {
    json(&jwt_event("POST", path, "", Some(ORG), Some(body)))
}

/// A request on one of the benchmark contact's conversation routes
/// (`/whatsapp/conversations/{contact_id}/<action>`), with the path as API Gateway fills it.
fn conversation_route(method: &str, action: &str, body: Option<&str>) -> Vec<u8> {
    let mut event = jwt_event(
        method,
        &format!("/whatsapp/conversations/{{contact_id}}/{action}"),
        "",
        Some(ORG),
        body,
    );
    event.raw_path = Some(format!("/whatsapp/conversations/{CONTACT_ID}/{action}"));
    event
        .path_parameters
        .insert("contact_id".to_owned(), CONTACT_ID.to_owned());
    json(&event)
}

/// The benchmark contact's conversation read up to one of its messages.
pub fn mark_read(up_to: &str) -> Vec<u8> {
    let body = serde_json::json!({ "up_to": up_to }).to_string();
    conversation_route("POST", "read", Some(&body))
}

/// An agent typing in the benchmark contact's conversation (the typing hint).
pub fn typing() -> Vec<u8> {
    conversation_route("POST", "typing", None)
}

/// The benchmark agent's draft in the benchmark contact's conversation: read (`GET`) or
/// saved (`PUT` with `text`), as the page does on opening a conversation and after a pause
/// in typing.
pub fn draft(method: &str, text: Option<&str>) -> Vec<u8> {
    let body = text.map(|t| serde_json::json!({ "text": t }).to_string());
    conversation_route(method, "draft", body.as_deref())
}

/// The newest page of the conversation (what opening a contact loads).
pub fn conversation_page() -> Vec<u8> {
    let query = format!("contact_id={CONTACT_ID}");
    json(&jwt_event(
        "GET",
        "/whatsapp/messages",
        &query,
        Some(ORG),
        None,
    ))
}

/// A poll with nothing new since `cursor`.
pub fn empty_poll(cursor: &str) -> Vec<u8> {
    let query = format!("contact_id={CONTACT_ID}&after={cursor}");
    json(&jwt_event(
        "GET",
        "/whatsapp/messages",
        &query,
        Some(ORG),
        None,
    ))
}

pub fn send(text: &str) -> Vec<u8> {
    let body = serde_json::json!({"contact_id": CONTACT_ID, "text": text}).to_string();
    post("/whatsapp/messages", &body)
}

/// Three quick-reply buttons, the same every time (as a canned response sends them).
pub fn send_buttons() -> Vec<u8> {
    let body = serde_json::json!({"contact_id": CONTACT_ID, "interactive": {
        "type": "buttons", "body": "When should we deliver?",
        "buttons": [{"id": "1", "title": "Today"}, {"id": "2", "title": "Tomorrow"},
                    {"id": "3", "title": "Next week"}]}})
    .to_string();
    post("/whatsapp/messages", &body)
}

pub fn presign_upload() -> Vec<u8> {
    let body = r#"{"filename":"invoice.pdf","content_type":"application/pdf","size":48213}"#;
    post("/whatsapp/attachments", body)
}

/// The benchmark agent tells where it is in the benchmark contact's conversation.
pub fn presence(state: &str) -> Vec<u8> {
    let body = serde_json::json!({ "state": state }).to_string();
    conversation_route("POST", "presence", Some(&body))
}

/// A note in the benchmark contact's conversation.
pub fn note(text: &str) -> Vec<u8> {
    let body = serde_json::json!({"contact_id": CONTACT_ID, "text": text}).to_string();
    post("/whatsapp/notes", &body)
}

/// A send naming the newest message the agent saw (the collision guard reads the news).
pub fn send_seen(text: &str, seen_up_to: &str) -> Vec<u8> {
    let body =
        serde_json::json!({"contact_id": CONTACT_ID, "text": text, "seen_up_to": seen_up_to})
            .to_string();
    post("/whatsapp/messages", &body)
}

/// A new canned response of the benchmark organization, with a shortcut of its own.
pub fn canned_create() -> Vec<u8> {
    let shortcut = format!("b-{}", ulid::Ulid::new().to_string().to_lowercase());
    let body = serde_json::json!({
        "shortcut": shortcut,
        "title": "Order shipped",
        "text": "Hi {{contact.first_name}}, order {{?order number}} left our warehouse today. — {{agent.name}}",
    })
    .to_string();
    post("/whatsapp/canned-responses", &body)
}

/// The first page of the organization's canned responses (what the page loads once).
pub fn canned_list() -> Vec<u8> {
    json(&jwt_event(
        "GET",
        "/whatsapp/canned-responses",
        "limit=100",
        Some(ORG),
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A conversation route's event names the route as API Gateway's `routeKey` does and the
    /// contact in the path and its parameters.
    #[test]
    fn conversation_routes_carry_their_contact() {
        for (event, action) in [
            (typing(), "typing"),
            (presence("viewing"), "presence"),
            (mark_read("01ARZ3NDEKTSV4RRFFQ69G5FAV"), "read"),
            (draft("GET", None), "draft"),
        ] {
            let event: serde_json::Value = serde_json::from_slice(&event).unwrap();
            assert_eq!(
                event["rawPath"],
                format!("/whatsapp/conversations/{CONTACT_ID}/{action}")
            );
            assert!(
                event["routeKey"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/whatsapp/conversations/{{contact_id}}/{action}")),
                "{}",
                event["routeKey"]
            );
            assert_eq!(event["pathParameters"]["contact_id"], CONTACT_ID);
        }
    }

    /// A POST carries its route, the benchmark organization's claim and its JSON body.
    #[test]
    fn posts_carry_their_route_and_body() {
        let event: serde_json::Value = serde_json::from_slice(&note("hello")).unwrap();
        assert_eq!(event["routeKey"], "POST /whatsapp/notes");
        assert_eq!(event["rawPath"], "/whatsapp/notes");
        let body: serde_json::Value =
            serde_json::from_str(event["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["text"], "hello");
        assert_eq!(body["contact_id"], CONTACT_ID);
        assert!(event.to_string().contains(ORG), "the organization claim");
    }
}
