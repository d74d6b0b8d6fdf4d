//! Inbound messages: stored once, matched to their contacts (by number or WhatsApp user id),
//! kept under the organization's retention, their media queued, replies and locations read;
//! STOP and START applied.

use super::*;

#[tokio::test]
async fn stores_an_inbound_message_and_opens_the_window() {
    let w = webhook().await;
    let r = w
        .handle(inbound_event(&inbound_params(
            SID1,
            "+60123456789",
            "Hello there!",
        )))
        .await;
    assert_eq!(r.status_code, 200);
    assert_eq!(r.headers.get("content-type").unwrap(), "text/xml");
    let messages = conversation(&w).await;
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(m.direction, Direction::Inbound);
    assert_eq!(m.status, MessageStatus::Received);
    assert_eq!(m.text.as_deref(), Some("Hello there!"));
    assert_eq!(m.twilio_message_sid.as_deref(), Some(SID1));
    let c = aisha(&w).await;
    assert!(c.last_inbound_at.unwrap() > hours_ago(1));
    assert!(
        w.ports.messages.all(&org("org-b")).is_empty(),
        "the other org's contact is untouched"
    );
}

#[tokio::test]
async fn a_repeated_message_sid_is_stored_once() {
    let w = webhook().await;
    for _ in 0..3 {
        let r = w
            .handle(inbound_event(&inbound_params(SID1, "+60123456789", "Hi")))
            .await;
        assert_eq!(r.status_code, 200);
    }
    assert_eq!(w.ports.messages.all(&org("org-a")).len(), 1);
    // The inbox counts it once too.
    let summary = w
        .ports
        .messages
        .summary(&org("org-a"), &aisha(&w).await.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.unread(), 1);
}

#[tokio::test]
async fn an_unknown_number_is_kept_without_a_contact_and_not_shown() {
    let w = webhook().await;
    let r = w
        .handle(inbound_event(&inbound_params(
            SID1,
            "+447911123456",
            "Who is this?",
        )))
        .await;
    assert_eq!(r.status_code, 200);
    let all = w.ports.messages.all(&org("org-a"));
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].contact_id, None);
    assert_eq!(all[0].contact_phone.as_deref(), Some("+447911123456"));
    assert!(conversation(&w).await.is_empty());
}

/// A WhatsApp user who adopted a username writes with a `From` that is no number (a
/// business-scoped user id) and no phone: kept once like any unknown sender, with who wrote;
/// matched to the contact whose CRM record carries that id, where it opens the window and a
/// STOP counts. Twilio does not retry a 4xx: refusing it would lose the message.
#[tokio::test]
async fn a_whatsapp_user_writing_under_a_username_is_kept_and_matched_by_user_id() {
    const BSUID: &str = "US.13491208655302741918";
    let username = |sid: &str, body: &str| {
        let mut params = from_username(inbound_params(sid, "+60123456789", body), BSUID);
        params.extend(pairs(&[
            ("ParentExternalUserId", "US.ENT.11815799212886844830"),
            ("ProfileUsername", "aisha.r"),
        ]));
        params
    };
    // No contact carries the id: kept, hidden, with who wrote; a repeat stores nothing.
    let w = webhook().await;
    let params = username(SID1, "Hello from my username");
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    let all = w.ports.messages.all(&org("org-a"));
    assert_eq!(all.len(), 1, "stored once");
    assert_eq!(
        (all[0].contact_id.as_ref(), all[0].contact_phone.as_ref()),
        (None, None)
    );
    let user = all[0]
        .details
        .as_ref()
        .and_then(|d| d.user.clone())
        .unwrap();
    assert_eq!(user.user_id, BSUID);
    assert_eq!(
        user.parent_user_id.as_deref(),
        Some("US.ENT.11815799212886844830")
    );
    assert_eq!(user.username.as_deref(), Some("aisha.r"));
    assert_eq!(user.profile_name.as_deref(), Some("Aisha"));
    assert!(
        all[0]
            .details
            .as_ref()
            .unwrap()
            .params
            .iter()
            .any(|(k, v)| k == "From" && v.ends_with(BSUID)),
        "every parameter kept"
    );
    assert!(conversation(&w).await.is_empty());

    // The CRM records the id on the contact: the next message is in its conversation.
    let w = webhook().await;
    let mut aisha = aisha(&w).await;
    aisha.whatsapp_user_id = Some(BSUID.into());
    aisha.phone_number = None;
    w.ports.contacts.put(&aisha).await.unwrap();
    assert_eq!(
        w.handle(inbound_event(&username(SID1, "It's me")))
            .await
            .status_code,
        200
    );
    let thread = conversation(&w).await;
    assert_eq!(thread.len(), 1);
    assert_eq!(thread[0].text.as_deref(), Some("It's me"));
    let after = w
        .ports
        .contacts
        .get(&org("org-a"), &aisha.contact_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.last_inbound_at > aisha.last_inbound_at,
        "the window opened"
    );
    // Without a number there is nowhere to reply: the reason says so.
    assert_eq!(
        after.eligibility().unwrap_err().to_string(),
        shared::domain::sentences::USERNAME_ONLY
    );
    assert_eq!(
        w.handle(inbound_event(&username(SID2, "STOP")))
            .await
            .status_code,
        200
    );
    assert!(
        !w.ports
            .contacts
            .get(&org("org-a"), &aisha.contact_id)
            .await
            .unwrap()
            .unwrap()
            .whatsapp_opt_in
    );

    // A number and a user id: the number decides, the id is recorded.
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "Both");
    params.push(("ExternalUserId".into(), BSUID.into()));
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    let thread = conversation(&w).await;
    assert_eq!(thread.len(), 1);
    assert_eq!(
        thread[0]
            .details
            .as_ref()
            .unwrap()
            .user
            .as_ref()
            .unwrap()
            .user_id,
        BSUID
    );

    // A `From` that is neither a number nor a user id is still refused.
    let mut params = inbound_params(SID3, "+60123456789", "?");
    for (k, v) in &mut params {
        if k == "From" {
            *v = "whatsapp:not-a-user".into();
        }
    }
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 400);
}

