//! Status callbacks: forward only, to the message holding the sid, recorded payloads read,
//! failure reasons in WhatsApp's words first.

use super::*;

/// Status callbacks as Twilio delivers them — in order, out of order, twice, failing — and
/// where the message ends: each `(MessageStatus, ErrorCode)` posted in turn, every one answered
/// 200.
struct StatusCase {
    name: &'static str,
    callbacks: &'static [(&'static str, Option<&'static str>)],
    status: MessageStatus,
    error_reason: Option<&'static str>,
    unsubscribes: bool,
}

const STATUS_CASES: &[StatusCase] = &[
    StatusCase {
        name: "in order",
        callbacks: &[("sent", None), ("delivered", None), ("read", None)],
        status: MessageStatus::Read,
        error_reason: None,
        unsubscribes: false,
    },
    StatusCase {
        name: "out of order and repeated: a late delivered never replaces read",
        callbacks: &[
            ("sent", None),
            ("read", None),
            ("delivered", None),
            ("sent", None),
            ("queued", None),
        ],
        status: MessageStatus::Read,
        error_reason: None,
        unsubscribes: false,
    },
    StatusCase {
        name: "undelivered records Twilio's error",
        callbacks: &[("sent", None), ("undelivered", Some("63003"))],
        status: MessageStatus::Failed,
        error_reason: Some(
            "Failed to send via WhatsApp: This number has no WhatsApp account (Twilio error 63003). Reach the contact another way, or correct the number in the CRM; sending to this number again fails the same way.",
        ),
        unsubscribes: false,
    },
    StatusCase {
        name: "63016 (free-form outside the window) reads as the window sentence",
        callbacks: &[("failed", Some("63016"))],
        status: MessageStatus::Failed,
        error_reason: Some(
            "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message.",
        ),
        unsubscribes: false,
    },
    StatusCase {
        name: "failed 21610 marks the contact unsubscribed",
        callbacks: &[("failed", Some("21610"))],
        status: MessageStatus::Failed,
        error_reason: Some(
            "Failed to send via WhatsApp: The contact opted out by replying STOP (Twilio error 21610). Nothing reaches them until they write to you again (or reply START).",
        ),
        unsubscribes: true,
    },
    StatusCase {
        name: "a failure after delivery is too late to count",
        callbacks: &[("delivered", None), ("failed", Some("30003"))],
        status: MessageStatus::Delivered,
        error_reason: None,
        unsubscribes: false,
    },
];

#[tokio::test]
async fn status_callbacks_move_the_message_forward_only() {
    // Every case for a free-form message and for one sent from a template: the callbacks of
    // a template message move it the same way and leave what it records alone.
    let template = shared::domain::SentTemplate {
        content_sid: "HX00000000000000000000000000000001".into(),
        name: "order_shipped".into(),
        variables: [("1".to_owned(), "Aisha".to_owned())].into(),
    };
    for (case, kind) in STATUS_CASES
        .iter()
        .flat_map(|c| [(c, None), (c, Some(template.clone()))])
    {
        let name = format!(
            "{} ({})",
            case.name,
            if kind.is_some() {
                "template"
            } else {
                "free-form"
            }
        );
        let w = webhook().await;
        let m = outbound_as(&w, kind.clone()).await;
        for (status, code) in case.callbacks {
            assert_eq!(
                callback(&w, &m, SID1, status, *code).await,
                200,
                "{name}: {status}"
            );
        }
        let after = reload(&w, &m).await;
        assert_eq!(after.template, kind, "{name}");
        assert_eq!(after.text, m.text, "{name}");
        assert_eq!(after.status, case.status, "{name}");
        assert_eq!(after.error_reason.as_deref(), case.error_reason, "{name}");
        assert_eq!(after.twilio_message_sid.as_deref(), Some(SID1), "{name}");
        assert_eq!(
            aisha(&w).await.whatsapp_unsubscribed,
            case.unsubscribes,
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_callback_that_overtakes_the_worker_is_not_lost() {
    let w = webhook().await;
    let m = outbound(&w).await;
    // Twilio's `delivered` arrives before the worker recorded SENT and the sid.
    assert_eq!(callback(&w, &m, SID1, "delivered", None).await, 200);
    let now = reload(&w, &m).await;
    assert_eq!(now.status, MessageStatus::Delivered);
    // The worker's own SENT then only records nothing new.
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(SID1.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Delivered);
}

/// Callbacks belong to the message holding their sid: a look-alike that adopted the sid
/// while reconciling gets them, not the message the URL names; a named message that holds no
/// sid yet takes the callback's.
#[tokio::test]
async fn a_callback_goes_to_the_message_holding_its_sid() {
    let w = webhook().await;
    let named = outbound(&w).await;
    let look_alike = outbound(&w).await;
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), SID1, &look_alike.id)
            .await
            .unwrap()
    );
    assert_eq!(callback(&w, &named, SID1, "delivered", None).await, 200);
    assert_eq!(reload(&w, &named).await.status, MessageStatus::Pending);
    let adopted = reload(&w, &look_alike).await;
    assert_eq!(
        (adopted.status, adopted.twilio_message_sid.as_deref()),
        (MessageStatus::Delivered, Some(SID1))
    );
    assert_eq!(callback(&w, &named, SID2, "sent", None).await, 200);
    let own = reload(&w, &named).await;
    assert_eq!(
        (own.status, own.twilio_message_sid.as_deref()),
        (MessageStatus::Sent, Some(SID2))
    );
    assert!(
        !w.ports
            .messages
            .hold_sid(&org("org-a"), SID2, &look_alike.id)
            .await
            .unwrap(),
        "the callback made the named message hold its sid"
    );
}

