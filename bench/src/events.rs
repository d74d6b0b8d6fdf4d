//! The events each function gets during the benchmark, shaped as API Gateway and SQS deliver
//! them; webhooks are signed with the organization's auth token as Twilio signs them.

use std::collections::HashMap;

use shared::api::{GatewayRequest, gateway_event};
use shared::testing::jwt_event;
use shared::twilio::compute_signature;

pub const ORG: &str = "bench";
pub const ACCOUNT_SID: &str = "AC0000000000000000000000000000beef";
pub const AUTH_TOKEN: &str = "bench-auth-token-0123456789abcdef";
pub const SENDER: &str = "+14155238886";
pub const CONTACT_ID: &str = "c-bench";
pub const CONTACT_PHONE: &str = "+60123456789";
/// The URL Twilio is configured to call (`PUBLIC_BASE_URL` of the webhook function).
pub const PUBLIC_BASE_URL: &str = "https://bench.example.com";

fn json(event: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_default()
}

/// The first page of a contact search in an organization.
pub fn search_contacts(org: &str, entry: &str) -> Vec<u8> {
    let query = format!("q={}&limit=25", url_escape(entry));
    json(&jwt_event(
        "GET",
        "/whatsapp/contacts",
        &query,
        Some(org),
        None,
    ))
}

fn url_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The channel status, its senders' health included (the page's second read of it).
pub fn channel() -> Vec<u8> {
    json(&jwt_event("GET", "/whatsapp/channel", "", Some(ORG), None))
}

pub fn list_contacts() -> Vec<u8> {
    json(&jwt_event("GET", "/whatsapp/contacts", "", Some(ORG), None))
}

/// The first page of an organization's inbox (25 conversations).
pub fn inbox_page(org: &str) -> Vec<u8> {
    json(&jwt_event(
        "GET",
        "/whatsapp/conversations",
        "limit=25",
        Some(org),
        None,
    ))
}

/// The benchmark contact's conversation read up to one of its messages.
pub fn mark_read(up_to: &str) -> Vec<u8> {
    let body = serde_json::json!({ "up_to": up_to }).to_string();
    let mut event = jwt_event(
        "POST",
        "/whatsapp/conversations/{contact_id}/read",
        "",
        Some(ORG),
        Some(&body),
    );
    event.raw_path = Some(format!("/whatsapp/conversations/{CONTACT_ID}/read"));
    event
        .path_parameters
        .insert("contact_id".to_owned(), CONTACT_ID.to_owned());
    json(&event)
}

/// An agent typing in the benchmark contact's conversation (the typing hint).
pub fn typing() -> Vec<u8> {
    let mut event = jwt_event(
        "POST",
        "/whatsapp/conversations/{contact_id}/typing",
        "",
        Some(ORG),
        None,
    );
    event.raw_path = Some(format!("/whatsapp/conversations/{CONTACT_ID}/typing"));
    event
        .path_parameters
        .insert("contact_id".to_owned(), CONTACT_ID.to_owned());
    json(&event)
}

/// The benchmark agent's draft in the benchmark contact's conversation: read (`GET`) or
/// saved (`PUT` with `text`), as the page does on opening a conversation and after a pause
/// in typing.
pub fn draft(method: &str, text: Option<&str>) -> Vec<u8> {
    let body = text.map(|t| serde_json::json!({ "text": t }).to_string());
    let mut event = jwt_event(
        method,
        "/whatsapp/conversations/{contact_id}/draft",
        "",
        Some(ORG),
        body.as_deref(),
    );
    event.raw_path = Some(format!("/whatsapp/conversations/{CONTACT_ID}/draft"));
    event
        .path_parameters
        .insert("contact_id".to_owned(), CONTACT_ID.to_owned());
    json(&event)
}

/// The newest page of the conversation (what opening a contact loads).
pub fn conversation_page() -> Vec<u8> {
    let query = format!("contact_id={CONTACT_ID}");
    json(&jwt_event(
        "GET",
        "/whatsapp/messages",
        &query,
        Some(ORG),
        None,
    ))
}

/// A poll with nothing new since `cursor`.
pub fn empty_poll(cursor: &str) -> Vec<u8> {
    let query = format!("contact_id={CONTACT_ID}&after={cursor}");
    json(&jwt_event(
        "GET",
        "/whatsapp/messages",
        &query,
        Some(ORG),
        None,
    ))
}

pub fn send(text: &str) -> Vec<u8> {
    let body = serde_json::json!({"contact_id": CONTACT_ID, "text": text}).to_string();
    json(&jwt_event(
        "POST",
        "/whatsapp/messages",
        "",
        Some(ORG),
        Some(&body),
    ))
}

