//! The typing indicator and read receipts: when WhatsApp is told, for which message, how
//! often, and that nothing of it ever reaches the agent as an error.

use chrono::{Duration, Utc};
use shared::domain::{Direction, Message};
use shared::ports::{ContactStore, MessageStore};
use shared::testing::{
    ACCOUNT_SID, AUTH_TOKEN, SENDER, contact, error_code, json_body, org, secret_json,
};
use shared::twilio::TwilioError;

use super::{api, message, post, read, received, up_to};

/// org-a configured, with `extra` fields in its secret.
async fn configured(extra: serde_json::Value) -> inbox::InboxApi<shared::memory::MemoryPorts> {
    let api = api().await;
    let mut secret: serde_json::Value =
        serde_json::from_str(&secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)).unwrap();
    for (k, v) in extra.as_object().unwrap() {
        secret[k] = v.clone();
    }
    api.ports
        .credentials
        .put_secret(&org("org-a"), secret.to_string());
    api
}

async fn typing(api: &inbox::InboxApi<shared::memory::MemoryPorts>, contact: &str) -> String {
    let r = post(api, Some("org-a"), contact, "typing", None).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    json_body(&r)["indicator"].as_str().unwrap().to_owned()
}

fn sid(m: &Message) -> String {
    m.twilio_message_sid.clone().unwrap()
}

#[tokio::test]
async fn reading_tells_whatsapp_once_and_typing_keeps_it_up_at_most_every_20_seconds() {
    let api = configured(serde_json::json!({})).await;
    let first = received(&api, "org-a", Some("c1"), "Hello").await;
    let newest = received(&api, "org-a", Some("c1"), "Are you there?").await;

    let r = read(&api, Some("org-a"), "c1", &up_to(newest.id)).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(json_body(&r)["unread_count"], 0);
    // The newest message read: WhatsApp marks it and the one before read.
    assert_eq!(api.ports.sender.typing_indicators(), [sid(&newest)]);

    // Typing right after: the indicator is still up, no second call.
    assert_eq!(typing(&api, "c1").await, "not_due");
    assert_eq!(api.ports.sender.typing_indicators().len(), 1);
    assert_ne!(sid(&first), sid(&newest));

    // Another conversation has its own turn.
    let ben = received(&api, "org-a", Some("c2"), "Hi").await;
    assert_eq!(typing(&api, "c2").await, "sent");
    assert_eq!(
        api.ports.sender.typing_indicators(),
        [sid(&newest), sid(&ben)]
    );
}

#[tokio::test]
async fn a_read_up_to_an_older_message_names_that_one_never_a_newer_unread_one() {
    let api = configured(serde_json::json!({})).await;
    let older = received(&api, "org-a", Some("c1"), "First").await;
    received(&api, "org-a", Some("c1"), "Second").await;
    let r = read(&api, Some("org-a"), "c1", &up_to(older.id)).await;
    assert_eq!(json_body(&r)["unread_count"], 1);
    assert_eq!(api.ports.sender.typing_indicators(), [sid(&older)]);
}

#[tokio::test]
async fn an_organization_that_turns_read_receipts_off_tells_whatsapp_nothing() {
    let api = configured(serde_json::json!({ "send_read_receipts": "false" })).await;
    let m = received(&api, "org-a", Some("c1"), "Hello").await;
    let r = read(&api, Some("org-a"), "c1", &up_to(m.id)).await;
    assert_eq!(
        (r.status_code, json_body(&r)["unread_count"].as_u64()),
        (200, Some(0))
    );
    assert_eq!(typing(&api, "c1").await, "off");
    // Not configured at all: the same.
    api.ports.credentials.remove_secret(&org("org-a"));
    assert_eq!(typing(&api, "c1").await, "off");
    assert!(api.ports.sender.typing_indicators().is_empty());
}

#[tokio::test]
async fn only_an_inbound_message_whatsapp_still_marks_read_to_a_contact_who_may_be_written_to() {
    let api = configured(serde_json::json!({})).await;
    // No message yet; then only our own.
    assert_eq!(typing(&api, "c1").await, "no_inbound_message");
    let ours = message("org-a", Some("c1"), "Hi from us", Direction::Outbound);
    api.ports.messages.insert(&ours).await.unwrap();
    assert_eq!(typing(&api, "c1").await, "no_inbound_message");
    // Received 31 days ago: WhatsApp marks read within 30 days only.
    let mut old = message("org-a", Some("c2"), "Long ago", Direction::Inbound);
    old.created_at = Utc::now() - Duration::days(31);
    api.ports.messages.insert_inbound(&old).await.unwrap();
    assert_eq!(typing(&api, "c2").await, "no_inbound_message");
    // Opted out since: nothing is shown to them.
    received(&api, "org-a", Some("c3"), "STOP").await;
    let mut carla = contact("org-a", "c3", "Carla Mendes", "+447911123456");
    carla.whatsapp_opt_in = false;
    api.ports.contacts.put(&carla).await.unwrap();
    assert_eq!(typing(&api, "c3").await, "ineligible");
    assert!(api.ports.sender.typing_indicators().is_empty());
}

#[tokio::test]
async fn typing_for_another_organizations_contact_is_not_found_and_tells_no_one() {
    let api = configured(serde_json::json!({})).await;
    // org-b is configured too, and its contact wrote: only org-b's agents may answer.
    let mut secret: serde_json::Value =
        serde_json::from_str(&secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)).unwrap();
    secret["twilio_whatsapp_from"] = "whatsapp:+14155550100".into();
    api.ports
        .credentials
        .put_secret(&org("org-b"), secret.to_string());
    let theirs = received(&api, "org-b", Some("b1"), "Hello org-b").await;

    let other = post(&api, Some("org-a"), "b1", "typing", None).await;
    assert_eq!(
        (other.status_code, error_code(&other)),
        (404, "not_found".to_owned())
    );
    let foreign_read = read(&api, Some("org-a"), "b1", &up_to(theirs.id)).await;
    assert_eq!(foreign_read.status_code, 404);
    let unknown = post(&api, Some("org-a"), "nobody", "typing", None).await;
    assert_eq!(unknown.status_code, 404);
    let anonymous = post(&api, None, "b1", "typing", None).await;
    assert_eq!(anonymous.status_code, 401);
    assert!(api.ports.sender.typing_indicators().is_empty());

    // Its own organization's agent may.
    let own = post(&api, Some("org-b"), "b1", "typing", None).await;
    assert_eq!(json_body(&own)["indicator"], "sent");
    assert_eq!(api.ports.sender.typing_indicators(), [sid(&theirs)]);
}

#[tokio::test]
async fn a_failing_indicator_never_reaches_the_agent() {
    let api = configured(serde_json::json!({})).await;
    let m = received(&api, "org-a", Some("c1"), "Hello").await;
    api.ports.sender.fail_typing_indicator(TwilioError::Api {
        http_status: 500,
        code: Some(20500),
        message: "Internal Server Error".into(),
        more_info: None,
    });
    let r = read(&api, Some("org-a"), "c1", &up_to(m.id)).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(json_body(&r)["unread_count"], 0, "the read is kept");
    assert_eq!(api.ports.sender.typing_indicators(), [sid(&m)]);
    // Its turn was taken: the next comes after the period, not at once.
    assert_eq!(typing(&api, "c1").await, "not_due");
}
