//! Handler tests: in-memory ports, API Gateway / SQS events shaped like the real ones.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use shared::domain::OrganizationId;
use shared::domain::StatusChange;
use shared::memory::{MemoryPorts, MemoryQueue};
use shared::ports::{ContactStore, ConversationStore, MessageStore};
use shared::runtime::Handler;
use shared::testing::{
    ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, error_code, hours_ago, json_body, jwt_event, org,
    secret_json,
};

use shared::api::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use shared::domain::MessageStatus;

use send_message::*;

mod guard;
mod interactive;
mod note;

type Api = SendApi<MemoryPorts>;

async fn api_with(queue: MemoryQueue) -> Api {
    let ports = MemoryPorts::new("http://127.0.0.1:8080").with_queue(queue);
    let contacts = &ports.contacts;
    contacts
        .put(&contact("org-a", "c1", "Aisha Rahman", "+60123456789"))
        .await
        .unwrap();
    let mut no_opt_in = contact("org-a", "c2", "Ben Ong", "+60123456780");
    no_opt_in.whatsapp_opt_in = false;
    contacts.put(&no_opt_in).await.unwrap();
    contacts
        .put(&contact("org-a", "c3", "Bad Phone", "0123456789"))
        .await
        .unwrap();
    let mut stale = contact("org-a", "c4", "Quiet Contact", "+6591234567");
    stale.last_inbound_at = Some(hours_ago(25));
    contacts.put(&stale).await.unwrap();
    contacts
        .put(&contact("org-b", "b1", "Other Org", "+60123456781"))
        .await
        .unwrap();
    let credentials = &ports.credentials;
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    credentials.put_secret(
        &org("org-b"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true),
    );
    SendApi {
        ports,
        org_claim: "custom:organization_id".into(),
        templates: shared::template_cache::TemplateCache::new(std::time::Duration::from_secs(60)),
    }
}

async fn api() -> Api {
    api_with(MemoryQueue::recording()).await
}

async fn post(api: &Api, org_claim: Option<&str>, body: &str) -> ApiGatewayV2httpResponse {
    api.handle(jwt_event(
        "POST",
        "/whatsapp/messages",
        "",
        org_claim,
        Some(body),
    ))
    .await
}

fn assert_nothing_changed(api: &Api, org_id: &OrganizationId) {
    assert!(api.ports.messages.all(org_id).is_empty(), "nothing stored");
    assert!(api.ports.queue.jobs().is_empty(), "nothing queued");
}

#[tokio::test]
async fn accepts_stores_pending_and_queues_one_job() {
    let api = api().await;
    let r = post(
        &api,
        Some("org-a"),
        r#"{"contact_id":"c1","text":"Hello Aisha"}"#,
    )
    .await;
    assert_eq!(r.status_code, 202);
    let body = json_body(&r);
    let sent = &body["messages"][0];
    assert_eq!(sent["status"], "PENDING");
    assert_eq!(sent["direction"], "OUTBOUND");
    assert_eq!(sent["message_type"], "TEXT");
    assert_eq!(sent["text"], "Hello Aisha");
    assert_eq!(sent["contact_id"], "c1");

    let stored = api.ports.messages.all(&org("org-a"));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id.to_string(), sent["id"].as_str().unwrap());
    assert_eq!(stored[0].contact_phone.as_deref(), Some("+60123456789"));
    let jobs = api.ports.queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].0,
        shared::domain::WorkerJob::Send(shared::domain::MessageJob::new(
            &org("org-a"),
            stored[0].id
        ))
    );
}