/// Three quick-reply buttons, the same every time (as a canned response sends them).
pub fn send_buttons() -> Vec<u8> {
    let body = serde_json::json!({"contact_id": CONTACT_ID, "interactive": {
        "type": "buttons", "body": "When should we deliver?",
        "buttons": [{"id": "1", "title": "Today"}, {"id": "2", "title": "Tomorrow"},
                    {"id": "3", "title": "Next week"}]}})
    .to_string();
    json(&jwt_event(
        "POST",
        "/whatsapp/messages",
        "",
        Some(ORG),
        Some(&body),
    ))
}

pub fn presign_upload() -> Vec<u8> {
    let body = r#"{"filename":"invoice.pdf","content_type":"application/pdf","size":48213}"#;
    json(&jwt_event(
        "POST",
        "/whatsapp/attachments",
        "",
        Some(ORG),
        Some(body),
    ))
}

/// The SQS batch the event source mapping delivers for one send job.
pub fn worker_job(message_id: &str) -> Vec<u8> {
    let body = serde_json::json!({"organization_id": ORG, "message_id": message_id, "attempt": 1});
    json(&serde_json::json!({"Records": [{
        "messageId": ulid::Ulid::new().to_string(),
        "receiptHandle": "AQEBbench",
        "body": body.to_string(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795752000000",
            "SenderId": "AROAEXAMPLE:send-message", "ApproximateFirstReceiveTimestamp": "1795752000050"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:bench-send",
        "awsRegion": "eu-west-1"
    }]}))
}

fn webhook(path_suffix: &str, query: &str, params: &[(String, String)]) -> Vec<u8> {
    signed_webhook(AUTH_TOKEN, path_suffix, query, params)
}

fn signed_webhook(
    token: &str,
    path_suffix: &str,
    query: &str,
    params: &[(String, String)],
) -> Vec<u8> {
    let path = format!("/webhook/twilio/whatsapp/{ORG}{path_suffix}");
    let url = if query.is_empty() {
        format!("{PUBLIC_BASE_URL}{path}")
    } else {
        format!("{PUBLIC_BASE_URL}{path}?{query}")
    };
    let signature = compute_signature(token, &url, params);
    let event = gateway_event(GatewayRequest {
        method: "POST".into(),
        raw_path: path,
        route_key: format!("POST /webhook/twilio/whatsapp/{{organization_id}}{path_suffix}"),
        raw_query: query.into(),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded; charset=UTF-8".into(),
            ),
            ("x-twilio-signature".into(), signature),
            ("user-agent".into(), "TwilioProxy/1.1".into()),
        ],
        body: Some(
            serde_urlencoded::to_string(params)
                .unwrap_or_default()
                .into_bytes(),
        ),
        path_parameters: HashMap::from([("organization_id".into(), ORG.into())]),
        claims: None,
        domain_name: "bench.execute-api.eu-west-1.amazonaws.com".into(),
        source_ip: "54.172.60.1".into(),
    });
    event.map(|e| json(&e)).unwrap_or_default()
}

