//! The publisher over DynamoDB stream events shaped as Lambda delivers them
//! (NEW_AND_OLD_IMAGES, recorded item shapes of both tables), against a recording channel
//! publisher that can be made to fail.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use std::sync::{Arc, Mutex};

use aws_lambda_events::event::dynamodb::Event;
use live_publisher::LivePublisher;
use serde_json::{Value, json};
use shared::memory::MemoryMedia;
use shared::ports::{ChannelPublisher, PublishError};
use shared::runtime::Handler;

/// One publish: the channel and its events.
type Publish = (String, Vec<Value>);

/// Every publish it took, and a switch that refuses the next ones.
#[derive(Clone, Default)]
struct Channels {
    published: Arc<Mutex<Vec<Publish>>>,
    /// Publishes still taken before every later one fails (None: all taken).
    healthy_for: Arc<Mutex<Option<usize>>>,
    /// Events holding this text are refused for good (as AppSync refuses with a 400).
    rejects: Arc<Mutex<Option<String>>>,
}

impl Channels {
    fn published(&self) -> Vec<Publish> {
        self.published.lock().unwrap().clone()
    }

    fn fail_after(&self, publishes: usize) {
        *self.healthy_for.lock().unwrap() = Some(publishes);
    }

    fn reject_events_with(&self, text: &str) {
        *self.rejects.lock().unwrap() = Some(text.to_owned());
    }

    fn heal(&self) {
        *self.healthy_for.lock().unwrap() = None;
    }
}

impl ChannelPublisher for Channels {
    async fn publish(&self, channel: &str, events: &[String]) -> Result<(), PublishError> {
        assert!(events.len() <= 5, "AppSync takes at most five events");
        if let Some(text) = self.rejects.lock().unwrap().as_deref()
            && events.iter().any(|e| e.contains(text))
        {
            return Err(PublishError::Rejected(
                "HTTP 400: BadRequestException".into(),
            ));
        }
        let mut healthy = self.healthy_for.lock().unwrap();
        match healthy.as_mut() {
            Some(0) => return Err(PublishError::Unavailable("HTTP 503".into())),
            Some(n) => *n -= 1,
            None => {}
        }
        let events = events
            .iter()
            .map(|e| serde_json::from_str(e).expect("each event is a JSON string"))
            .collect();
        self.published
            .lock()
            .unwrap()
            .push((channel.to_owned(), events));
        Ok(())
    }
}

const MESSAGE_ID: &str = "01KBJ6Q2W3X4Y5Z6A7B8C9D0EF";

/// A message item as the messages table stores it, in DynamoDB's JSON.
fn message(org: &str, id: &str, contact: Option<&str>, status: &str, revision: &str) -> Value {
    let mut item = json!({
        "item_key": {"S": format!("{org}#{id}")},
        "organization_id": {"S": org},
        "message_id": {"S": id},
        "direction": {"S": "OUTBOUND"},
        "message_type": {"S": "TEXT"},
        "text": {"S": "Your order shipped"},
        "attachments": {"L": []},
        "status": {"S": status},
        "created_at": {"S": "2026-12-03T10:00:00Z"},
        "updated_at": {"S": "2026-12-03T10:00:01Z"},
        "revision": {"S": revision},
        "idempotency_key": {"S": "5d9b1d1e-2f0c-4c56-9b8e-5c1f3c7e9a10"}
    });
    if let Some(contact) = contact {
        item["contact_id"] = json!({"S": contact});
        item["conversation"] = json!({"S": format!("{org}#{contact}")});
        item["contact_phone"] = json!({"S": "+14155550101"});
    }
    item
}

fn contact(org: &str, id: &str, opted_in: bool, crm_note: &str) -> Value {
    json!({
        "organization_id": {"S": org},
        "contact_id": {"S": id},
        "name": {"S": "Aisha Rahman"},
        "phone_number": {"S": "+14155550101"},
        "whatsapp_opt_in": {"BOOL": opted_in},
        "whatsapp_blocked": {"BOOL": false},
        "whatsapp_unsubscribed": {"BOOL": false},
        "version": {"N": "3"},
        "crm_note": {"S": crm_note}
    })
}

