//! Erasure jobs: a deleted contact's messages, what is kept beside them and their files go,
//! page by page and once more after the final sweep's delay; nobody else's.

use super::*;
use crate::media_copy::{TWILIO_MEDIA, inbound_with_media};
use shared::domain::{
    AgentId, Attachment, Draft, DraftKind, ERASURE_FINAL_SWEEP_DELAY, OutboundPart, PhoneNumber,
};
use shared::ports::{ContactStore, ConversationStore, DraftStore, SendQueue};

fn cid(id: &str) -> ContactId {
    ContactId::parse(id).unwrap()
}

/// A stored message of `contact` with a file in the bucket and, inbound, a Twilio sid.
async fn stored_with_file(w: &Worker, o: &str, contact: &str, n: usize, inbound: bool) -> Message {
    let organization = org(o);
    let key = format!("{o}/inbound/{contact}-{n}.jpg");
    w.ports
        .media
        .store(&key, vec![0xff, 0xd8, 0xff], "image/jpeg")
        .unwrap();
    let attachment = Attachment {
        key: Some(key),
        url: None,
        content_type: "image/jpeg".into(),
        filename: None,
        size: Some(3),
        error: None,
        card: None,
    };
    let message = if inbound {
        Message::inbound(
            &organization,
            Some(cid(contact)),
            None,
            &format!("MM{n:032x}{}", contact.len()),
            Some(format!("photo {n}")),
            vec![attachment],
            Utc::now(),
        )
    } else {
        let phone = PhoneNumber::parse_e164("+60123456789").unwrap();
        let part = OutboundPart {
            message_type: MessageType::Image,
            text: None,
            attachment: Some(attachment),
        };
        let mut m =
            Message::outbound_pending(&organization, &cid(contact), &phone, part, Utc::now());
        m.status = MessageStatus::Delivered;
        m
    };
    if inbound {
        w.ports.messages.insert_inbound(&message).await.unwrap();
    } else {
        w.ports.messages.insert(&message).await.unwrap();
    }
    message
}

/// Runs the queued jobs as SQS would deliver them (delays are not waited for), until none is
/// left; what each run returned.
async fn run_queue(w: &Worker) -> Vec<(JobOutcome, Duration)> {
    let mut outcomes = Vec::new();
    loop {
        let jobs = w.ports.queue.drain();
        if jobs.is_empty() {
            return outcomes;
        }
        for (job, delay) in jobs {
            outcomes.push((w.process(&job).await.unwrap(), delay));
        }
    }
}

fn count(w: &Worker, o: &str, contact: &str) -> usize {
    w.ports
        .messages
        .all(&org(o))
        .iter()
        .filter(|m| m.contact_id.as_ref() == Some(&cid(contact)))
        .count()
}