#[tokio::test]
async fn a_send_whose_inbox_row_cannot_be_written_still_goes_out_and_its_next_status_writes_it() {
    let api = api().await;
    let org_a = org("org-a");
    let c1 = shared::domain::ContactId::parse("c1").unwrap();
    // The message is stored, then the summary's write fails (DynamoDB throttles it).
    api.ports
        .messages
        .faults
        .fail_next("summary_after_insert", 1);
    let r = post(
        &api,
        Some("org-a"),
        r#"{"contact_id":"c1","text":"Your order shipped"}"#,
    )
    .await;
    assert_eq!(r.status_code, 202, "the send is accepted: it is stored");
    let stored = api.ports.messages.all(&org_a);
    assert_eq!(
        api.ports.queue.jobs().len(),
        1,
        "and queued: it never stays PENDING"
    );
    assert_eq!(api.ports.messages.summary(&org_a, &c1).await.unwrap(), None);
    // The worker's SENT brings the inbox row up to the message.
    api.ports
        .messages
        .apply_status(
            &org_a,
            &stored[0].id,
            &StatusChange::sent("SM00000000000000000000000000000077"),
        )
        .await
        .unwrap();
    let row = api
        .ports
        .messages
        .summary(&org_a, &c1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.last_message.id, row.last_message.status),
        (stored[0].id, MessageStatus::Sent)
    );
}

#[tokio::test]
async fn blank_or_missing_content_is_refused() {
    let api = api().await;
    for body in [
        r#"{"contact_id":"c1"}"#,
        r#"{"contact_id":"c1","text":""}"#,
        r#"{"contact_id":"c1","text":"  \n\t "}"#,
        r#"{"contact_id":"c1","text":null,"attachments":[]}"#,
    ] {
        let r = post(&api, Some("org-a"), body).await;
        assert_eq!(r.status_code, 400, "{body}");
        assert_eq!(json_body(&r)["error"]["message"], "No content to send.");
    }
    assert_nothing_changed(&api, &org("org-a"));
}

