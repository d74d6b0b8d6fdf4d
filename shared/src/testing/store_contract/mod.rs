//! The message store's contract: what every implementation guarantees, run against the
//! in-memory store (`shared`'s own tests) and DynamoDB (the emulator tests), so the two
//! cannot drift apart. Here: conversations and pages; one file per other concern.

mod canned;
mod contents;
mod drafts;
mod inbound;
mod presence;
mod retention;
mod sends;
mod statuses;

pub use canned::*;
pub use contents::*;
pub use drafts::*;
pub use inbound::*;
pub use presence::*;
pub use retention::*;
pub use sends::*;
pub use statuses::*;

use crate::domain::{ContactId, Direction, Message, MessageId, MessageStatus, StatusChange};
use crate::ports::{ConversationQuery, MessageStore};

use super::org;

pub fn cid(id: &str) -> ContactId {
    ContactId::parse(id).expect("valid contact id")
}

/// A message of `o`'s conversation with `contact` (None: an unknown sender), made after the
/// one before (the test clock's next instant).
pub fn message(
    o: &str,
    contact: Option<&str>,
    text: &str,
    direction: Direction,
    sid: Option<&str>,
) -> Message {
    super::messages::a_message(o)
        .contact(contact)
        .direction(direction)
        .text(text)
        .sid(sid)
        .build()
}

pub(super) fn texts(page: &crate::ports::ConversationPage) -> Vec<String> {
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
