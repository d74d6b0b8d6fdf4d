//! Media copy jobs: an inbound message's files fetched from Twilio into the bucket, retried
//! one by one, marked when they cannot be had.

use super::*;

pub(crate) const TWILIO_MEDIA: &str =
    "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1";

/// An inbound message with one media still at Twilio, and its copy job.
pub(crate) async fn inbound_with_media(w: &Worker) -> WorkerJob {
    inbound_with_files(w, &[TWILIO_MEDIA.to_owned()]).await
}

/// An inbound image message whose files are at these Twilio URLs, not copied yet.
async fn inbound_with_files(w: &Worker, urls: &[String]) -> WorkerJob {
    let job = pending(w, "").await;
    let mut message = stored(w, &job).await;
    message.id = MessageId::new();
    message.revision = message.id;
    message.direction = Direction::Inbound;
    message.status = MessageStatus::Received;
    message.text = None;
    message.message_type = MessageType::Image;
    message.attachments = urls
        .iter()
        .map(|url| shared::domain::Attachment {
            key: None,
            url: Some(url.clone()),
            content_type: "image/jpeg".into(),
            filename: None,
            size: None,
            error: None,
            card: None,
        })
        .collect();
    w.ports.messages.insert(&message).await.unwrap();
    WorkerJob::CopyMedia(job.msg().clone()).for_message(message.id)
}

/// An inbound message with one file at Twilio answering `bytes` as `content_type`, its copy
/// job run by `w` (copied): the message as stored, and the job.
async fn copy_one(w: &Worker, bytes: &[u8], content_type: &str) -> (Message, WorkerJob) {
    let job = inbound_with_media(w).await;
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Ok((bytes.to_vec(), content_type.to_owned()))],
    );
    assert_eq!(w.process(&job).await.unwrap(), JobOutcome::MediaCopied);
    (stored(w, &job).await, job)
}

const JPEG: &[u8] = b"\xff\xd8\xff\xe0jpeg";

#[tokio::test]
async fn inbound_media_is_copied_under_the_organizations_prefix() {
    let w = worker().await;
    let (m, job) = copy_one(&w, JPEG, "image/jpeg").await;
    let key = m.attachments[0].key.clone().unwrap();
    assert_eq!(key, format!("org-a/inbound/{}/0.jpg", m.id));
    assert_eq!(m.attachments[0].size, Some(8));
    assert_eq!(
        w.ports.media.object(&key).unwrap().0,
        b"\xff\xd8\xff\xe0jpeg"
    );
    assert!(m.revision > job.msg().message_id, "pollers see the change");
}

/// Many large files: fetched concurrently, a few at a time (each may be 16 MB in a 128 MB
/// function); what is copied is kept, one that failed briefly is retried on its own, and
/// what the job's deadline left no room for goes to the next job without using an attempt.
#[tokio::test]
async fn a_messages_files_are_fetched_a_few_at_a_time_and_each_retried_on_its_own() {
    let mut w = worker().await;
    let url = |i: usize| format!("{TWILIO_MEDIA}-{i}");
    let job = inbound_with_files(&w, &(0..6).map(url).collect::<Vec<_>>()).await;
    let jpeg = || Ok((b"\xff\xd8\xff\xe0jpeg".to_vec(), "image/jpeg".to_owned()));
    for i in 0..6 {
        let answers = if i == 4 {
            vec![Err(TwilioError::Timeout), jpeg()]
        } else {
            vec![jpeg()]
        };
        w.ports.sender.media_answers(&url(i), answers);
    }
    w.ports.sender.media_delay(Duration::from_millis(50));
    let outcome = w.process(&job).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Retrying {
            attempt: 2,
            delay: Duration::from_secs(2)
        }
    );
    assert_eq!(
        w.ports.sender.media_most_at_once(),
        MEDIA_COPY_CONCURRENCY,
        "concurrent, a few at a time"
    );
    let m = stored(&w, &job).await;
    let copied: Vec<bool> = m.attachments.iter().map(|a| a.key.is_some()).collect();
    assert_eq!(copied, [true, true, true, true, false, true]);
    // The retry fetches only the one left.
    let (next, _) = w.ports.queue.drain().remove(0);
    assert_eq!(w.process(&next).await.unwrap(), JobOutcome::MediaCopied);
    let m = stored(&w, &job).await;
    assert!(
        m.attachments
            .iter()
            .all(|a| a.key.is_some() && a.error.is_none())
    );

    // No time left in the job: nothing starts, nothing is marked, the next job carries on
    // as the same attempt.
    w.settings.media_copy_deadline = Duration::ZERO;
    let job = inbound_with_media(&w).await;
    w.ports.sender.media_answers(TWILIO_MEDIA, [jpeg()]);
    assert_eq!(
        w.process(&job).await.unwrap(),
        JobOutcome::Retrying {
            attempt: 1,
            delay: Duration::ZERO
        }
    );
    assert_eq!(stored(&w, &job).await.attachments[0].error, None);
    w.settings.media_copy_deadline = Duration::from_secs(40);
    let (next, _) = w.ports.queue.drain().remove(0);
    assert_eq!(w.process(&next).await.unwrap(), JobOutcome::MediaCopied);
}

/// A received file is stored with the organization's retention tag, so the bucket deletes
/// it when its message expires.
#[tokio::test]
async fn a_received_file_carries_the_organizations_retention() {
    let credentials = MemoryCredentials::new();
    credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)
            .replace('}', r#","message_retention_days":365}"#),
    );
    let w = worker_with(credentials).await;
    let (m, _) = copy_one(&w, JPEG, "image/jpeg").await;
    let key = m.attachments[0].key.clone().unwrap();
    assert_eq!(w.ports.media.retention_days(&key), Some(365));
}