#[tokio::test]
async fn text_over_1600_characters_is_refused() {
    let api = api().await;
    let ok = format!(r#"{{"contact_id":"c1","text":"{}"}}"#, "é".repeat(1600));
    assert_eq!(post(&api, Some("org-a"), &ok).await.status_code, 202);
    let long = format!(r#"{{"contact_id":"c1","text":"{}"}}"#, "a".repeat(1601));
    let r = post(&api, Some("org-a"), &long).await;
    assert_eq!(r.status_code, 400);
    assert_eq!(error_code(&r), "text_too_long");
    assert_eq!(api.ports.messages.all(&org("org-a")).len(), 1);
}

#[tokio::test]
async fn malformed_bodies_are_400_and_change_nothing() {
    let api = api().await;
    for body in [
        "not json",
        "",
        "[]",
        // serde reads a struct from an array too; the API takes objects only.
        r#"["c1","hi"]"#,
        r#"{"contact_id":"c1","text":"hi","organization_id":"org-b"}"#,
        r#"{"text":"hi"}"#,
        r#"{"contact_id":42,"text":"hi"}"#,
    ] {
        let r = post(&api, Some("org-a"), body).await;
        assert_eq!(r.status_code, 400, "{body}");
        assert_eq!(error_code(&r), "invalid_json", "{body}");
    }
    let mut event = jwt_event(
        "POST",
        "/whatsapp/messages",
        "",
        Some("org-a"),
        Some("contact_id=c1"),
    );
    event.headers.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    assert_eq!(api.handle(event).await.status_code, 415);
    assert_nothing_changed(&api, &org("org-a"));
}

#[tokio::test]
async fn ineligible_contacts_get_the_exact_reason() {
    let api = api().await;
    for (id, status, message) in [
        ("c2", 422, "Contact has not opted in to WhatsApp."),
        ("c3", 422, "Contact has no valid phone number."),
        ("b1", 404, "Contact not found."),
        ("nope", 404, "Contact not found."),
    ] {
        let r = post(
            &api,
            Some("org-a"),
            &format!(r#"{{"contact_id":"{id}","text":"hi"}}"#),
        )
        .await;
        assert_eq!(r.status_code, status, "{id}");
        assert_eq!(json_body(&r)["error"]["message"], message, "{id}");
    }
    assert_nothing_changed(&api, &org("org-a"));
    assert!(api.ports.messages.all(&org("org-b")).is_empty());
}

#[tokio::test]
async fn outside_the_24_hour_window_free_form_is_refused() {
    let api = api().await;
    let r = post(&api, Some("org-a"), r#"{"contact_id":"c4","text":"hi"}"#).await;
    assert_eq!(r.status_code, 422);
    assert_eq!(
        json_body(&r)["error"]["message"],
        "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message."
    );
    assert_nothing_changed(&api, &org("org-a"));
}

#[tokio::test]
async fn unconfigured_organization_cannot_send() {
    let api = api().await;
    api.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, false),
    );
    let r = post(&api, Some("org-a"), r#"{"contact_id":"c1","text":"hi"}"#).await;
    assert_eq!(r.status_code, 409);
    assert_eq!(
        json_body(&r)["error"]["message"],
        "WhatsApp is not configured for this organization."
    );
    api.ports.credentials.remove_secret(&org("org-a"));
    assert_eq!(
        post(&api, Some("org-a"), r#"{"contact_id":"c1","text":"hi"}"#)
            .await
            .status_code,
        409
    );
    assert_nothing_changed(&api, &org("org-a"));
}

const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
const OGG: &[u8] =
    b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x8a\x9f\x8b\x8a\x01\x13OpusHead\x01\x01";
const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x80\0\0\0\x0e\x1f\xba\x0e\0\xb4\t\xcd!\xb8\x01L\xcd!This program cannot be run in DOS mode.";

async fn upload(api: &Api, key: &str, bytes: &[u8], content_type: &str) {
    api.ports
        .media
        .store(key, bytes.to_vec(), content_type)
        .unwrap();
}

fn reference(key: &str, content_type: &str, filename: &str, size: usize) -> serde_json::Value {
    serde_json::json!({"key": key, "content_type": content_type, "filename": filename, "size": size})
}

async fn send_with(
    api: &Api,
    text: Option<&str>,
    attachments: Vec<serde_json::Value>,
) -> ApiGatewayV2httpResponse {
    let body = serde_json::json!({"contact_id": "c1", "text": text, "attachments": attachments});
    post(api, Some("org-a"), &body.to_string()).await
}

#[tokio::test]
async fn each_attachment_becomes_its_own_message_with_the_text_as_caption() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/note.ogg", OGG, "audio/ogg").await;
    upload(&api, "org-a/uploads/2/photo.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/3/invoice.pdf", PDF, "application/pdf").await;
    let r = send_with(
        &api,
        Some("Your documents"),
        vec![
            reference(
                "org-a/uploads/1/note.ogg",
                "audio/ogg",
                "note.ogg",
                OGG.len(),
            ),
            reference(
                "org-a/uploads/2/photo.png",
                "image/png",
                "photo.png",
                PNG.len(),
            ),
            reference(
                "org-a/uploads/3/invoice.pdf",
                "application/pdf",
                "invoice.pdf",
                PDF.len(),
            ),
        ],
    )
    .await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    let body = json_body(&r);
    let shape: Vec<(String, serde_json::Value)> = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["message_type"].as_str().unwrap().to_owned(),
                m["text"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("AUDIO".to_owned(), serde_json::Value::Null),
            ("IMAGE".to_owned(), serde_json::json!("Your documents")),
            ("DOCUMENT".to_owned(), serde_json::Value::Null),
        ]
    );
    assert_eq!(
        body["messages"][2]["attachments"][0]["filename"],
        "invoice.pdf"
    );
    // The message carries a sealed copy, not the upload: overwriting the upload through its
    // presigned PUT (same length, other bytes) changes nothing that is sent.
    let sealed = body["messages"][2]["attachments"][0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        sealed.starts_with("org-a/sent/") && sealed.ends_with("/invoice.pdf"),
        "{sealed}"
    );
    let mut other = PDF.to_vec();
    other.reverse();
    api.ports
        .media
        .store("org-a/uploads/3/invoice.pdf", other, "application/pdf")
        .unwrap();
    assert_eq!(api.ports.media.object(&sealed).unwrap().0, PDF);
    assert_eq!(api.ports.queue.jobs().len(), 3, "one job per message");
    assert_eq!(api.ports.messages.all(&org("org-a")).len(), 3);
}

#[tokio::test]
async fn text_without_a_captionable_attachment_is_its_own_message() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/note.ogg", OGG, "audio/ogg").await;
    let r = send_with(
        &api,
        Some("Listen"),
        vec![reference(
            "org-a/uploads/1/note.ogg",
            "audio/ogg",
            "note.ogg",
            OGG.len(),
        )],
    )
    .await;
    let body = json_body(&r);
    assert_eq!(body["messages"][0]["message_type"], "TEXT");
    assert_eq!(body["messages"][0]["text"], "Listen");
    assert_eq!(body["messages"][1]["message_type"], "AUDIO");
}

#[tokio::test]
async fn attachments_are_checked_against_the_stored_object() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/photo.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/2/invoice.pdf", EXE, "application/pdf").await;
    upload(&api, "org-b/uploads/3/theirs.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/4/fake.jpg", PNG, "image/jpeg").await;
    for (attachment, message) in [
        (
            reference(
                "org-b/uploads/3/theirs.png",
                "image/png",
                "theirs.png",
                PNG.len(),
            ),
            "The attachment was not uploaded.",
        ),
        (
            reference(
                "org-a/uploads/9/missing.png",
                "image/png",
                "missing.png",
                10,
            ),
            "The attachment was not uploaded.",
        ),
        (
            reference(
                "org-a/uploads/1/photo.png",
                "image/png",
                "photo.png",
                PNG.len() + 1,
            ),
            "The uploaded file is not the one declared (size).",
        ),
        (
            reference(
                "org-a/uploads/1/photo.png",
                "image/jpeg",
                "photo.jpg",
                PNG.len(),
            ),
            "The uploaded file is not the one declared (type).",
        ),
        (
            reference(
                "org-a/uploads/2/invoice.pdf",
                "application/pdf",
                "invoice.pdf",
                EXE.len(),
            ),
            "The file's content is not application/pdf.",
        ),
        (
            reference(
                "org-a/uploads/4/fake.jpg",
                "image/jpeg",
                "fake.jpg",
                PNG.len(),
            ),
            "The file's content is not image/jpeg.",
        ),
        (
            reference(
                "org-a/uploads/1/photo.png",
                "image/gif",
                "photo.gif",
                PNG.len(),
            ),
            "WhatsApp does not accept image/gif files.",
        ),
    ] {
        let r = send_with(&api, None, vec![attachment.clone()]).await;
        assert_eq!(r.status_code, 422, "{attachment}");
        assert_eq!(json_body(&r)["error"]["message"], message, "{attachment}");
    }
    assert_nothing_changed(&api, &org("org-a"));
    assert!(
        !api.ports.media.keys().iter().any(|k| k.contains("/sent/")),
        "refused copies are deleted: {:?}",
        api.ports.media.keys()
    );
}

