//! Buttons and lists: sent with the payload's Content, made once for every identical payload,
//! found again after a crash, and a Content API failure handled as the attempt's.

use shared::domain::{Button, Interactive, MessageStatus, MessageType};
use shared::twilio::OutboundContent;

use crate::{OfMessage, api_error, pending_with, stored, worker};

fn buttons() -> Interactive {
    Interactive::Buttons {
        body: "Does 3 pm suit you?".into(),
        buttons: vec![
            Button {
                id: "yes".into(),
                title: "Yes".into(),
            },
            Button {
                id: "no".into(),
                title: "No".into(),
            },
        ],
    }
}

async fn pending_interactive(
    w: &crate::Worker,
    interactive: Interactive,
) -> shared::domain::WorkerJob {
    let body = interactive.body().to_owned();
    pending_with(w, &body, |m| {
        m.message_type = MessageType::Interactive;
        m.interactive = Some(interactive);
    })
    .await
}

fn sent_content_sids(w: &crate::Worker) -> Vec<String> {
    w.ports
        .sender
        .attempts()
        .into_iter()
        .filter_map(|(_, m)| match m.content {
            OutboundContent::Template {
                content_sid,
                content_variables: None,
            } => Some(content_sid),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn identical_buttons_go_out_with_one_content_made_once() {
    let w = worker().await;
    let first = pending_interactive(&w, buttons()).await;
    let second = pending_interactive(&w, buttons()).await;
    for job in [&first, &second] {
        assert!(matches!(
            w.process(job).await.unwrap(),
            crate::JobOutcome::Sent { .. }
        ));
        assert_eq!(stored(&w, job).await.status, MessageStatus::Sent);
    }
    assert_eq!(w.ports.sender.content_creates(), 1);
    let sids = sent_content_sids(&w);
    assert_eq!(
        sids.len(),
        2,
        "both went out as a Content, never as plain text"
    );
    assert_eq!(sids[0], sids[1]);
    let (name, sid) = &w.ports.sender.contents()[0];
    assert_eq!(name, &buttons().content_name());
    assert_eq!(sid, &sids[0]);
}

#[tokio::test]
async fn a_content_made_before_a_crash_is_found_not_made_again() {
    let w = worker().await;
    // A worker made it at Twilio and died before recording it.
    w.ports.sender.put_content(
        &buttons().content_name(),
        "HX0000000000000000000000000000abcd",
    );
    let job = pending_interactive(&w, buttons()).await;
    assert!(matches!(
        w.process(&job).await.unwrap(),
        crate::JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.content_creates(), 0);
    assert_eq!(
        sent_content_sids(&w),
        ["HX0000000000000000000000000000abcd"]
    );
}

#[tokio::test]
async fn a_content_api_rate_limit_backs_off_and_the_next_attempt_makes_it() {
    let w = worker().await;
    w.ports
        .sender
        .fail_content_create(api_error(429, 20429, "Too Many Requests"));
    let job = pending_interactive(&w, buttons()).await;
    let crate::JobOutcome::Retrying { attempt, .. } = w.process(&job).await.unwrap() else {
        panic!("a 429 is retried");
    };
    assert!(w.ports.sender.attempts().is_empty(), "nothing sent");
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Pending);
    let retry = shared::domain::WorkerJob::Send(job.msg().attempt(attempt));
    assert!(matches!(
        w.process(&retry).await.unwrap(),
        crate::JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.content_creates(), 1);
}

#[tokio::test]
async fn a_content_twilio_refuses_fails_the_message() {
    let w = worker().await;
    w.ports
        .sender
        .fail_content_create(api_error(400, 20001, "Invalid content"));
    let job = pending_interactive(&w, buttons()).await;
    assert!(matches!(
        w.process(&job).await.unwrap(),
        crate::JobOutcome::Failed { .. }
    ));
    let m = stored(&w, &job).await;
    assert_eq!(m.status, MessageStatus::Failed);
    assert!(w.ports.sender.attempts().is_empty());
}

/// After buttons went out, the organization's Contents unused for 30 days are deleted from
/// its Twilio account: the product's only (by name), not one used since (by the store's
/// record), not a young one; and at most one sweep a day.
#[tokio::test]
async fn contents_unused_for_thirty_days_are_deleted_after_an_interactive_send() {
    use shared::ports::ContentStore;
    let w = worker().await;
    let org = shared::testing::org("org-a");
    let now = chrono::Utc::now();
    let old = now - chrono::Duration::days(40);
    let sender = &w.ports.sender;
    sender.put_content_changed(
        "crm_interactive_stale",
        "HX00000000000000000000000000000a01",
        old,
    );
    sender.put_content_changed(
        "crm_interactive_used",
        "HX00000000000000000000000000000a02",
        old,
    );
    sender.put_content_changed(
        "crm_interactive_young",
        "HX00000000000000000000000000000a03",
        now - chrono::Duration::days(3),
    );
    sender.put_content_changed("order_update", "HX00000000000000000000000000000a04", old);
    // Made 40 days ago, sent yesterday: kept.
    w.ports
        .messages
        .record_content(
            &org,
            "crm_interactive_used",
            "HX00000000000000000000000000000a02",
            now - chrono::Duration::days(1),
        )
        .await
        .unwrap();

    let job = pending_interactive(&w, buttons()).await;
    assert!(matches!(
        w.process(&job).await.unwrap(),
        crate::JobOutcome::Sent { .. }
    ));
    let names: Vec<String> = sender
        .contents()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert!(
        !names.contains(&"crm_interactive_stale".to_owned()),
        "{names:?}"
    );
    for kept in [
        "crm_interactive_used",
        "crm_interactive_young",
        "order_update",
        &buttons().content_name(),
    ] {
        assert!(names.contains(&kept.to_owned()), "{kept} kept: {names:?}");
    }

    // The same day: no second sweep.
    sender.put_content_changed(
        "crm_interactive_stale_too",
        "HX00000000000000000000000000000a05",
        old,
    );
    let again = pending_interactive(&w, buttons()).await;
    assert!(matches!(
        w.process(&again).await.unwrap(),
        crate::JobOutcome::Sent { .. }
    ));
    assert!(
        sender
            .contents()
            .iter()
            .any(|(name, _)| name == "crm_interactive_stale_too")
    );
}

/// A text send sweeps nothing: only buttons and lists make Contents.
#[tokio::test]
async fn a_text_send_sweeps_no_contents() {
    let w = worker().await;
    let old = chrono::Utc::now() - chrono::Duration::days(40);
    w.ports.sender.put_content_changed(
        "crm_interactive_stale",
        "HX00000000000000000000000000000a01",
        old,
    );
    let job = pending_with(&w, "Hello", |_| {}).await;
    assert!(matches!(
        w.process(&job).await.unwrap(),
        crate::JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.contents().len(), 1);
}
