//! The inbox's store contract (`ConversationStore`), run against the in-memory store and
//! DynamoDB alike: inbound messages counted once whatever the redelivery, reads idempotent and
//! never backwards, the list most recent first, paged, and within its organization.

use std::time::Duration;

use chrono::Utc;

use super::org;
use super::store_contract::{cid, message};
use crate::domain::{Direction, MessageStatus, StatusChange};
use crate::ports::{ConversationStore, MessageStore, PortError};

fn inbound(o: &str, contact: Option<&str>, text: &str) -> crate::domain::Message {
    let sid = format!("SM{}", crate::domain::MessageId::new());
    message(o, contact, text, Direction::Inbound, Some(&sid))
}

pub async fn inbound_is_counted_once_and_reads_only_move_forward<M>(store: &M)
where
    M: MessageStore + ConversationStore,
{
    let acme = org("acme");
    let first = inbound("acme", Some("c1"), "Hi");
    store.insert_inbound(&first).await.unwrap();
    // Twilio delivers the second message four times, two of them at once.
    let second = inbound("acme", Some("c1"), "Are you there?");
    let repeat = || crate::domain::Message {
        id: crate::domain::MessageId::new(),
        ..second.clone()
    };
    let twice = repeat();
    let (a, b) = tokio::join!(store.insert_inbound(&second), store.insert_inbound(&twice));
    a.unwrap();
    b.unwrap();
    store.insert_inbound(&repeat()).await.unwrap();
    store.insert_inbound(&repeat()).await.unwrap();
    let summary = store.summary(&acme, &cid("c1")).await.unwrap().unwrap();
    assert_eq!(
        summary.unread(),
        2,
        "each inbound message once: {summary:?}"
    );
    assert_eq!(summary.last_message.preview, "Are you there?");
    assert_eq!(summary.last_message.direction, Direction::Inbound);

    // A reply goes out: it is the newest, its ticks show, the unread count stays.
    let reply = message("acme", Some("c1"), "Yes!", Direction::Outbound, None);
    store.insert(&reply).await.unwrap();
    store
        .apply_status(
            &acme,
            &reply.id,
            &StatusChange::sent("SM99999999999999999999999999999999"),
        )
        .await
        .unwrap();
    let summary = store.summary(&acme, &cid("c1")).await.unwrap().unwrap();
    assert_eq!(
        (
            summary.last_message.id,
            summary.last_message.status,
            summary.unread()
        ),
        (reply.id, MessageStatus::Sent, 2)
    );
    // A repeated status changes nothing.
    store
        .apply_status(
            &acme,
            &reply.id,
            &StatusChange::sent("SM99999999999999999999999999999999"),
        )
        .await
        .unwrap();
    assert_eq!(
        store.summary(&acme, &cid("c1")).await.unwrap(),
        Some(summary.clone())
    );

    // Reading up to the first leaves the second unread; again changes nothing.
    let read = store
        .mark_read(&acme, &cid("c1"), &first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((read.unread(), read.last_read_id), (1, Some(first.id)));
    let again = store
        .mark_read(&acme, &cid("c1"), &first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, read, "a repeated read changes nothing");
    let all = store
        .mark_read(&acme, &cid("c1"), &reply.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(all.unread(), 0);
    // An older marker (another tab, late) changes nothing.
    let older = store
        .mark_read(&acme, &cid("c1"), &first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((older.unread(), older.last_read_id), (0, Some(reply.id)));

    // A new inbound message after the read is unread again; the count never goes negative.
    store
        .insert_inbound(&inbound("acme", Some("c1"), "Thanks"))
        .await
        .unwrap();
    let summary = store.summary(&acme, &cid("c1")).await.unwrap().unwrap();
    assert_eq!(summary.unread(), 1);

    // Concurrent messages of one conversation are all counted (the summary's writes are
    // conditional on what they read).
    let burst: Vec<_> = (0..6)
        .map(|i| inbound("acme", Some("c2"), &format!("#{i}")))
        .collect();
    let mut writes = tokio::task::JoinSet::new();
    for m in burst.clone() {
        let store = store.clone();
        writes.spawn(async move { store.insert_inbound(&m).await });
    }
    while let Some(done) = writes.join_next().await {
        done.unwrap().unwrap();
    }
    let burst_summary = store.summary(&acme, &cid("c2")).await.unwrap().unwrap();
    assert_eq!(burst_summary.unread(), 6);
    // The organization's total adds them up: one unread in c1, six in c2.
    assert_eq!(store.unread_total(&acme).await.unwrap(), 7);
    let read = store
        .mark_read(&acme, &cid("c2"), &burst[3].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.unread(), 2);
    assert_eq!(store.unread_total(&acme).await.unwrap(), 3);
    assert_eq!(
        burst_summary.last_message.id,
        burst.iter().map(|m| m.id).max().unwrap()
    );

    // An unknown sender's message is in no conversation; another organization sees nothing.
    store
        .insert_inbound(&inbound("acme", None, "who is this"))
        .await
        .unwrap();
    assert_eq!(
        store.summary(&org("globex"), &cid("c1")).await.unwrap(),
        None
    );
    assert_eq!(
        store
            .mark_read(&org("globex"), &cid("c1"), &first.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.unread_total(&org("globex")).await.unwrap(), 0);
    assert_eq!(store.unread_total(&acme).await.unwrap(), 3);

    // Read to the end: nothing unread anywhere, and the total says so.
    for (contact, newest) in [("c1", None), ("c2", burst.iter().map(|m| m.id).max())] {
        let newest = match newest {
            Some(id) => id,
            None => {
                store
                    .summary(&acme, &cid(contact))
                    .await
                    .unwrap()
                    .unwrap()
                    .last_message
                    .id
            }
        };
        store
            .mark_read(&acme, &cid(contact), &newest)
            .await
            .unwrap();
    }
    assert_eq!(store.unread_total(&acme).await.unwrap(), 0);
}

pub async fn the_inbox_lists_recent_activity_first_in_pages<M>(store: &M)
where
    M: MessageStore + ConversationStore,
{
    let acme = org("acme");
    for contact in ["c1", "c2", "c3", "c4", "c5"] {
        store
            .insert_inbound(&inbound("acme", Some(contact), contact))
            .await
            .unwrap();
    }
    store
        .insert_inbound(&inbound("globex", Some("c9"), "elsewhere"))
        .await
        .unwrap();
    // A conversation whose newest message the retention ended is not listed.
    let mut expired = inbound("acme", Some("c6"), "old");
    expired.expires_at = Some(Utc::now() - chrono::Duration::hours(1));
    store.insert_inbound(&expired).await.unwrap();

    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .conversations(&acme, cursor.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|s| s.contact_id.to_string()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ["c5", "c4", "c3", "c2", "c1"]);

    // A reply to c2 moves it to the top (made after the others: the test clock's next instant).
    store
        .insert(&message(
            "acme",
            Some("c2"),
            "Back to you",
            Direction::Outbound,
            None,
        ))
        .await
        .unwrap();
    let top = store.conversations(&acme, None, 2).await.unwrap();
    let ids: Vec<String> = top.items.iter().map(|s| s.contact_id.to_string()).collect();
    assert_eq!(ids, ["c2", "c5"]);
    assert_eq!(top.items[0].last_message.preview, "Back to you");
    assert_eq!(top.items[0].unread(), 1);

    // One unread in each of five conversations (the expired one left out), one at globex.
    assert_eq!(store.unread_total(&acme).await.unwrap(), 5);
    assert_eq!(store.unread_total(&org("globex")).await.unwrap(), 1);

    let globex = store.conversations(&org("globex"), None, 10).await.unwrap();
    assert_eq!(globex.items.len(), 1);
    assert_eq!(globex.items[0].contact_id, cid("c9"));
    // Another organization's cursor, or none at all, pages nothing of acme's.
    assert!(matches!(
        store.conversations(&acme, Some("not a cursor!"), 2).await,
        Err(PortError::InvalidCursor)
    ));
    // A cursor of the described shape that no page made is a position all the same: past the
    // newest row, the list from the top; before the oldest, nothing.
    let top = store
        .conversations(&acme, Some("7ZZZZZZZZZZZZZZZZZZZZZZZZZ.zz"), 10)
        .await
        .unwrap();
    assert_eq!(
        top.items.len(),
        store
            .conversations(&acme, None, 10)
            .await
            .unwrap()
            .items
            .len()
    );
    let bottom = store
        .conversations(&acme, Some("00000000000000000000000000.c1"), 10)
        .await
        .unwrap();
    assert!(bottom.items.is_empty() && bottom.next_cursor.is_none());

    store.forget(&acme, &cid("c5")).await.unwrap();
    store.forget(&acme, &cid("c5")).await.unwrap();
    let after = store.conversations(&acme, None, 10).await.unwrap();
    assert_eq!(after.items.len(), 4);
    assert!(after.items.iter().all(|s| s.contact_id != cid("c5")));
    // An erased conversation's unread messages leave the total with it.
    assert_eq!(store.unread_total(&acme).await.unwrap(), 4);
}

/// The typing indicator's turn: once per period per conversation, for the whole organization
/// (every process shares it), and each organization's conversations their own.
pub async fn an_indicator_turn_comes_once_per_period<M>(store: &M)
where
    M: ConversationStore,
{
    let every = chrono::Duration::seconds(20);
    let (acme, c1) = (org("acme"), cid("c1"));
    let t0 = Utc::now();
    assert!(
        store
            .take_indicator_turn(&acme, &c1, t0, every)
            .await
            .unwrap()
    );
    let just_before = t0 + every - chrono::Duration::milliseconds(1);
    assert!(
        !store
            .take_indicator_turn(&acme, &c1, just_before, every)
            .await
            .unwrap()
    );
    assert!(
        store
            .take_indicator_turn(&acme, &cid("c2"), just_before, every)
            .await
            .unwrap(),
        "another conversation"
    );
    assert!(
        store
            .take_indicator_turn(&org("globex"), &c1, just_before, every)
            .await
            .unwrap(),
        "another organization's contact of the same id"
    );
    assert!(
        store
            .take_indicator_turn(&acme, &c1, t0 + every, every)
            .await
            .unwrap()
    );
    // Of two processes at the same moment, one takes it.
    let later = t0 + every * 3;
    let (a, b) = tokio::join!(
        store.take_indicator_turn(&acme, &c1, later, every),
        store.take_indicator_turn(&acme, &c1, later, every)
    );
    assert_eq!([a.unwrap(), b.unwrap()].iter().filter(|t| **t).count(), 1);
}

/// Unread inbound messages past the organization's retention leave the unread count and the
/// organization's total when they expire, as they leave every read of the conversation.
pub async fn unread_messages_past_retention_leave_the_counts<M>(store: &M)
where
    M: MessageStore + ConversationStore,
{
    let acme = org("acme");
    let kept = chrono::Duration::days(30);
    let at = |days_ago: i64, n: u64| {
        let created = Utc::now() - chrono::Duration::days(days_ago);
        let id = crate::domain::MessageId::floor_at(
            u64::try_from(created.timestamp_millis()).unwrap() + n,
        );
        crate::domain::Message {
            id,
            revision: id,
            created_at: created,
            updated_at: created,
            expires_at: Some(created + kept),
            ..inbound("acme", Some("c-old"), "Hello?")
        }
    };
    // Today's first: a store treats a conversation whose newest message expired as gone, so
    // the two from 40 days ago come as late counts (the state they would have left).
    for m in [at(0, 0), at(40, 0), at(40, 1)] {
        store.insert_inbound(&m).await.unwrap();
    }
    let summary = store.summary(&acme, &cid("c-old")).await.unwrap().unwrap();
    assert_eq!(summary.unread(), 3, "three counted");
    assert_eq!(summary.unread_at(Utc::now()), 1, "two past retention");
    // Another conversation, all within retention.
    for m in [
        inbound("acme", Some("c-new"), "a"),
        inbound("acme", Some("c-new"), "b"),
    ] {
        store.insert_inbound(&m).await.unwrap();
    }
    assert_eq!(store.unread_total(&acme).await.unwrap(), 3);
    let page = store.conversations(&acme, None, 10).await.unwrap();
    let shown: Vec<u64> = page
        .items
        .iter()
        .map(|s| crate::api::ConversationSummaryView::from(s).unread_count)
        .collect();
    assert_eq!(shown.iter().sum::<u64>(), 3, "{shown:?}");

    // A count that changes after it was written: one unread message expires two seconds
    // from now. The total follows once it has (DynamoDB: the `unread` key said until when
    // the count held, so the summary is read again).
    let soon = Utc::now() - kept + chrono::Duration::seconds(2);
    let expiring = crate::domain::Message {
        created_at: soon,
        updated_at: soon,
        expires_at: Some(soon + kept),
        id: crate::domain::MessageId::floor_at(u64::try_from(soon.timestamp_millis()).unwrap()),
        ..inbound("acme", Some("c-soon"), "Still there?")
    };
    let expiring = crate::domain::Message {
        revision: expiring.id,
        ..expiring
    };
    let hello = inbound("acme", Some("c-soon"), "Hello");
    let hello = crate::domain::Message {
        expires_at: Some(hello.created_at + kept),
        ..hello
    };
    store.insert_inbound(&hello).await.unwrap();
    store.insert_inbound(&expiring).await.unwrap();
    assert_eq!(store.unread_total(&acme).await.unwrap(), 5);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(store.unread_total(&acme).await.unwrap(), 4);
}
