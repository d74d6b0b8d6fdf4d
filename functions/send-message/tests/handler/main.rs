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

mod attachments;
mod guard;
mod idempotency;
mod interactive;
mod note;
mod template;

use attachments::{PDF, PNG, reference, upload};
use template::{SHIPPED, template_send, with_templates};

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
