//! Look-alikes: two parts with one text never share a Twilio message, a sid is held by one
//! message, and what Twilio lists is judged by sender, number and reach.

use super::*;
use crate::reconcile::run_to_end;

/// Two parts that look alike at Twilio (media-only parts of a send with attachments, or two
/// "ok"s): both lose Twilio's answer, Twilio accepted only the first. Whatever the order, or
/// at the same time, each part ends with a Twilio message of its own: one adopts the
/// accepted message, the other is sent.
#[tokio::test]
async fn two_look_alike_parts_never_share_one_twilio_message() {
    for order in [
        "first part reconciles first",
        "second part reconciles first",
        "both at once",
        "the second stops between holding the sid and recording it",
    ] {
        let w = worker().await;
        let first = pending(&w, "ok").await;
        let second = pending(&w, "ok").await;
        w.ports.sender.accept_then_fail(TwilioError::Timeout);
        w.ports.sender.fail_next([TwilioError::Timeout]);
        let [a, b] = [&first, &second].map(|job| job.clone());
        assert!(matches!(
            w.process(&a).await.unwrap(),
            JobOutcome::Reconciling { .. }
        ));
        assert!(matches!(
            w.process(&b).await.unwrap(),
            JobOutcome::Reconciling { .. }
        ));
        let retries: Vec<WorkerJob> = w.ports.queue.drain().into_iter().map(|(j, _)| j).collect();
        let (retry_a, retry_b) = (retries[0].clone(), retries[1].clone());
        assert_eq!(w.ports.sender.accepted().len(), 1, "{order}");
        let (ea, eb) = match order {
            "first part reconciles first" => {
                let ea = run_to_end(&w, &retry_a).await;
                (ea, run_to_end(&w, &retry_b).await)
            }
            "second part reconciles first" => {
                let eb = run_to_end(&w, &retry_b).await;
                (run_to_end(&w, &retry_a).await, eb)
            }
            "both at once" => {
                tokio::join!(run_to_end(&w, &retry_a), run_to_end(&w, &retry_b))
            }
            _ => {
                // The second adopts the first's Twilio message, then its SENT write fails:
                // nothing records the sid on a message yet, only the hold.
                w.ports.messages.faults.fail_next("apply_status", 1);
                assert!(w.process(&retry_b).await.is_err(), "{order}");
                let ea = run_to_end(&w, &retry_a).await;
                // SQS delivers the second's job again once its claim is over (a claim
                // taken after the lease, its outcome unknown).
                let lapsed = Utc::now() + w.settings.claim_lease + Duration::from_secs(1);
                let shared::ports::SendClaim::Claimed { lease, .. } = w
                    .ports
                    .messages
                    .claim_send(
                        &org("org-a"),
                        &retry_b.msg().message_id,
                        lapsed,
                        w.settings.claim_lease,
                    )
                    .await
                    .unwrap()
                else {
                    panic!("{order}: the lapsed claim is taken over")
                };
                w.ports
                    .messages
                    .release_send(
                        &org("org-a"),
                        &retry_b.msg().message_id,
                        &lease,
                        shared::ports::AttemptOutcome::Unknown,
                    )
                    .await
                    .unwrap();
                (ea, run_to_end(&w, &retry_b).await)
            }
        };
        let (JobOutcome::Sent { sid: sid_a }, JobOutcome::Sent { sid: sid_b }) = (ea, eb) else {
            panic!("{order}: both sent")
        };
        assert_ne!(sid_a, sid_b, "{order}: one Twilio message each");
        let accepted: Vec<String> = w
            .ports
            .sender
            .accepted()
            .into_iter()
            .map(|(_, m)| m.sid)
            .collect();
        assert_eq!(
            accepted.len(),
            2,
            "{order}: the contact got two, as two were sent"
        );
        assert!(
            accepted.contains(&sid_a) && accepted.contains(&sid_b),
            "{order}"
        );
        for job in [&first, &second] {
            assert_eq!(stored(&w, job).await.status, MessageStatus::Sent, "{order}");
        }
    }
}

/// Twilio answers with a sid a look-alike adopted a moment before (reconciling its own lost
/// answer): that Twilio message is the look-alike's, and this one is looked for, then sent.
#[tokio::test]
async fn an_answer_whose_sid_a_look_alike_holds_is_not_recorded_twice() {
    let w = worker().await;
    let mine = pending(&w, "ok").await;
    let look_alike = pending(&w, "ok").await;
    let sid = "SM00000000000000000000000000000001".to_owned();
    w.ports.sender.next_sids([sid.clone()]);
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), &sid, &look_alike.msg().message_id)
            .await
            .unwrap()
    );
    let outcome = w.process(&mine).await.unwrap();
    assert!(
        matches!(outcome, JobOutcome::Reconciling { attempt: 2, .. }),
        "{outcome:?}"
    );
    assert_eq!(stored(&w, &mine).await.status, MessageStatus::Pending);
    let JobOutcome::Sent { sid: own } = run_to_end(&w, &mine).await else {
        panic!("sent")
    };
    assert_ne!(own, sid);
    assert_eq!(w.ports.sender.accepted().len(), 2);
}

