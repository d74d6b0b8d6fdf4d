//! The message store's contract, statuses: forward only, conditional, and the Twilio sid a
//! message holds.

use crate::domain::{Direction, MessageId, MessageStatus, StatusChange};
use crate::ports::{Erasure, MessageStore, StatusOutcome};

use super::message;
use crate::testing::org;

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

/// A message holds one Twilio sid: once it holds (or has recorded) one, it cannot take
/// another, which stays free for the look-alike whose it is; holding its own again is
/// harmless, and a message that is gone holds nothing.
pub async fn a_message_holds_one_twilio_sid<M: MessageStore>(store: &M) {
    let acme = org("acme");
    let (own, other) = (
        "SM0123456789abcdef0123456789abcd01",
        "SM0123456789abcdef0123456789abcd02",
    );
    let adopter = message("acme", Some("c1"), "twin", Direction::Outbound, None);
    let look_alike = message("acme", Some("c1"), "twin", Direction::Outbound, None);
    store.insert(&adopter).await.unwrap();
    store.insert(&look_alike).await.unwrap();
    assert!(store.hold_sid(&acme, other, &adopter.id).await.unwrap());
    assert!(
        !store.hold_sid(&acme, own, &adopter.id).await.unwrap(),
        "a message holding one sid takes no other"
    );
    assert!(store.hold_sid(&acme, other, &adopter.id).await.unwrap());
    assert_eq!(store.find_by_sid(&acme, own).await.unwrap(), None);
    assert!(
        store.hold_sid(&acme, own, &look_alike.id).await.unwrap(),
        "the refused sid stayed free for the look-alike"
    );
    // A sid recorded on the message (SENT) counts as held by it.
    let recorded = message("acme", Some("c1"), "recorded", Direction::Outbound, None);
    store.insert(&recorded).await.unwrap();
    let recorded_sid = "SM0123456789abcdef0123456789abcd03";
    store
        .apply_status(&acme, &recorded.id, &StatusChange::sent(recorded_sid))
        .await
        .unwrap();
    assert!(
        !store
            .hold_sid(&acme, "SM0123456789abcdef0123456789abcd04", &recorded.id)
            .await
            .unwrap()
    );
    assert!(
        store
            .hold_sid(&acme, recorded_sid, &recorded.id)
            .await
            .unwrap()
    );
    // A message never stored (or erased) holds nothing, and the sid stays free.
    let never = message("acme", Some("c1"), "never", Direction::Outbound, None);
    let free = "SM0123456789abcdef0123456789abcd05";
    assert!(!store.hold_sid(&acme, free, &never.id).await.unwrap());
    assert_eq!(store.find_by_sid(&acme, free).await.unwrap(), None);
    // Erased between its hold and SENT: the sid goes with it, free for another.
    let between = message("acme", Some("c1"), "between", Direction::Outbound, None);
    store.insert(&between).await.unwrap();
    assert!(store.hold_sid(&acme, free, &between.id).await.unwrap());
    let read = store.get(&acme, &between.id).await.unwrap().unwrap();
    assert_eq!(store.erase(&read).await.unwrap(), Erasure::Erased);
    let next = message("acme", Some("c2"), "between", Direction::Outbound, None);
    store.insert(&next).await.unwrap();
    assert!(store.hold_sid(&acme, free, &next.id).await.unwrap());
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
