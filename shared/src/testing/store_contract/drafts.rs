//! The message store's contract, drafts: one per agent and conversation, last write wins,
//! never another agent's or organization's, erased with the contact.

use chrono::{TimeZone, Utc};

use crate::domain::{AgentId, Draft, DraftAttachment, DraftKind};
use crate::ports::DraftStore;

use super::cid;
use crate::testing::org;

fn agent(sub: &str) -> AgentId {
    AgentId::parse(sub).expect("valid sub")
}

fn draft(text: &str, second: u32) -> Draft {
    Draft {
        kind: DraftKind::Message,
        text: text.into(),
        attachments: vec![],
        updated_at: Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, second).unwrap(),
    }
}

pub async fn drafts_are_per_agent_and_conversation<S: DraftStore>(store: &S) {
    let (acme, globex) = (org("acme"), org("globex"));
    let (ana, ben) = (agent("ana"), agent("auth0|ben #1"));
    let (carla, dan) = (cid("c-carla"), cid("c-dan"));
    assert_eq!(store.draft(&acme, &carla, &ana).await.unwrap(), None);

    let mut with_file = draft("for Carla", 1);
    with_file.kind = DraftKind::Note;
    with_file.attachments = vec![DraftAttachment {
        key: "acme/uploads/01J/photo.jpg".into(),
        content_type: "image/jpeg".into(),
        filename: Some("photo.jpg".into()),
        size: 2048,
    }];
    store
        .save_draft(&acme, &carla, &ana, &with_file)
        .await
        .unwrap();
    store
        .save_draft(&acme, &carla, &ben, &draft("Ben's", 2))
        .await
        .unwrap();
    store
        .save_draft(&acme, &dan, &ana, &draft("for Dan", 3))
        .await
        .unwrap();
    store
        .save_draft(&globex, &carla, &ana, &draft("globex", 4))
        .await
        .unwrap();
    assert_eq!(
        store.draft(&acme, &carla, &ana).await.unwrap(),
        Some(with_file)
    );
    assert_eq!(
        store.draft(&acme, &carla, &ben).await.unwrap(),
        Some(draft("Ben's", 2))
    );
    assert_eq!(
        store.draft(&acme, &dan, &ana).await.unwrap(),
        Some(draft("for Dan", 3))
    );

    // The last write wins, and touches no other agent's draft.
    store
        .save_draft(&acme, &carla, &ana, &draft("typed again", 5))
        .await
        .unwrap();
    assert_eq!(
        store.draft(&acme, &carla, &ana).await.unwrap(),
        Some(draft("typed again", 5))
    );
    assert_eq!(
        store.draft(&acme, &carla, &ben).await.unwrap(),
        Some(draft("Ben's", 2))
    );

    // Deleting is one agent's, and harmless when there is none.
    store.delete_draft(&acme, &carla, &ben).await.unwrap();
    store.delete_draft(&acme, &carla, &ben).await.unwrap();
    store
        .delete_draft(&acme, &cid("c-nobody"), &ben)
        .await
        .unwrap();
    assert_eq!(store.draft(&acme, &carla, &ben).await.unwrap(), None);
    assert!(store.draft(&acme, &carla, &ana).await.unwrap().is_some());

    // Erasing the contact takes every agent's draft of that conversation, and only those.
    store
        .save_draft(&acme, &carla, &ben, &draft("again", 6))
        .await
        .unwrap();
    store.erase_drafts(&acme, &carla).await.unwrap();
    assert_eq!(store.draft(&acme, &carla, &ana).await.unwrap(), None);
    assert_eq!(store.draft(&acme, &carla, &ben).await.unwrap(), None);
    assert!(store.draft(&acme, &dan, &ana).await.unwrap().is_some());
    assert_eq!(
        store.draft(&globex, &carla, &ana).await.unwrap(),
        Some(draft("globex", 4))
    );
}
