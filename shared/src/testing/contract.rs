//! The message store's contract: what every implementation guarantees, run against the
//! in-memory store (`shared`'s own tests) and DynamoDB (the emulator tests), so the two
//! cannot drift apart.

use std::time::Duration;

use crate::domain::{
    ContactId, Direction, Message, MessageId, MessageStatus, MessageType, StatusChange,
};
use crate::ports::{ConversationQuery, InboundInsert, MessageStore, StatusOutcome};

use super::org;

pub fn cid(id: &str) -> ContactId {
    ContactId::parse(id).expect("valid contact id")
}

/// A message of `o`'s conversation with `contact` (None: an unknown sender), made now.
pub fn message(
    o: &str,
    contact: Option<&str>,
    text: &str,
    direction: Direction,
    sid: Option<&str>,
) -> Message {
    let now = chrono::Utc::now();
    let id = MessageId::new();
    std::thread::sleep(Duration::from_millis(2));
    Message {
        id,
        organization_id: org(o),
        contact_id: contact.map(cid),
        contact_phone: Some("+60123456789".into()),
        direction,
        message_type: MessageType::Text,
        text: Some(text.into()),
        attachments: vec![],
        twilio_message_sid: sid.map(str::to_owned),
        status: if direction == Direction::Inbound {
            MessageStatus::Received
        } else {
            MessageStatus::Pending
        },
        error_reason: None,
        created_at: now,
        updated_at: now,
        revision: id,
        template: None,
        details: None,
        expires_at: None,
        idempotency_key: None,
    }
}

fn texts(page: &crate::ports::ConversationPage) -> Vec<String> {
    page.messages
        .iter()
        .map(|m| m.text.clone().unwrap_or_default())
        .collect()
}

