//! The Idempotency-Key: a repeat answers the first 202 and queues nothing, a retry after a
//! failure midway sends only what was not queued, nothing in doubt is resent.

use super::*;

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
