//! Micro-benchmarks of the per-request work: X-Twilio-Signature validation, webhook form
//! parsing and message (de)serialization. `cargo bench -p bench`.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use shared::domain::Message;
use shared::twilio::{FormParams, InboundMessage, compute_signature, validate_signature};

const TOKEN: &str = "bench-auth-token-0123456789abcdef";
const URL: &str = "https://bench.example.com/webhook/twilio/whatsapp/bench";

fn params() -> Vec<(String, String)> {
    [
        ("SmsMessageSid", "SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c"),
        ("NumMedia", "0"),
        ("ProfileName", "Aisha"),
        ("MessageType", "text"),
        ("SmsSid", "SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c"),
        ("WaId", "60123456789"),
        ("SmsStatus", "received"),
        ("Body", "Hi, is my order on its way?"),
        ("To", "whatsapp:+14155238886"),
        ("NumSegments", "1"),
        ("ReferralNumMedia", "0"),
        ("MessageSid", "SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c"),
        ("AccountSid", "AC0123456789abcdef0123456789abcdef"),
        ("From", "whatsapp:+60123456789"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn signature(c: &mut Criterion) {
    let params = params();
    let signature = compute_signature(TOKEN, URL, &params);
    c.bench_function("validate X-Twilio-Signature (15 fields)", |b| {
        b.iter(|| {
            validate_signature(
                black_box(TOKEN),
                black_box(URL),
                black_box(&params),
                black_box(&signature),
            )
        })
    });
}

fn form(c: &mut Criterion) {
    let body = serde_urlencoded::to_string(params()).unwrap();
    c.bench_function("parse inbound webhook form", |b| {
        b.iter(|| {
            let form = FormParams::parse(black_box(body.as_bytes())).expect("a valid form");
            InboundMessage::from_form(&form).map(|m| m.message_sid.len())
        })
    });
}

fn message(c: &mut Criterion) {
    let json = r#"{"id":"01JDB5Q6N4Z9X3K8W2V7T1R0PA","revision":"01JDB5Q6N4Z9X3K8W2V7T1R0PB","organization_id":"bench","contact_id":"c-bench","contact_phone":"+60123456789","direction":"OUTBOUND","message_type":"TEXT","text":"Your order has shipped and will arrive on Thursday.","attachments":[],"twilio_message_sid":"SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c","status":"DELIVERED","error_reason":null,"created_at":"2026-11-24T04:10:00Z","updated_at":"2026-11-24T04:10:02Z"}"#;
    let message: Message = serde_json::from_str(json).expect("a valid message");
    c.bench_function("deserialize message (JSON)", |b| {
        b.iter(|| serde_json::from_str::<Message>(black_box(json)))
    });
    c.bench_function("serialize message (JSON)", |b| {
        b.iter(|| serde_json::to_vec(black_box(&message)))
    });
}

criterion_group!(benches, signature, form, message);
criterion_main!(benches);