#[tokio::test]
async fn at_most_ten_attachments() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/photo.png", PNG, "image/png").await;
    let many = vec![
        reference(
            "org-a/uploads/1/photo.png",
            "image/png",
            "photo.png",
            PNG.len()
        );
        11
    ];
    assert_eq!(send_with(&api, None, many).await.status_code, 400);
    assert_nothing_changed(&api, &org("org-a"));
}

#[tokio::test]
async fn missing_jwt_is_401() {
    let api = api().await;
    let r = post(&api, None, r#"{"contact_id":"c1","text":"hi"}"#).await;
    assert_eq!(r.status_code, 401);
    assert_nothing_changed(&api, &org("org-a"));
}

#[tokio::test]
async fn a_failed_enqueue_never_leaves_a_pending_message() {
    let (queue, receiver) = MemoryQueue::channel();
    drop(receiver);
    let api = api_with(queue).await;
    let r = post(&api, Some("org-a"), r#"{"contact_id":"c1","text":"hi"}"#).await;
    assert_eq!(r.status_code, 503);
    let stored = api.ports.messages.all(&org("org-a"));
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].status, MessageStatus::Failed);
    assert!(
        stored[0]
            .error_reason
            .as_deref()
            .unwrap()
            .starts_with("Failed to send via WhatsApp:")
    );
}