#[tokio::test]
async fn a_brief_404_is_retried_then_the_copy_succeeds() {
    let w = worker().await;
    let job = inbound_with_media(&w).await;
    let not_yet = TwilioError::Api {
        http_status: 404,
        code: Some(20404),
        message: "Not found".into(),
        more_info: None,
    };
    w.ports.sender.media_answers(
        TWILIO_MEDIA,
        [Err(not_yet), Ok((b"OggS".to_vec(), "audio/ogg".to_owned()))],
    );
    let JobOutcome::Retrying { attempt: 2, .. } = w.process(&job).await.unwrap() else {
        panic!("expected a retry")
    };
    let (retry, _) = w.ports.queue.drain().remove(0);
    assert!(matches!(retry, WorkerJob::CopyMedia(_)), "{retry:?}");
    assert_eq!(w.process(&retry).await.unwrap(), JobOutcome::MediaCopied);
    let m = stored(&w, &job).await;
    assert!(m.attachments[0].key.as_deref().unwrap().ends_with("/0.ogg"));
    assert_eq!(m.attachments[0].content_type, "audio/ogg");
}

#[tokio::test]
async fn media_that_cannot_be_fetched_is_marked_and_the_message_kept() {
    let w = worker().await;
    let job = inbound_with_media(&w).await;
    let gone = TwilioError::Api {
        http_status: 404,
        code: Some(20404),
        message: "Not found".into(),
        more_info: None,
    };
    w.ports.sender.media_answers(TWILIO_MEDIA, [Err(gone)]);
    let mut job = job;
    loop {
        match w.process(&job).await.unwrap() {
            JobOutcome::Retrying { .. } => job = w.ports.queue.drain().remove(0).0,
            JobOutcome::MediaCopied => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(job.msg().attempt, MEDIA_FETCH_ATTEMPTS);
    let m = stored(&w, &job).await;
    assert_eq!(m.attachments[0].key, None);
    assert_eq!(
        m.attachments[0].error.as_deref(),
        Some("The media could not be downloaded from WhatsApp.")
    );
    assert_eq!(
        m.status,
        MessageStatus::Received,
        "the message itself is kept"
    );
}

/// A media URL the policy refuses (another account's, a private address, too large) is not
/// worth a retry: the attachment is marked at once.
#[tokio::test]
async fn refused_media_is_marked_unavailable_without_retries() {
    for refusal in [
        shared::twilio::MediaRefusal::NotAccountMedia,
        shared::twilio::MediaRefusal::PrivateAddress,
        shared::twilio::MediaRefusal::TooLarge,
    ] {
        let w = worker().await;
        let job = inbound_with_media(&w).await;
        w.ports
            .sender
            .media_answers(TWILIO_MEDIA, [Err(TwilioError::MediaRefused(refusal))]);
        assert_eq!(w.process(&job).await.unwrap(), JobOutcome::MediaCopied);
        assert!(w.ports.queue.drain().is_empty(), "{refusal:?}: no retry");
        let m = stored(&w, &job).await;
        assert_eq!(m.attachments[0].key, None);
        assert_eq!(
            m.attachments[0].error.as_deref(),
            Some("The media could not be downloaded from WhatsApp.")
        );
    }
}

/// Whatever type a contact's file claims, only what WhatsApp displays is stored to be shown;
/// an HTML page is stored as an opaque download.
#[tokio::test]
async fn a_received_web_page_is_stored_as_a_download() {
    let w = worker().await;
    let (m, _) = copy_one(
        &w,
        b"<script>alert(document.cookie)</script>",
        "text/html; charset=utf-8",
    )
    .await;
    let key = m.attachments[0].key.clone().unwrap();
    let (_, stored_type) = w.ports.media.object(&key).unwrap();
    assert_eq!(stored_type, "application/octet-stream");
    assert_eq!(w.ports.media.disposition(&key), Some("attachment"));
    assert_eq!(m.attachments[0].content_type, "text/html; charset=utf-8");

    let w = worker().await;
    let (photo, _) = copy_one(&w, JPEG, "image/jpeg").await;
    let key = photo.attachments[0].key.clone().unwrap();
    assert_eq!(w.ports.media.object(&key).unwrap().1, "image/jpeg");
    assert_eq!(w.ports.media.disposition(&key), None);
}

/// A shared contact card is copied like any file, and its name and numbers are read for the
/// conversation; a card that cannot be read is still copied, just shown as a file.
#[tokio::test]
async fn a_shared_contact_card_is_copied_and_read() {
    for (bytes, expected) in [
        (
            &b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Grace Lim\r\nTEL;type=CELL:+60 12-345 6781\r\nEND:VCARD\r\n"[..],
            Some(shared::domain::ContactCard {
                name: "Grace Lim".into(),
                phones: vec!["+60 12-345 6781".into()],
            }),
        ),
        (&b"not a card at all"[..], None),
    ] {
        let w = worker().await;
        let (m, _) = copy_one(&w, bytes, "text/vcard").await;
        let attachment = &m.attachments[0];
        assert_eq!(attachment.content_type, "text/vcard");
        assert!(attachment.key.as_deref().unwrap().ends_with("/0.vcf"));
        assert_eq!(attachment.card, expected);
    }
}
