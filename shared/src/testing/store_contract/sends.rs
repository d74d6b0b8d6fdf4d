//! The message store's contract, sends: one worker at a time, idempotency records, templates.

use std::time::Duration;

use crate::domain::{Direction, MessageId, MessageStatus, StatusChange};
use crate::ports::{ConversationQuery, MessageStore};

use super::{cid, message};
use crate::testing::org;

/// One worker at a time holds a PENDING message; a claim that ran out without a known
/// outcome is reported to the next worker; a released claim is not; a worker whose lease
/// lapsed cannot release the claim that replaced it.
pub async fn one_worker_at_a_time_holds_a_send<M: MessageStore>(store: &M) {
    use crate::ports::{AttemptOutcome, SendClaim};
    let lease = Duration::from_secs(30);
    let later = |t: chrono::DateTime<chrono::Utc>, s: i64| t + chrono::Duration::seconds(s);
    let close = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
        (a - b).num_milliseconds().abs() < 2
    };
    let m = message("acme", Some("c1"), "hi", Direction::Outbound, None);
    store.insert(&m).await.unwrap();
    let acme = org("acme");
    let now = chrono::Utc::now();
    let claimed = |claim: SendClaim| match claim {
        SendClaim::Claimed {
            lease,
            unresolved_since,
        } => (lease, unresolved_since),
        other => panic!("expected a claim: {other:?}"),
    };

    let (first, since) = claimed(store.claim_send(&acme, &m.id, now, lease).await.unwrap());
    assert_eq!(since, None);
    assert!(close(first.until, later(now, 30)), "{}", first.until);
    match store
        .claim_send(&acme, &m.id, later(now, 1), lease)
        .await
        .unwrap()
    {
        SendClaim::Held { until } => assert!(close(until, later(now, 30)), "{until}"),
        other => panic!("a second worker must not get the message: {other:?}"),
    }
    assert_eq!(
        store
            .claim_send(&org("globex"), &m.id, now, lease)
            .await
            .unwrap(),
        SendClaim::NotPending,
        "another organization's message"
    );

    // The first worker stalled: after its lease the next one learns since when.
    let (second, since) = claimed(
        store
            .claim_send(&acme, &m.id, later(now, 31), lease)
            .await
            .unwrap(),
    );
    assert!(since.is_some_and(|since| close(since, now)), "{since:?}");
    // The stalled worker wakes and ends its attempt: the second worker's claim stays.
    for outcome in [AttemptOutcome::NotSent, AttemptOutcome::Unknown] {
        store
            .release_send(&acme, &m.id, &first, outcome)
            .await
            .unwrap();
        assert!(
            matches!(
                store
                    .claim_send(&acme, &m.id, later(now, 32), lease)
                    .await
                    .unwrap(),
                SendClaim::Held { until } if close(until, second.until)
            ),
            "a lapsed claim's release ({outcome:?}) must not free the message"
        );
    }
    // That attempt's answer was lost too: its lease ends at once, the doubt stays.
    store
        .release_send(&acme, &m.id, &second, AttemptOutcome::Unknown)
        .await
        .unwrap();
    let (third, since) = claimed(
        store
            .claim_send(&acme, &m.id, later(now, 32), lease)
            .await
            .unwrap(),
    );
    assert!(since.is_some_and(|since| close(since, now)), "{since:?}");
    // Twilio certainly did not take it: released, the next claim is a clean one.
    store
        .release_send(&acme, &m.id, &third, AttemptOutcome::NotSent)
        .await
        .unwrap();
    let (_, since) = claimed(
        store
            .claim_send(&acme, &m.id, later(now, 33), lease)
            .await
            .unwrap(),
    );
    assert_eq!(since, None);

    store
        .apply_status(
            &acme,
            &m.id,
            &StatusChange::sent("SM0123456789abcdef0123456789abcdef"),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_send(&acme, &m.id, later(now, 100), lease)
            .await
            .unwrap(),
        SendClaim::NotPending,
        "a sent message is not sent again"
    );
    assert_eq!(
        store
            .claim_send(&acme, &MessageId::new(), now, lease)
            .await
            .unwrap(),
        SendClaim::NotPending
    );
    // The claim is no change a poller sees.
    let stored = store.get(&acme, &m.id).await.unwrap().unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
}

