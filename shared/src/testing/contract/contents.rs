//! The message store's contract, interactive Contents: one claim at a time per payload, the
//! sid once recorded for everyone, a lapsed claim taken over, a release only by its holder,
//! never another organization's.

use std::time::Duration;

use chrono::Utc;

use crate::ports::{ContentClaim, ContentStore};
use crate::testing::org;

pub async fn one_content_per_interactive_payload<S: ContentStore>(store: &S) {
    let (a, b) = (org("org-a"), org("org-b"));
    let name = "crm_interactive_0123456789abcdef0123456789abcdef";
    let now = Utc::now();
    let lease = Duration::from_secs(30);

    // Two workers at once: one makes it, the other waits.
    let (first, second) = tokio::join!(
        store.claim_content(&a, name, now, lease),
        store.claim_content(&a, name, now, lease)
    );
    let claims = [first.unwrap(), second.unwrap()];
    let until = claims
        .iter()
        .find_map(|c| match c {
            ContentClaim::Claimed { until } => Some(*until),
            _ => None,
        })
        .expect("one claimed");
    assert!(
        claims.contains(&ContentClaim::Held { until }),
        "the other is held: {claims:?}"
    );
    // Another organization's payload of the same name is its own.
    assert!(matches!(
        store.claim_content(&b, name, now, lease).await.unwrap(),
        ContentClaim::Claimed { .. }
    ));

    // A release by someone whose claim it no longer is changes nothing.
    store
        .release_content(&a, name, until - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        store.claim_content(&a, name, now, lease).await.unwrap(),
        ContentClaim::Held { until }
    );
    // The holder gives up: the next claims it; its claim lapses: the one after takes over.
    store.release_content(&a, name, until).await.unwrap();
    let ContentClaim::Claimed { until } = store.claim_content(&a, name, now, lease).await.unwrap()
    else {
        panic!("claimed after the release");
    };
    let later = until + chrono::Duration::seconds(1);
    let ContentClaim::Claimed { .. } = store.claim_content(&a, name, later, lease).await.unwrap()
    else {
        panic!("a lapsed claim is taken over");
    };

    // Recorded: every worker sends with it from then on.
    let sid = "HX0123456789abcdef0123456789abcdef";
    store.record_content(&a, name, sid, later).await.unwrap();
    assert_eq!(
        store.claim_content(&a, name, later, lease).await.unwrap(),
        ContentClaim::Made {
            content_sid: sid.into()
        }
    );
    assert!(matches!(
        store
            .claim_content(&b, name, later + chrono::Duration::seconds(60), lease)
            .await
            .unwrap(),
        ContentClaim::Claimed { .. }
    ));
}
