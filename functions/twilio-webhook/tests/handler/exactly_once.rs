//! Every effect exactly once, whatever fails in between: a step failing halfway, retried
//! STOPs, opt keywords out of order, a contended conversation counted later.

use super::*;

/// A step after the message was stored fails: the answer is 503, and Twilio's retry
/// (connection overrides `rc`/`rp`) applies what was missing, once.
struct HalfwayCase {
    name: &'static str,
    /// Which in-memory store operation fails, once.
    store: &'static str,
    operation: &'static str,
    body: &'static str,
    media: bool,
}

const HALFWAY_CASES: &[HalfwayCase] = &[
    HalfwayCase {
        name: "the contact update of a STOP",
        store: "contacts",
        operation: "update",
        body: "STOP",
        media: false,
    },
    HalfwayCase {
        name: "the contact update of a reply (its 24-hour window)",
        store: "contacts",
        operation: "update",
        body: "Thanks!",
        media: false,
    },
    HalfwayCase {
        name: "queueing the media copy",
        store: "queue",
        operation: "enqueue",
        body: "",
        media: true,
    },
    HalfwayCase {
        name: "recording that the effects are done",
        store: "messages",
        operation: "inbound_effects_done",
        body: "STOP",
        media: true,
    },
];

fn with_photo(mut params: Vec<(String, String)>) -> Vec<(String, String)> {
    params.retain(|(k, _)| k != "NumMedia");
    params.extend(pairs(&[
        ("NumMedia", "1"),
        ("MediaContentType0", "image/jpeg"),
        (
            "MediaUrl0",
            "https://api.twilio.com/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM1/Media/ME1",
        ),
    ]));
    params
}

#[tokio::test]
async fn a_step_that_fails_halfway_is_applied_by_twilios_retry() {
    for case in HALFWAY_CASES {
        let name = case.name;
        let w = webhook().await;
        let faults = match case.store {
            "contacts" => &w.ports.contacts.faults,
            "queue" => &w.ports.queue.faults,
            _ => &w.ports.messages.faults,
        };
        faults.fail_next(case.operation, 1);
        let mut params = inbound_params(SID1, "+60123456789", case.body);
        if case.media {
            params = with_photo(params);
        }
        let first = w.handle(inbound_event(&params)).await;
        assert_eq!(first.status_code, 503, "{name}: Twilio must retry");
        let retry = w.handle(inbound_event(&params)).await;
        assert_eq!(retry.status_code, 200, "{name}");
        // And once more, as Twilio may: nothing changes any more.
        let again = w.handle(inbound_event(&params)).await;
        assert_eq!(again.status_code, 200, "{name}");

        assert_eq!(
            w.ports.messages.all(&org("org-a")).len(),
            1,
            "{name}: stored once"
        );
        let c = aisha(&w).await;
        let summary = w.ports.messages.summary(&org("org-a"), &c.contact_id).await;
        assert_eq!(
            summary.unwrap().map(|s| s.unread()),
            Some(1),
            "{name}: counted once"
        );
        assert!(
            c.last_inbound_at.unwrap() > hours_ago(1),
            "{name}: window opened"
        );
        assert_eq!(
            c.whatsapp_opt_in,
            case.body != "STOP",
            "{name}: opt-out applied"
        );
        let copies = w
            .ports
            .queue
            .jobs()
            .into_iter()
            .filter(|(job, _)| matches!(job, shared::domain::WorkerJob::CopyMedia(_)))
            .count();
        assert!(
            if case.media { copies >= 1 } else { copies == 0 },
            "{name}: {copies} media copy jobs"
        );
    }
}

#[tokio::test]
async fn a_retried_stop_never_undoes_the_start_that_followed_it() {
    let w = webhook().await;
    w.ports.contacts.faults.fail_next("update", 1);
    let stop = inbound_params(SID1, "+60123456789", "STOP");
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 503);
    let start = inbound_params(SID2, "+60123456789", "START");
    assert_eq!(w.handle(inbound_event(&start)).await.status_code, 200);
    assert!(aisha(&w).await.whatsapp_opt_in);
    // Twilio retries the STOP after the START was applied.
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 200);
    assert!(
        aisha(&w).await.whatsapp_opt_in,
        "the contact's last word was START"
    );
}