/// Under the organization's retention, an inbound message expires that many days after it
/// arrived (its store deletes it, and reads leave it out after that).
#[tokio::test]
async fn an_inbound_message_expires_under_the_organizations_retention() {
    let w = webhook().await;
    w.ports.credentials.put_secret(
        &org("org-a"),
        secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)
            .replace('}', r#","message_retention_days":30}"#),
    );
    let r = w
        .handle(inbound_event(&inbound_params(
            SID1,
            "+60123456789",
            "Hello",
        )))
        .await;
    assert_eq!(r.status_code, 200);
    let m = &conversation(&w).await[0];
    assert_eq!(
        m.expires_at,
        Some(m.created_at + chrono::Duration::days(30))
    );
}

#[tokio::test]
async fn stop_opts_out_and_start_opts_back_in() {
    let w = webhook().await;
    w.handle(inbound_event(&inbound_params(
        SID1,
        "+60123456789",
        " stop ",
    )))
    .await;
    let c = aisha(&w).await;
    assert!(!c.whatsapp_opt_in);
    let eligible = w
        .ports
        .contacts
        .list_eligible(&org("org-a"), None, None, 10)
        .await
        .unwrap();
    assert!(eligible.items.is_empty());

    w.handle(inbound_event(&inbound_params(
        SID2,
        "+60123456789",
        "START",
    )))
    .await;
    assert!(aisha(&w).await.whatsapp_opt_in);
    assert_eq!(conversation(&w).await.len(), 2, "keywords are messages too");
}

#[tokio::test]
async fn twilios_opt_out_type_is_honoured() {
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "Arrêter");
    params.push(("OptOutType".into(), "STOP".into()));
    w.handle(inbound_event(&params)).await;
    assert!(!aisha(&w).await.whatsapp_opt_in);
}

#[tokio::test]
async fn inbound_media_is_kept_and_its_copy_queued_off_the_critical_path() {
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "");
    for (k, v) in params.iter_mut() {
        if k == "NumMedia" {
            *v = "1".into();
        }
    }
    params.push((
        "MediaUrl0".into(),
        "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1".into(),
    ));
    params.push(("MediaContentType0".into(), "image/jpeg".into()));
    let r = w.handle(inbound_event(&params)).await;
    assert_eq!(r.status_code, 200);
    let m = &conversation(&w).await[0];
    assert_eq!(m.message_type, MessageType::Image);
    assert_eq!(m.text, None);
    assert_eq!(m.attachments[0].content_type, "image/jpeg");
    assert_eq!(m.attachments[0].key, None, "not copied yet");
    let jobs = w.ports.queue.jobs();
    assert_eq!(jobs.len(), 1);
    assert!(matches!(jobs[0].0, shared::domain::WorkerJob::CopyMedia(_)));
    assert_eq!(jobs[0].0.message_id(), Some(&m.id));
}

async fn stored_inbound(w: &Webhook, sid: &str) -> Message {
    w.ports
        .messages
        .find_by_sid(&org("org-a"), sid)
        .await
        .unwrap()
        .expect("stored")
}

