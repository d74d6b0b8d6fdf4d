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

/// The cleanup of Contents left unused: a Content used since the cutoff is kept, one unused
/// is claimed for deletion (a send meanwhile waits), forgotten once deleted (the next send
/// makes a new one), and each organization is swept at most once per period.
pub async fn unused_contents_are_deleted_only_when_unused<S: ContentStore>(store: &S) {
    let (a, b) = (org("sweep-a"), org("sweep-b"));
    let name = "crm_interactive_fedcba9876543210fedcba9876543210";
    let sid = "HXfedcba9876543210fedcba9876543210";
    let lease = Duration::from_secs(30);
    let day = chrono::Duration::days(1);
    let t0 = Utc::now();
    store.record_content(&a, name, sid, t0).await.unwrap();
    store.record_content(&b, name, sid, t0).await.unwrap();

    // Used since the cutoff: kept.
    let unused = |at| store.claim_unused_content(&a, name, at, t0 + day * 40, lease);
    assert_eq!(unused(t0 - day).await.unwrap(), None);
    // A send ten days later is a use: a cutoff before it keeps the Content.
    let t1 = t0 + day * 10;
    assert_eq!(
        store.claim_content(&a, name, t1, lease).await.unwrap(),
        ContentClaim::Made {
            content_sid: sid.into()
        }
    );
    assert_eq!(unused(t0 + day * 5).await.unwrap(), None);

    // Unused since: claimed for deletion; a send meanwhile waits, a second sweep finds it held.
    let now = t1 + day * 31;
    let until = store
        .claim_unused_content(&a, name, t1 + day, now, lease)
        .await
        .unwrap()
        .expect("an unused Content is claimed");
    assert_eq!(
        store.claim_content(&a, name, now, lease).await.unwrap(),
        ContentClaim::Held { until }
    );
    assert_eq!(
        store
            .claim_unused_content(&a, name, t1 + day, now, lease)
            .await
            .unwrap(),
        None
    );
    // Forgotten only by the claim's holder; then the next send makes a new one.
    store
        .forget_content(&a, name, until - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(
        store.claim_content(&a, name, now, lease).await.unwrap(),
        ContentClaim::Held { until }
    );
    store.forget_content(&a, name, until).await.unwrap();
    let later = until + chrono::Duration::seconds(1);
    assert!(matches!(
        store.claim_content(&a, name, later, lease).await.unwrap(),
        ContentClaim::Claimed { .. }
    ));
    // Another organization's Content of the same payload is untouched.
    assert_eq!(
        store.claim_content(&b, name, later, lease).await.unwrap(),
        ContentClaim::Made {
            content_sid: sid.into()
        }
    );
    // A Content whose use was never recorded (its maker crashed before) may go.
    assert!(
        store
            .claim_unused_content(&b, "crm_interactive_stray", later, later, lease)
            .await
            .unwrap()
            .is_some()
    );

    // One sweep per organization per period, even when two workers ask at once.
    let (first, second) = tokio::join!(
        store.begin_content_sweep(&a, t0, Duration::from_secs(86_400)),
        store.begin_content_sweep(&a, t0, Duration::from_secs(86_400))
    );
    assert!(first.unwrap() ^ second.unwrap(), "exactly one sweeps");
    assert!(
        !store
            .begin_content_sweep(&a, t0 + day / 2, Duration::from_secs(86_400))
            .await
            .unwrap()
    );
    assert!(
        store
            .begin_content_sweep(&a, t0 + day * 2, Duration::from_secs(86_400))
            .await
            .unwrap()
    );
    assert!(
        store
            .begin_content_sweep(&b, t0, Duration::from_secs(86_400))
            .await
            .unwrap()
    );
}
