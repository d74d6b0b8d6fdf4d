//! The message store's contract, retention and erasure.

use crate::domain::{Direction, MessageId, StatusChange};
use crate::ports::{ConversationQuery, InboundInsert, MessageStore};

use super::{cid, message, texts};
use crate::testing::org;

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

    // A message erased while a worker or a callback was recording its sid: a hold taken
    // after the erasure is refused (the message is gone), so the sid stays free; a status
    // for it finds no message.
    let late = message("acme", Some("c-gone"), "late", Direction::Outbound, None);
    store.insert(&late).await.unwrap();
    store.erase(&late).await.unwrap();
    let late_sid = "SM0000000000000000000000000000e005";
    assert!(!store.hold_sid(&acme, late_sid, &late.id).await.unwrap());
    assert!(
        store
            .apply_status(&acme, &late.id, &StatusChange::sent(late_sid))
            .await
            .unwrap()
            .is_none()
    );
    let heir = message("acme", Some("c-twin"), "late", Direction::Outbound, None);
    store.insert(&heir).await.unwrap();
    assert!(
        store.hold_sid(&acme, late_sid, &heir.id).await.unwrap(),
        "the sid is free"
    );
    // Another message's hold is never released by a status for the erased one.
    assert!(
        store
            .apply_status(&acme, &late.id, &StatusChange::sent(late_sid))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .find_by_sid(&acme, late_sid)
            .await
            .unwrap()
            .map(|m| m.id),
        Some(heir.id)
    );
}

/// Erasure deletes only what it read: a message that changed since (a media copy recorded
/// a file) stays and comes back as it is now, and an idempotency record whose key was used
/// again since (by another send) is that send's and stays.
pub async fn erasure_deletes_only_what_it_read<M: MessageStore>(store: &M) {
    use crate::domain::Attachment;
    use crate::ports::{Erasure, IdempotentSend, SendPart};
    let acme = org("acme");
    let now = chrono::Utc::now();

    let mut photo = message(
        "acme",
        Some("c-gone"),
        "",
        Direction::Inbound,
        Some("SMphoto"),
    );
    let at_twilio = Attachment {
        key: None,
        url: Some("https://api.twilio.com/media/ME1".into()),
        content_type: "image/jpeg".into(),
        filename: None,
        size: None,
        error: None,
        card: None,
    };
    photo.attachments = vec![at_twilio.clone()];
    store.insert(&photo).await.unwrap();
    let read = store.get(&acme, &photo.id).await.unwrap().unwrap();
    let copied = Attachment {
        key: Some("acme/inbound/photo/0.jpg".into()),
        ..at_twilio
    };
    store
        .update_attachments(&acme, &photo.id, std::slice::from_ref(&copied))
        .await
        .unwrap();
    let Erasure::ChangedSinceRead(now_stored) = store.erase(&read).await.unwrap() else {
        panic!("a message changed since it was read must not be deleted blind")
    };
    assert_eq!(
        now_stored.attachments,
        vec![copied],
        "with the file it gained"
    );
    assert!(store.get(&acme, &photo.id).await.unwrap().is_some());
    assert_eq!(store.erase(&now_stored).await.unwrap(), Erasure::Erased);
    assert!(store.get(&acme, &photo.id).await.unwrap().is_none());

    // The key of an old send, used again by a new send once its day was over.
    let mut old = message("acme", Some("c-gone"), "hi", Direction::Outbound, None);
    old.idempotency_key = Some("compose-reused".into());
    store.insert(&old).await.unwrap();
    let newer = message("acme", Some("c-kept"), "hello", Direction::Outbound, None);
    store.insert(&newer).await.unwrap();
    let record = IdempotentSend {
        key: "compose-reused".into(),
        request: r#"{"contact_id":"c-kept","text":"hello"}"#.into(),
        parts: vec![SendPart {
            message_id: newer.id,
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
    assert_eq!(store.erase(&old).await.unwrap(), Erasure::Erased);
    assert_eq!(
        store
            .idempotent_send(&acme, "compose-reused", now)
            .await
            .unwrap(),
        Some(record),
        "another send's record stays"
    );
}