/// A reply quotes an earlier message: linked when it is in the same conversation of this
/// organization, kept as Twilio's sid only otherwise — never another organization's message.
#[tokio::test]
async fn a_reply_is_linked_to_the_message_it_quotes_in_the_conversation() {
    let w = webhook().await;
    let ours = outbound(&w).await;
    assert_eq!(callback(&w, &ours, SID2, "sent", None).await, 200);
    // Another organization's message with a sid the contact might quote.
    let mut theirs = outbound(&w).await;
    theirs.id = MessageId::new();
    theirs.organization_id = org("org-b");
    theirs.contact_id = Some(ContactId::parse("b1").unwrap());
    theirs.twilio_message_sid = Some("SM33333333333333333333333333333333".into());
    w.ports.messages.insert(&theirs).await.unwrap();

    for (sid, quoted, linked) in [
        ("SM44444444444444444444444444444444", SID2, Some(ours.id)),
        (
            "SM55555555555555555555555555555555",
            "SM33333333333333333333333333333333",
            None,
        ),
        (
            "SM66666666666666666666666666666666",
            "SM77777777777777777777777777777777",
            None,
        ),
    ] {
        let mut params = inbound_params(sid, "+60123456789", "Yes please");
        params.push(("OriginalRepliedMessageSid".into(), quoted.into()));
        params.push((
            "OriginalRepliedMessageSender".into(),
            format!("whatsapp:{SENDER}"),
        ));
        assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
        let stored = stored_inbound(&w, sid).await;
        let reply_to = stored.details.unwrap().reply_to.unwrap();
        assert_eq!(reply_to.twilio_message_sid, quoted);
        assert_eq!(reply_to.message_id, linked, "{quoted}");
    }
}

/// What a kind carries is stored with the message, with every posted parameter; the API
/// shows the kind, never the raw parameters.
#[tokio::test]
async fn a_shared_location_is_stored_with_every_parameter() {
    let w = webhook().await;
    let mut params = inbound_params(SID1, "+60123456789", "");
    params.retain(|(k, _)| k != "MessageType");
    params.extend(pairs(&[
        ("MessageType", "location"),
        ("Latitude", "3.139003"),
        ("Longitude", "101.686855"),
        ("Label", "KLCC"),
        ("Address", "Jalan Ampang"),
    ]));
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    let stored = stored_inbound(&w, SID1).await;
    let details = stored.details.clone().unwrap();
    assert_eq!(details.location.unwrap().label.as_deref(), Some("KLCC"));
    assert_eq!(details.params.len(), params.len());
    let view = serde_json::to_value(shared::api::MessageView::from(&stored)).unwrap();
    assert_eq!(view["details"]["location"]["latitude"], "3.139003");
    assert_eq!(view["details"]["kind"], "location");
    assert!(view["details"].get("params").is_none(), "{view}");
}

/// A STOP written under a WhatsApp username reaches every contact of that person: those
/// with the user id, and those with the number the user id's contacts carry.
#[tokio::test]
async fn a_stop_from_a_username_opts_out_every_contact_of_the_person() {
    const BSUID: &str = "US.13491208655302741918";
    let w = webhook().await;
    // c1 (Aisha, +60123456789) carries the user id; c2 has her number only; c3 the id only.
    let mut aisha = aisha(&w).await;
    aisha.whatsapp_user_id = Some(BSUID.into());
    w.ports.contacts.put(&aisha).await.unwrap();
    w.ports
        .contacts
        .put(&contact("org-a", "c2", "Aisha (work)", "+60123456789"))
        .await
        .unwrap();
    let mut by_id = contact("org-a", "c3", "Aisha (id only)", "+60199999999");
    by_id.phone_number = None;
    by_id.whatsapp_user_id = Some(BSUID.into());
    w.ports.contacts.put(&by_id).await.unwrap();
    let mut other = contact("org-a", "c4", "Someone else", "+60188888888");
    other.whatsapp_opt_in = true;
    w.ports.contacts.put(&other).await.unwrap();

    let mut params = from_username(inbound_params(SID1, "+60123456789", "STOP"), BSUID);
    params.extend(pairs(&[("OptOutType", "STOP")]));
    assert_eq!(w.handle(inbound_event(&params)).await.status_code, 200);
    for id in ["c1", "c2", "c3"] {
        let c = stored_contact(&w, "org-a", id).await;
        assert!(!c.whatsapp_opt_in, "{id} opted out");
    }
    let untouched = stored_contact(&w, "org-a", "c4").await;
    assert!(untouched.whatsapp_opt_in, "another person's contact");
    let other_org = stored_contact(&w, "org-b", "b1").await;
    assert!(other_org.whatsapp_opt_in, "another organization's contact");
}
