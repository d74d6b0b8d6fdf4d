//! The inbox on DynamoDB: the store contract (`shared::testing::inbox`) and the backfill of
//! conversations from before the inbox (`local backfill-inbox`).

use shared::aws::{DynamoContacts, DynamoMessages};
use shared::domain::Direction;
use shared::ports::{ContactStore, ConversationStore, MessageStore};
use shared::testing::store_contract::{cid, message};
use shared::testing::{contact, org};

use crate::emulator::Stack;

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn inbound_is_counted_once_and_reads_only_move_forward() {
    shared::testing::inbox::inbound_is_counted_once_and_reads_only_move_forward(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn the_inbox_lists_recent_activity_first_in_pages() {
    shared::testing::inbox::the_inbox_lists_recent_activity_first_in_pages(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn an_indicator_turn_comes_once_per_period() {
    shared::testing::inbox::an_indicator_turn_comes_once_per_period(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn unread_messages_past_retention_leave_the_counts() {
    shared::testing::inbox::unread_messages_past_retention_leave_the_counts(
        &Stack::create().await.ports().messages,
    )
    .await;
}

/// Conversations stored before the inbox existed get their row from their newest message,
/// nothing unread; a row kept since (with its unread count) is not touched, nor another
/// organization's, and running it again starts nothing.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn the_backfill_starts_the_inbox_of_conversations_from_before_it() {
    let stack = Stack::create().await;
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let contacts = DynamoContacts::new(client.clone(), stack.resources.contacts_table.clone());
    let messages = DynamoMessages::new(client, stack.resources.messages_table.clone());
    let acme = org("acme");
    for (o, id, phone) in [
        ("acme", "c1", "+60123456781"),
        ("acme", "c2", "+60123456782"),
        ("acme", "c3", "+60123456783"),
        ("globex", "g1", "+60123456784"),
    ] {
        contacts.put(&contact(o, id, id, phone)).await.unwrap();
    }
    // c1 and g1 wrote before the inbox: their messages are stored, their rows are not (the
    // store keeps rows now, so they are taken away to stand for the old version).
    let old_hello = message(
        "acme",
        Some("c1"),
        "Hello",
        Direction::Inbound,
        Some("SMa1"),
    );
    let old_reply = message("acme", Some("c1"), "Hi!", Direction::Outbound, None);
    let globex_old = message(
        "globex",
        Some("g1"),
        "Hey",
        Direction::Inbound,
        Some("SMg1"),
    );
    for m in [&old_hello, &old_reply, &globex_old] {
        messages.insert(m).await.unwrap();
    }
    messages.forget(&acme, &cid("c1")).await.unwrap();
    messages.forget(&org("globex"), &cid("g1")).await.unwrap();
    // c2 wrote since: its row counts its unread message. c3 never wrote.
    let new = message("acme", Some("c2"), "New", Direction::Inbound, Some("SMb1"));
    messages.insert_inbound(&new).await.unwrap();
    let c2_before = messages.summary(&acme, &cid("c2")).await.unwrap().unwrap();
    assert_eq!(
        messages
            .conversations(&acme, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    let ids = contacts.contact_ids(&acme).await.unwrap();
    assert_eq!(ids, [cid("c1"), cid("c2"), cid("c3")]);
    assert_eq!(messages.backfill_summaries(&acme, &ids).await.unwrap(), 1);

    let c1 = messages.summary(&acme, &cid("c1")).await.unwrap().unwrap();
    assert_eq!(
        (
            c1.last_message.id,
            c1.last_message.preview.as_str(),
            c1.unread()
        ),
        (old_reply.id, "Hi!", 0)
    );
    assert_eq!(
        messages.summary(&acme, &cid("c2")).await.unwrap(),
        Some(c2_before),
        "a row kept since is not touched"
    );
    assert_eq!(messages.summary(&acme, &cid("c3")).await.unwrap(), None);
    let listed: Vec<String> = messages
        .conversations(&acme, None, 10)
        .await
        .unwrap()
        .items
        .iter()
        .map(|s| s.contact_id.to_string())
        .collect();
    assert_eq!(listed, ["c2", "c1"]);
    assert_eq!(messages.unread_total(&acme).await.unwrap(), 1);
    assert_eq!(
        messages.summary(&org("globex"), &cid("g1")).await.unwrap(),
        None,
        "another organization is not touched"
    );
    // Again: nothing to start.
    assert_eq!(messages.backfill_summaries(&acme, &ids).await.unwrap(), 0);
}
