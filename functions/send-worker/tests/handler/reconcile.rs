//! Exactly once: claims, and a send whose outcome is unknown looked for at Twilio before
//! anything is sent again.

use super::*;

/// Runs the job and every job it queues until one ends it.
pub(crate) async fn run_to_end(w: &Worker, job: &WorkerJob) -> JobOutcome {
    let mut job = job.clone();
    loop {
        match w.process(&job).await.unwrap() {
            JobOutcome::Retrying { .. } | JobOutcome::Reconciling { .. } => {
                job = w.ports.queue.drain().remove(0).0;
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn an_answer_lost_after_twilio_accepted_is_reconciled_not_resent() {
    for lost in [
        TwilioError::Timeout,
        TwilioError::ConnectionLost("dropped while reading the answer".into()),
        TwilioError::InvalidResponse("expected value at line 1".into()),
        // Twilio's edge can answer 5xx after the message was created behind it.
        api_error(502, 20500, "Bad Gateway"),
        api_error(503, 20503, "Service Unavailable"),
    ] {
        let w = worker().await;
        let job = pending(&w, "Your order shipped").await;
        w.ports.sender.accept_then_fail(lost.clone());
        let outcome = w.process(&job).await.unwrap();
        assert_eq!(
            outcome,
            JobOutcome::Reconciling {
                attempt: 2,
                delay: Duration::from_secs(2)
            },
            "{lost:?}: looked up before anything is sent again"
        );
        assert_eq!(stored(&w, &job).await.status, MessageStatus::Pending);
        let JobOutcome::Sent { sid } = run_to_end(&w, &job).await else {
            panic!("{lost:?}")
        };
        let accepted = w.ports.sender.accepted();
        assert_eq!(accepted.len(), 1, "{lost:?}: the contact got it once");
        assert_eq!(sid, accepted[0].1.sid, "{lost:?}: Twilio's sid recorded");
        assert_eq!(w.ports.sender.attempts().len(), 1, "{lost:?}");
        let m = stored(&w, &job).await;
        assert_eq!(
            (m.status, m.twilio_message_sid),
            (MessageStatus::Sent, Some(sid))
        );
    }
}

#[tokio::test]
async fn a_timeout_twilio_never_saw_is_sent_again_once() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.fail_next([TwilioError::Timeout]);
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Sent { .. }
    ));
    assert_eq!(w.ports.sender.accepted().len(), 1);
    assert_eq!(w.ports.sender.attempts().len(), 2);
}

#[tokio::test]
async fn a_job_delivered_twice_at_once_sends_once() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    let gate = w.ports.sender.hold_next();
    let first = tokio::spawn({
        let w = w.clone();
        let job = job.clone();
        async move { w.process(&job).await }
    });
    // The first worker is at Twilio; SQS hands the same job to a second one.
    while w.ports.sender.attempts().is_empty() {
        tokio::task::yield_now().await;
    }
    let second = w.process(&job).await;
    assert!(
        matches!(second, Err(shared::ports::PortError::Unavailable(_))),
        "held by the first worker, so SQS delivers it again later: {second:?}"
    );
    gate.notify_one();
    assert!(matches!(
        first.await.unwrap().unwrap(),
        JobOutcome::Sent { .. }
    ));
    assert_eq!(
        w.process(&job).await.unwrap(),
        JobOutcome::Skipped,
        "the later delivery"
    );
    assert_eq!(w.ports.sender.attempts().len(), 1);
    assert_eq!(w.ports.sender.accepted().len(), 1);
}

#[tokio::test]
async fn a_worker_that_died_after_twilio_accepted_is_not_repeated() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    // The dead worker's claim (its lease long over) and the message it got through.
    let an_hour_ago = Utc::now() - chrono::Duration::hours(1);
    w.ports
        .messages
        .claim_send(
            &org("org-a"),
            &job.msg().message_id,
            an_hour_ago,
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    let config = match w
        .ports
        .credentials
        .channel_config(&org("org-a"))
        .await
        .unwrap()
    {
        ChannelConfig::Configured(c) => c,
        ChannelConfig::NotConfigured { why } => panic!("{why}"),
    };
    let outbound = shared::twilio::OutboundMessage {
        to: shared::domain::PhoneNumber::parse_e164("+60123456789").unwrap(),
        content: OutboundContent::FreeForm {
            body: Some("Hello".into()),
            media_url: None,
        },
        status_callback: None,
    };
    use shared::ports::WhatsAppSender;
    let _ = w.ports.sender.send(&config, &outbound).await;
    // SQS delivers the job again.
    let JobOutcome::Sent { sid } = w.process(&job).await.unwrap() else {
        panic!("reconciled")
    };
    assert_eq!(sid, w.ports.sender.accepted()[0].1.sid);
    assert_eq!(w.ports.sender.accepted().len(), 1);
}

