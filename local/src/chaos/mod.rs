//! The fault-injection run: hundreds of sends and inbound messages through a running local
//! runner while faults are injected at random, then the delivery guarantees are checked.
//!
//! Faults: Twilio 5xx, 429, timeouts, accepted-then-timeout, accepted-then-dropped,
//! accepted-then-502, the Messages list down, status callbacks repeated and out of order
//! (sandbox); webhooks delivered twice at once; double clicks and retries of sends with their
//! Idempotency-Key; look-alike sends (the same text twice at once, the first accepted with
//! its answer lost, the second not); a contact's number changed by the CRM while sends to it
//! are being retried; with the in-process stores also a failing write of every store
//! operation (the Nth call, not just the next) and a worker stopped at a random point of a
//! job.
//!
//! Invariants: no accepted message stays PENDING; per text, the Twilio messages (counted at
//! the sandbox) are at least the parts shown SENT/DELIVERED/READ and at most those plus the
//! UNCONFIRMED ones, so none is shown sent that was not, none FAILED that was, and none goes
//! out twice; every inbound message Twilio delivered is stored exactly once; the STOP is
//! applied; every poller saw every message's last change.
//!
//! Only HTTP: it runs the same against the in-process stores and the AWS emulator.
//!
//! - `client`: HTTP to the runner (the page's API, the sandbox, the CRM's writes);
//! - `drive`: the traffic — sends, replies, the STOP, the move, the injector;
//! - `pollers`: one per contact, polling as the page does;
//! - `invariants`: one check per guarantee, once everything settled;
//! - `report`: what the run counted and found.

mod client;
mod drive;
mod invariants;
mod pollers;
mod report;

use std::time::{Duration, Instant};

pub use report::Report;

use client::Client;
use drive::{Dice, drive};

/// The seed's contacts the run writes to and hears from (organization `acme`), and the one
/// who sends STOP.
const CONTACTS: [(&str, &str); 3] = [
    ("c-aisha", "+60123456789"),
    ("c-ben", "+6591234567"),
    ("c-carla", "+447911123456"),
];
const STOPPER: (&str, &str) = ("c-dev", "+14155550123");
/// A contact the run writes as the CRM would, whose number it changes halfway.
const MOVER: (&str, &str, &str) = ("c-chaos-mover", "+60123456783", "+60123456784");
const ORGANIZATION: &str = "acme";

#[derive(Debug, Clone)]
pub struct Plan {
    /// Seeds the random choices; printed, so a failing run can be repeated.
    pub seed: u64,
    pub sends: usize,
    pub inbound: usize,
    /// Sends and replies in flight at once.
    pub concurrency: usize,
    /// Store write failures and stopped workers (in-process stores only).
    pub store_faults: bool,
    /// Repeated webhooks delivered at the same time as the first, not after it. (moto
    /// restores a whole table when a transaction fails, erasing concurrent writes: the
    /// emulator run repeats webhooks one after another.)
    pub concurrent_repeats: bool,
    /// How long everything may take to settle after the last request.
    pub settle: Duration,
    /// The pause between starting two sends or replies, so the run lasts long enough for
    /// faults to land on them.
    pub pace: Duration,
}

pub async fn run(base_url: &str, token: &str, plan: &Plan) -> Report {
    let started = Instant::now();
    let client = Client {
        http: reqwest::Client::new(),
        base: base_url.trim_end_matches('/').to_owned(),
        token: token.to_owned(),
    };
    let mut report = Report {
        seed: plan.seed,
        ..Report::default()
    };
    let mut dice = Dice(plan.seed | 1);
    let tag = format!("{:x}", plan.seed);
    let mut driven = drive(&client, plan, &mut dice, &tag, &mut report).await;
    report.traffic = started.elapsed();

    let conversations = invariants::settle(&client, plan.settle, &mut report).await;
    invariants::stop_pollers(&mut driven, &mut report).await;
    let at_twilio = invariants::texts_at_twilio(&client).await;
    invariants::every_part_ends_final_and_reaches_twilio_as_shown(
        &driven.sends,
        &conversations,
        &at_twilio,
        &tag,
        &mut report,
    );
    invariants::every_inbound_is_stored_once(
        &driven.delivered_inbound,
        &conversations,
        &mut report,
    );
    invariants::the_stop_sticks(&client, &mut report).await;
    invariants::the_inbox_counts_every_inbound_once(&client, &conversations, &mut report).await;
    invariants::pollers_saw_every_last_change(&conversations, &driven.seen_by_contact, &mut report);
    report.elapsed = started.elapsed();
    report
}