/// Look-alikes that adopted each other's Twilio messages: the named message holds the
/// look-alike's sid, so the callback of its own post is the look-alike's to adopt. Answered
/// 503 (Twilio retries) and held by no one until the look-alike holds it; then it lands there.
#[tokio::test]
async fn a_callback_for_a_sid_the_named_message_cannot_hold_waits_for_its_look_alike() {
    let w = webhook().await;
    let named = outbound(&w).await;
    let look_alike = outbound(&w).await;
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), SID2, &named.id)
            .await
            .unwrap()
    );
    assert_eq!(callback(&w, &named, SID1, "delivered", None).await, 503);
    assert_eq!(
        w.ports
            .messages
            .find_by_sid(&org("org-a"), SID1)
            .await
            .unwrap(),
        None,
        "held by no one"
    );
    assert_eq!(reload(&w, &named).await.status, MessageStatus::Pending);
    assert!(
        w.ports
            .messages
            .hold_sid(&org("org-a"), SID1, &look_alike.id)
            .await
            .unwrap()
    );
    assert_eq!(callback(&w, &named, SID1, "delivered", None).await, 200);
    let adopted = reload(&w, &look_alike).await;
    assert_eq!(
        (adopted.status, adopted.twilio_message_sid.as_deref()),
        (MessageStatus::Delivered, Some(SID1))
    );
    assert_eq!(reload(&w, &named).await.status, MessageStatus::Pending);
}

/// A message whose send Twilio could not confirm is settled by Twilio's later callback: it
/// did go out, and the page stops saying it is being confirmed.
#[tokio::test]
async fn a_callback_settles_an_unconfirmed_message() {
    let w = webhook().await;
    let m = outbound(&w).await;
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange::unconfirmed("Not confirmed by Twilio yet: x"),
        )
        .await
        .unwrap();
    assert_eq!(callback(&w, &m, SID1, "delivered", None).await, 200);
    let settled = reload(&w, &m).await;
    assert_eq!(
        (
            settled.status,
            settled.error_reason,
            settled.twilio_message_sid.as_deref()
        ),
        (MessageStatus::Delivered, None, Some(SID1))
    );
    assert_eq!(callback(&w, &m, SID1, "read", None).await, 200);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Read);
}

#[tokio::test]
async fn callbacks_find_messages_by_sid_without_a_message_id() {
    let w = webhook().await;
    let m = outbound(&w).await;
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(SID1.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let event = event_signed_for(
        "org-a",
        true,
        "",
        &status_params(SID1, "delivered", None),
        AUTH_TOKEN,
        None,
    );
    assert_eq!(w.handle(event).await.status_code, 200);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Delivered);
    // A message id that does not match the sid is not trusted over the sid.
    let other = outbound(&w).await;
    let query = format!("message_id={}", other.id);
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &other.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(SID2.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    let event = event_signed_for(
        "org-a",
        true,
        &query,
        &status_params(SID1, "read", None),
        AUTH_TOKEN,
        None,
    );
    w.handle(event).await;
    assert_eq!(reload(&w, &other).await.status, MessageStatus::Sent);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Read);
}