fn record(sequence: u32, name: &str, keys: Value, old: Option<Value>, new: Option<Value>) -> Value {
    let table = if keys.get("item_key").is_some() {
        "messages"
    } else {
        "contacts"
    };
    let mut change = json!({
        "ApproximateCreationDateTime": 1764756000.0,
        "Keys": keys,
        "SequenceNumber": format!("{sequence:021}"),
        "SizeBytes": 400,
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    });
    if let Some(old) = old {
        change["OldImage"] = old;
    }
    if let Some(new) = new {
        change["NewImage"] = new;
    }
    json!({
        "eventID": format!("e{sequence}"),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": change,
        "eventSourceARN": format!("arn:aws:dynamodb:eu-west-1:123456789012:table/whatsapp-{table}/stream/2026-12-01T00:00:00.000")
    })
}

fn message_record(sequence: u32, name: &str, old: Option<Value>, new: Value) -> Value {
    let keys = json!({"item_key": new["item_key"].clone()});
    record(sequence, name, keys, old, Some(new))
}

fn event(records: Vec<Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn failures(response: &aws_lambda_events::event::streams::DynamoDbEventResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap_or_default())
        .collect()
}

fn publisher(channels: &Channels) -> LivePublisher<MemoryMedia, Channels> {
    LivePublisher::new(MemoryMedia::new("http://127.0.0.1:9"), channels.clone())
}

#[tokio::test]
async fn every_visible_change_is_published_once_on_its_organizations_channel() {
    let channels = Channels::default();
    let pending = message("acme", MESSAGE_ID, Some("c1"), "PENDING", MESSAGE_ID);
    let mut claimed = pending.clone();
    claimed["claim_until"] = json!({"S": "2026-12-03T10:00:26.000000Z"});
    let sent = message(
        "acme",
        MESSAGE_ID,
        Some("c1"),
        "SENT",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0FG",
    );
    let unknown_sender = message(
        "acme",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0HJ",
        None,
        "RECEIVED",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0HJ",
    );
    let sid_item = json!({
        "item_key": {"S": "acme#SID#SM0123456789abcdef0123456789abcdef"},
        "message_id": {"S": MESSAGE_ID}
    });
    let idem_item = json!({
        "item_key": {"S": "acme#IDEM#5d9b1d1e-2f0c-4c56-9b8e-5c1f3c7e9a10"},
        "version": {"N": "1"}
    });
    // An agent's draft: theirs alone, never pushed to anyone.
    let draft_item = json!({
        "item_key": {"S": "acme#DRAFT#c1"},
        "organization_id": {"S": "acme"},
        "agent:ana": {"M": {"kind": {"S": "message"}, "text": {"S": "private draft"}, "attachments": {"L": []}, "updated_at": {"S": "2026-12-06T09:00:00Z"}}}
    });
    let globex = message(
        "globex",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0KM",
        Some("g1"),
        "PENDING",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0KM",
    );
    let c1_keys = json!({"organization_id": {"S": "acme"}, "contact_id": {"S": "c1"}});
    let response = publisher(&channels)
        .handle(event(vec![
            message_record(1, "INSERT", None, pending.clone()),
            // A send claim: no revision moved, nothing the page would see.
            message_record(2, "MODIFY", Some(pending.clone()), claimed.clone()),
            message_record(3, "MODIFY", Some(claimed), sent),
            message_record(4, "INSERT", None, sid_item),
            message_record(5, "INSERT", None, idem_item),
            message_record(6, "INSERT", None, unknown_sender),
            message_record(11, "INSERT", None, draft_item),
            // The CRM edits a field the page does not show: nothing; the contact opts out: told.
            record(
                7,
                "MODIFY",
                c1_keys.clone(),
                Some(contact("acme", "c1", true, "a")),
                Some(contact("acme", "c1", true, "b")),
            ),
            record(
                8,
                "MODIFY",
                c1_keys.clone(),
                Some(contact("acme", "c1", true, "b")),
                Some(contact("acme", "c1", false, "b")),
            ),
            message_record(9, "INSERT", None, globex),
            record(
                10,
                "REMOVE",
                c1_keys,
                Some(contact("acme", "c1", false, "b")),
                None,
            ),
        ]))
        .await;
    assert!(failures(&response).is_empty());
    let published = channels.published();
    let channels_used: Vec<&str> = published.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        channels_used,
        ["/whatsapp/acme", "/whatsapp/globex", "/whatsapp/acme"]
    );
    let acme = &published[0].1;
    assert_eq!(acme.len(), 3, "{acme:?}");
    assert_eq!(acme[0]["type"], "message");
    assert_eq!(acme[0]["message"]["status"], "PENDING");
    assert_eq!(acme[0]["message"]["contact_id"], "c1");
    assert_eq!(acme[1]["message"]["status"], "SENT");
    assert_eq!(acme[1]["message"]["revision"], "01KBJ6Q2W3X4Y5Z6A7B8C9D0FG");
    assert_eq!(acme[2]["type"], "contact");
    assert_eq!(acme[2]["contact"]["contact_id"], "c1");
    assert_eq!(acme[2]["contact"]["eligible"], false);
    assert!(acme[2]["window"]["open"].is_boolean());
    assert_eq!(published[1].1[0]["message"]["contact_id"], "g1");
    assert_eq!(
        published[2].1,
        [json!({"type": "contact_deleted", "contact_id": "c1"})]
    );
    // Nothing internal rides along: no organization, no idempotency key, no claim.
    let text = serde_json::to_string(&published).unwrap();
    for internal in [
        "organization_id",
        "idempotency_key",
        "claim_until",
        "item_key",
        "conversation\"",
        "private draft",
    ] {
        assert!(!text.contains(internal), "{internal} leaked: {text}");
    }
}