#[tokio::test]
async fn a_status_callback_that_came_first_settles_an_unknown_outcome() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.process(&job).await.unwrap();
    let sid = w.ports.sender.accepted()[0].1.sid.clone();
    // Twilio's `sent` callback carries our message id.
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &job.msg().message_id,
            &StatusChange::sent(&sid),
        )
        .await
        .unwrap();
    let (next, _) = w.ports.queue.drain().remove(0);
    assert_eq!(w.process(&next).await.unwrap(), JobOutcome::Skipped);
    w.ports.sender.fail_next_lists([TwilioError::Timeout]);
    assert_eq!(w.ports.sender.accepted().len(), 1);
}

#[tokio::test]
async fn when_twilio_cannot_say_whether_it_sent_it_stays_unconfirmed_and_is_never_resent() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.ports
        .sender
        .fail_next_lists((0..5).map(|_| TwilioError::Network("connection failed".into())));
    let JobOutcome::Unconfirmed { reason } = run_to_end(&w, &job).await else {
        panic!("an unknown outcome must end")
    };
    assert_eq!(
        reason,
        "Not confirmed by Twilio yet: could not reach Twilio: connection failed. It will not be sent again; its status updates when Twilio reports it."
    );
    assert_eq!(w.ports.sender.attempts().len(), 1, "never resent blindly");
    let m = stored(&w, &job).await;
    assert_eq!(
        (m.status, m.error_reason.as_deref()),
        (MessageStatus::Unconfirmed, Some(reason.as_str()))
    );
    // A later look at Twilio is queued, 15 minutes on.
    let (confirm, delay) = w.ports.queue.drain().remove(0);
    assert_eq!(delay, Duration::from_secs(900));
    // Twilio's list is readable again: it had the message after all.
    let JobOutcome::Sent { sid } = w.process(&confirm).await.unwrap() else {
        panic!("confirmed")
    };
    assert_eq!(sid, w.ports.sender.accepted()[0].1.sid);
    let m = stored(&w, &job).await;
    assert_eq!((m.status, m.error_reason), (MessageStatus::Sent, None));
    assert_eq!(w.ports.sender.attempts().len(), 1);
}

#[tokio::test]
async fn an_unconfirmed_message_twilio_never_got_fails_and_one_unreadable_for_hours_stays() {
    // Twilio never got it, and says so once its list can be read.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.fail_next([TwilioError::Timeout]);
    w.ports
        .sender
        .fail_next_lists((0..5).map(|_| TwilioError::Network("connection failed".into())));
    assert!(matches!(
        run_to_end(&w, &job).await,
        JobOutcome::Unconfirmed { .. }
    ));
    let (confirm, _) = w.ports.queue.drain().remove(0);
    assert_eq!(
        w.process(&confirm).await.unwrap(),
        JobOutcome::Failed {
            reason: "Failed to send via WhatsApp: Twilio has no record of it, so it was not sent."
                .into()
        }
    );
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Failed);
    assert!(w.ports.sender.accepted().is_empty());

    // The list stays unreadable: a bounded number of looks, then it stays UNCONFIRMED.
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    w.ports
        .sender
        .fail_next_lists((0..100).map(|_| TwilioError::Network("connection failed".into())));
    let mut outcome = run_to_end(&w, &job).await;
    let mut looks = 0;
    while let Some((next, delay)) = w.ports.queue.drain().pop() {
        assert_eq!(delay, Duration::from_secs(900));
        outcome = w.process(&next).await.unwrap();
        looks += 1;
    }
    assert_eq!(looks, CONFIRM_ATTEMPTS, "then no job is left");
    assert!(matches!(outcome, JobOutcome::Unconfirmed { .. }));
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Unconfirmed);
    assert_eq!(w.ports.sender.attempts().len(), 1);
}

/// The organization is switched off while a lost answer waits to be looked up: there is no
/// way to ask Twilio, so the message is UNCONFIRMED, not FAILED, and never sent again.
#[tokio::test]
async fn an_organization_switched_off_mid_doubt_leaves_the_message_unconfirmed() {
    let w = worker().await;
    let job = pending(&w, "Hello").await;
    w.ports.sender.accept_then_fail(TwilioError::Timeout);
    assert!(matches!(
        w.process(&job).await.unwrap(),
        JobOutcome::Reconciling { .. }
    ));
    w.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, false),
    );
    let (next, _) = w.ports.queue.drain().remove(0);
    let JobOutcome::Unconfirmed { reason } = w.process(&next).await.unwrap() else {
        panic!("a doubt, not a failure")
    };
    assert!(
        reason.starts_with("Not confirmed by Twilio yet: WhatsApp is not configured"),
        "{reason}"
    );
    assert_eq!(stored(&w, &job).await.status, MessageStatus::Unconfirmed);
    assert_eq!(w.ports.sender.attempts().len(), 1);
}
