//! Buttons and lists: accepted whole or refused with nothing stored or queued.

use serde_json::json;
use shared::testing::{error_code, json_body, org};

use crate::{api, assert_nothing_changed, post};

#[tokio::test]
async fn buttons_and_lists_are_stored_with_their_body_as_text_and_queued() {
    let api = api().await;
    let buttons = json!({"type": "buttons", "body": "Does 3 pm suit you?",
        "buttons": [{"id": "yes", "title": "Yes"}, {"id": "no", "title": "No"}]});
    let r = post(
        &api,
        Some("org-a"),
        &json!({"contact_id": "c1", "interactive": buttons}).to_string(),
    )
    .await;
    assert_eq!(r.status_code, 202, "{}", json_body(&r));
    let sent = &json_body(&r)["messages"][0];
    assert_eq!(sent["message_type"], "INTERACTIVE");
    assert_eq!(sent["text"], "Does 3 pm suit you?");
    assert_eq!(sent["interactive"], buttons);
    let list = json!({"type": "list", "body": "Choose a slot", "button": "Slots",
        "items": [{"id": "s9", "title": "9:00", "description": "Room A"}, {"id": "s10", "title": "10:00"}]});
    let r = post(
        &api,
        Some("org-a"),
        &json!({"contact_id": "c1", "interactive": list}).to_string(),
    )
    .await;
    assert_eq!(r.status_code, 202, "{}", json_body(&r));
    let stored = api.ports.messages.all(&org("org-a"));
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|m| m.interactive.is_some()));
    assert_eq!(api.ports.queue.jobs().len(), 2);
}

#[tokio::test]
async fn bad_buttons_and_lists_are_refused_and_change_nothing() {
    let api = api().await;
    let one = json!([{"id": "a", "title": "A"}]);
    let cases = [
        (
            json!({"contact_id": "c1", "text": "hi", "interactive": {"type": "buttons", "body": "b", "buttons": one}}),
            400,
            "Buttons or a list cannot be combined with text, attachments or a template.",
        ),
        (
            json!({"contact_id": "c1", "interactive": {"type": "buttons", "body": "b", "buttons": one},
                   "template": {"content_sid": "HX00000000000000000000000000000001"}}),
            400,
            "Buttons or a list cannot be combined with text, attachments or a template.",
        ),
        (
            json!({"contact_id": "c1", "interactive": {"type": "buttons", "body": "b", "buttons": [
                {"id": "a", "title": "A"}, {"id": "b", "title": "B"}, {"id": "c", "title": "C"}, {"id": "d", "title": "D"}]}}),
            400,
            "Buttons: 1 to 3.",
        ),
        (
            json!({"contact_id": "c1", "interactive": {"type": "list", "body": "b", "button": "Open", "items": [
                {"id": "a", "title": "A"}, {"id": "a", "title": "B"}]}}),
            422,
            "Option ids must be unique: \"a\" is used twice.",
        ),
        (
            json!({"contact_id": "c1", "interactive": {"type": "buttons", "body": "Hi {{1}}", "buttons": one}}),
            400,
            "The body must not contain \"{{\" (Twilio would read it as a variable).",
        ),
        // Session only: outside the window, the same refusal as free text.
        (
            json!({"contact_id": "c4", "interactive": {"type": "buttons", "body": "b", "buttons": one}}),
            422,
            "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.",
        ),
    ];
    for (body, status, message) in cases {
        let r = post(&api, Some("org-a"), &body.to_string()).await;
        assert_eq!(r.status_code, status, "{body}");
        assert_eq!(json_body(&r)["error"]["message"], message, "{body}");
    }
    // A shape that is neither: the body is not a send.
    let r = post(
        &api,
        Some("org-a"),
        &json!({"contact_id": "c1", "interactive": {"type": "carousel", "body": "b"}}).to_string(),
    )
    .await;
    assert_eq!(r.status_code, 400);
    assert_eq!(error_code(&r), "invalid_json");
    assert_nothing_changed(&api, &org("org-a"));
}
