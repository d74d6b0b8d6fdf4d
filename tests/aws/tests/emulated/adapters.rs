//! Every AWS adapter against the emulator: the same guarantees the in-memory ports give.

use std::time::Duration;

use crate::emulator::Stack;
use shared::domain::{
    ChannelConfig, ContactChange, ContactId, MessageId, MessageJob, OrganizationId, PhoneNumber,
    WorkerJob,
};
use shared::ports::{
    ContactStore, CredentialStore, MediaStore, MessageStore, PortError, SendQueue,
};
use shared::testing::store_contract;
use shared::testing::{ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, hours_ago, org, secret_json};

fn cid(id: &str) -> ContactId {
    ContactId::parse(id).unwrap()
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn contacts_by_key_phone_and_eligible_index() {
    let stack = Stack::create().await;
    let store = stack.ports().contacts;
    for c in [
        contact("acme", "c1", "Aisha Rahman", "+60123456789"),
        contact("acme", "c2", "Ben Ong", "+6591234567"),
        contact("acme", "c3", "Carla Mendes", "+447911123456"),
        contact("globex", "g1", "Aisha Other Org", "+60123456789"),
    ] {
        store.put(&c).await.unwrap();
    }
    let mut not_opted = contact("acme", "c4", "Dana", "+60123456780");
    not_opted.whatsapp_opt_in = false;
    store.put(&not_opted).await.unwrap();
    let mut no_phone = contact("acme", "c5", "Eve", "");
    no_phone.phone_number = None;
    // Known to the CRM by her WhatsApp user id only (she writes under a username).
    no_phone.whatsapp_user_id = Some("US.13491208655302741918".into());
    store.put(&no_phone).await.unwrap();
    let by_user = store
        .contacts_by_whatsapp_user(&org("acme"), "US.13491208655302741918")
        .await
        .unwrap();
    assert_eq!(by_user.len(), 1);
    assert_eq!(by_user[0].contact_id, cid("c5"));
    assert_eq!(
        by_user[0].whatsapp_user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    assert!(
        store
            .contacts_by_whatsapp_user(&org("globex"), "US.13491208655302741918")
            .await
            .unwrap()
            .is_empty(),
        "another organization's"
    );

    let got = store.get(&org("acme"), &cid("c1")).await.unwrap().unwrap();
    assert_eq!(
        got,
        contact_with_time(&got, "acme", "c1", "Aisha Rahman", "+60123456789")
    );
    assert!(
        store
            .get(&org("globex"), &cid("c1"))
            .await
            .unwrap()
            .is_none()
    );

    let phone = PhoneNumber::parse_e164("+60123456789").unwrap();
    let ids = |contacts: Vec<shared::domain::Contact>| -> Vec<ContactId> {
        contacts.into_iter().map(|c| c.contact_id).collect()
    };
    assert_eq!(
        ids(store.contacts_by_phone(&org("acme"), &phone).await.unwrap()),
        [cid("c1")]
    );
    assert_eq!(
        ids(store
            .contacts_by_phone(&org("globex"), &phone)
            .await
            .unwrap()),
        [cid("g1")]
    );
    let unknown = PhoneNumber::parse_e164("+14155550123").unwrap();
    assert!(
        store
            .contacts_by_phone(&org("acme"), &unknown)
            .await
            .unwrap()
            .is_empty()
    );
    // The same person twice in the CRM: both are found, in contact id order.
    store
        .put(&contact(
            "acme",
            "c0",
            "Aisha R. (duplicate)",
            "+60123456789",
        ))
        .await
        .unwrap();
    assert_eq!(
        ids(store.contacts_by_phone(&org("acme"), &phone).await.unwrap()),
        [cid("c0"), cid("c1")]
    );
    // Out of the way of the listing below: another number, not opted in.
    let mut moved = contact("acme", "c0", "Aisha R. (duplicate)", "+60100000000");
    moved.whatsapp_opt_in = false;
    store.put(&moved).await.unwrap();

    let names = |page: &shared::ports::Page<shared::domain::Contact>| -> Vec<String> {
        page.items.iter().map(|c| c.name.clone()).collect()
    };
    let all = store
        .list_eligible(&org("acme"), None, None, 10)
        .await
        .unwrap();
    assert_eq!(names(&all), ["Aisha Rahman", "Ben Ong", "Carla Mendes"]);
    let first = store
        .list_eligible(&org("acme"), None, None, 2)
        .await
        .unwrap();
    assert_eq!(names(&first), ["Aisha Rahman", "Ben Ong"]);
    let rest = store
        .list_eligible(&org("acme"), None, first.next_cursor.as_deref(), 2)
        .await
        .unwrap();
    assert_eq!(names(&rest), ["Carla Mendes"]);
    assert_eq!(rest.next_cursor, None);
    let search = store
        .list_eligible(&org("acme"), Some("+65"), None, 10)
        .await
        .unwrap();
    assert_eq!(names(&search), ["Ben Ong"]);
    assert_eq!(
        store
            .list_eligible(&org("acme"), None, Some("!!"), 10)
            .await,
        Err(PortError::InvalidCursor)
    );

    // Opting out takes the contact off the eligible index; the window only moves forward.
    let stop = ContactChange {
        whatsapp_opt_in: Some(false),
        last_inbound_at: Some(hours_ago(0)),
        ..Default::default()
    };
    let updated = store
        .update(&org("acme"), &cid("c2"), &stop)
        .await
        .unwrap()
        .unwrap();
    assert!(!updated.whatsapp_opt_in);
    let older = ContactChange {
        last_inbound_at: Some(hours_ago(5)),
        ..Default::default()
    };
    let same = store
        .update(&org("acme"), &cid("c2"), &older)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(same.last_inbound_at, updated.last_inbound_at);
    assert_eq!(
        names(
            &store
                .list_eligible(&org("acme"), None, None, 10)
                .await
                .unwrap()
        ),
        ["Aisha Rahman", "Carla Mendes"]
    );
    assert!(
        store
            .update(&org("acme"), &cid("nope"), &stop)
            .await
            .unwrap()
            .is_none()
    );
}

fn contact_with_time(
    got: &shared::domain::Contact,
    o: &str,
    id: &str,
    name: &str,
    phone: &str,
) -> shared::domain::Contact {
    let mut c = contact(o, id, name, phone);
    c.last_inbound_at = got.last_inbound_at;
    c
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn concurrent_contact_updates_are_not_lost() {
    let stack = Stack::create().await;
    let store = stack.ports().contacts;
    store
        .put(&contact("acme", "c1", "Aisha", "+60123456789"))
        .await
        .unwrap();
    let (acme, c1) = (org("acme"), cid("c1"));
    let unsubscribe = ContactChange {
        whatsapp_unsubscribed: Some(true),
        ..Default::default()
    };
    let opt_out = ContactChange {
        whatsapp_opt_in: Some(false),
        ..Default::default()
    };
    let (a, b) = tokio::join!(
        store.update(&acme, &c1, &unsubscribe),
        store.update(&acme, &c1, &opt_out)
    );
    a.unwrap();
    b.unwrap();
    let c = store.get(&org("acme"), &cid("c1")).await.unwrap().unwrap();
    assert!(
        c.whatsapp_unsubscribed && !c.whatsapp_opt_in,
        "both changes kept: {c:?}"
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn secrets_are_parsed_cached_and_refreshed() {
    let stack = Stack::create().await;
    let credentials = stack.ports().credentials;
    let acme = org("acme");
    assert!(matches!(
        credentials.channel_config(&acme).await.unwrap(),
        ChannelConfig::NotConfigured { .. }
    ));

    stack
        .put_secret("acme", &secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true))
        .await;
    // "Not configured" is remembered briefly; a refresh reads again.
    let ChannelConfig::Configured(config) = credentials.refresh(&acme).await.unwrap() else {
        panic!()
    };
    assert_eq!(config.account_sid, ACCOUNT_SID);

    // Rotation: the cache serves the old token until refreshed.
    stack
        .put_secret(
            "acme",
            &secret_json(ACCOUNT_SID, "rotated-token", SENDER, true),
        )
        .await;
    let token = |c: ChannelConfig| match c {
        ChannelConfig::Configured(c) => {
            secrecy::ExposeSecret::expose_secret(&c.auth_token).to_owned()
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        token(credentials.channel_config(&acme).await.unwrap()),
        AUTH_TOKEN
    );
    assert_eq!(
        token(credentials.refresh(&acme).await.unwrap()),
        "rotated-token"
    );
    assert_eq!(
        token(credentials.channel_config(&acme).await.unwrap()),
        "rotated-token"
    );

    for bad in [
        "not json",
        r#"{"twilio_account_sid":"AC0123456789abcdef0123456789abcdef","whatsapp_enabled":true}"#,
    ] {
        stack.put_secret("globex", bad).await;
        assert!(
            matches!(
                credentials.refresh(&org("globex")).await.unwrap(),
                ChannelConfig::NotConfigured { .. }
            ),
            "{bad}"
        );
    }
}

/// Made-up organization ids (each a "not configured" answer) cannot grow the cache past
/// its size, and the configured organization read last stays cached.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn the_secret_cache_is_bounded_negative_answers_included() {
    let stack = Stack::create().await;
    stack
        .put_secret("acme", &secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true))
        .await;
    let credentials = shared::aws::SecretsManagerCredentials::new(
        aws_sdk_secretsmanager::Client::new(&stack.sdk),
        stack.settings().secret_prefix,
        std::time::Duration::from_secs(300),
        8,
    );
    for i in 0..40 {
        let config = credentials
            .channel_config(&org(&format!("made-up-{i}")))
            .await
            .unwrap();
        assert!(matches!(config, ChannelConfig::NotConfigured { .. }));
        assert!(credentials.cached_organizations() <= 8);
    }
    assert_eq!(credentials.cached_organizations(), 8);
    assert!(matches!(
        credentials.channel_config(&org("acme")).await.unwrap(),
        ChannelConfig::Configured(_)
    ));
    assert_eq!(credentials.cached_organizations(), 8);
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn jobs_go_on_the_queue_with_their_delay() {
    let stack = Stack::create().await;
    let queue = stack.ports().queue;
    let job = WorkerJob::Send(MessageJob::new(&org("acme"), MessageId::new()).attempt(2));
    queue
        .enqueue(&job, Duration::from_millis(1500))
        .await
        .unwrap();
    let sqs = stack.sqs();
    let url = stack.resources.send_queue_url.clone().unwrap();
    let now = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert!(
        now.messages.unwrap_or_default().is_empty(),
        "not visible before its delay"
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = later.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    let got: WorkerJob = serde_json::from_str(messages[0].body().unwrap()).unwrap();
    assert_eq!(got, job);
}

/// With a media copy queue configured (as the template deploys it), copy jobs go there and
/// sends stay on the send queue: a long copy never shares a batch with sends.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn media_copy_jobs_have_a_queue_of_their_own() {
    let mut stack = Stack::create().await;
    let sqs = stack.sqs();
    let media_queue = sqs
        .create_queue()
        .queue_name(format!("{}-media-copy", stack.name))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    stack.resources.media_queue_url = Some(media_queue.clone());
    let queue = stack.ports().queue;
    let job = || MessageJob::new(&org("acme"), MessageId::new());
    let copy = WorkerJob::CopyMedia(job());
    let send = WorkerJob::Send(job());
    queue.enqueue(&copy, Duration::ZERO).await.unwrap();
    queue.enqueue(&send, Duration::ZERO).await.unwrap();
    let on = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default()
                .iter()
                .map(|m| serde_json::from_str::<WorkerJob>(m.body().unwrap()).unwrap())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(on(media_queue).await, [copy]);
    assert_eq!(
        on(stack.resources.send_queue_url.clone().unwrap()).await,
        [send]
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn media_stays_under_the_organization_prefix() {
    let stack = Stack::create().await;
    let media = stack.ports().media;
    let key = media
        .put(
            &org("acme"),
            "hello.ogg",
            b"hello".to_vec(),
            &shared::domain::served_as("audio/ogg"),
            None,
        )
        .await
        .unwrap();
    assert_eq!(key, "acme/hello.ogg");
    let head = media.head(&org("acme"), &key).await.unwrap().unwrap();
    assert_eq!((head.size, head.content_type.as_str()), (5, "audio/ogg"));
    assert_eq!(
        media.head(&org("globex"), &key).await,
        Err(PortError::NotFound)
    );
    assert!(
        media
            .head(&org("acme"), "acme/missing.txt")
            .await
            .unwrap()
            .is_none()
    );

    let url = media
        .presign_get(&org("acme"), &key, Duration::from_secs(60))
        .await
        .unwrap();
    let response = reqwest::get(&url).await.unwrap();
    assert!(response.headers().get("content-disposition").is_none());
    assert_eq!(&response.bytes().await.unwrap()[..], b"hello");

    // A web page a contact sent is stored as an opaque download.
    let page = media
        .put(
            &org("acme"),
            "page.bin",
            b"<script>alert(1)</script>".to_vec(),
            &shared::domain::served_as("text/html"),
            None,
        )
        .await
        .unwrap();
    let url = media
        .presign_get(&org("acme"), &page, Duration::from_secs(60))
        .await
        .unwrap();
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(response.headers()["content-disposition"], "attachment");

    let upload = media
        .presign_put(
            &org("acme"),
            "acme/uploads/a.bin",
            "application/octet-stream",
            3,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let mut put = client.put(&upload.url).body(vec![1u8, 2, 3]);
    for (k, v) in &upload.headers {
        put = put.header(k, v);
    }
    let response = put.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let tags = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.sdk)
            .force_path_style(true)
            .build(),
    )
    .get_object_tagging()
    .bucket(stack.resources.media_bucket.clone().unwrap())
    .key("acme/uploads/a.bin")
    .send()
    .await
    .unwrap();
    assert_eq!(
        tags.tag_set()[0].key(),
        "whatsapp-upload",
        "uploads are tagged pending"
    );
    // Used by a message: sealed into a copy without the tag, which the abandoned-upload rule
    // leaves alone and no presigned PUT can reach; the type is kept.
    let sealed = media
        .seal(
            &org("acme"),
            "acme/uploads/a.bin",
            "acme/sent/01TEST/a.bin",
            None,
        )
        .await
        .unwrap()
        .expect("the upload exists");
    assert_eq!(sealed.size, 3);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&stack.sdk)
            .force_path_style(true)
            .build(),
    );
    let tags = s3
        .get_object_tagging()
        .bucket(stack.resources.media_bucket.clone().unwrap())
        .key("acme/sent/01TEST/a.bin")
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set().is_empty(),
        "the copy is not an abandoned upload"
    );
    // Under a retention period, the copy carries that tag alone (the bucket's rule for it
    // deletes the file with its message); a stored inbound file too.
    media
        .seal(
            &org("acme"),
            "acme/uploads/a.bin",
            "acme/sent/01TEST/kept.bin",
            Some(90),
        )
        .await
        .unwrap()
        .expect("the upload exists");
    let inbound = media
        .put(
            &org("acme"),
            "acme/inbound/01TEST/0.jpg",
            b"\xff\xd8\xff".to_vec(),
            &shared::domain::served_as("image/jpeg"),
            Some(30),
        )
        .await
        .unwrap();
    for (key, days) in [
        ("acme/sent/01TEST/kept.bin", "90"),
        (inbound.as_str(), "30"),
    ] {
        let tags = s3
            .get_object_tagging()
            .bucket(stack.resources.media_bucket.clone().unwrap())
            .key(key)
            .send()
            .await
            .unwrap();
        let set: Vec<(&str, &str)> = tags
            .tag_set()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect();
        assert_eq!(set, [(shared::domain::RETENTION_TAG, days)], "{key}");
    }
    assert_eq!(
        media
            .head(&org("acme"), "acme/sent/01TEST/a.bin")
            .await
            .unwrap()
            .unwrap()
            .content_type,
        sealed.content_type
    );
    assert!(
        media
            .seal(
                &org("acme"),
                "acme/uploads/none.bin",
                "acme/sent/01TEST/none.bin",
                None
            )
            .await
            .unwrap()
            .is_none(),
        "no upload, nothing sealed"
    );
    assert!(
        media
            .seal(
                &org("acme"),
                "globex/uploads/a.bin",
                "acme/sent/01TEST/b.bin",
                None
            )
            .await
            .is_err(),
        "never from another organization's prefix"
    );
    media
        .discard(&org("acme"), "acme/sent/01TEST/a.bin")
        .await
        .unwrap();
    assert!(
        media
            .head(&org("acme"), "acme/sent/01TEST/a.bin")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        media
            .read_head(&org("acme"), "acme/hello.ogg", 3)
            .await
            .unwrap()
            .unwrap(),
        b"hel"
    );
    assert_eq!(
        media
            .read_head(&org("acme"), "acme/none.txt", 3)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        media
            .head(&org("acme"), "acme/uploads/a.bin")
            .await
            .unwrap()
            .unwrap()
            .size,
        3
    );
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn missing_resources_are_unavailable_not_panics() {
    let stack = Stack::create().await;
    let mut resources = stack.resources.clone();
    resources.contacts_table = "does-not-exist".into();
    resources.messages_table = "does-not-exist".into();
    let ports = shared::runtime::aws_ports_from(&stack.settings(), &stack.sdk, resources).unwrap();
    let e = ports
        .contacts
        .get(&org("acme"), &cid("c1"))
        .await
        .unwrap_err();
    assert!(matches!(e, PortError::Unavailable(_)), "{e:?}");
    let e = ports
        .messages
        .get(&org("acme"), &MessageId::new())
        .await
        .unwrap_err();
    assert!(matches!(e, PortError::Unavailable(_)), "{e:?}");
    let _ = OrganizationId::parse("x");
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn conversations_page_poll_and_stay_in_their_organization() {
    store_contract::conversations_page_poll_and_stay_in_their_organization(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn status_moves_forward_only_and_conditionally() {
    store_contract::status_moves_forward_only_and_conditionally(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn one_worker_at_a_time_holds_a_send() {
    store_contract::one_worker_at_a_time_holds_a_send(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn erasure_deletes_only_what_it_read() {
    store_contract::erasure_deletes_only_what_it_read(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn copies_of_one_message_merge_their_files() {
    store_contract::copies_of_one_message_merge_their_files(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn inbound_details_are_kept() {
    store_contract::inbound_details_are_kept(&Stack::create().await.ports().messages).await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn sent_messages_keep_their_template_and_sender() {
    store_contract::sent_messages_keep_their_template_and_sender(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn idempotency_records_are_conditional_and_expire() {
    store_contract::idempotency_records_are_conditional_and_expire(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn inbound_messages_are_stored_once_per_sid() {
    store_contract::inbound_messages_are_stored_once_per_sid(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn a_twilio_sid_is_held_by_one_message() {
    store_contract::a_twilio_sid_is_held_by_one_message(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn drafts_are_per_agent_and_conversation() {
    store_contract::drafts_are_per_agent_and_conversation(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn canned_responses_are_unique_bounded_and_edited_as_read() {
    store_contract::canned_responses_are_unique_bounded_and_edited_as_read(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn presence_is_per_agent_and_expires() {
    store_contract::presence_is_per_agent_and_expires(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn one_content_per_interactive_payload() {
    store_contract::one_content_per_interactive_payload(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn unused_contents_are_deleted_only_when_unused() {
    store_contract::unused_contents_are_deleted_only_when_unused(
        &Stack::create().await.ports().messages,
    )
    .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn a_message_holds_one_twilio_sid() {
    store_contract::a_message_holds_one_twilio_sid(&Stack::create().await.ports().messages).await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn unconfirmed_and_destination_changes() {
    store_contract::unconfirmed_and_destination_changes(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn expired_messages_are_gone() {
    store_contract::expired_messages_are_gone(&Stack::create().await.ports().messages).await;
}

/// moto stops a Query at 1 MB as DynamoDB does: the store must read on.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn pages_are_whole_whatever_the_item_size() {
    store_contract::pages_are_whole_whatever_the_item_size(&Stack::create().await.ports().messages)
        .await;
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn dynamodb_erasure_takes_a_contacts_messages_and_only_them() {
    store_contract::erasure_takes_a_contacts_messages_and_only_them(
        &Stack::create().await.ports().messages,
    )
    .await;
}

/// `local reindex` while the indexer runs: what the indexer applies between the rebuild's
/// reads and its writes is never undone — an opt-out is not restored, a new contact's terms
/// are not dropped, a rename keeps only the new name.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn reindex_never_undoes_what_the_indexer_applied_meanwhile() {
    use shared::aws::{DynamoContacts, DynamoSearchIndex};
    use shared::domain::search::SearchQuery;
    let stack = Stack::create().await;
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let search_table = stack.resources.contact_search_table.clone();
    let contacts = DynamoContacts::new(client.clone(), stack.resources.contacts_table.clone())
        .with_search_index(search_table.clone());
    let index = DynamoSearchIndex::new(client, search_table);
    let acme = org("acme");
    let aisha = contact("acme", "c1", "Aisha Rahman", "+60123456789");
    let ben = contact("acme", "c2", "Ben Ong", "+6591234567");
    for c in [&aisha, &ben] {
        contacts.put(c).await.unwrap();
        index.apply_change(None, Some(c)).await.unwrap();
    }
    let plan = contacts.reindex_plan(&acme).await.unwrap();
    // Meanwhile the CRM writes and the indexer applies each change from the stream.
    let mut opted_out = aisha.clone();
    opted_out.whatsapp_opt_in = false;
    contacts.put(&opted_out).await.unwrap();
    index
        .apply_change(Some(&aisha), Some(&opted_out))
        .await
        .unwrap();
    let nadia = contact("acme", "c3", "Nadia Karim", "+60123450001");
    contacts.put(&nadia).await.unwrap();
    index.apply_change(None, Some(&nadia)).await.unwrap();
    let mut renamed = ben.clone();
    renamed.name = "Benjamin Ong".into();
    contacts.put(&renamed).await.unwrap();
    index
        .apply_change(Some(&ben), Some(&renamed))
        .await
        .unwrap();

    let (_, terms) = contacts.apply_reindex(&acme, plan).await.unwrap();
    assert!(terms > 0);
    let names = |entry: &str| {
        let index = index.clone();
        let query = SearchQuery::parse(entry).unwrap();
        let acme = acme.clone();
        async move {
            let page = index.search(&acme, &query, None, 10).await.unwrap();
            page.items.into_iter().map(|c| c.name).collect::<Vec<_>>()
        }
    };
    assert!(names("aisha").await.is_empty(), "the opt-out stands");
    assert_eq!(
        names("nadia").await,
        ["Nadia Karim"],
        "the new contact stays"
    );
    assert_eq!(names("ben").await, ["Benjamin Ong"]);
    assert_eq!(names("ong").await, ["Benjamin Ong"], "the rename is whole");
    // A later rebuild with nothing racing it reads the three and changes nothing.
    let again = contacts.reindex(&acme).await.unwrap();
    assert_eq!(again.0, 3);
    assert_eq!(contacts.reindex(&acme).await.unwrap(), again);
    assert_eq!(names("ong").await, ["Benjamin Ong"]);
    assert!(names("aisha").await.is_empty());
}

/// The local runner provisions its stack at every start on the same emulator.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn provisioning_a_stack_again_finds_what_is_there() {
    use shared::aws::provision::{self, StackSpec};
    let stack = Stack::create().await;
    let spec = StackSpec {
        visibility_timeout: 1,
        max_receive_count: 3,
        ..StackSpec::named(&stack.name)
    };
    let again = provision::provision(&stack.sdk, &spec).await.unwrap();
    assert_eq!(again.resources, stack.resources);
    assert_eq!(again.dlq_url, stack.dlq_url);
    let name = format!("{}/whatsapp/acme/twilio", stack.name);
    for token in ["first", "rotated"] {
        provision::put_secret(
            &stack.sdk,
            &name,
            &secret_json(ACCOUNT_SID, token, SENDER, true),
        )
        .await
        .unwrap();
    }
    let ChannelConfig::Configured(config) = stack
        .ports()
        .credentials
        .channel_config(&org("acme"))
        .await
        .unwrap()
    else {
        panic!("not configured")
    };
    assert_eq!(
        secrecy::ExposeSecret::expose_secret(&config.auth_token),
        "rotated"
    );
}

/// The CRM owns the contact item; this service writes only its own attributes. A CRM
/// attribute survives every update, and a CRM write that did not bump `version` (a block) is
/// never reverted by an opt-in computed from an older read.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn contact_updates_keep_what_the_crm_wrote() {
    let stack = Stack::create().await;
    let store = stack.ports().contacts;
    let table = &stack.resources.contacts_table;
    let dynamodb = aws_sdk_dynamodb::Client::new(&stack.sdk);
    store
        .put(&contact("acme", "c1", "Aisha Rahman", "+60123456789"))
        .await
        .unwrap();
    let crm_write = |expression: &'static str, value: aws_sdk_dynamodb::types::AttributeValue| {
        dynamodb
            .update_item()
            .table_name(table)
            .key(
                "organization_id",
                aws_sdk_dynamodb::types::AttributeValue::S("acme".into()),
            )
            .key(
                "contact_id",
                aws_sdk_dynamodb::types::AttributeValue::S("c1".into()),
            )
            .update_expression(expression)
            .expression_attribute_values(":v", value)
            .send()
    };
    crm_write(
        "SET crm_lifecycle_stage = :v",
        aws_sdk_dynamodb::types::AttributeValue::S("customer".into()),
    )
    .await
    .unwrap();
    let inbound = chrono::Utc::now();
    store
        .update(
            &org("acme"),
            &cid("c1"),
            &ContactChange {
                last_inbound_at: Some(inbound),
                whatsapp_opt_in: Some(false),
                opt_at: Some(inbound),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let raw = dynamodb
        .get_item()
        .table_name(table)
        .key(
            "organization_id",
            aws_sdk_dynamodb::types::AttributeValue::S("acme".into()),
        )
        .key(
            "contact_id",
            aws_sdk_dynamodb::types::AttributeValue::S("c1".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        raw["crm_lifecycle_stage"],
        aws_sdk_dynamodb::types::AttributeValue::S("customer".into()),
        "the CRM's attribute is kept"
    );
    assert!(
        !raw.contains_key("eligible_sort"),
        "opted out: off the list"
    );

    // The CRM blocks the contact without touching `version`; then the contact says START.
    crm_write(
        "SET whatsapp_blocked = :v",
        aws_sdk_dynamodb::types::AttributeValue::Bool(true),
    )
    .await
    .unwrap();
    let later = inbound + chrono::Duration::seconds(5);
    let after = store
        .update(
            &org("acme"),
            &cid("c1"),
            &ContactChange {
                whatsapp_opt_in: Some(true),
                opt_at: Some(later),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.whatsapp_opt_in && after.whatsapp_blocked,
        "the block stays"
    );
    let listed = store
        .list_eligible(&org("acme"), None, None, 10)
        .await
        .unwrap();
    assert!(listed.items.is_empty(), "a blocked contact is not listed");
}

/// The search index on DynamoDB: a contact's terms written and removed as it changes, and a
/// search that reads one prefix of the organization's partition, page by page.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn the_search_index_follows_contacts_and_answers_by_prefix() {
    use shared::aws::DynamoSearchIndex;
    use shared::domain::search::SearchQuery;
    let stack = Stack::create().await;
    let index = DynamoSearchIndex::new(
        aws_sdk_dynamodb::Client::new(&stack.sdk),
        stack.resources.contact_search_table.clone(),
    );
    let acme = org("acme");
    let mut aisha = contact("acme", "c1", "Aisha Rahman", "+60123456789");
    aisha.email = Some("aisha@example.com".into());
    let aiko = contact("acme", "c2", "Aiko Tan", "+60123450000");
    let other = contact("globex", "g1", "Aisha Other", "+60123456780");
    for c in [&aisha, &aiko, &other] {
        index.apply_change(None, Some(c)).await.unwrap();
    }
    // Applying the same state again changes nothing.
    index
        .apply_change(Some(&aisha), Some(&aisha))
        .await
        .unwrap();

    let names = |page: &shared::ports::Page<shared::domain::Contact>| {
        page.items
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    };
    let search = |entry: &str| SearchQuery::parse(entry).unwrap();
    let page = index.search(&acme, &search("ai"), None, 10).await.unwrap();
    assert_eq!(
        names(&page),
        ["Aiko Tan", "Aisha Rahman"],
        "never the other organization"
    );
    assert_eq!(page.next_cursor, None);
    // One per page, then the next.
    let first = index.search(&acme, &search("ai"), None, 1).await.unwrap();
    assert_eq!(names(&first), ["Aiko Tan"]);
    let second = index
        .search(&acme, &search("ai"), first.next_cursor.as_deref(), 1)
        .await
        .unwrap();
    assert_eq!(names(&second), ["Aisha Rahman"]);
    // A cursor not made by this search is a position too (never DynamoDB's refusal of a
    // start key outside the prefix): before every "ai" term, the first page; past them, none.
    let encode = shared::ports::encode_cursor;
    let before = index
        .search(&acme, &search("ai"), Some(&encode("t#a")), 10)
        .await
        .unwrap();
    assert_eq!(names(&before), ["Aiko Tan", "Aisha Rahman"]);
    for past in [encode("t#b"), encode("z")] {
        let page = index
            .search(&acme, &search("ai"), Some(&past), 10)
            .await
            .unwrap();
        assert!(page.items.is_empty() && page.next_cursor.is_none());
    }
    for entry in ["rahman", "aisha@", "+60 12 345 6789", "6789", "aisha rah"] {
        let page = index.search(&acme, &search(entry), None, 10).await.unwrap();
        assert_eq!(names(&page), ["Aisha Rahman"], "{entry}");
    }
    // Last digits that start with 0: looked up as typed (Dev's number ends in 0123) and
    // without the 0 (Aisha's national number, 0123…), the typed range first; page by page
    // across the two ranges, nothing repeated or skipped.
    let dev = contact("acme", "c4", "Dev Patel", "+14155550123");
    index.apply_change(None, Some(&dev)).await.unwrap();
    let page = index
        .search(&acme, &search("0123"), None, 10)
        .await
        .unwrap();
    assert_eq!(names(&page), ["Dev Patel", "Aiko Tan", "Aisha Rahman"]);
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..5 {
        let page = index
            .search(&acme, &search("0123"), cursor.as_deref(), 1)
            .await
            .unwrap();
        paged.extend(names(&page));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, ["Dev Patel", "Aiko Tan", "Aisha Rahman"]);
    index.apply_change(Some(&dev), None).await.unwrap();

    // Aisha opts out: her terms go; a rename moves Aiko's.
    let mut stopped = aisha.clone();
    stopped.whatsapp_unsubscribed = true;
    index
        .apply_change(Some(&aisha), Some(&stopped))
        .await
        .unwrap();
    let mut renamed = aiko.clone();
    renamed.name = "Aiko Lim".into();
    index
        .apply_change(Some(&aiko), Some(&renamed))
        .await
        .unwrap();
    let page = index.search(&acme, &search("ai"), None, 10).await.unwrap();
    assert_eq!(names(&page), ["Aiko Lim"]);
    assert!(
        index
            .search(&acme, &search("tan"), None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        index
            .search(&acme, &search("6789"), None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

/// `local reindex`: contacts stored while nothing indexed them (before the index existed, or
/// a change the indexer gave up on) become searchable, and terms no stored contact calls for
/// go; other organizations are left alone.
#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn reindex_rebuilds_an_organizations_search_from_its_contacts() {
    use shared::aws::{DynamoContacts, DynamoSearchIndex};
    use shared::domain::search::SearchQuery;
    let stack = Stack::create().await;
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let search_table = stack.resources.contact_search_table.clone();
    // A store that does not index its own writes, like the CRM writing without a stream.
    let contacts = DynamoContacts::new(client.clone(), stack.resources.contacts_table.clone())
        .with_search_index(search_table.clone());
    let index = DynamoSearchIndex::new(client, search_table);
    let acme = org("acme");
    let aisha = contact("acme", "c1", "Aisha Rahman", "+60123456789");
    let mut aiko = contact("acme", "c2", "Aiko Tan", "+60123450000");
    let mut bob = contact("acme", "c3", "Bob Ong", "+6591234567");
    bob.whatsapp_unsubscribed = true;
    let other = contact("globex", "g1", "Aiden Other", "+60123456780");
    // Stale terms: Aiko's old name, a contact that is gone, and another organization's.
    index.apply_change(None, Some(&aiko)).await.unwrap();
    let ghost = contact("acme", "c9", "Ghost Writer", "+60129999999");
    index.apply_change(None, Some(&ghost)).await.unwrap();
    index.apply_change(None, Some(&other)).await.unwrap();
    aiko.name = "Aiko Lim".into();
    for c in [&aisha, &aiko, &bob, &other] {
        contacts.put(c).await.unwrap();
    }
    let names = |entry: &str, organization: &str| {
        let index = index.clone();
        let query = SearchQuery::parse(entry).unwrap();
        let organization = org(organization);
        async move {
            let page = index.search(&organization, &query, None, 10).await.unwrap();
            page.items.into_iter().map(|c| c.name).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        names("ai", "acme").await,
        ["Aiko Tan"],
        "only what was indexed"
    );

    let (read, terms) = contacts.reindex(&acme).await.unwrap();
    assert_eq!(read, 3);
    assert!(terms > 0);
    assert_eq!(names("ai", "acme").await, ["Aiko Lim", "Aisha Rahman"]);
    for gone in ["tan", "ghost", "bob", "9999"] {
        assert!(names(gone, "acme").await.is_empty(), "{gone}");
    }
    // Another organization's terms are not touched.
    assert_eq!(names("aiden", "globex").await, ["Aiden Other"]);
    // Rebuilding again changes nothing.
    assert_eq!(contacts.reindex(&acme).await.unwrap(), (read, terms));
    assert_eq!(names("ai", "acme").await, ["Aiko Lim", "Aisha Rahman"]);
}