#[tokio::test]
async fn events_go_five_to_a_publish() {
    let channels = Channels::default();
    let records = (0..12u32)
        .map(|n| {
            let id = format!("01KBJ6Q2W3X4Y5Z6A7B8C9D{n:03}");
            message_record(
                n + 1,
                "INSERT",
                None,
                message("acme", &id, Some("c1"), "PENDING", &id),
            )
        })
        .collect();
    let response = publisher(&channels).handle(event(records)).await;
    assert!(failures(&response).is_empty());
    let sizes: Vec<usize> = channels.published().iter().map(|(_, e)| e.len()).collect();
    assert_eq!(sizes, [5, 5, 2]);
}

#[tokio::test]
async fn a_failed_publish_is_retried_from_its_first_record_and_nothing_is_skipped() {
    let channels = Channels::default();
    let records: Vec<Value> = (0..12u32)
        .map(|n| {
            let id = format!("01KBJ6Q2W3X4Y5Z6A7B8C9D{n:03}");
            message_record(
                n + 1,
                "INSERT",
                None,
                message("acme", &id, Some("c1"), "PENDING", &id),
            )
        })
        .collect();
    channels.fail_after(1);
    let publisher = publisher(&channels);
    let response = publisher.handle(event(records.clone())).await;
    // The first publish (records 1–5) went; the second failed: Lambda retries from record 6.
    assert_eq!(failures(&response), [format!("{:021}", 6)]);
    assert_eq!(channels.published().len(), 1);
    // Lambda's retry: the batch again from the reported record.
    channels.heal();
    let response = publisher.handle(event(records[5..].to_vec())).await;
    assert!(failures(&response).is_empty());
    let ids: Vec<String> = channels
        .published()
        .iter()
        .flat_map(|(_, events)| {
            events
                .iter()
                .map(|e| e["message"]["id"].as_str().unwrap().to_owned())
        })
        .collect();
    let expected: Vec<String> = (0..12u32)
        .map(|n| format!("01KBJ6Q2W3X4Y5Z6A7B8C9D{n:03}"))
        .collect();
    assert_eq!(ids, expected, "every change once, in order");
}