#[tokio::test]
async fn a_recorded_api_gateway_event_is_understood() {
    let api = api().await;
    let event: ApiGatewayV2httpRequest =
        serde_json::from_str(include_str!("../../../../events/send-message.json")).unwrap();
    let r = api.handle(event).await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    assert_eq!(api.ports.queue.jobs().len(), 1);
}

async fn post_keyed(api: &Api, key: &str, body: &str) -> ApiGatewayV2httpResponse {
    let mut event = jwt_event("POST", "/whatsapp/messages", "", Some("org-a"), Some(body));
    event
        .headers
        .insert("idempotency-key", key.parse().unwrap());
    api.handle(event).await
}

fn ids(r: &ApiGatewayV2httpResponse) -> Vec<String> {
    json_body(r)["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_repeated_key_answers_the_first_202_and_queues_nothing() {
    let api = api().await;
    let body = r#"{"contact_id":"c1","text":"Your order shipped"}"#;
    let first = post_keyed(&api, "compose-7f3a", body).await;
    assert_eq!(first.status_code, 202, "{:?}", first.body);
    // The same request, formatted differently: still the same request.
    let again = post_keyed(
        &api,
        "compose-7f3a",
        r#"{ "text": "Your order shipped", "contact_id": "c1" }"#,
    )
    .await;
    assert_eq!(again.status_code, 202, "{:?}", again.body);
    assert_eq!(ids(&again), ids(&first));
    assert_eq!(api.ports.queue.jobs().len(), 1, "queued once");
    assert_eq!(api.ports.messages.all(&org("org-a")).len(), 1);
    // The message names its key, so erasing it erases the record of the request too.
    assert_eq!(
        api.ports.messages.all(&org("org-a"))[0]
            .idempotency_key
            .as_deref(),
        Some("compose-7f3a")
    );

    // The same key in another organization is another send.
    let mut other = jwt_event(
        "POST",
        "/whatsapp/messages",
        "",
        Some("org-b"),
        Some(r#"{"contact_id":"b1","text":"Your order shipped"}"#),
    );
    other
        .headers
        .insert("idempotency-key", "compose-7f3a".parse().unwrap());
    assert_eq!(api.handle(other).await.status_code, 202);
    assert_eq!(api.ports.queue.jobs().len(), 2);

    // Without a key every request is its own send.
    assert_eq!(post(&api, Some("org-a"), body).await.status_code, 202);
    let sent = api.ports.messages.all(&org("org-a"));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].idempotency_key, None);
}