/// A message found at Twilio while reconciling is recorded with the status Twilio lists for
/// it: callbacks that came before it was held found no holder, and are not lost.
#[tokio::test]
async fn an_adopted_message_takes_the_status_twilio_lists() {
    let cases = [
        ("queued", None, MessageStatus::Sent, None),
        ("delivered", None, MessageStatus::Delivered, None),
        ("read", None, MessageStatus::Read, None),
        (
            "undelivered",
            Some(63016),
            MessageStatus::Failed,
            Some(shared::domain::sentences::OUTSIDE_WINDOW),
        ),
    ];
    for (listed_status, code, expected, reason) in cases {
        let w = worker().await;
        let job = pending(&w, "Hello").await;
        w.ports.sender.fail_next([TwilioError::Timeout]);
        w.process(&job).await.unwrap();
        let sid = shared::twilio::new_message_sid();
        w.ports.sender.sent_elsewhere(
            shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
            shared::twilio::ListedMessage {
                sid: sid.clone(),
                body: Some("Hello".into()),
                num_media: Some("0".into()),
                date_created: Some(Utc::now().to_rfc2822()),
                status: Some(listed_status.into()),
                from: Some(format!("whatsapp:{SENDER}")),
                messaging_service_sid: None,
                error_code: code,
                error_message: None,
            },
        );
        assert_eq!(
            run_to_end(&w, &job).await,
            JobOutcome::Sent { sid: sid.clone() },
            "{listed_status}"
        );
        let m = stored(&w, &job).await;
        assert_eq!(
            (
                m.status,
                m.twilio_message_sid.as_deref(),
                m.error_reason.as_deref()
            ),
            (expected, Some(sid.as_str()), reason),
            "{listed_status}"
        );
        assert_eq!(
            w.ports.sender.attempts().len(),
            1,
            "{listed_status}: posted once"
        );
    }
}

/// The number changes in the CRM between a lost answer and the retry: the retry looks where
/// the message went, and a message Twilio never got goes to the new number, recorded.
#[tokio::test]
async fn a_number_changed_mid_retry_is_reconciled_where_the_send_went() {
    let new_number = "+60198765432";
    let change_number = |w: &Worker| {
        let w = w.clone();
        async move {
            w.ports
                .contacts
                .put(&contact("org-a", "c1", "Aisha Rahman", new_number))
                .await
                .unwrap();
        }
    };
    // Accepted at the old number: found there, never sent to the new one.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    change_number(&w).await;
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Sent { .. }
    ));
    let accepted = w.ports.sender.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].0.as_str(), "+60123456789");
    assert_eq!(
        stored(&w, &job).await.contact_phone.as_deref(),
        Some("+60123456789")
    );

    // Not accepted: sent to the new number, and the message says so.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.fail_next([TwilioError::Timeout]);
    w.process(&job).await.unwrap();
    change_number(&w).await;
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Sent { .. }
    ));
    let accepted = w.ports.sender.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].0.as_str(), new_number);
    let m = stored(&w, &job).await;
    assert_eq!(m.contact_phone.as_deref(), Some(new_number));
    assert_ne!(m.revision, job.msg().message_id, "pollers see the change");
}

/// The organization's sender changes between a lost answer and the retry: Twilio lists the
/// message from the old sender. It is not sent again from the new one (the contact would
/// get it twice), nor taken as this message (it may be another system's): it stays in doubt.
#[tokio::test]
async fn a_sender_changed_mid_retry_never_sends_the_message_again() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    w.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, "+15557654321", true),
    );
    let outcome = run_to_end(&w, &job).await;
    assert!(
        matches!(outcome, JobOutcome::Unconfirmed { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        w.ports.sender.accepted().len(),
        1,
        "the contact got it once"
    );
    assert_eq!(w.ports.sender.attempts().len(), 1, "never posted again");
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Unconfirmed);
}

/// Twilio's list, read as far as the worker reads it, is full of another sender's messages
/// to the contact (another Messaging Service of the account): the attempt's own message is
/// further back, so its absence from what was read proves nothing.
#[tokio::test]
async fn a_list_full_of_another_senders_messages_proves_no_absence() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    let to = shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap();
    let read_at_most =
        shared::twilio::RECONCILE_PAGE_SIZE as usize * shared::twilio::RECONCILE_MAX_PAGES;
    for i in 0..read_at_most {
        w.ports.sender.sent_elsewhere(
            to.clone(),
            shared::twilio::ListedMessage {
                sid: shared::twilio::new_message_sid(),
                body: Some(format!("Reminder {i}")),
                num_media: Some("0".into()),
                date_created: Some(Utc::now().to_rfc2822()),
                status: Some("delivered".into()),
                from: Some("whatsapp:+15557654321".into()),
                messaging_service_sid: Some("MG00000000000000000000000000000002".into()),
                error_code: None,
                error_message: None,
            },
        );
    }
    let outcome = run_to_end(&w, &job).await;
    assert!(
        matches!(outcome, JobOutcome::Unconfirmed { .. }),
        "{outcome:?}"
    );
    assert_eq!(w.ports.sender.attempts().len(), 1, "never posted again");
    assert_eq!(
        w.ports.sender.accepted().len(),
        read_at_most + 1,
        "the contact got it once"
    );
}