#[tokio::test]
async fn an_unreadable_image_is_skipped_and_twilio_urls_never_leave() {
    let channels = Channels::default();
    let broken = json!({
        "item_key": {"S": format!("acme#{MESSAGE_ID}")},
        "message_id": {"S": MESSAGE_ID},
        "status": {"N": "7"}
    });
    let mut inbound = message(
        "acme",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0MN",
        Some("c1"),
        "RECEIVED",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0MN",
    );
    inbound["direction"] = json!({"S": "INBOUND"});
    inbound["attachments"] = json!({"L": [{"M": {
        "url": {"S": "https://api.twilio.com/2010-04-01/Accounts/AC0123/Messages/MM01/Media/ME01"},
        "content_type": {"S": "image/jpeg"}
    }}]});
    let mut copied = inbound.clone();
    copied["revision"] = json!({"S": "01KBJ6Q2W3X4Y5Z6A7B8C9D0PQ"});
    copied["attachments"] = json!({"L": [{"M": {
        "key": {"S": "acme/inbound/01KBJ6Q2W3X4Y5Z6A7B8C9D0MN/0.jpg"},
        "content_type": {"S": "image/jpeg"},
        "size": {"N": "52133"}
    }}]});
    let response = publisher(&channels)
        .handle(event(vec![
            message_record(1, "INSERT", None, broken),
            message_record(2, "INSERT", None, inbound.clone()),
            message_record(3, "MODIFY", Some(inbound), copied),
        ]))
        .await;
    assert!(failures(&response).is_empty());
    let published = channels.published();
    let events = &published[0].1;
    assert_eq!(events.len(), 2);
    let text = serde_json::to_string(&published).unwrap();
    assert!(!text.contains("twilio.com"), "{text}");
    assert_eq!(
        events[0]["message"]["attachments"][0]["content_type"],
        "image/jpeg"
    );
    assert!(events[0]["message"]["attachments"][0]["url"].is_null());
    // Once copied, the file comes with a download URL of our own, as in a conversation page.
    let url = events[1]["message"]["attachments"][0]["url"]
        .as_str()
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:9/"), "{url}");
}

/// A conversation summary as the messages table stores it (`{org}#CONV#<contact>`).
fn summary(org: &str, contact: &str, inbound: u64, read: u64, version: u64) -> Value {
    json!({
        "item_key": {"S": format!("{org}#CONV#{contact}")},
        "organization_id": {"S": org},
        "contact_id": {"S": contact},
        "inbox": {"S": org},
        "activity": {"S": format!("{MESSAGE_ID}#{contact}")},
        "last_message": {"M": {
            "id": {"S": MESSAGE_ID},
            "revision": {"S": MESSAGE_ID},
            "direction": {"S": "INBOUND"},
            "status": {"S": "RECEIVED"},
            "preview": {"S": "Is my order on its way?"},
            "created_at": {"S": "2026-12-03T10:00:00Z"}
        }},
        "inbound_count": {"N": inbound.to_string()},
        "read_count": {"N": read.to_string()},
        "last_inbound_id": {"S": MESSAGE_ID},
        "version": {"N": version.to_string()}
    })
}

