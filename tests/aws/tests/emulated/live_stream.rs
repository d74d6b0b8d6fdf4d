//! The live publisher on the emulator's own DynamoDB stream: messages written through the
//! DynamoDB adapter (a send with its claim and status, an inbound with its `SID#` marker and
//! its copied file), read back from moto's stream by boto3 (`tests/aws/sdk/stream_records.py`)
//! as Lambda delivers them, published once each and nothing else.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use chrono::Utc;
use live_publisher::LivePublisher;
use shared::domain::{
    Attachment, ContactId, Message, MessageType, OutboundPart, PhoneNumber, StatusChange,
};
use shared::memory::MemoryMedia;
use shared::ports::{ChannelPublisher, PublishError};
use shared::ports::{InboundInsert, MessageStore};
use shared::runtime::Handler;
use shared::testing::org;

use crate::emulator::{Stack, endpoint};

#[derive(Clone, Default)]
struct Channels(Arc<Mutex<Vec<(String, serde_json::Value)>>>);

impl ChannelPublisher for Channels {
    async fn publish(&self, channel: &str, events: &[String]) -> Result<(), PublishError> {
        let mut published = self.0.lock().unwrap();
        for event in events {
            published.push((channel.to_owned(), serde_json::from_str(event).unwrap()));
        }
        Ok(())
    }
}

fn stream_event(table: &str) -> Event {
    let request =
        serde_json::json!({"endpoint": endpoint(), "region": "eu-west-1", "table": table});
    serde_json::from_value(crate::emulator::venv_script("stream_records.py", &request))
        .expect("records as Lambda delivers them")
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn every_change_on_the_emulators_stream_is_published_once() {
    let stack = Stack::create_with_streams(true).await;
    let ports = stack.ports();
    let acme = org("acme");
    let contact = ContactId::parse("c-ben").unwrap();
    let phone = PhoneNumber::parse_e164("+6591234567").unwrap();
    let now = Utc::now();

    // A send: stored PENDING, claimed by a worker (no visible change), sent with its sid held.
    let send = Message::outbound_pending(
        &acme,
        &contact,
        &phone,
        OutboundPart {
            message_type: MessageType::Text,
            text: Some("Your order shipped".into()),
            attachment: None,
        },
        now,
    );
    ports.messages.insert(&send).await.unwrap();
    ports
        .messages
        .claim_send(&acme, &send.id, now, Duration::from_secs(25))
        .await
        .unwrap();
    let sid = "SM0123456789abcdef0123456789abcdef";
    assert!(ports.messages.hold_sid(&acme, sid, &send.id).await.unwrap());
    ports
        .messages
        .apply_status(&acme, &send.id, &StatusChange::sent(sid))
        .await
        .unwrap();
    // A reply with a photo (its SID# marker written with it), then the copy of the photo.
    let photo = Attachment {
        key: None,
        url: Some("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1".into()),
        content_type: "image/jpeg".into(),
        filename: None,
        size: None,
        error: None,
        card: None,
    };
    let reply = Message::inbound(
        &acme,
        Some(contact.clone()),
        Some(&phone),
        "MM0123456789abcdef0123456789abcdef",
        Some("Thanks!".into()),
        vec![photo.clone()],
        now,
    );
    assert!(matches!(
        ports.messages.insert_inbound(&reply).await.unwrap(),
        InboundInsert::Stored
    ));
    let copied = Attachment {
        key: Some(format!("acme/inbound/{}/0.jpg", reply.id)),
        url: None,
        size: Some(52_133),
        ..photo
    };
    ports
        .messages
        .update_attachments(&acme, &reply.id, &[copied])
        .await
        .unwrap();

    let event = stream_event(&stack.resources.messages_table);
    assert!(
        event.records.len() >= 7,
        "the stream holds every write, side items included ({})",
        event.records.len()
    );
    let channels = Channels::default();
    let publisher = LivePublisher::new(MemoryMedia::new("http://127.0.0.1:9"), channels.clone());
    let response = publisher.handle(event).await;
    assert!(response.batch_item_failures.is_empty());
    let all = channels.0.lock().unwrap().clone();
    // The conversation's inbox row, each version once, in order, counting the reply once.
    let rows: Vec<&serde_json::Value> = all
        .iter()
        .filter(|(_, e)| e["type"] == "conversation")
        .map(|(_, e)| &e["conversation"])
        .collect();
    let versions: Vec<u64> = rows
        .iter()
        .map(|r| r["version"].as_u64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    let last = rows.last().expect("the inbox row is published");
    assert_eq!(last["last_message"]["id"], reply.id.to_string());
    assert_eq!(last["unread_count"], 1);
    assert!(rows.iter().all(|r| r["unread_count"].as_u64() <= Some(1)));
    let published: Vec<(String, serde_json::Value)> = all
        .into_iter()
        .filter(|(_, e)| e["type"] != "conversation")
        .collect();
    let seen: Vec<(String, String, String)> = published
        .iter()
        .map(|(channel, e)| {
            assert_eq!(e["type"], "message");
            (
                channel.clone(),
                e["message"]["id"].as_str().unwrap().to_owned(),
                e["message"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let (send_id, reply_id) = (send.id.to_string(), reply.id.to_string());
    let channel = "/whatsapp/acme".to_owned();
    assert_eq!(
        seen,
        [
            (channel.clone(), send_id.clone(), "PENDING".to_owned()),
            (channel.clone(), send_id, "SENT".to_owned()),
            (channel.clone(), reply_id.clone(), "RECEIVED".to_owned()),
            (channel, reply_id, "RECEIVED".to_owned()),
        ],
        "each visible change once: no claim, no SID# marker"
    );
    let text = serde_json::to_string(&published).unwrap();
    assert!(!text.contains("twilio.com"), "{text}");
    assert!(
        published[3].1["message"]["attachments"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:9/")
    );
}
