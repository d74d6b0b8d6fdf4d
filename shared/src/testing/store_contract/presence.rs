//! The message store's contract, presence: one per agent and conversation, replaced by the
//! agent's next, removed when they leave, expired ones never read, never another
//! organization's.

use chrono::{Duration, Utc};

use crate::domain::{AgentRef, Presence, PresenceState};
use crate::ports::PresenceStore;

use super::cid;
use crate::testing::org;

fn presence(sub: &str, name: &str, state: PresenceState, seconds: i64) -> Presence {
    Presence {
        agent: AgentRef::from_claims(sub, Some(name), None).expect("valid sub"),
        state,
        // Whole seconds: what every store keeps exactly.
        expires_at: Utc::now()
            .with_timezone(&Utc)
            .checked_add_signed(Duration::seconds(seconds))
            .and_then(|t| chrono::DateTime::from_timestamp(t.timestamp(), 0))
            .unwrap(),
    }
}

fn names(presences: &[Presence]) -> Vec<(String, PresenceState)> {
    let mut named: Vec<_> = presences
        .iter()
        .map(|p| (p.agent.name.clone(), p.state))
        .collect();
    named.sort();
    named
}

pub async fn presence_is_per_agent_and_expires<S: PresenceStore>(store: &S) {
    let (acme, globex) = (org("acme"), org("globex"));
    let carla = cid("c-carla");
    let now = Utc::now();
    assert!(
        store
            .presences(&acme, &carla, now)
            .await
            .unwrap()
            .is_empty()
    );

    let ana = presence("ana", "Ana", PresenceState::Viewing, 300);
    let ben = presence("auth0|ben #1", "Ben", PresenceState::Composing, 300);
    let gone = presence("dead-tab", "Dee", PresenceState::Viewing, -5);
    for p in [&ana, &ben, &gone] {
        store.set_presence(&acme, &carla, p).await.unwrap();
    }
    store
        .set_presence(
            &globex,
            &carla,
            &presence("ana", "Ana at Globex", PresenceState::Viewing, 300),
        )
        .await
        .unwrap();
    let read = store.presences(&acme, &carla, now).await.unwrap();
    assert_eq!(
        names(&read),
        [
            ("Ana".to_owned(), PresenceState::Viewing),
            ("Ben".to_owned(), PresenceState::Composing)
        ],
        "an expired presence is not read"
    );
    assert!(read.contains(&ana) && read.contains(&ben), "kept exactly");

    // Ana writes, then leaves; Ben's stays; Globex's is its own.
    let writing = presence("ana", "Ana", PresenceState::Composing, 300);
    store.set_presence(&acme, &carla, &writing).await.unwrap();
    assert!(
        store
            .presences(&acme, &carla, now)
            .await
            .unwrap()
            .contains(&writing)
    );
    let left = presence("ana", "Ana", PresenceState::Left, 300);
    store.set_presence(&acme, &carla, &left).await.unwrap();
    assert_eq!(
        store.presences(&acme, &carla, now).await.unwrap(),
        vec![ben]
    );
    // Leaving twice, or where nobody was, is no error.
    store.set_presence(&acme, &carla, &left).await.unwrap();
    store
        .set_presence(&acme, &cid("c-nobody"), &left)
        .await
        .unwrap();
    assert!(
        store
            .presences(&acme, &cid("c-nobody"), now)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        names(&store.presences(&globex, &carla, now).await.unwrap()),
        [("Ana at Globex".to_owned(), PresenceState::Viewing)]
    );
}
