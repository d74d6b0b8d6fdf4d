//! Approved templates: sent outside the 24-hour window, refused when they cannot be sent.

use super::*;

pub(crate) const SHIPPED: &str = "HX00000000000000000000000000000001";

pub(crate) fn with_templates(api: &Api) {
    let mut shipped = shared::testing::template(SHIPPED, "order_shipped");
    shipped.body = "Hi {{1}}, your order {{2}} has shipped.".into();
    let mut invoice =
        shared::testing::template("HX00000000000000000000000000000002", "invoice_ready");
    invoice.content_type = "twilio/media".into();
    invoice.media = vec!["https://example.com/invoices/{{1}}.pdf".into()];
    invoice.body = "Your invoice {{1}} is ready.".into();
    api.ports.sender.set_templates(vec![shipped, invoice]);
}

pub(crate) fn template_send(contact: &str, sid: &str, variables: serde_json::Value) -> String {
    serde_json::json!({"contact_id": contact, "template": {"content_sid": sid, "variables": variables}})
        .to_string()
}

/// Outside the 24-hour window only a template goes: it is accepted, stored with what the
/// contact reads, and records which template it came from.
#[tokio::test]
async fn an_approved_template_is_sent_outside_the_window() {
    let api = api().await;
    with_templates(&api);
    let r = post(
        &api,
        Some("org-a"),
        &template_send(
            "c4",
            SHIPPED,
            serde_json::json!({"1": "Quiet", "2": "#1042"}),
        ),
    )
    .await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    let body = json_body(&r);
    let message = &body["messages"][0];
    assert_eq!(message["text"], "Hi Quiet, your order #1042 has shipped.");
    assert_eq!(message["status"], "PENDING");
    assert_eq!(message["template"]["content_sid"], SHIPPED);
    assert_eq!(message["template"]["name"], "order_shipped");
    assert_eq!(message["template"]["variables"]["2"], "#1042");
    let stored = api.ports.messages.all(&org("org-a"));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].template.as_ref().unwrap().content_sid, SHIPPED);
    assert_eq!(api.ports.queue.jobs().len(), 1);

    // A media template is stored with its media's type.
    let r = post(
        &api,
        Some("org-a"),
        &template_send(
            "c1",
            "HX00000000000000000000000000000002",
            serde_json::json!({"1": "INV-7"}),
        ),
    )
    .await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    assert_eq!(json_body(&r)["messages"][0]["message_type"], "DOCUMENT");

    // Free-form to the same contact is still refused, with the template hint.
    let r = post(&api, Some("org-a"), r#"{"contact_id":"c4","text":"hi"}"#).await;
    assert_eq!(r.status_code, 422);
    assert_eq!(error_code(&r), "outside_24h_window");
}

#[tokio::test]
async fn bad_template_sends_are_refused_and_change_nothing() {
    let api = api().await;
    with_templates(&api);
    let ok_vars = serde_json::json!({"1": "Aisha", "2": "#1"});
    let cases: Vec<(String, u16, &str, Option<&str>)> = vec![
        (template_send("c1", "HX123", ok_vars.clone()), 400, "invalid_parameter", None),
        (template_send("c1", "SM00000000000000000000000000000001", ok_vars.clone()), 400, "invalid_parameter", None),
        (
            template_send("c1", "HX0000000000000000000000000000000f", ok_vars.clone()),
            422,
            "template_not_found",
            Some("This template is not one of the organization's approved WhatsApp templates."),
        ),
        (
            template_send("c1", SHIPPED, serde_json::json!({"1": "Aisha"})),
            422,
            "invalid_template_variables",
            Some("Variable {{2}} of this template needs a value."),
        ),
        (template_send("c1", SHIPPED, serde_json::json!({"1": "", "2": "x"})), 422, "invalid_template_variables", None),
        (template_send("c1", SHIPPED, serde_json::json!({"1": "a", "2": "x", "9": "y"})), 422, "invalid_template_variables", None),
        (template_send("c1", SHIPPED, serde_json::json!({"1": "a\nb", "2": "x"})), 422, "invalid_template_variables", None),
        (template_send("c1", SHIPPED, serde_json::json!({"1": "a      b", "2": "x"})), 422, "invalid_template_variables", None),
        (template_send("c1", SHIPPED, serde_json::json!({"1": 5, "2": "x"})), 400, "invalid_json", None),
        (template_send("c1", SHIPPED, serde_json::json!(["Aisha"])), 400, "invalid_json", None),
        (
            serde_json::json!({"contact_id": "c1", "text": "hi", "template": {"content_sid": SHIPPED, "variables": ok_vars}}).to_string(),
            400,
            "invalid_parameter",
            Some("A template cannot be combined with text or attachments."),
        ),
        // Blanks are text too: a template comes alone (the OpenAPI's three shapes).
        (
            serde_json::json!({"contact_id": "c1", "text": "  ", "template": {"content_sid": SHIPPED, "variables": ok_vars}}).to_string(),
            400,
            "invalid_parameter",
            Some("A template cannot be combined with text or attachments."),
        ),
        // Text is counted before blanks are dropped.
        (
            serde_json::json!({"contact_id": "c1", "text": " ".repeat(1601), "attachments": [reference("org-a/uploads/1/a.png", "image/png", "a.png", 10)]}).to_string(),
            400,
            "text_too_long",
            None,
        ),
        (
            serde_json::json!({"contact_id": "c1", "attachments": [reference("org-a/uploads/1/a.png", "image/png", "a.png", 10)], "template": {"content_sid": SHIPPED, "variables": ok_vars}}).to_string(),
            400,
            "invalid_parameter",
            Some("A template cannot be combined with text or attachments."),
        ),
        (template_send("c2", SHIPPED, ok_vars.clone()), 422, "not_opted_in", None),
        (template_send("b1", SHIPPED, ok_vars.clone()), 404, "not_found", None),
    ];
    for (body, status, code, message) in cases {
        let r = post(&api, Some("org-a"), &body).await;
        assert_eq!(r.status_code, status as i64, "{body}: {:?}", r.body);
        assert_eq!(error_code(&r), code, "{body}");
        if let Some(message) = message {
            assert_eq!(json_body(&r)["error"]["message"], message, "{body}");
        }
    }
    assert_nothing_changed(&api, &org("org-a"));

    // Twilio's Content API unreachable (nothing cached yet): 503, nothing stored.
    let fresh = api_with(MemoryQueue::recording()).await;
    fresh
        .ports
        .sender
        .fail_next_template_reads([shared::twilio::TwilioError::Timeout]);
    let r = post(
        &fresh,
        Some("org-a"),
        &template_send("c1", SHIPPED, ok_vars),
    )
    .await;
    assert_eq!(r.status_code, 503);
    assert_nothing_changed(&fresh, &org("org-a"));
}