fn pairs(params: &[(&str, &str)]) -> Vec<(String, String)> {
    params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The form fields Twilio posts for an inbound WhatsApp text.
pub fn inbound_params(message_sid: &str, body: &str) -> Vec<(String, String)> {
    let from = format!("whatsapp:{CONTACT_PHONE}");
    let to = format!("whatsapp:{SENDER}");
    pairs(&[
        ("SmsMessageSid", message_sid),
        ("NumMedia", "0"),
        ("ProfileName", "Aisha"),
        ("MessageType", "text"),
        ("SmsSid", message_sid),
        ("WaId", CONTACT_PHONE.trim_start_matches('+')),
        ("SmsStatus", "received"),
        ("Body", body),
        ("To", &to),
        ("NumSegments", "1"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", message_sid),
        ("AccountSid", ACCOUNT_SID),
        ("From", &from),
        ("ApiVersion", "2010-04-01"),
    ])
}

pub fn inbound(message_sid: &str, body: &str) -> Vec<u8> {
    webhook("", "", &inbound_params(message_sid, body))
}

/// An inbound webhook signed with a token the organization never had: refused with 403, the
/// secret read again at most once per 10 s (a token rotated meanwhile would be found).
pub fn forged_inbound(message_sid: &str) -> Vec<u8> {
    signed_webhook(
        "forged-token-0000000000000000000",
        "",
        "",
        &inbound_params(message_sid, "forged"),
    )
}

pub fn status_callback(message_id: &str, message_sid: &str, status: &str) -> Vec<u8> {
    let to = format!("whatsapp:{CONTACT_PHONE}");
    let from = format!("whatsapp:{SENDER}");
    let params = pairs(&[
        ("ChannelPrefix", "whatsapp"),
        ("ApiVersion", "2010-04-01"),
        ("MessageStatus", status),
        ("SmsSid", message_sid),
        ("SmsStatus", status),
        ("To", &to),
        ("From", &from),
        ("MessageSid", message_sid),
        ("AccountSid", ACCOUNT_SID),
    ]);
    webhook("/status", &format!("message_id={message_id}"), &params)
}

/// Twilio fetching an outbound attachment through its signed link (`HEAD` first, then `GET`).
pub fn media_link(method: &str, key: &str) -> Vec<u8> {
    let expires = chrono::Utc::now().timestamp() + shared::media_link::LINK_LIFETIME_SECONDS;
    let org = shared::domain::OrganizationId::parse(ORG).ok();
    let Some(path) = org.and_then(|org| shared::media_link::path(AUTH_TOKEN, &org, key, expires))
    else {
        return Vec::new();
    };
    let mut parts = path.trim_start_matches('/').splitn(4, '/').skip(2);
    let (token, filename) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let event = gateway_event(GatewayRequest {
        method: method.into(),
        raw_path: path.clone(),
        route_key: format!("{method} /media/{{organization_id}}/{{token}}/{{filename}}"),
        raw_query: String::new(),
        headers: vec![("user-agent".into(), "TwilioProxy/1.1".into())],
        body: None,
        path_parameters: HashMap::from([
            ("organization_id".into(), ORG.into()),
            ("token".into(), token.into()),
            ("filename".into(), filename.into()),
        ]),
        claims: None,
        domain_name: "bench.execute-api.eu-west-1.amazonaws.com".into(),
        source_ip: "54.172.60.1".into(),
    });
    event.map(|e| json(&e)).unwrap_or_default()
}

/// A contact item as the contacts table holds it, in DynamoDB's JSON.
fn contact_image(id: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "organization_id": {"S": ORG},
        "contact_id": {"S": id},
        "name": {"S": name},
        "email": {"S": format!("{id}@example.com")},
        "phone_number": {"S": CONTACT_PHONE},
        "whatsapp_opt_in": {"BOOL": true},
        "whatsapp_blocked": {"BOOL": false},
        "whatsapp_unsubscribed": {"BOOL": false},
        "version": {"N": "2"}
    })
}

/// The contacts table's stream delivering one change: the CRM renamed contact number `n`
/// (its search terms move to the new name).
pub fn contact_renamed(n: usize) -> Vec<u8> {
    let id = format!("c-renamed-{n}");
    json(&serde_json::json!({"Records": [{
        "eventID": format!("e{n}"),
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_752_000.0,
            "Keys": {"organization_id": {"S": ORG}, "contact_id": {"S": &id}},
            "OldImage": contact_image(&id, "Nur Aisha"),
            "NewImage": contact_image(&id, "Nur Aisha Rahman"),
            "SequenceNumber": format!("{n:021}"),
            "SizeBytes": 400,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-contacts/stream/2026-11-26T00:00:00.000"
    }]}))
}

/// The stream record of the CRM deleting contact number `n` (renamed before): its terms go,
/// its erasure is queued.
pub fn contact_removed(n: usize) -> Vec<u8> {
    let id = format!("c-renamed-{n}");
    json(&serde_json::json!({"Records": [{
        "eventID": format!("r{n}"),
        "eventName": "REMOVE",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_795_752_000.0,
            "Keys": {"organization_id": {"S": ORG}, "contact_id": {"S": &id}},
            "OldImage": contact_image(&id, "Nur Aisha Rahman"),
            "SequenceNumber": format!("{:021}", 1_000_000 + n),
            "SizeBytes": 200,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        },
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-contacts/stream/2026-11-26T00:00:00.000"
    }]}))
}