#[tokio::test]
async fn status_callbacks_are_signature_checked_too() {
    let w = webhook().await;
    let m = outbound(&w).await;
    let query = format!("message_id={}", m.id);
    let event = event_signed_for(
        "org-a",
        true,
        &query,
        &status_params(SID1, "delivered", None),
        "wrong",
        None,
    );
    assert_eq!(w.handle(event).await.status_code, 403);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Pending);
}

#[tokio::test]
async fn recorded_events_are_understood() {
    let w = webhook().await;
    let event: ApiGatewayV2httpRequest = serde_json::from_str(include_str!(
        "../../../../events/twilio-webhook-inbound.json"
    ))
    .unwrap();
    let r = w.handle(event).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    let messages = conversation(&w).await;
    assert_eq!(messages.len(), 1);

    let m = outbound(&w).await;
    let mut event: ApiGatewayV2httpRequest = serde_json::from_str(include_str!(
        "../../../../events/twilio-webhook-status.json"
    ))
    .unwrap();
    // The recorded callback names a message by sid only.
    let sid = "SM0123456789abcdef0123456789abcdef";
    w.ports
        .messages
        .apply_status(
            &org("org-a"),
            &m.id,
            &StatusChange {
                status: MessageStatus::Sent,
                twilio_message_sid: Some(sid.into()),
                error_reason: None,
            },
        )
        .await
        .unwrap();
    event.headers.remove("x-amzn-trace-id");
    assert_eq!(w.handle(event).await.status_code, 200);
    assert_eq!(reload(&w, &m).await.status, MessageStatus::Delivered);
}

/// A failed message says why in words a person understands: a code the product explains in
/// plain words with the next step; else WhatsApp's own text when Twilio passes it on
/// (ChannelStatusMessage), else the text for the code, and an unknown code still shows the
/// code, where Twilio explains it, and that it was not sent again.
#[tokio::test]
async fn failure_reasons_prefer_whatsapps_words_then_the_codes_text() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("ErrorCode", "63049")],
            "Failed to send via WhatsApp: Meta held back this marketing message: WhatsApp limits how many marketing messages each person receives, and delivers none to U.S. numbers since April 2025 (Twilio error 63049). Do not send it again now. To a U.S. number, use another channel; elsewhere, try again in a day or more, or send a utility template if the message is not marketing.",
        ),
        (
            &[
                ("ErrorCode", "63062"),
                ("ChannelStatusMessage", "Terms not accepted"),
            ],
            "Failed to send via WhatsApp: Your business has not accepted WhatsApp's Marketing Messages API terms (Twilio error 63062). An admin must accept them in WhatsApp Manager (Overview > Alerts); until then every marketing template fails the same way, while replies and utility templates still go out.",
        ),
        (
            &[
                ("ErrorCode", "63032"),
                (
                    "ChannelStatusMessage",
                    "User's number is part of an experiment",
                ),
            ],
            "Failed to send via WhatsApp: User's number is part of an experiment (Twilio error 63032). It was not sent again; Twilio explains error 63032 at https://www.twilio.com/docs/api/errors/63032.",
        ),
        (
            &[("ErrorCode", "63999")],
            "Failed to send via WhatsApp: Twilio reported the message failed (Twilio error 63999). It was not sent again; Twilio explains error 63999 at https://www.twilio.com/docs/api/errors/63999.",
        ),
    ];
    for (extra, reason) in cases {
        let w = webhook().await;
        let m = outbound(&w).await;
        let mut params = status_params(SID1, "failed", None);
        params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let event = event_signed_for(
            "org-a",
            true,
            &format!("message_id={}", m.id),
            &params,
            AUTH_TOKEN,
            None,
        );
        assert_eq!(w.handle(event).await.status_code, 200, "{extra:?}");
        let after = reload(&w, &m).await;
        assert_eq!(after.status, MessageStatus::Failed);
        assert_eq!(after.error_reason.as_deref(), Some(reason), "{extra:?}");
    }
}
