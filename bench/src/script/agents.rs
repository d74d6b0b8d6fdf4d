//! The agents' paths: a note and a send naming what the agent saw, buttons accepted and sent,
//! canned responses, drafts.

use super::Bench;
use crate::events;
use crate::measure::{self, Function, Measured, Options, measure};

impl Bench {
    /// A note and a guarded send, once the conversation's sent messages have served the status
    /// callbacks (the newest page is where those are read); then buttons, accepted and sent by
    /// the worker with the Content made at the first send.
    pub(super) async fn agents(&mut self) -> Result<(), String> {
        let send = self.function("send-message");
        let noted = notes_and_guard(&send, &self.options).await?;
        self.add_to("send-message", noted);
        let worker = self.function("send-worker");
        let (accepted, sent) = interactive(&send, &worker, &self.options).await?;
        self.add_to("send-message", [accepted]);
        self.add_to("send-worker", [sent]);
        Ok(())
    }
}

/// send-message's other paths: a note, and a send naming what the agent saw: the first note,
/// newer than every reply, so the guard reads the conversation since and lets the send
/// through (notes and the agent's own sends are no news).
pub(super) async fn notes_and_guard(
    send: &Function,
    options: &Options,
) -> Result<Vec<(String, measure::Cost)>, String> {
    let (note, outcomes) = measure::extra(send, options, "note recorded", 20, |i| {
        events::note(&format!("Benchmark note {i}"))
    })
    .await?;
    let seen = outcomes
        .first()
        .and_then(measure::api_body)
        .and_then(|answer| answer["message"]["id"].as_str().map(str::to_owned))
        .ok_or("a note answered without its id")?;
    let (guarded, _) = measure::extra(send, options, "send naming seen_up_to", 20, |i| {
        events::send_seen(&format!("Guarded message {i}"), &seen)
    })
    .await?;
    Ok(vec![note, guarded])
}

/// Buttons, the same three each time: 20 accepted by send-message, and 19 of those sent by the
/// worker (the warm-up's send makes their Content: the list read and one create; each
/// measured one reuses it with one conditional write, then sweeps nothing until tomorrow).
pub(super) async fn interactive(
    send: &Function,
    worker: &Function,
    options: &Options,
) -> Result<((String, measure::Cost), (String, measure::Cost)), String> {
    let (accepted, outcomes) = measure::extra(send, options, "buttons accepted", 20, |_| {
        events::send_buttons()
    })
    .await?;
    let ids: Vec<String> = outcomes
        .iter()
        .filter_map(measure::api_body)
        .filter_map(|answer| answer["messages"][0]["id"].as_str().map(str::to_owned))
        .collect();
    if ids.len() < 20 {
        return Err("buttons were answered without their message ids".into());
    }
    let (sent, _) = measure::extra(
        worker,
        options,
        "worker run, buttons (Content reused)",
        19,
        |i| events::worker_job(&ids[i]),
    )
    .await?;
    Ok((accepted, sent))
}

/// canned-responses: 20 created (each a transaction of three writes), then the page of them
/// the composer loads, as the function's measured operation.
pub(super) async fn canned(canned: &Function, options: &Options) -> Result<Measured, String> {
    let (created, _) = measure::extra(canned, options, "canned response created", 20, |_| {
        events::canned_create()
    })
    .await?;
    let mut listed = measure(
        canned,
        options,
        |_| events::canned_list(),
        Some("canned responses listed"),
    )
    .await?;
    listed.extra_usage.push(created);
    Ok(listed)
}

/// The inbox's draft routes: a draft saved after a pause in typing, and read when a
/// conversation opens (20 each).
pub(super) async fn drafts(
    inbox: &Function,
    options: &Options,
) -> Result<Vec<(String, measure::Cost)>, String> {
    let mut usage = Vec::new();
    for (label, method, text) in [
        (
            "draft saved (PUT, 120 characters)",
            "PUT",
            Some("x".repeat(120)),
        ),
        ("draft read (GET)", "GET", None),
    ] {
        let (measured, _) = measure::extra(inbox, options, label, 20, |_| {
            events::draft(method, text.as_deref())
        })
        .await?;
        usage.push(measured);
    }
    Ok(usage)
}