async fn delete(w: &Worker, o: &str, contact: &str) {
    w.ports
        .contacts
        .delete(&org(o), &cid(contact))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_deleted_contact_is_erased_page_by_page_and_once_more_later() {
    let w = worker().await;
    w.ports
        .contacts
        .put(&contact("org-a", "c2", "Ben Ong", "+6591234567"))
        .await
        .unwrap();
    // c1: a message the worker sent (its sid held), 230 more with files, half of them replies.
    let sent = pending(&w, "Your order shipped").await;
    assert!(matches!(
        w.process(&sent).await.unwrap(),
        JobOutcome::Sent { .. }
    ));
    for n in 0..230 {
        stored_with_file(&w, "org-a", "c1", n, n % 2 == 0).await;
    }
    // And an agent's note in it: erased with the messages.
    let author = shared::domain::AgentRef::from_claims("ana", Some("Ana"), None).unwrap();
    let note = Message::note(&org("org-a"), &cid("c1"), "VIP".into(), author, Utc::now());
    w.ports.messages.insert(&note).await.unwrap();
    // Others: c2 in the same organization, c1 of another organization.
    let twin = stored_with_file(&w, "org-a", "c2", 1, true).await;
    let theirs = stored_with_file(&w, "org-b", "c1", 2, true).await;
    let others_keys: Vec<String> = w
        .ports
        .media
        .keys()
        .into_iter()
        .filter(|k| !k.contains("/c1-") || k.starts_with("org-b/"))
        .collect();
    // Agents' drafts: c1's go with it, the others' stay.
    let agent = |sub: &str| AgentId::parse(sub).unwrap();
    let typed = Draft {
        kind: DraftKind::Message,
        text: "unsent".into(),
        attachments: vec![],
        updated_at: Utc::now(),
    };
    for (o, c, sub) in [
        ("org-a", "c1", "ana"),
        ("org-a", "c1", "ben"),
        ("org-a", "c2", "ana"),
        ("org-b", "c1", "ana"),
    ] {
        w.ports
            .messages
            .save_draft(&org(o), &cid(c), &agent(sub), &typed)
            .await
            .unwrap();
    }
    let side_before_b = w.ports.messages.side_items(&org("org-b"));
    w.ports.queue.drain();

    delete(&w, "org-a", "c1").await;
    w.ports
        .queue
        .enqueue(
            &WorkerJob::erase_contact(&org("org-a"), &cid("c1")),
            Duration::ZERO,
        )
        .await
        .unwrap();
    let outcomes = run_queue(&w).await;
    assert_eq!(
        outcomes,
        [
            (
                JobOutcome::Erased {
                    messages: ERASURE_PAGE,
                    done: false
                },
                Duration::ZERO
            ),
            (
                JobOutcome::Erased {
                    messages: ERASURE_PAGE,
                    done: false
                },
                Duration::ZERO
            ),
            (
                JobOutcome::Erased {
                    messages: 32,
                    done: false
                },
                Duration::ZERO
            ),
            // The final sweep, after every writer that read the contact in time is done.
            (
                JobOutcome::Erased {
                    messages: 0,
                    done: true
                },
                ERASURE_FINAL_SWEEP_DELAY
            ),
        ]
    );
    assert_eq!(count(&w, "org-a", "c1"), 0);
    // Its inbox row goes with it; the others' stay.
    let inbox = |o: &'static str, c: &'static str| {
        let w = &w;
        async move { w.ports.messages.summary(&org(o), &cid(c)).await.unwrap() }
    };
    assert_eq!(inbox("org-a", "c1").await, None);
    assert!(inbox("org-a", "c2").await.is_some());
    assert!(inbox("org-b", "c1").await.is_some());
    assert_eq!(
        w.ports.media.keys(),
        others_keys,
        "only the contact's files went"
    );
    // What is kept beside messages: the twin's inbound marker (sid held, effects state) and
    // c2's drafts only.
    assert_eq!(w.ports.messages.side_items(&org("org-a")), 3);
    let draft = |o: &'static str, c: &'static str, sub: &'static str| {
        let w = &w;
        async move {
            w.ports
                .messages
                .draft(&org(o), &cid(c), &AgentId::parse(sub).unwrap())
                .await
                .unwrap()
        }
    };
    assert_eq!(draft("org-a", "c1", "ana").await, None);
    assert_eq!(draft("org-a", "c1", "ben").await, None);
    assert_eq!(draft("org-a", "c2", "ana").await, Some(typed.clone()));
    assert_eq!(draft("org-b", "c1", "ana").await, Some(typed));
    assert_eq!(w.ports.messages.side_items(&org("org-b")), side_before_b);
    let org_a = org("org-a");
    assert_eq!(
        w.ports
            .messages
            .find_by_sid(&org_a, twin.twilio_message_sid.as_deref().unwrap())
            .await
            .unwrap()
            .map(|m| m.id),
        Some(twin.id)
    );
    assert!(
        w.ports
            .messages
            .get(&org("org-b"), &theirs.id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        w.ports
            .messages
            .get(&org_a, &sent.msg().message_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn what_a_late_writer_stores_goes_with_the_final_sweep() {
    let w = worker().await;
    stored_with_file(&w, "org-a", "c1", 1, true).await;
    delete(&w, "org-a", "c1").await;
    let first = w
        .process(&WorkerJob::erase_contact(&org("org-a"), &cid("c1")))
        .await
        .unwrap();
    assert_eq!(
        first,
        JobOutcome::Erased {
            messages: 1,
            done: false
        }
    );
    let (final_sweep, delay) = w.ports.queue.drain().pop().unwrap();
    let WorkerJob::EraseContact(sweep) = &final_sweep else {
        panic!("{final_sweep:?}");
    };
    assert_eq!((sweep.sweep, delay), (2, ERASURE_FINAL_SWEEP_DELAY));
    let (org_a, c1) = (org("org-a"), cid("c1"));
    let inbox_row = || w.ports.messages.summary(&org_a, &c1);
    assert_eq!(
        inbox_row().await.unwrap(),
        None,
        "the row and its unread count go with the first sweep, not minutes later"
    );
    // A webhook that resolved the contact just before its deletion writes after the sweep.
    stored_with_file(&w, "org-a", "c1", 2, true).await;
    assert!(inbox_row().await.unwrap().is_some());
    assert_eq!(
        w.process(&final_sweep).await.unwrap(),
        JobOutcome::Erased {
            messages: 1,
            done: true
        }
    );
    assert_eq!(count(&w, "org-a", "c1"), 0);
    assert_eq!(inbox_row().await.unwrap(), None);
    assert!(w.ports.media.keys().is_empty());
    assert!(
        w.ports.queue.jobs().is_empty(),
        "nothing after the final sweep"
    );
}

#[tokio::test]
async fn an_erasure_that_fails_half_way_resumes_where_it_stopped() {
    let w = worker().await;
    for n in 0..12 {
        stored_with_file(&w, "org-a", "c1", n, n % 3 == 0).await;
    }
    delete(&w, "org-a", "c1").await;
    let job = WorkerJob::erase_contact(&org("org-a"), &cid("c1"));
    // The sixth of the first eight erases (they run at once) fails: the job fails after the
    // other seven are done, and queues nothing.
    w.ports.messages.faults.fail_after("erase", 5, 1);
    assert!(w.process(&job).await.is_err(), "delivered again by SQS");
    assert_eq!(count(&w, "org-a", "c1"), 5);
    assert!(
        w.ports.queue.jobs().is_empty(),
        "no next step before this page is done"
    );
    // The redelivery finds what is left; a file already deleted is no error.
    assert_eq!(
        w.process(&job).await.unwrap(),
        JobOutcome::Erased {
            messages: 5,
            done: false
        }
    );
    assert_eq!(count(&w, "org-a", "c1"), 0);
    assert!(w.ports.media.keys().is_empty());
    assert_eq!(w.ports.messages.side_items(&org("org-a")), 0);
}

#[tokio::test]
async fn a_contact_restored_in_the_crm_keeps_its_conversation() {
    let w = worker().await;
    let kept = stored_with_file(&w, "org-a", "c1", 1, true).await;
    // Deleted and written again before the job ran (an undo in the CRM): nothing is erased.
    let job = WorkerJob::erase_contact(&org("org-a"), &cid("c1"));
    assert_eq!(w.process(&job).await.unwrap(), JobOutcome::Skipped);
    assert!(
        w.ports
            .messages
            .get(&org("org-a"), &kept.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(w.ports.media.keys().len(), 1);
    assert!(w.ports.queue.jobs().is_empty());
}

#[tokio::test]
async fn an_erasure_job_travels_through_sqs_like_any_other() {
    let w = worker().await;
    stored_with_file(&w, "org-a", "c1", 1, false).await;
    delete(&w, "org-a", "c1").await;
    let job = WorkerJob::erase_contact(&org("org-a"), &cid("c1"));
    let event: SqsEvent = serde_json::from_value(serde_json::json!({"Records": [{
        "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
        "body": serde_json::to_string(&job).unwrap(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
        "messageAttributes": {},
        "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:whatsapp-media-copy",
        "awsRegion": "eu-west-1"
    }]}))
    .unwrap();
    assert!(w.handle_sqs(event).await.batch_item_failures.is_empty());
    assert_eq!(count(&w, "org-a", "c1"), 0);
    // The conversation is empty: what is queued is its final sweep.
    let queued: Vec<WorkerJob> = w.ports.queue.jobs().into_iter().map(|(j, _)| j).collect();
    assert_eq!(
        queued,
        [WorkerJob::EraseContact(shared::domain::ErasureJob {
            organization_id: org("org-a"),
            contact_id: cid("c1"),
            older_than: shared::domain::MessageId::ceiling(),
            sweep: 2,
        })]
    );
}

#[tokio::test]
async fn a_message_erased_while_twilio_takes_it_leaves_no_sid_behind() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    let gate = w.ports.sender.hold_next();
    let sending = tokio::spawn({
        let w = w.clone();
        let job = job.clone();
        async move { w.process(&job).await }
    });
    while w.ports.sender.attempts().is_empty() {
        tokio::task::yield_now().await;
    }
    // The worker read the contact and is at Twilio when the CRM deletes it and the erasure
    // runs; then Twilio answers.
    delete(&w, "org-a", "c1").await;
    let erased = w
        .process(&WorkerJob::erase_contact(&org("org-a"), &cid("c1")))
        .await
        .unwrap();
    assert_eq!(
        erased,
        JobOutcome::Erased {
            messages: 1,
            done: false
        }
    );
    gate.notify_one();
    let sent = sending.await.unwrap().unwrap();
    assert_eq!(sent, JobOutcome::Skipped);
    assert!(w.ports.messages.all(&org("org-a")).is_empty());
    assert_eq!(
        w.ports.messages.side_items(&org("org-a")),
        0,
        "an erased message holds no sid"
    );
    assert!(
        w.ports
            .queue
            .jobs()
            .iter()
            .all(|(j, _)| j.message_id() != job.message_id()),
        "nothing left to send: {:?}",
        w.ports.queue.jobs()
    );
}

#[tokio::test]
async fn a_message_erased_while_its_media_is_copied_leaves_no_file() {
    let w = worker().await;
    let job = inbound_with_media(&w).await;
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Ok((
            b"\xff\xd8\xff\xe0jpeg".to_vec(),
            "image/jpeg".to_owned(),
        ))],
    );
    w.ports.sender.media_delay(Duration::from_millis(200));
    let copying = tokio::spawn({
        let w = w.clone();
        let job = job.clone();
        async move { w.process(&job).await }
    });
    // The download is under way when the CRM deletes the contact and the erasure runs.
    tokio::time::sleep(Duration::from_millis(50)).await;
    delete(&w, "org-a", "c1").await;
    let erased = w
        .process(&WorkerJob::erase_contact(&org("org-a"), &cid("c1")))
        .await
        .unwrap();
    // The inbound message and the helper's own pending one.
    assert_eq!(
        erased,
        JobOutcome::Erased {
            messages: 2,
            done: false
        }
    );
    assert_eq!(copying.await.unwrap().unwrap(), JobOutcome::Skipped);
    assert!(w.ports.messages.all(&org("org-a")).is_empty());
    assert!(
        w.ports.media.keys().is_empty(),
        "the copy stored after the erasure is deleted: {:?}",
        w.ports.media.keys()
    );
}