/// A STOP whose first delivery failed before it was even stored, retried by Twilio after a
/// START was applied: ordered by when the contact sent them (Twilio's record of each), not
/// by when they were received, so the START stands. And the other way round.
#[tokio::test]
async fn opt_keywords_are_ordered_by_when_the_contact_sent_them() {
    let w = webhook().await;
    let t0 = Utc::now() - chrono::Duration::minutes(2);
    w.ports.sender.received(SID1, t0);
    w.ports
        .sender
        .received(SID2, t0 + chrono::Duration::seconds(5));
    w.ports.messages.faults.fail_next("insert_inbound", 1);
    let stop = inbound_params(SID1, "+60123456789", "STOP");
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 503);
    let start = inbound_params(SID2, "+60123456789", "START");
    assert_eq!(w.handle(inbound_event(&start)).await.status_code, 200);
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 200);
    let contact = aisha(&w).await;
    assert!(contact.whatsapp_opt_in, "the contact's last word was START");
    assert_eq!(
        contact.whatsapp_opt_changed_at.map(|t| t.timestamp()),
        Some((t0 + chrono::Duration::seconds(5)).timestamp()),
        "the START's own second"
    );
    assert_eq!(conversation(&w).await.len(), 2, "both kept");

    // A START sent before a STOP but delivered after it does not undo the STOP.
    let w = webhook().await;
    w.ports
        .sender
        .received(SID1, t0 + chrono::Duration::seconds(5));
    w.ports.sender.received(SID2, t0);
    let stop = inbound_params(SID1, "+60123456789", "STOP");
    assert_eq!(w.handle(inbound_event(&stop)).await.status_code, 200);
    let start = inbound_params(SID2, "+60123456789", "START");
    assert_eq!(w.handle(inbound_event(&start)).await.status_code, 200);
    assert!(!aisha(&w).await.whatsapp_opt_in);
}

#[tokio::test]
async fn stop_opts_out_every_contact_with_the_number() {
    let w = webhook().await;
    w.ports
        .contacts
        .put(&contact("org-a", "c9", "Aisha (work)", "+60123456789"))
        .await
        .unwrap();
    let r = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "STOP")))
        .await;
    assert_eq!(r.status_code, 200);
    for id in ["c1", "c9"] {
        let c = w
            .ports
            .contacts
            .get(&org("org-a"), &ContactId::parse(id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(!c.whatsapp_opt_in, "{id}");
    }
    let other_org = w
        .ports
        .contacts
        .get(&org("org-b"), &ContactId::parse("b1").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(other_org.whatsapp_opt_in, "another organization's contact");
}

/// A conversation contended until the webhook had to answer (the store's `count_inline`
/// fault): the message is stored and answered 200, and its count is queued for the worker;
/// a repeat while the count is pending queues it again (the job counts once).
#[tokio::test]
async fn a_message_stored_uncounted_queues_its_count() {
    let w = webhook().await;
    let phone = shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap();
    let windows = |w: &Webhook| {
        let (w, phone) = (w.clone(), phone.clone());
        async move {
            use shared::ports::ContactStore;
            w.ports
                .contacts
                .contacts_by_phone(&org("org-a"), &phone)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.last_inbound_at)
                .collect::<Vec<_>>()
        }
    };
    let before = windows(&w).await;
    assert!(!before.is_empty());
    w.ports.messages.faults.fail_next("count_inline", 1);
    let r = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
        .await;
    assert_eq!(r.status_code, 200);
    assert_eq!(
        windows(&w).await,
        before,
        "the window is left to the count's job (the contact is as contended)"
    );
    let stored = conversation(&w).await;
    assert_eq!(stored.len(), 1, "stored");
    assert_eq!(unread(&w).await, 0, "not counted yet");
    let counts = |w: &Webhook| {
        w.ports
            .queue
            .jobs()
            .into_iter()
            .filter(|(job, _)| matches!(job, shared::domain::WorkerJob::CountInbound { .. }))
            .filter_map(|(job, _)| job.message_id().copied())
            .collect::<Vec<_>>()
    };
    assert_eq!(counts(&w), [stored[0].id]);
    // Twilio's retry while the count is pending queues it again.
    let again = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
        .await;
    assert_eq!(again.status_code, 200);
    assert_eq!(counts(&w), [stored[0].id, stored[0].id]);
    // The job counts it, once however often it runs.
    for _ in 0..2 {
        w.ports.messages.count_inbound(&stored[0]).await.unwrap();
    }
    assert_eq!(unread(&w).await, 1);
    // Counted: a later repeat queues nothing.
    let later = w
        .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
        .await;
    assert_eq!(later.status_code, 200);
    assert_eq!(counts(&w).len(), 2);
}