pub async fn conversations_page_poll_and_stay_in_their_organization<M: MessageStore>(store: &M) {
    for i in 0..5 {
        store
            .insert(&message(
                "acme",
                Some("c1"),
                &format!("m{i}"),
                Direction::Outbound,
                None,
            ))
            .await
            .unwrap();
    }
    store
        .insert(&message(
            "acme",
            Some("c2"),
            "other contact",
            Direction::Outbound,
            None,
        ))
        .await
        .unwrap();
    store
        .insert(&message(
            "globex",
            Some("c1"),
            "other org",
            Direction::Outbound,
            None,
        ))
        .await
        .unwrap();
    store
        .insert_inbound(&message(
            "acme",
            None,
            "unknown number",
            Direction::Inbound,
            Some("SM00000000000000000000000000000009"),
        ))
        .await
        .unwrap();

    let latest = store
        .conversation(
            &org("acme"),
            &cid("c1"),
            ConversationQuery::Latest { limit: 2 },
        )
        .await
        .unwrap();
    assert_eq!(texts(&latest), ["m3", "m4"]);
    assert!(latest.has_more);
    let older = store
        .conversation(
            &org("acme"),
            &cid("c1"),
            ConversationQuery::Before {
                id: latest.messages[0].id,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(texts(&older), ["m0", "m1", "m2"]);
    assert!(!older.has_more);

    let cursor = latest.messages.iter().map(|m| m.revision).max().unwrap();
    let empty = store
        .conversation(
            &org("acme"),
            &cid("c1"),
            ConversationQuery::ChangedAfter { cursor, limit: 50 },
        )
        .await
        .unwrap();
    assert!(empty.messages.is_empty(), "an empty poll finds nothing");
    let target = older.messages[0].id;
    store
        .apply_status(
            &org("acme"),
            &target,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some("SM00000000000000000000000000000001".into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let poll = store
        .conversation(
            &org("acme"),
            &cid("c1"),
            ConversationQuery::ChangedAfter { cursor, limit: 50 },
        )
        .await
        .unwrap();
    assert_eq!(texts(&poll), ["m0"]);
    assert_eq!(poll.messages[0].status, MessageStatus::Sent);

    let all_acme_c1 = store
        .conversation(
            &org("acme"),
            &cid("c1"),
            ConversationQuery::Latest { limit: 50 },
        )
        .await
        .unwrap();
    assert_eq!(all_acme_c1.messages.len(), 5);
    assert!(store.get(&org("globex"), &target).await.unwrap().is_none());
}

pub async fn status_moves_forward_only_and_conditionally<M: MessageStore>(store: &M) {
    let m = message("acme", Some("c1"), "hi", Direction::Outbound, None);
    store.insert(&m).await.unwrap();
    assert!(store.insert(&m).await.is_err(), "an id is written once");
    let sid = "SM0123456789abcdef0123456789abcdef";
    let change = |status| StatusChange {
        status,
        twilio_message_sid: Some(sid.into()),
        error_reason: None,
    };

    // `read` overtakes `sent` and `delivered`.
    assert!(matches!(
        store
            .apply_status(&org("acme"), &m.id, &change(MessageStatus::Read))
            .await
            .unwrap(),
        Some(StatusOutcome::Applied(_))
    ));
    for late in [
        MessageStatus::Delivered,
        MessageStatus::Sent,
        MessageStatus::Failed,
    ] {
        let outcome = store
            .apply_status(&org("acme"), &m.id, &change(late))
            .await
            .unwrap();
        assert!(
            matches!(outcome, Some(StatusOutcome::Unchanged(ref x)) if x.status == MessageStatus::Read),
            "{late:?}"
        );
    }
    assert_eq!(
        store
            .find_by_sid(&org("acme"), sid)
            .await
            .unwrap()
            .unwrap()
            .id,
        m.id
    );
    assert!(
        store
            .find_by_sid(&org("globex"), sid)
            .await
            .unwrap()
            .is_none()
    );
    // Even when another organization holds a message with the same sid (two organizations on
    // one Twilio account, or a forged callback), each finds only its own.
    let other = message("globex", Some("c1"), "theirs", Direction::Outbound, None);
    store.insert(&other).await.unwrap();
    store
        .apply_status(&org("globex"), &other.id, &change(MessageStatus::Sent))
        .await
        .unwrap();
    for (organization, id) in [("acme", m.id), ("globex", other.id)] {
        let found = store.find_by_sid(&org(organization), sid).await.unwrap();
        assert_eq!(found.map(|f| f.id), Some(id), "{organization}");
    }

    // A callback first, the worker's SENT after: the sid is recorded, the status stays.
    let m2 = message("acme", Some("c1"), "second", Direction::Outbound, None);
    store.insert(&m2).await.unwrap();
    store
        .apply_status(
            &org("acme"),
            &m2.id,
            &StatusChange {
                status: MessageStatus::Delivered,
                twilio_message_sid: None,
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let sid2 = "SM0123456789abcdef0123456789abcde2";
    let outcome = store
        .apply_status(
            &org("acme"),
            &m2.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(sid2.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let Some(StatusOutcome::Applied(after)) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(after.status, MessageStatus::Delivered);
    assert_eq!(after.twilio_message_sid.as_deref(), Some(sid2));

    // FAILED keeps its reason; unknown ids are None.
    let m3 = message("acme", Some("c1"), "third", Direction::Outbound, None);
    store.insert(&m3).await.unwrap();
    store
        .apply_status(
            &org("acme"),
            &m3.id,
            &StatusChange {
                status: MessageStatus::Failed,
                twilio_message_sid: None,
                error_reason: Some("Failed to send via WhatsApp: x".into()),
            },
        )
        .await
        .unwrap();
    let failed = store.get(&org("acme"), &m3.id).await.unwrap().unwrap();
    assert_eq!(
        failed.error_reason.as_deref(),
        Some("Failed to send via WhatsApp: x")
    );
    assert!(
        store
            .apply_status(
                &org("acme"),
                &MessageId::new(),
                &change(MessageStatus::Sent)
            )
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn inbound_messages_are_stored_once_per_sid<M: MessageStore>(store: &M) {
    let sid = "SM11111111111111111111111111111111";
    let a = message("acme", Some("c1"), "hello", Direction::Inbound, Some(sid));
    let b = message("acme", Some("c1"), "hello", Direction::Inbound, Some(sid));
    let (ra, rb) = tokio::join!(store.insert_inbound(&a), store.insert_inbound(&b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let (stored, duplicate) = match (&ra, &rb) {
        (InboundInsert::Stored, d @ InboundInsert::Duplicate { .. }) => (&a, d),
        (d @ InboundInsert::Duplicate { .. }, InboundInsert::Stored) => (&b, d),
        other => panic!("exactly one is stored: {other:?}"),
    };
    // The repeat learns which message holds the sid, and that its effects are pending.
    let pending = InboundInsert::Duplicate {
        message_id: Some(stored.id),
        effects_done: false,
    };
    assert_eq!(duplicate, &pending);
    let again = || message("acme", Some("c1"), "hello", Direction::Inbound, Some(sid));
    assert_eq!(store.insert_inbound(&again()).await.unwrap(), pending);
    store.inbound_effects_done(&org("acme"), sid).await.unwrap();
    assert_eq!(
        store.insert_inbound(&again()).await.unwrap(),
        InboundInsert::Duplicate {
            message_id: Some(stored.id),
            effects_done: true,
        }
    );
    let page = store
        .conversation(
            &org("acme"),
            &cid("c1"),
            ConversationQuery::Latest { limit: 10 },
        )
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    // The same sid in another organization is another message.
    assert_eq!(
        store
            .insert_inbound(&message(
                "globex",
                Some("c1"),
                "hello",
                Direction::Inbound,
                Some(sid)
            ))
            .await
            .unwrap(),
        InboundInsert::Stored
    );
}

/// One worker at a time holds a PENDING message; a claim that ran out without a known
/// outcome is reported to the next worker; a released claim is not.
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

    let first = store.claim_send(&acme, &m.id, now, lease).await.unwrap();
    assert_eq!(
        first,
        SendClaim::Claimed {
            unresolved_since: None
        }
    );
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

    // The first worker vanished: after its lease the next one learns since when.
    match store
        .claim_send(&acme, &m.id, later(now, 31), lease)
        .await
        .unwrap()
    {
        SendClaim::Claimed {
            unresolved_since: Some(since),
        } => assert!(close(since, now), "{since}"),
        other => panic!("{other:?}"),
    }
    // That attempt's answer was lost too: its lease ends at once, the doubt stays.
    store
        .release_send(&acme, &m.id, AttemptOutcome::Unknown)
        .await
        .unwrap();
    match store
        .claim_send(&acme, &m.id, later(now, 31), lease)
        .await
        .unwrap()
    {
        SendClaim::Claimed {
            unresolved_since: Some(since),
        } => assert!(close(since, now), "{since}"),
        other => panic!("{other:?}"),
    }
    // Twilio certainly did not take it: released, the next claim is a clean one.
    store
        .release_send(&acme, &m.id, AttemptOutcome::NotSent)
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_send(&acme, &m.id, later(now, 32), lease)
            .await
            .unwrap(),
        SendClaim::Claimed {
            unresolved_since: None
        }
    );

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

/// A message sent from a template keeps what it records (content sid, name, variables)
/// through reads, pages and status changes.
pub async fn template_messages_keep_their_template<M: MessageStore>(store: &M) {
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
    let plain = message("acme", Some("c1"), "free-form", Direction::Outbound, None);
    store.insert(&plain).await.unwrap();
    assert_eq!(
        store.get(&acme, &plain.id).await.unwrap().unwrap().template,
        None
    );
}

/// What an inbound message carries besides text (a location, a quoted message) and every
/// posted parameter survive the store.
pub async fn inbound_details_are_kept<M: MessageStore>(store: &M) {
    let mut m = message(
        "acme",
        Some("c1"),
        "",
        Direction::Inbound,
        Some("SM00000000000000000000000000000077"),
    );
    m.text = None;
    m.details = Some(crate::domain::InboundDetails {
        kind: Some("location".into()),
        location: crate::domain::Location::parse("3.139003", "101.686855", None, Some("KLCC")),
        reply_to: Some(crate::domain::ReplyTo {
            twilio_message_sid: "SM00000000000000000000000000000042".into(),
            message_id: Some(MessageId::new()),
        }),
        params: vec![
            ("Latitude".into(), "3.139003".into()),
            ("SomethingNew".into(), "42".into()),
        ],
        ..Default::default()
    });
    assert_eq!(
        store.insert_inbound(&m).await.unwrap(),
        InboundInsert::Stored
    );
    let stored = store.get(&org("acme"), &m.id).await.unwrap().unwrap();
    assert_eq!(stored.details, m.details);
}

/// A Twilio sid is held by one message of the organization: of several messages reserving
/// it at once exactly one gets it, the holder is what a lookup by sid finds, holding again
/// is harmless, and another organization's hold of the same sid is its own.
pub async fn a_twilio_sid_is_held_by_one_message<M: MessageStore>(store: &M) {
    let sid = "SM0123456789abcdef0123456789abcd77";
    let mut contenders = Vec::new();
    for i in 0..6 {
        let m = message(
            "acme",
            Some("c1"),
            &format!("ok {i}"),
            Direction::Outbound,
            None,
        );
        store.insert(&m).await.unwrap();
        contenders.push(m);
    }
    let mut racing = tokio::task::JoinSet::new();
    for m in &contenders {
        let (store, id) = (store.clone(), m.id);
        racing.spawn(async move { (id, store.hold_sid(&org("acme"), sid, &id).await.unwrap()) });
    }
    let mut holders = Vec::new();
    while let Some(joined) = racing.join_next().await {
        let (id, held) = joined.unwrap();
        if held {
            holders.push(id);
        }
    }
    assert_eq!(holders.len(), 1, "one holder: {holders:?}");
    let holder = holders[0];
    assert!(store.hold_sid(&org("acme"), sid, &holder).await.unwrap());
    let other = contenders.iter().find(|m| m.id != holder).unwrap().id;
    assert!(!store.hold_sid(&org("acme"), sid, &other).await.unwrap());
    // Held but not yet recorded on the message: the lookup already names the holder.
    assert_eq!(
        store
            .find_by_sid(&org("acme"), sid)
            .await
            .unwrap()
            .map(|m| m.id),
        Some(holder)
    );
    let theirs = message("globex", Some("c1"), "ok", Direction::Outbound, None);
    store.insert(&theirs).await.unwrap();
    assert!(
        store
            .hold_sid(&org("globex"), sid, &theirs.id)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .find_by_sid(&org("acme"), sid)
            .await
            .unwrap()
            .map(|m| m.id),
        Some(holder)
    );
    // An inbound message holds its own sid from the start.
    let inbound_sid = "SM0123456789abcdef0123456789abcd78";
    let inbound = message(
        "acme",
        Some("c1"),
        "hi",
        Direction::Inbound,
        Some(inbound_sid),
    );
    store.insert_inbound(&inbound).await.unwrap();
    assert!(
        !store
            .hold_sid(&org("acme"), inbound_sid, &other)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .find_by_sid(&org("acme"), inbound_sid)
            .await
            .unwrap()
            .map(|m| m.id),
        Some(inbound.id)
    );
}

/// UNCONFIRMED keeps its reason until Twilio settles the message, which clears it; the
/// number a send goes to is recorded only while the message is PENDING, as a change pollers
/// see.
pub async fn unconfirmed_and_destination_changes<M: MessageStore>(store: &M) {
    let m = message("acme", Some("c1"), "doubt", Direction::Outbound, None);
    store.insert(&m).await.unwrap();
    let new_number = crate::domain::PhoneNumber::parse_e164("+60198765432").unwrap();
    let moved = store
        .record_destination(&org("acme"), &m.id, &new_number)
        .await
        .unwrap()
        .expect("pending");
    assert_eq!(moved.contact_phone.as_deref(), Some("+60198765432"));
    assert!(moved.revision > m.revision, "a change pollers see");
    let doubt = "Not confirmed by Twilio yet: x";
    store
        .apply_status(&org("acme"), &m.id, &StatusChange::unconfirmed(doubt))
        .await
        .unwrap();
    let stored = store.get(&org("acme"), &m.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.error_reason.as_deref()),
        (MessageStatus::Unconfirmed, Some(doubt))
    );
    assert!(
        store
            .record_destination(&org("acme"), &m.id, &new_number)
            .await
            .unwrap()
            .is_none(),
        "no longer PENDING"
    );
    let sid = "SM0123456789abcdef0123456789abcd79";
    let outcome = store
        .apply_status(
            &org("acme"),
            &m.id,
            &StatusChange {
                status: MessageStatus::Delivered,
                twilio_message_sid: Some(sid.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let Some(StatusOutcome::Applied(after)) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (
            after.status,
            after.error_reason,
            after.twilio_message_sid.as_deref()
        ),
        (MessageStatus::Delivered, None, Some(sid))
    );
}

/// A page holds what was asked for whatever the items' size: DynamoDB stops a Query at 1 MB,
/// which four of these messages cross, and the store reads on rather than taking the short
/// page for the end.
pub async fn pages_are_whole_whatever_the_item_size<M: MessageStore>(store: &M) {
    let big = "x".repeat(300_000);
    let mut ids = Vec::new();
    for i in 0..5 {
        let m = message(
            "acme",
            Some("c-big"),
            &format!("{i}{big}"),
            Direction::Outbound,
            None,
        );
        store.insert(&m).await.unwrap();
        ids.push(m.id);
    }
    let page = store
        .conversation(
            &org("acme"),
            &cid("c-big"),
            ConversationQuery::Latest { limit: 4 },
        )
        .await
        .unwrap();
    assert_eq!(
        page.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[1..]
    );
    assert!(page.has_more);
    let polled = store
        .conversation(
            &org("acme"),
            &cid("c-big"),
            ConversationQuery::ChangedAfter {
                cursor: MessageId::floor_at(0),
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(polled.messages.len(), 5, "every change since the cursor");
    assert!(!polled.has_more);
    let older = store
        .conversation(
            &org("acme"),
            &cid("c-big"),
            ConversationQuery::Before {
                id: ids[4],
                limit: 3,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        older.messages.iter().map(|m| m.id).collect::<Vec<_>>(),
        ids[1..4]
    );
    assert!(older.has_more);
}

/// A message past its organization's retention is gone for every read (a page, a poll, a
/// get, a lookup by sid) before the store deletes it; one within it is there as usual.
pub async fn expired_messages_are_gone<M: MessageStore>(store: &M) {
    let now = chrono::Utc::now();
    let mut kept = message("acme", Some("c-ret"), "kept", Direction::Outbound, None);
    kept.expires_at = Some(now + chrono::Duration::days(30));
    let mut expired = message("acme", Some("c-ret"), "expired", Direction::Outbound, None);
    expired.expires_at = Some(now - chrono::Duration::seconds(5));
    let sid = "SM0123456789abcdef0123456789abce01";
    let mut expired_inbound = message(
        "acme",
        Some("c-ret"),
        "old reply",
        Direction::Inbound,
        Some(sid),
    );
    expired_inbound.expires_at = Some(now - chrono::Duration::seconds(5));
    store.insert(&kept).await.unwrap();
    store.insert(&expired).await.unwrap();
    store.insert_inbound(&expired_inbound).await.unwrap();
    for query in [
        ConversationQuery::Latest { limit: 10 },
        ConversationQuery::ChangedAfter {
            cursor: MessageId::floor_at(0),
            limit: 10,
        },
    ] {
        let page = store
            .conversation(&org("acme"), &cid("c-ret"), query)
            .await
            .unwrap();
        assert_eq!(texts(&page), ["kept"], "{query:?}");
    }
    assert!(
        store
            .get(&org("acme"), &expired.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .find_by_sid(&org("acme"), sid)
            .await
            .unwrap()
            .is_none()
    );
    let back = store.get(&org("acme"), &kept.id).await.unwrap().unwrap();
    assert_eq!(
        back.expires_at.map(|t| t.timestamp()),
        kept.expires_at.map(|t| t.timestamp()),
        "the expiry is stored with the message"
    );
}

/// Erasure reads a contact's messages page by page, expired ones too, and deletes each with
/// the `SID#` item it holds and its send's idempotency record, nothing of anyone else's.
pub async fn erasure_takes_a_contacts_messages_and_only_them<M: MessageStore>(store: &M) {
    use crate::ports::{IdempotentSend, SendPart};
    let acme = org("acme");
    let now = chrono::Utc::now();
    let (out_sid, in_sid, other_sid, taken_sid) = (
        "SM0000000000000000000000000000e001",
        "SM0000000000000000000000000000e002",
        "SM0000000000000000000000000000e003",
        "SM0000000000000000000000000000e004",
    );
    let mut keyed = message("acme", Some("c-gone"), "order?", Direction::Outbound, None);
    keyed.idempotency_key = Some("compose-erase".into());
    store.insert(&keyed).await.unwrap();
    let record = IdempotentSend {
        key: "compose-erase".into(),
        request: r#"{"contact_id":"c-gone","text":"order?"}"#.into(),
        parts: vec![SendPart {
            message_id: keyed.id,
            queued: true,
        }],
        lease_until: None,
        version: 1,
        expires_at: now + chrono::Duration::hours(24),
    };
    assert!(
        store
            .save_idempotent_send(&acme, &record, None, now)
            .await
            .unwrap()
    );
    assert!(store.hold_sid(&acme, out_sid, &keyed.id).await.unwrap());
    store
        .apply_status(&acme, &keyed.id, &StatusChange::sent(out_sid))
        .await
        .unwrap();
    let reply = message(
        "acme",
        Some("c-gone"),
        "yes",
        Direction::Inbound,
        Some(in_sid),
    );
    store.insert_inbound(&reply).await.unwrap();
    store.inbound_effects_done(&acme, in_sid).await.unwrap();
    let mut expired = message("acme", Some("c-gone"), "old", Direction::Outbound, None);
    expired.expires_at = Some(now - chrono::Duration::seconds(5));
    store.insert(&expired).await.unwrap();
    // A look-alike that records a sid another message of the contact's twin holds.
    let look_alike = message("acme", Some("c-gone"), "ok", Direction::Outbound, None);
    store.insert(&look_alike).await.unwrap();
    let holder = message("acme", Some("c-twin"), "ok", Direction::Outbound, None);
    store.insert(&holder).await.unwrap();
    assert!(store.hold_sid(&acme, taken_sid, &holder.id).await.unwrap());
    store
        .apply_status(&acme, &holder.id, &StatusChange::sent(taken_sid))
        .await
        .unwrap();
    store
        .apply_status(&acme, &look_alike.id, &StatusChange::sent(taken_sid))
        .await
        .unwrap();
    let kept = [
        message(
            "acme",
            Some("c-twin"),
            "mine",
            Direction::Inbound,
            Some(other_sid),
        ),
        message(
            "globex",
            Some("c-gone"),
            "theirs",
            Direction::Outbound,
            None,
        ),
    ];
    for m in &kept {
        if m.twilio_message_sid.is_some() {
            store.insert_inbound(m).await.unwrap();
        } else {
            store.insert(m).await.unwrap();
        }
    }

    // Pages of two, newest first, down from the ceiling; the expired message is among them.
    let mut before = MessageId::ceiling();
    let mut seen = Vec::new();
    loop {
        let page = store
            .erasable(&acme, &cid("c-gone"), &before, 2)
            .await
            .unwrap();
        assert!(page.messages.len() <= 2);
        assert!(page.messages.windows(2).all(|w| w[0].id < w[1].id));
        for m in &page.messages {
            store.erase(m).await.unwrap();
            // Erasing twice is no error.
            store.erase(m).await.unwrap();
            seen.push(m.id);
        }
        match page.messages.first() {
            Some(oldest) if page.has_more => before = oldest.id,
            _ => break,
        }
    }
    seen.sort();
    let mut expected = vec![keyed.id, reply.id, expired.id, look_alike.id];
    expected.sort();
    assert_eq!(seen, expected);
    assert!(
        store
            .erasable(&acme, &cid("c-gone"), &MessageId::ceiling(), 10)
            .await
            .unwrap()
            .messages
            .is_empty()
    );
    for id in &expected {
        assert!(store.get(&acme, id).await.unwrap().is_none());
    }
    for sid in [out_sid, in_sid] {
        assert!(
            store.find_by_sid(&acme, sid).await.unwrap().is_none(),
            "{sid}"
        );
    }
    assert_eq!(
        store
            .idempotent_send(&acme, "compose-erase", now)
            .await
            .unwrap(),
        None
    );
    // The inbound marker went with its message: a new delivery of that sid is stored anew.
    let redelivered = message("acme", None, "yes", Direction::Inbound, Some(in_sid));
    assert_eq!(
        store.insert_inbound(&redelivered).await.unwrap(),
        InboundInsert::Stored
    );
    // Nothing of anyone else's went: the twin keeps its sid, globex its message.
    assert_eq!(
        store
            .find_by_sid(&acme, taken_sid)
            .await
            .unwrap()
            .map(|m| m.id),
        Some(holder.id)
    );
    assert_eq!(
        store
            .find_by_sid(&acme, other_sid)
            .await
            .unwrap()
            .map(|m| m.id),
        Some(kept[0].id)
    );
    assert!(
        store
            .get(&org("globex"), &kept[1].id)
            .await
            .unwrap()
            .is_some()
    );

    // A message erased while a worker or a callback was recording its sid: the hold they
    // took after the erasure is released when the status finds no message.
    let late = message("acme", Some("c-gone"), "late", Direction::Outbound, None);
    store.insert(&late).await.unwrap();
    store.erase(&late).await.unwrap();
    let late_sid = "SM0000000000000000000000000000e005";
    assert!(store.hold_sid(&acme, late_sid, &late.id).await.unwrap());
    assert!(
        store
            .apply_status(&acme, &late.id, &StatusChange::sent(late_sid))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store.hold_sid(&acme, late_sid, &holder.id).await.unwrap(),
        "the sid is free again"
    );
    // Another message's hold is never released that way.
    assert!(
        store
            .apply_status(&acme, &late.id, &StatusChange::sent(late_sid))
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.hold_sid(&acme, late_sid, &late.id).await.unwrap());
}