/// A request is posted only while the claim outlasts it: otherwise another delivery of the
/// job could take the message while the request is in flight.
#[tokio::test]
async fn a_send_is_not_posted_when_its_claim_could_lapse_in_flight() {
    let mut w = worker().await;
    w.settings.claim_lease = w.settings.twilio_timeout + CLAIM_MARGIN;
    let job = pending(&w, "Hello").await;
    let outcome = w.process(&job).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Retrying {
            attempt: 1,
            delay: Duration::from_secs(2)
        },
        "the same attempt, later"
    );
    assert!(w.ports.sender.attempts().is_empty(), "nothing posted");
    // The claim was cleared: the next delivery sends at once, without reconciling.
    w.settings.claim_lease = w.settings.twilio_timeout + CLAIM_MARGIN + Duration::from_secs(2);
    let (next, _) = w.ports.queue.drain().remove(0);
    assert!(matches!(
        w.process(&next).await.unwrap(),
        JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.attempts().len(), 1);
}

#[test]
fn reconciliation_matches_body_media_time_and_unclaimed_sids() {
    use shared::twilio::ListedMessage;
    let now = Utc::now();
    let listed = |sid: &str, body: &str, media: &str, at: chrono::DateTime<Utc>| ListedMessage {
        sid: sid.into(),
        body: Some(body.into()),
        num_media: Some(media.into()),
        date_created: Some(at.to_rfc2822()),
        status: Some("delivered".into()),
        from: Some(format!("whatsapp:{SENDER}")),
        messaging_service_sid: None,
        error_code: None,
        error_message: None,
    };
    let message = Message::outbound_pending(
        &org("org-a"),
        &ContactId::parse("c1").unwrap(),
        &shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
        shared::domain::OutboundPart {
            message_type: MessageType::Text,
            text: Some("Hello".into()),
            attachment: None,
        },
        now,
    );
    let page = [
        listed("SM3", "Hello", "0", now + chrono::Duration::seconds(5)),
        listed("SM2", "Hello", "0", now + chrono::Duration::seconds(1)),
        listed("SM_other_text", "Bye", "0", now),
        listed("SM_media", "Hello", "1", now),
        listed("SM_old", "Hello", "0", now - chrono::Duration::hours(1)),
    ];
    let found = find_sent(&message, now, &page, |_| false).unwrap();
    assert_eq!(
        found.sid, "SM2",
        "the earliest match since the first attempt"
    );
    let found = find_sent(&message, now, &page, |sid| sid == "SM2").unwrap();
    assert_eq!(
        found.sid, "SM3",
        "a sid another message holds is not this one"
    );
    assert!(find_sent(&message, now, &page[2..], |_| false).is_none());
}

/// A template message goes as ContentSid + ContentVariables (a JSON object as a string),
/// never with a Body; a lost answer is reconciled by its rendered text like any other.
#[tokio::test]
async fn a_template_goes_as_content_sid_and_variables_and_is_reconciled() {
    let w = worker().await;
    let sid = "HX00000000000000000000000000000001";
    w.ports
        .sender
        .set_templates(vec![shared::testing::template(sid, "order_shipped")]);
    // Stored as the send route stores a template message: its text is the rendered body.
    let mut message = Message::outbound_pending(
        &org("org-a"),
        &ContactId::parse("c1").unwrap(),
        &shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
        shared::domain::OutboundPart {
            message_type: MessageType::Text,
            text: Some("Hi Aisha, thanks for your order.".into()),
            attachment: None,
        },
        Utc::now(),
    );
    message.template = Some(shared::domain::SentTemplate {
        content_sid: sid.into(),
        name: "order_shipped".into(),
        variables: [("1".to_owned(), "Aisha".to_owned())].into(),
    });
    w.ports.messages.insert(&message).await.unwrap();
    let job = WorkerJob::Send(MessageJob::new(&org("org-a"), message.id));
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    let JobOutcome::Sent { sid: twilio_sid } = run_to_end(&w, &job).await else {
        panic!("expected Sent");
    };
    let attempts = w.ports.sender.attempts();
    assert_eq!(
        attempts.len(),
        1,
        "found at Twilio by its rendered text, not resent"
    );
    assert_eq!(
        attempts[0].1.content,
        OutboundContent::Template {
            content_sid: sid.into(),
            content_variables: Some(r#"{"1":"Aisha"}"#.into()),
        }
    );
    let ChannelConfig::Configured(config) =
        shared::domain::parse_org_secret(&secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true))
    else {
        panic!("the test secret is complete")
    };
    let form = attempts[0].1.form(&config);
    assert!(form.iter().any(|(k, v)| *k == "ContentSid" && v == sid));
    assert!(!form.iter().any(|(k, _)| *k == "Body" || *k == "MediaUrl"));
    assert_eq!(stored(&w, &job).await.twilio_message_sid, Some(twilio_sid));
}
