//! What a run checks once the traffic has settled, one function per guarantee.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::client::Client;
use super::drive::{Driven, SendOutcome};
use super::pollers::Seen;
use super::report::Report;
use super::{CONTACTS, MOVER, STOPPER};

/// The conversations once settled: nothing PENDING and two reads a second apart alike
/// (callbacks done), or whatever they are at `settle`'s end.
pub(super) async fn settle(
    client: &Client,
    settle: Duration,
    report: &mut Report,
) -> HashMap<&'static str, Vec<Value>> {
    let deadline = Instant::now() + settle;
    let mut conversations: HashMap<&'static str, Vec<Value>> = HashMap::new();
    loop {
        let mut now: HashMap<&'static str, Vec<Value>> = HashMap::new();
        for contact in CONTACTS.iter().map(|(c, _)| *c).chain([MOVER.0]) {
            match client.conversation(contact).await {
                Ok(messages) => {
                    now.insert(contact, messages);
                }
                Err(e) => report.violations.push(e),
            }
        }
        let pending = now.values().flatten().any(|m| m["status"] == "PENDING");
        let stable = !pending && now == conversations;
        conversations = now;
        if stable || Instant::now() > deadline {
            return conversations;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Lets the pollers catch up (each ends on an empty poll) and counts their polls.
pub(super) async fn stop_pollers(driven: &mut Driven, report: &mut Report) {
    driven.stop_polling.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut polls = 0;
    while let Ok(Some(Ok(n))) =
        tokio::time::timeout_at(deadline.into(), driven.pollers.join_next()).await
    {
        polls += n;
    }
    driven.pollers.abort_all();
    report.add("polls", polls);
}

/// The Twilio messages each text reached Twilio as (the sandbox's outbound messages): sid
/// and creation date, the evidence a violation shows.
pub(super) async fn texts_at_twilio(client: &Client) -> HashMap<String, Vec<String>> {
    let sandbox: Vec<Value> = client
        .call(reqwest::Method::GET, "/sandbox/messages", None)
        .await
        .1
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut at_twilio: HashMap<String, Vec<String>> = HashMap::new();
    for m in &sandbox {
        if m["direction"] == "outbound-api"
            && let Some(body) = m["body"].as_str()
        {
            at_twilio.entry(body.to_owned()).or_default().push(format!(
                "{} at {}",
                m["sid"].as_str().unwrap_or_default(),
                m["date_created"].as_str().unwrap_or_default()
            ));
        }
    }
    at_twilio
}

/// What the run asked for: the sends, the user's retries and double clicks, the parts.
fn count_sends(sends: &[SendOutcome], report: &mut Report) {
    report.add("sends requested", sends.len() as u64);
    report.add(
        "sends accepted (202)",
        sends.iter().filter(|s| s.accepted.is_some()).count() as u64,
    );
    report.add(
        "sends retried by the user (same key)",
        sends.iter().map(|s| s.retries).sum(),
    );
    report.add(
        "sends double-clicked",
        sends.iter().filter(|s| s.double_click).count() as u64,
    );
    report.add(
        "parts accepted",
        sends
            .iter()
            .flat_map(|s| s.accepted.iter().flatten())
            .count() as u64,
    );
}

/// No accepted message stays PENDING, and per text (look-alike sends share one) the Twilio
/// messages are at least the parts shown sent and at most those plus the unconfirmed ones:
/// none shown sent that was not, none FAILED that was, none sent twice.
pub(super) fn every_part_ends_final_and_reaches_twilio_as_shown(
    sends: &[SendOutcome],
    conversations: &HashMap<&'static str, Vec<Value>>,
    at_twilio: &HashMap<String, Vec<String>>,
    tag: &str,
    report: &mut Report,
) {
    let by_id: HashMap<&str, &Value> = conversations
        .values()
        .flatten()
        .filter_map(|m| m["id"].as_str().map(|id| (id, m)))
        .collect();
    count_sends(sends, report);
    let mut by_text: BTreeMap<&str, Vec<&SendOutcome>> = BTreeMap::new();
    for send in sends {
        by_text.entry(send.text.as_str()).or_default().push(send);
    }
    report.add(
        "look-alike sends (same text at once)",
        by_text.values().filter(|s| s.len() > 1).count() as u64,
    );
    for (text, group) in &by_text {
        let at_twilio_as = at_twilio.get(*text).cloned().unwrap_or_default();
        let sent = at_twilio_as.len() as u64;
        let (mut shown_sent, mut unconfirmed) = (0, 0);
        let mut ours = Vec::new();
        for id in group.iter().flat_map(|s| s.accepted.iter().flatten()) {
            let Some(message) = by_id.get(id.as_str()) else {
                report
                    .violations
                    .push(format!("accepted message {id} is not in its conversation"));
                continue;
            };
            let status = message["status"].as_str().unwrap_or_default().to_owned();
            ours.push(format!(
                "{id} {status} {}",
                message["twilio_message_sid"].as_str().unwrap_or("(no sid)")
            ));
            *report.final_statuses.entry(status.clone()).or_default() += 1;
            match status.as_str() {
                "PENDING" => report
                    .violations
                    .push(format!("{id} ({text:?}) still PENDING")),
                "SENT" | "DELIVERED" | "READ" => shown_sent += 1,
                "UNCONFIRMED" => unconfirmed += 1,
                _ => {}
            }
        }
        // The evidence: what Twilio has and what our messages hold.
        let evidence = format!(
            "Twilio: [{}]; ours: [{}]",
            at_twilio_as.join(", "),
            ours.join(", ")
        );
        if sent < shown_sent {
            report.violations.push(format!(
                "{text:?}: {shown_sent} part(s) shown sent, {sent} reached Twilio ({evidence})"
            ));
        }
        if sent > shown_sent + unconfirmed {
            report.violations.push(format!(
                "{text:?} reached Twilio {sent} times for {shown_sent} part(s) shown sent and {unconfirmed} unconfirmed ({evidence})"
            ));
        }
    }
    report.add(
        "outbound messages at the sandbox",
        at_twilio
            .iter()
            .filter(|(b, _)| b.starts_with(&format!("chaos-{tag}-")))
            .map(|(_, sids)| sids.len() as u64)
            .sum(),
    );
}

/// Every inbound message the webhook took is stored exactly once.
pub(super) fn every_inbound_is_stored_once(
    delivered_inbound: &[(String, &'static str)],
    conversations: &HashMap<&'static str, Vec<Value>>,
    report: &mut Report,
) {
    for (body, contact) in delivered_inbound {
        if body == "STOP" {
            continue;
        }
        let stored = conversations
            .get(contact)
            .into_iter()
            .flatten()
            .filter(|m| m["text"].as_str() == Some(body) && m["direction"] == "INBOUND")
            .count();
        if stored != 1 {
            report
                .violations
                .push(format!("inbound {body:?} stored {stored} times"));
        }
    }
    report.add(
        "inbound messages Twilio delivered (each stored once)",
        delivered_inbound.len() as u64,
    );
}

/// The contact who sent STOP can no longer be written to.
pub(super) async fn the_stop_sticks(client: &Client, report: &mut Report) {
    let (_, stopper) = client
        .call(
            reqwest::Method::GET,
            &format!("/whatsapp/messages?contact_id={}&limit=1", STOPPER.0),
            None,
        )
        .await;
    if stopper["contact"]["eligible"] != false {
        report
            .violations
            .push(format!("the STOP was not applied: {}", stopper["contact"]));
    } else {
        report.add("STOPs applied", 1);
    }
}

/// Every poller saw every message's last change (its final revision).
pub(super) fn pollers_saw_every_last_change(
    conversations: &HashMap<&'static str, Vec<Value>>,
    seen_by_contact: &HashMap<&'static str, Seen>,
    report: &mut Report,
) {
    let mut changes_seen = 0;
    for (contact, messages) in conversations {
        let Some(seen) = seen_by_contact.get(contact) else {
            continue;
        };
        let Ok(seen) = seen.lock() else { continue };
        for m in messages {
            let id = m["id"].as_str().unwrap_or_default();
            match seen.get(id) {
                Some(copy) if copy["revision"] == m["revision"] => changes_seen += 1,
                Some(copy) => report.violations.push(format!(
                    "the poller of {contact} last saw {id} as {} ({}), it is {} ({})",
                    copy["status"], copy["revision"], m["status"], m["revision"]
                )),
                None => report
                    .violations
                    .push(format!("the poller of {contact} never saw {id}")),
            }
        }
    }
    report.add("messages whose last change the pollers saw", changes_seen);
}

/// The inbox counted every stored inbound message once (nothing is read during a run) and
/// shows each conversation's newest message as it ended.
pub(super) async fn the_inbox_counts_every_inbound_once(
    client: &Client,
    conversations: &HashMap<&'static str, Vec<Value>>,
    report: &mut Report,
) {
    let (status, body) = client
        .call(
            reqwest::Method::GET,
            "/whatsapp/conversations?limit=100",
            None,
        )
        .await;
    if status != 200 {
        report
            .violations
            .push(format!("the inbox could not be read: {status} {body}"));
        return;
    }
    let rows: HashMap<&str, &Value> = body["conversations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|row| Some((row["contact_id"].as_str()?, row)))
        .collect();
    let mut counted = 0;
    for (contact, messages) in conversations {
        let Some(newest) = messages.iter().max_by_key(|m| m["id"].as_str()) else {
            continue;
        };
        let inbound = messages
            .iter()
            .filter(|m| m["direction"] == "INBOUND")
            .count() as u64;
        let Some(row) = rows.get(contact) else {
            report
                .violations
                .push(format!("{contact} has messages but no inbox row"));
            continue;
        };
        if row["unread_count"].as_u64() != Some(inbound) {
            report.violations.push(format!(
                "the inbox counts {} unread for {contact}, who sent {inbound}",
                row["unread_count"]
            ));
        }
        let last = &row["last_message"];
        if last["id"] != newest["id"] || last["status"] != newest["status"] {
            report.violations.push(format!(
                "the inbox shows {contact}'s newest message as {} ({}), it is {} ({})",
                last["id"], last["status"], newest["id"], newest["status"]
            ));
        }
        counted += inbound;
    }
    // The STOP is one inbound message of its own conversation, however often delivered.
    let stop = rows
        .get(STOPPER.0)
        .and_then(|row| row["unread_count"].as_u64());
    if stop != Some(1) {
        report.violations.push(format!(
            "the inbox counts {stop:?} unread for the contact who sent STOP once"
        ));
    }
    // Nothing is read during the run: the organization's total is every inbound message.
    let received = counted + 1;
    if body["unread_total"].as_u64() != Some(received) {
        report.violations.push(format!(
            "the inbox's unread total is {}, {received} inbound messages were received",
            body["unread_total"]
        ));
    }
    report.add("inbound messages the inbox counted (each once)", counted);
}