#[tokio::test]
async fn bad_or_reused_keys_are_refused_and_change_nothing() {
    let api = api().await;
    let body = r#"{"contact_id":"c1","text":"hi"}"#;
    for (key, why) in [
        ("", "empty"),
        ("   ", "blank"),
        (&"k".repeat(256), "too long"),
    ] {
        let r = post_keyed(&api, key, body).await;
        assert_eq!(r.status_code, 400, "{why}");
        assert_eq!(error_code(&r), "invalid_idempotency_key", "{why}");
    }
    assert_nothing_changed(&api, &org("org-a"));
    assert_eq!(
        post_keyed(&api, &"k".repeat(255), body).await.status_code,
        202,
        "255 characters are fine"
    );

    assert_eq!(post_keyed(&api, "k1", body).await.status_code, 202);
    let stored = api.ports.messages.all(&org("org-a")).len();
    let r = post_keyed(&api, "k1", r#"{"contact_id":"c1","text":"something else"}"#).await;
    assert_eq!(r.status_code, 422);
    assert_eq!(error_code(&r), "idempotency_key_reused");
    assert_eq!(
        json_body(&r)["error"]["message"],
        "This Idempotency-Key was already used for a different message."
    );
    assert_eq!(api.ports.messages.all(&org("org-a")).len(), stored);
    assert_eq!(api.ports.queue.jobs().len(), stored);

    // A refused request records nothing: the key is still free for a corrected request.
    let r = post_keyed(&api, "k2", r#"{"contact_id":"c4","text":"hi"}"#).await;
    assert_eq!(error_code(&r), "outside_24h_window");
    assert_eq!(post_keyed(&api, "k2", body).await.status_code, 202);
}

/// Three parts; queueing the second fails (503). The retry with the same key sends the
/// second and third part and never the first again.
#[tokio::test]
async fn a_retry_after_a_failure_midway_sends_only_the_parts_not_queued() {
    let api = api().await;
    upload(&api, "org-a/uploads/1/a.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/2/b.png", PNG, "image/png").await;
    upload(&api, "org-a/uploads/3/c.pdf", PDF, "application/pdf").await;
    let body = serde_json::json!({"contact_id": "c1", "text": "Photos", "attachments": [
        reference("org-a/uploads/1/a.png", "image/png", "a.png", PNG.len()),
        reference("org-a/uploads/2/b.png", "image/png", "b.png", PNG.len()),
        reference("org-a/uploads/3/c.pdf", "application/pdf", "c.pdf", PDF.len()),
    ]})
    .to_string();
    api.ports.queue.faults.fail_after("enqueue", 1, 1);
    let first = post_keyed(&api, "compose-1", &body).await;
    assert_eq!(first.status_code, 503);
    let jobs = api.ports.queue.jobs();
    assert_eq!(jobs.len(), 1, "the first part was queued");
    let first_part = *jobs[0].0.message_id().unwrap();

    let retry = post_keyed(&api, "compose-1", &body).await;
    assert_eq!(retry.status_code, 202, "{:?}", retry.body);
    let answer = ids(&retry);
    assert_eq!(answer.len(), 3);
    assert_eq!(
        answer[0],
        first_part.to_string(),
        "the first part is the same message"
    );
    let queued: Vec<_> = api
        .ports
        .queue
        .jobs()
        .iter()
        .filter_map(|(job, _)| job.message_id().copied())
        .collect();
    assert_eq!(queued.len(), 3, "each part queued once: {queued:?}");
    assert_eq!(
        queued.iter().filter(|id| **id == first_part).count(),
        1,
        "the first part is not queued again"
    );
    let stored = api.ports.messages.all(&org("org-a"));
    let failed: Vec<_> = stored
        .iter()
        .filter(|m| m.status == MessageStatus::Failed)
        .collect();
    assert_eq!(
        failed.len(),
        1,
        "the part that could not be queued stays FAILED"
    );
    assert!(!answer.contains(&failed[0].id.to_string()));
    assert_eq!(stored.len(), 4);

    // And now it is complete: another repeat queues nothing.
    let again = post_keyed(&api, "compose-1", &body).await;
    assert_eq!(ids(&again), answer);
    assert_eq!(api.ports.queue.jobs().len(), 3);
}

/// The first request died after storing a part but before it knew the part was queued: the
/// repeat waits for its lease, then queues that PENDING part again (the worker's send claim
/// makes a second job harmless) instead of storing a second message.
#[tokio::test]
async fn a_repeat_while_the_first_is_working_waits_then_takes_over() {
    use shared::ports::{IdempotentSend, MessageStore, SendPart};
    let api = api().await;
    let body = r#"{"contact_id":"c1","text":"hi"}"#;
    let stored = post(&api, Some("org-a"), body).await;
    let message_id = ids(&stored)[0].parse().unwrap();
    let now = chrono::Utc::now();
    let mut record = IdempotentSend {
        key: "compose-9".into(),
        request: r#"{"contact_id":"c1","text":"hi","attachments":[]}"#.into(),
        parts: vec![SendPart {
            message_id,
            queued: false,
        }],
        lease_until: Some(now + chrono::Duration::seconds(30)),
        version: 1,
        expires_at: now + chrono::Duration::hours(24),
    };
    let messages = &api.ports.messages;
    assert!(
        messages
            .save_idempotent_send(&org("org-a"), &record, None, now)
            .await
            .unwrap()
    );
    let r = post_keyed(&api, "compose-9", body).await;
    assert_eq!(r.status_code, 409);
    assert_eq!(error_code(&r), "send_in_progress");
    assert!(r.headers.contains_key("retry-after"));

    // The lease ran out: the first request is gone.
    record.lease_until = Some(now - chrono::Duration::seconds(1));
    record.version = 2;
    assert!(
        messages
            .save_idempotent_send(&org("org-a"), &record, Some(1), now)
            .await
            .unwrap()
    );
    let r = post_keyed(&api, "compose-9", body).await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    assert_eq!(ids(&r), [message_id.to_string()]);
    assert_eq!(messages.all(&org("org-a")).len(), 1, "no second message");
    let jobs = api.ports.queue.jobs();
    assert_eq!(jobs.len(), 2, "queued again");
    assert!(
        jobs.iter()
            .all(|(job, _)| job.message_id() == Some(&message_id))
    );
}

/// A part the worker handed to Twilio without learning the outcome (UNCONFIRMED, no sid) may
/// have reached the contact: a repeat with the same key leaves it, never sends it again.
#[tokio::test]
async fn a_repeat_never_resends_a_part_whose_outcome_twilio_could_not_confirm() {
    use shared::domain::StatusChange;
    use shared::ports::{IdempotentSend, MessageStore, SendPart};
    let api = api().await;
    let body = r#"{"contact_id":"c1","text":"hi"}"#;
    let stored = post(&api, Some("org-a"), body).await;
    let message_id = ids(&stored)[0].parse().unwrap();
    let messages = &api.ports.messages;
    messages
        .apply_status(
            &org("org-a"),
            &message_id,
            &StatusChange::unconfirmed("Not confirmed by Twilio yet: x"),
        )
        .await
        .unwrap();
    // The first request's record never learned the part was queued.
    let now = chrono::Utc::now();
    let record = IdempotentSend {
        key: "compose-u".into(),
        request: r#"{"contact_id":"c1","text":"hi","attachments":[]}"#.into(),
        parts: vec![SendPart {
            message_id,
            queued: false,
        }],
        lease_until: Some(now - chrono::Duration::seconds(1)),
        version: 1,
        expires_at: now + chrono::Duration::hours(24),
    };
    assert!(
        messages
            .save_idempotent_send(&org("org-a"), &record, None, now)
            .await
            .unwrap()
    );
    let jobs_before = api.ports.queue.jobs().len();
    let r = post_keyed(&api, "compose-u", body).await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    assert_eq!(ids(&r), [message_id.to_string()]);
    assert_eq!(json_body(&r)["messages"][0]["status"], "UNCONFIRMED");
    assert_eq!(messages.all(&org("org-a")).len(), 1, "no second message");
    assert_eq!(api.ports.queue.jobs().len(), jobs_before, "nothing queued");
}

/// An organization that keeps its messages 90 days: each part expires 90 days after it was
/// accepted, and its sealed attachment carries the retention tag the bucket's rule deletes by.
#[tokio::test]
async fn under_a_retention_period_messages_and_their_files_expire() {
    let api = api().await;
    api.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)
            .replace('}', r#","message_retention_days":90}"#),
    );
    upload(&api, "org-a/uploads/1/a.png", PNG, "image/png").await;
    let body = serde_json::json!({"contact_id": "c1", "text": "Kept 90 days", "attachments": [
        reference("org-a/uploads/1/a.png", "image/png", "a.png", PNG.len()),
    ]})
    .to_string();
    let r = post(&api, Some("org-a"), &body).await;
    assert_eq!(r.status_code, 202, "{:?}", r.body);
    let stored = api.ports.messages.all(&org("org-a"));
    assert_eq!(stored.len(), 1);
    let m = &stored[0];
    assert_eq!(
        m.expires_at,
        Some(m.created_at + chrono::Duration::days(90))
    );
    let key = m.attachments[0].key.clone().unwrap();
    assert!(key.starts_with("org-a/sent/"));
    assert_eq!(api.ports.media.retention_days(&key), Some(90));
    assert_eq!(
        json_body(&r)["messages"][0].get("expires_at"),
        None,
        "the expiry is the store's, not the API's"
    );

    // Without a retention period nothing expires.
    let r = post(&api, Some("org-b"), r#"{"contact_id":"b1","text":"Kept"}"#).await;
    assert_eq!(r.status_code, 202);
    assert_eq!(api.ports.messages.all(&org("org-b"))[0].expires_at, None);
}

const SHIPPED: &str = "HX00000000000000000000000000000001";

fn with_templates(api: &Api) {
    let mut shipped = shared::testing::template(SHIPPED, "order_shipped");
    shipped.body = "Hi {{1}}, your order {{2}} has shipped.".into();
    let mut invoice =
        shared::testing::template("HX00000000000000000000000000000002", "invoice_ready");
    invoice.content_type = "twilio/media".into();
    invoice.media = vec!["https://example.com/invoices/{{1}}.pdf".into()];
    invoice.body = "Your invoice {{1}} is ready.".into();
    api.ports.sender.set_templates(vec![shipped, invoice]);
}

fn template_send(contact: &str, sid: &str, variables: serde_json::Value) -> String {
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

/// Each part records who sent it, from the verified token only: the agent (`sub`, named by
/// `name`, else `email`), or the API for a token without a user. The body cannot say.
#[tokio::test]
async fn a_send_records_the_agent_who_made_it() {
    let api = api().await;
    with_templates(&api);
    let send = |claims: &[(&str, &str)], body: String| {
        let mut event = jwt_event("POST", "/whatsapp/messages", "", Some("org-a"), Some(&body));
        let jwt = event
            .request_context
            .authorizer
            .as_mut()
            .and_then(|a| a.jwt.as_mut())
            .unwrap();
        jwt.claims.remove("sub");
        for (k, v) in claims {
            jwt.claims.insert((*k).to_owned(), (*v).to_owned());
        }
        api.handle(event)
    };
    let text = |t: &str| serde_json::json!({"contact_id": "c1", "text": t}).to_string();
    let cases = [
        (
            vec![
                ("sub", "u-ana"),
                ("name", "Ana Lima"),
                ("email", "ana@x.example"),
            ],
            text("one"),
            serde_json::json!({"sub": "u-ana", "name": "Ana Lima"}),
        ),
        (
            vec![("sub", "u-ben"), ("email", "ben@x.example")],
            template_send("c4", SHIPPED, serde_json::json!({"1": "Q", "2": "#1"})),
            serde_json::json!({"sub": "u-ben", "name": "ben@x.example"}),
        ),
        (
            vec![("client_id", "integration")],
            text("two"),
            serde_json::Value::Null,
        ),
    ];
    for (claims, body, agent) in cases {
        let r = send(&claims, body).await;
        assert_eq!(r.status_code, 202, "{:?}", r.body);
        let answer = json_body(&r);
        assert_eq!(answer["messages"][0]["agent"], agent, "{claims:?}");
        assert!(
            answer["messages"][0]
                .as_object()
                .unwrap()
                .contains_key("agent")
        );
    }
    // Stored as sent (the list and the live events read it from there).
    let stored = api.ports.messages.all(&org("org-a"));
    let by: Vec<_> = stored
        .iter()
        .map(|m| m.sent_by.as_ref().unwrap().agent().map(|a| a.name.clone()))
        .collect();
    assert_eq!(
        by,
        vec![Some("Ana Lima".into()), Some("ben@x.example".into()), None]
    );

    // A body naming an agent is refused (unknown field), not believed.
    let r = send(
        &[("sub", "u-ana")],
        r#"{"contact_id":"c1","text":"x","sent_by":{"by":"api"}}"#.into(),
    )
    .await;
    assert_eq!(r.status_code, 400);
    assert_eq!(api.ports.messages.all(&org("org-a")).len(), 3);
}
