//! Count jobs: an inbound message stored uncounted, counted once.

use super::*;

/// `CountInbound`: an inbound message its webhook stored uncounted is counted in its
/// conversation, once however often the job comes; a job for an unknown message is skipped.
#[tokio::test]
async fn a_deferred_count_counts_the_message_once() {
    let w = worker().await;
    let org_a = shared::testing::org("org-a");
    let contact = shared::domain::ContactId::parse("c1").unwrap();
    let phone = shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap();
    let message = shared::domain::Message::inbound(
        &org_a,
        Some(contact.clone()),
        Some(&phone),
        "SM99999999999999999999999999999999",
        Some("part of an album".into()),
        vec![],
        chrono::Utc::now(),
    );
    w.ports.messages.faults.fail_next("count_inline", 1);
    assert_eq!(
        w.ports.messages.insert_inbound(&message).await.unwrap(),
        shared::ports::InboundInsert::StoredUncounted
    );
    let job = WorkerJob::CountInbound {
        organization_id: org_a.clone(),
        message_id: message.id,
    };
    let unread = || async {
        use shared::ports::ConversationStore;
        w.ports
            .messages
            .summary(&org_a, &contact)
            .await
            .unwrap()
            .map_or(0, |s| s.unread())
    };
    assert_eq!(unread().await, 0);
    let window = || async {
        w.ports
            .contacts
            .get(&org_a, &contact)
            .await
            .unwrap()
            .and_then(|c| c.last_inbound_at)
    };
    assert!(
        window().await < Some(message.created_at),
        "before the job, the window is the contact's earlier one"
    );
    for _ in 0..3 {
        assert_eq!(w.process(&job).await.unwrap(), JobOutcome::Counted);
    }
    assert_eq!(unread().await, 1);
    assert_eq!(
        window().await,
        Some(message.created_at),
        "the job moved the contact's 24-hour window"
    );
    let unknown = WorkerJob::CountInbound {
        organization_id: org_a.clone(),
        message_id: shared::domain::MessageId::new(),
    };
    assert_eq!(w.process(&unknown).await.unwrap(), JobOutcome::Skipped);
}