/// The SQS batch of one erasure job of the benchmark contact (deleted by then): the next
/// page of its conversation, from the newest message down.
pub fn erasure_job() -> Vec<u8> {
    let (Ok(org), Ok(contact)) = (
        shared::domain::OrganizationId::parse(ORG),
        shared::domain::ContactId::parse(CONTACT_ID),
    ) else {
        return Vec::new();
    };
    let job = shared::domain::WorkerJob::erase_contact(&org, &contact);
    json(&serde_json::json!({"Records": [{
        "messageId": ulid::Ulid::new().to_string(),
        "receiptHandle": "AQEBbench",
        "body": serde_json::to_string(&job).unwrap_or_default(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1795752000000",
            "SenderId": "AROAEXAMPLE:contact-indexer", "ApproximateFirstReceiveTimestamp": "1795752000050"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:bench-media-copy",
        "awsRegion": "eu-west-1"
    }]}))
}

/// A Twilio-style message sid, unique per call.
pub fn message_sid() -> String {
    format!("SM{:032x}", ulid::Ulid::new().0)
}

/// A message item as the messages table's stream shows it.
fn message_image(id: &str, status: &str, revision: &str) -> serde_json::Value {
    serde_json::json!({
        "item_key": {"S": format!("{ORG}#{id}")},
        "organization_id": {"S": ORG},
        "message_id": {"S": id},
        "conversation": {"S": format!("{ORG}#{CONTACT_ID}")},
        "contact_id": {"S": CONTACT_ID},
        "contact_phone": {"S": CONTACT_PHONE},
        "direction": {"S": "OUTBOUND"},
        "message_type": {"S": "TEXT"},
        "text": {"S": "Your order has shipped and should arrive on Friday."},
        "attachments": {"L": []},
        "twilio_message_sid": {"S": format!("SM{:032x}", id.len())},
        "status": {"S": status},
        "created_at": {"S": "2026-12-03T10:00:00Z"},
        "updated_at": {"S": "2026-12-03T10:00:02Z"},
        "revision": {"S": revision}
    })
}

/// The messages table's stream delivering `records` status ticks (SENT → DELIVERED) of
/// distinct messages of one organization, as the live publisher receives them.
pub fn status_ticks(n: usize, records: usize) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..records)
        .map(|r| {
            let id = ulid::Ulid::new().to_string();
            let revision = ulid::Ulid::new().to_string();
            serde_json::json!({
                "eventID": format!("t{n}-{r}"),
                "eventName": "MODIFY",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_795_752_000.0,
                    "Keys": {"item_key": {"S": format!("{ORG}#{id}")}},
                    "OldImage": message_image(&id, "SENT", &id),
                    "NewImage": message_image(&id, "DELIVERED", &revision),
                    "SequenceNumber": format!("{:021}", n * 1000 + r),
                    "SizeBytes": 700,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                },
                "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/bench-messages/stream/2026-11-26T00:00:00.000"
            })
        })
        .collect();
    json(&serde_json::json!({ "Records": records }))
}

/// The benchmark agent tells where it is in the benchmark contact's conversation.
pub fn presence(state: &str) -> Vec<u8> {
    let body = serde_json::json!({ "state": state }).to_string();
    let mut event = jwt_event(
        "POST",
        "/whatsapp/conversations/{contact_id}/presence",
        "",
        Some(ORG),
        Some(&body),
    );
    event.raw_path = Some(format!("/whatsapp/conversations/{CONTACT_ID}/presence"));
    event
        .path_parameters
        .insert("contact_id".to_owned(), CONTACT_ID.to_owned());
    json(&event)
}

/// A note in the benchmark contact's conversation.
pub fn note(text: &str) -> Vec<u8> {
    let body = serde_json::json!({"contact_id": CONTACT_ID, "text": text}).to_string();
    json(&jwt_event(
        "POST",
        "/whatsapp/notes",
        "",
        Some(ORG),
        Some(&body),
    ))
}

/// A send naming the newest message the agent saw (the collision guard reads the news).
pub fn send_seen(text: &str, seen_up_to: &str) -> Vec<u8> {
    let body =
        serde_json::json!({"contact_id": CONTACT_ID, "text": text, "seen_up_to": seen_up_to})
            .to_string();
    json(&jwt_event(
        "POST",
        "/whatsapp/messages",
        "",
        Some(ORG),
        Some(&body),
    ))
}

/// A new canned response of the benchmark organization, with a shortcut of its own.
pub fn canned_create() -> Vec<u8> {
    let shortcut = format!("b-{}", ulid::Ulid::new().to_string().to_lowercase());
    let body = serde_json::json!({
        "shortcut": shortcut,
        "title": "Order shipped",
        "text": "Hi {{contact.first_name}}, order {{?order number}} left our warehouse today. — {{agent.name}}",
    })
    .to_string();
    json(&jwt_event(
        "POST",
        "/whatsapp/canned-responses",
        "",
        Some(ORG),
        Some(&body),
    ))
}

/// The first page of the organization's canned responses (what the page loads once).
pub fn canned_list() -> Vec<u8> {
    json(&jwt_event(
        "GET",
        "/whatsapp/canned-responses",
        "limit=100",
        Some(ORG),
        None,
    ))
}
