//! The message store's contract, canned responses: listed in creation order page by page,
//! one response per shortcut and at most `limit` per organization even when saves race,
//! edits and removals only of what was read, never another organization's.

use chrono::{Duration, TimeZone, Utc};

use crate::domain::{CannedResponse, MessageId};
use crate::ports::{CannedResponseStore, CannedWrite};
use crate::testing::org;

fn response(shortcut: &str, text: &str) -> CannedResponse {
    CannedResponse {
        id: MessageId::new().to_string(),
        shortcut: shortcut.into(),
        title: format!("About {shortcut}"),
        text: text.into(),
        buttons: Vec::new(),
        updated_at: Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0).unwrap(),
    }
}

pub async fn canned_responses_are_unique_bounded_and_edited_as_read<S: CannedResponseStore>(
    store: &S,
) {
    let (acme, globex) = (org("acme"), org("globex"));
    // Stored with its buttons, read back as saved.
    let mut thanks = response("thanks", "Thank you {{contact.first_name}}! Anything else?");
    thanks.buttons = vec![
        crate::domain::Button {
            id: "1".into(),
            title: "Yes".into(),
        },
        crate::domain::Button {
            id: "2".into(),
            title: "No, thanks".into(),
        },
    ];
    assert_eq!(
        store
            .create_canned_response(&acme, &thanks, 10)
            .await
            .unwrap(),
        CannedWrite::Saved
    );
    // The same shortcut: taken in Acme, free in Globex.
    let again = response("thanks", "Thanks again");
    assert_eq!(
        store
            .create_canned_response(&acme, &again, 10)
            .await
            .unwrap(),
        CannedWrite::ShortcutTaken
    );
    assert_eq!(
        store
            .create_canned_response(&globex, &again, 10)
            .await
            .unwrap(),
        CannedWrite::Saved
    );
    assert_eq!(
        store.canned_response(&acme, &thanks.id).await.unwrap(),
        Some(thanks.clone())
    );
    assert_eq!(
        store.canned_response(&acme, &again.id).await.unwrap(),
        None,
        "Globex's is not Acme's"
    );

    // Two creates of one shortcut at once: one is saved.
    let (a, b) = (
        response("late", "Sorry, it is late"),
        response("late", "It is late, sorry"),
    );
    let (first, second) = tokio::join!(
        store.create_canned_response(&acme, &a, 10),
        store.create_canned_response(&acme, &b, 10)
    );
    let mut outcomes = [first.unwrap(), second.unwrap()];
    outcomes.sort_by_key(|o| *o == CannedWrite::Saved);
    assert_eq!(outcomes, [CannedWrite::ShortcutTaken, CannedWrite::Saved]);

    // The limit (here 4): three creates at once for the last place, one gets it.
    let racers: Vec<_> = ["one", "two", "three"]
        .map(|s| response(s, s))
        .into_iter()
        .collect();
    let (x, y, z) = tokio::join!(
        store.create_canned_response(&acme, &racers[0], 3),
        store.create_canned_response(&acme, &racers[1], 3),
        store.create_canned_response(&acme, &racers[2], 3)
    );
    let outcomes = [x.unwrap(), y.unwrap(), z.unwrap()];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == CannedWrite::Saved)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, CannedWrite::Saved | CannedWrite::LimitReached))
    );

    // An edit of what was read: the shortcut moves, the old one is free again.
    let mut renamed = thanks.clone();
    renamed.shortcut = "ty".into();
    renamed.updated_at = thanks.updated_at + Duration::seconds(1);
    assert_eq!(
        store
            .update_canned_response(&acme, &thanks, &renamed)
            .await
            .unwrap(),
        CannedWrite::Saved
    );
    // A stale edit (made from the first version) changes nothing.
    let mut stale = thanks.clone();
    stale.text = "stale".into();
    stale.updated_at = thanks.updated_at + Duration::seconds(2);
    assert_eq!(
        store
            .update_canned_response(&acme, &thanks, &stale)
            .await
            .unwrap(),
        CannedWrite::Changed
    );
    // Onto a shortcut another holds: refused.
    let late = if outcomes_saved(store, &acme, &a).await {
        a.clone()
    } else {
        b.clone()
    };
    let mut clash = renamed.clone();
    clash.shortcut = "late".into();
    clash.updated_at = renamed.updated_at + Duration::seconds(1);
    assert_eq!(
        store
            .update_canned_response(&acme, &renamed, &clash)
            .await
            .unwrap(),
        CannedWrite::ShortcutTaken
    );
    assert_eq!(
        store.canned_response(&acme, &renamed.id).await.unwrap(),
        Some(renamed.clone())
    );
    let thanks_again = response("thanks", "The old shortcut is free");

    // Removal of what was read frees the shortcut and the place.
    assert_eq!(
        store.delete_canned_response(&acme, &thanks).await.unwrap(),
        CannedWrite::Changed,
        "stale"
    );
    assert_eq!(
        store.delete_canned_response(&acme, &late).await.unwrap(),
        CannedWrite::Saved
    );
    assert_eq!(
        store.delete_canned_response(&acme, &late).await.unwrap(),
        CannedWrite::Changed,
        "gone"
    );
    assert_eq!(
        store
            .create_canned_response(&acme, &thanks_again, 3)
            .await
            .unwrap(),
        CannedWrite::Saved
    );
    let mut late_again = response("late", "free again");
    late_again.id = MessageId::new().to_string();
    assert_eq!(
        store
            .create_canned_response(&acme, &late_again, 3)
            .await
            .unwrap(),
        CannedWrite::LimitReached
    );

    // Listed in creation order, page by page (the index may lag a moment behind a write).
    let mut listed = Vec::new();
    let mut cursor = None;
    for _ in 0..20 {
        listed.clear();
        cursor = None;
        loop {
            let page = store
                .canned_responses(&acme, cursor.as_deref(), 2)
                .await
                .unwrap();
            assert!(page.items.len() <= 2);
            listed.extend(page.items.into_iter().map(|r| r.shortcut));
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        if listed.len() == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let one_of_three = listed[1].clone();
    assert_eq!(listed, ["ty".to_owned(), one_of_three, "thanks".to_owned()]);
    assert_eq!(cursor, None);
    let theirs = store.canned_responses(&globex, None, 10).await.unwrap();
    assert_eq!(theirs.items, vec![again]);
}

async fn outcomes_saved<S: CannedResponseStore>(
    store: &S,
    org: &crate::domain::OrganizationId,
    r: &CannedResponse,
) -> bool {
    store.canned_response(org, &r.id).await.unwrap().is_some()
}