/// Idempotency records: one writer wins, saves are conditional on the version read, an
/// expired record is as good as absent, and organizations do not share keys.
pub async fn idempotency_records_are_conditional_and_expire<M: MessageStore>(store: &M) {
    use crate::ports::{IdempotentSend, SendPart};
    let acme = org("acme");
    let now = chrono::Utc::now();
    let record = IdempotentSend {
        key: "compose-1".into(),
        request: r#"{"contact_id":"c1","text":"hi"}"#.into(),
        parts: vec![SendPart {
            message_id: MessageId::new(),
            queued: false,
        }],
        lease_until: Some(now + chrono::Duration::seconds(30)),
        version: 1,
        expires_at: now + chrono::Duration::hours(24),
    };
    assert_eq!(
        store
            .idempotent_send(&acme, "compose-1", now)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .save_idempotent_send(&acme, &record, None, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_idempotent_send(&acme, &record, None, now)
            .await
            .unwrap(),
        "a second first write loses"
    );
    assert_eq!(
        store
            .idempotent_send(&acme, "compose-1", now)
            .await
            .unwrap(),
        Some(record.clone())
    );
    assert_eq!(
        store
            .idempotent_send(&org("globex"), "compose-1", now)
            .await
            .unwrap(),
        None,
        "keys are per organization"
    );

    let done = IdempotentSend {
        parts: vec![SendPart {
            queued: true,
            ..record.parts[0].clone()
        }],
        lease_until: None,
        version: 2,
        ..record.clone()
    };
    assert!(
        !store
            .save_idempotent_send(&acme, &done, Some(7), now)
            .await
            .unwrap(),
        "a stale version is refused"
    );
    assert!(
        store
            .save_idempotent_send(&acme, &done, Some(1), now)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .idempotent_send(&acme, "compose-1", now)
            .await
            .unwrap(),
        Some(done.clone())
    );

    // A day later the key is free again.
    let tomorrow = now + chrono::Duration::hours(25);
    assert_eq!(
        store
            .idempotent_send(&acme, "compose-1", tomorrow)
            .await
            .unwrap(),
        None
    );
    assert!(
        !store
            .save_idempotent_send(&acme, &done, Some(2), tomorrow)
            .await
            .unwrap(),
        "an expired record cannot be updated"
    );
    let fresh = IdempotentSend {
        version: 1,
        expires_at: tomorrow + chrono::Duration::hours(24),
        ..record
    };
    assert!(
        store
            .save_idempotent_send(&acme, &fresh, None, tomorrow)
            .await
            .unwrap()
    );
}

/// A sent message keeps what it records — the template (content sid, name, variables) and
/// who sent it (an agent, or the API) — through reads, pages and status changes.
pub async fn sent_messages_keep_their_template_and_sender<M: MessageStore>(store: &M) {
    let mut m = message(
        "acme",
        Some("c1"),
        "Hi Aisha, thanks for your order.",
        Direction::Outbound,
        None,
    );
    m.template = Some(crate::domain::SentTemplate {
        content_sid: "HX00000000000000000000000000000001".into(),
        name: "order_shipped".into(),
        variables: [("1".to_owned(), "Aisha".to_owned())].into(),
    });
    m.sent_by = Some(crate::domain::SentBy::Agent(
        crate::domain::AgentRef::from_claims("u-ana", Some("Ana Lima"), None).unwrap(),
    ));
    store.insert(&m).await.unwrap();
    let acme = org("acme");
    assert_eq!(
        store.get(&acme, &m.id).await.unwrap().unwrap().template,
        m.template
    );
    store
        .apply_status(
            &acme,
            &m.id,
            &StatusChange::sent("SM00000000000000000000000000000042"),
        )
        .await
        .unwrap();
    let page = store
        .conversation(&acme, &cid("c1"), ConversationQuery::Latest { limit: 10 })
        .await
        .unwrap();
    let stored = page.messages.iter().find(|x| x.id == m.id).unwrap();
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.template, m.template);
    assert_eq!(stored.sent_by, m.sent_by);
    let mut plain = message("acme", Some("c1"), "free-form", Direction::Outbound, None);
    plain.sent_by = Some(crate::domain::SentBy::Api);
    store.insert(&plain).await.unwrap();
    let read = store.get(&acme, &plain.id).await.unwrap().unwrap();
    assert_eq!(read.template, None);
    assert_eq!(read.sent_by, Some(crate::domain::SentBy::Api));
}
