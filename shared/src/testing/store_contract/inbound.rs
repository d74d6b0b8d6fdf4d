//! The message store's contract, inbound messages: stored once per sid, with what they carry.

use crate::domain::{Direction, MessageId};
use crate::ports::{ConversationQuery, InboundInsert, MessageStore};

use super::{cid, message};
use crate::testing::org;

pub async fn inbound_messages_are_stored_once_per_sid<M: MessageStore>(store: &M) {
    let sid = "SM11111111111111111111111111111111";
    let a = message("acme", Some("c1"), "hello", Direction::Inbound, Some(sid));
    let b = message("acme", Some("c1"), "hello", Direction::Inbound, Some(sid));
    let (ra, rb) = tokio::join!(store.insert_inbound(&a), store.insert_inbound(&b));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let (stored, duplicate) = match (&ra, &rb) {
        (InboundInsert::Stored, d @ InboundInsert::Duplicate { .. }) => (&a, d),
        (d @ InboundInsert::Duplicate { .. }, InboundInsert::Stored) => (&b, d),
        other => panic!("exactly one is stored: {other:?}"),
    };
    // The repeat learns which message holds the sid, and that its effects are pending.
    let pending = InboundInsert::Duplicate {
        message_id: Some(stored.id),
        effects_done: false,
        count_pending: false,
    };
    assert_eq!(duplicate, &pending);
    let again = || message("acme", Some("c1"), "hello", Direction::Inbound, Some(sid));
    assert_eq!(store.insert_inbound(&again()).await.unwrap(), pending);
    store.inbound_effects_done(&org("acme"), sid).await.unwrap();
    assert_eq!(
        store.insert_inbound(&again()).await.unwrap(),
        InboundInsert::Duplicate {
            message_id: Some(stored.id),
            effects_done: true,
            count_pending: false,
        }
    );
    let page = store
        .conversation(
            &org("acme"),
            &cid("c1"),
            ConversationQuery::Latest { limit: 10 },
        )
        .await
        .unwrap();
    assert_eq!(page.messages.len(), 1);
    // The same sid in another organization is another message.
    assert_eq!(
        store
            .insert_inbound(&message(
                "globex",
                Some("c1"),
                "hello",
                Direction::Inbound,
                Some(sid)
            ))
            .await
            .unwrap(),
        InboundInsert::Stored
    );
}

/// What an inbound message carries besides text (a location, a quoted message) and every
/// posted parameter survive the store.
pub async fn inbound_details_are_kept<M: MessageStore>(store: &M) {
    let mut m = message(
        "acme",
        Some("c1"),
        "",
        Direction::Inbound,
        Some("SM00000000000000000000000000000077"),
    );
    m.text = None;
    m.details = Some(crate::domain::InboundDetails {
        kind: Some("location".into()),
        location: crate::domain::Location::parse("3.139003", "101.686855", None, Some("KLCC")),
        reply_to: Some(crate::domain::ReplyTo {
            twilio_message_sid: "SM00000000000000000000000000000042".into(),
            message_id: Some(MessageId::new()),
        }),
        params: vec![
            ("Latitude".into(), "3.139003".into()),
            ("SomethingNew".into(), "42".into()),
        ],
        ..Default::default()
    });
    assert_eq!(
        store.insert_inbound(&m).await.unwrap(),
        InboundInsert::Stored
    );
    let stored = store.get(&org("acme"), &m.id).await.unwrap().unwrap();
    assert_eq!(stored.details, m.details);
}

/// Two copies of one message's media at once (a job delivered twice) each record what they
/// did, on a view of the files taken before the other wrote: the files either stored stay
/// stored, and a failed fetch never undoes a stored file.
pub async fn copies_of_one_message_merge_their_files<M: MessageStore>(store: &M) {
    use crate::domain::Attachment;
    let at_twilio = |n: usize| Attachment {
        key: None,
        url: Some(format!("https://api.twilio.com/media/ME{n}")),
        content_type: "image/jpeg".into(),
        filename: None,
        size: None,
        error: None,
        card: None,
    };
    let stored = |n: usize| Attachment {
        key: Some(format!("acme/inbound/m/{n}.jpg")),
        size: Some(1000 + n as u64),
        ..at_twilio(n)
    };
    let unavailable = |n: usize| Attachment {
        error: Some("unavailable".into()),
        ..at_twilio(n)
    };
    let mut m = message("acme", Some("c1"), "", Direction::Inbound, Some("SMalbum"));
    m.attachments = (0..3).map(at_twilio).collect();
    store.insert(&m).await.unwrap();
    let acme = org("acme");

    // Both read the message before either wrote; the first stored file 0, the second file 1.
    let first = vec![stored(0), at_twilio(1), at_twilio(2)];
    let second = vec![at_twilio(0), stored(1), unavailable(2)];
    store
        .update_attachments(&acme, &m.id, &first)
        .await
        .unwrap()
        .expect("the message exists");
    let after = store
        .update_attachments(&acme, &m.id, &second)
        .await
        .unwrap()
        .expect("the message exists");
    assert_eq!(
        after.attachments,
        vec![stored(0), stored(1), unavailable(2)]
    );
    // A third, late copy whose fetch of file 0 failed for good, and that stored file 2.
    store
        .update_attachments(&acme, &m.id, &[unavailable(0), at_twilio(1), stored(2)])
        .await
        .unwrap();
    let read = store.get(&acme, &m.id).await.unwrap().unwrap();
    assert_eq!(read.attachments, vec![stored(0), stored(1), stored(2)]);
    assert_ne!(read.revision, m.revision, "pollers see the change");
    // Nothing new: nothing written.
    let unchanged = store
        .update_attachments(&acme, &m.id, &first)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.revision, read.revision);
    assert_eq!(
        store
            .update_attachments(&acme, &MessageId::new(), &first)
            .await
            .unwrap(),
        None
    );
}