#[tokio::test]
async fn an_inbox_row_is_published_when_its_version_moves_and_never_with_internals() {
    let channels = Channels::default();
    let first = summary("acme", "c1", 1, 0, 1);
    let read = summary("acme", "c1", 1, 1, 2);
    let response = publisher(&channels)
        .handle(event(vec![
            message_record(1, "INSERT", None, first.clone()),
            // Rewritten as it was (the same version): nothing new to tell.
            message_record(2, "MODIFY", Some(first.clone()), first.clone()),
            message_record(3, "MODIFY", Some(first), read.clone()),
            // Gone (erasure, retention): the contact's removal tells the page.
            record(
                4,
                "REMOVE",
                json!({"item_key": read["item_key"].clone()}),
                Some(read),
                None,
            ),
        ]))
        .await;
    assert!(failures(&response).is_empty());
    let published = channels.published();
    assert_eq!(published.len(), 1, "{published:?}");
    let (channel, events) = &published[0];
    assert_eq!(channel, "/whatsapp/acme");
    let rows: Vec<(u64, u64)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "conversation");
            let row = &e["conversation"];
            assert_eq!(row["contact_id"], "c1");
            assert_eq!(row["last_message"]["preview"], "Is my order on its way?");
            (
                row["version"].as_u64().unwrap(),
                row["unread_count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows, [(1, 1), (2, 0)]);
    let text = serde_json::to_string(&published).unwrap();
    for internal in [
        "acme#",
        "\"inbound_count\"",
        "\"read_count\"",
        "\"inbox\"",
        "\"activity\"",
    ] {
        assert!(!text.contains(internal), "{internal} in {text}");
    }
}

/// An event the Event API refuses for good (a 4xx) is logged and skipped, and the records
/// behind it are still published: nothing is retried for ever or lost behind it.
#[tokio::test]
async fn an_event_refused_for_good_is_skipped_and_the_rest_still_published() {
    let channels = Channels::default();
    channels.reject_events_with("01KBJ6Q2W3X4Y5Z6A7B8C9D0B2");
    let ids = [
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0B1",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0B2",
        "01KBJ6Q2W3X4Y5Z6A7B8C9D0B3",
    ];
    let records = ids
        .iter()
        .zip(1..)
        .map(|(id, n)| {
            message_record(
                n,
                "INSERT",
                None,
                message("acme", id, Some("c1"), "PENDING", id),
            )
        })
        .collect();
    let response = publisher(&channels).handle(event(records)).await;
    assert!(failures(&response).is_empty(), "{:?}", failures(&response));
    let published: Vec<String> = channels
        .published()
        .into_iter()
        .flat_map(|(_, events)| events)
        .map(|e| e["message"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(published, [ids[0], ids[2]]);
}

/// An organization whose id AppSync cannot take as a channel segment (an underscore; more
/// than 50 characters) has no channel: its records are skipped, the others published.
#[tokio::test]
async fn an_organization_without_a_channel_is_skipped_not_retried() {
    let channels = Channels::default();
    let long = "a".repeat(64);
    let records = vec![
        message_record(
            1,
            "INSERT",
            None,
            message("org_x", MESSAGE_ID, Some("c1"), "PENDING", MESSAGE_ID),
        ),
        message_record(
            2,
            "INSERT",
            None,
            message(&long, MESSAGE_ID, Some("c1"), "PENDING", MESSAGE_ID),
        ),
        message_record(
            3,
            "INSERT",
            None,
            message("acme", MESSAGE_ID, Some("c1"), "PENDING", MESSAGE_ID),
        ),
    ];
    let response = publisher(&channels).handle(event(records)).await;
    assert!(failures(&response).is_empty(), "{:?}", failures(&response));
    let channels_used: Vec<String> = channels.published().into_iter().map(|(c, _)| c).collect();
    assert_eq!(channels_used, ["/whatsapp/acme"]);
}

/// A conversation's presence item as the inbox writes it: one attribute per agent.
fn presence_item(org: &str, contact: &str, agents: &[(&str, &str, &str)]) -> Value {
    let mut item = json!({
        "item_key": {"S": format!("{org}#PRESENCE#{contact}")},
        "organization_id": {"S": org},
        "contact_id": {"S": contact},
        "expires_at_epoch": {"N": "1796650000"}
    });
    for (sub, name, state) in agents {
        item[format!("agent:{sub}")] = json!({"M": {
            "agent": {"M": {"sub": {"S": sub}, "name": {"S": name}}},
            "state": {"S": state},
            "expires_at": {"S": "2026-12-06T18:05:00Z"}
        }});
    }
    item
}

#[tokio::test]
async fn presence_is_published_as_the_one_agent_whose_attribute_changed() {
    let channels = Channels::default();
    let none = presence_item("acme", "c1", &[]);
    let ana = presence_item("acme", "c1", &[("ana", "Ana", "viewing")]);
    let both = presence_item(
        "acme",
        "c1",
        &[("ana", "Ana", "viewing"), ("ben", "Ben", "composing")],
    );
    let ben_only = presence_item("acme", "c1", &[("ben", "Ben", "composing")]);
    let records = vec![
        message_record(1, "INSERT", None, ana.clone()),
        message_record(2, "MODIFY", Some(ana.clone()), both.clone()),
        // Ana leaves: her attribute is removed; told as `left`.
        message_record(3, "MODIFY", Some(both), ben_only.clone()),
        // A write that changes no agent's presence (only the item's TTL moved): nothing.
        message_record(4, "MODIFY", Some(ben_only.clone()), ben_only.clone()),
        // DynamoDB's TTL deletes a forgotten item: nothing anybody shows.
        record(
            5,
            "REMOVE",
            json!({"item_key": none["item_key"].clone()}),
            Some(ben_only),
            None,
        ),
    ];
    let response = publisher(&channels).handle(event(records)).await;
    assert!(failures(&response).is_empty(), "{:?}", failures(&response));
    let events: Vec<Value> = channels
        .published()
        .into_iter()
        .flat_map(|(channel, events)| {
            assert_eq!(channel, "/whatsapp/acme");
            events
        })
        .collect();
    let told: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "presence");
            assert_eq!(e["contact_id"], "c1");
            assert_eq!(e["expires_at"], "2026-12-06T18:05:00Z");
            (
                e["agent"]["sub"].as_str().unwrap(),
                e["agent"]["name"].as_str().unwrap(),
                e["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        told,
        [
            ("ana", "Ana", "viewing"),
            ("ben", "Ben", "composing"),
            ("ana", "Ana", "left")
        ]
    );
}
