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

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::task::JoinSet;

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

#[derive(Debug, Default)]
pub struct Report {
    pub seed: u64,
    pub counts: BTreeMap<&'static str, u64>,
    pub faults: BTreeMap<String, u64>,
    pub final_statuses: BTreeMap<String, u64>,
    pub violations: Vec<String>,
    pub elapsed: Duration,
}

impl Report {
    fn add(&mut self, name: &'static str, n: u64) {
        *self.counts.entry(name).or_default() += n;
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fault-injection run (seed {}, {:.1} s)",
            self.seed,
            self.elapsed.as_secs_f64()
        )?;
        for (name, n) in &self.counts {
            writeln!(f, "  {name:<44} {n:>6}")?;
        }
        writeln!(f, "  faults injected:")?;
        for (name, n) in &self.faults {
            writeln!(f, "    {name:<42} {n:>6}")?;
        }
        writeln!(f, "  final status of accepted messages:")?;
        for (name, n) in &self.final_statuses {
            writeln!(f, "    {name:<42} {n:>6}")?;
        }
        if self.violations.is_empty() {
            writeln!(f, "  invariants: all hold")
        } else {
            writeln!(f, "  VIOLATIONS ({}):", self.violations.len())?;
            for v in &self.violations {
                writeln!(f, "    {v}")?;
            }
            Ok(())
        }
    }
}

/// xorshift64*: reproducible choices without a dependency.
#[derive(Clone)]
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_with(method, path, body, None).await
    }

    async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .timeout(Duration::from_secs(30));
        if path.starts_with("/whatsapp/") || path.starts_with("/local/contacts/") {
            request = request.bearer_auth(&self.token);
        }
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let bytes = response.bytes().await.unwrap_or_default();
                let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                (status, body)
            }
            Err(_) => (0, Value::Null),
        }
    }

    /// Every message of a contact's conversation, paging back to the first.
    async fn conversation(&self, contact: &str) -> Result<Vec<Value>, String> {
        let mut messages = vec![];
        let mut before: Option<String> = None;
        loop {
            let mut path = format!("/whatsapp/messages?contact_id={contact}&limit=200");
            if let Some(b) = &before {
                path.push_str(&format!("&before={b}"));
            }
            let (status, body) = self.call(reqwest::Method::GET, &path, None).await;
            if status != 200 {
                return Err(format!("conversation of {contact}: {status} {body}"));
            }
            let page = body["messages"].as_array().cloned().unwrap_or_default();
            messages.splice(0..0, page);
            match body["next_before"].as_str() {
                Some(b) => before = Some(b.to_owned()),
                None => return Ok(messages),
            }
        }
    }
}

/// What a poller saw: per message id, the newest copy.
type Seen = Arc<Mutex<HashMap<String, Value>>>;

async fn poller(client: Client, contact: &'static str, seen: Seen, stop: Arc<AtomicBool>) -> u64 {
    let mut polls = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => format!("/whatsapp/messages?contact_id={contact}&limit=200"),
            Some(c) => format!("/whatsapp/messages?contact_id={contact}&limit=50&after={c}"),
        };
        let (status, body) = client.call(reqwest::Method::GET, &path, None).await;
        polls += 1;
        if status == 200 {
            let empty = body["messages"].as_array().is_none_or(|m| m.is_empty());
            if let Ok(mut seen) = seen.lock() {
                for m in body["messages"].as_array().into_iter().flatten() {
                    let id = m["id"].as_str().unwrap_or_default().to_owned();
                    let newer = seen
                        .get(&id)
                        .is_none_or(|old| old["revision"].as_str() < m["revision"].as_str());
                    if newer {
                        seen.insert(id, m.clone());
                    }
                }
            }
            if let Some(next) = body["next_after"].as_str() {
                cursor = Some(next.to_owned());
            }
            // Stops only after an empty poll: it has caught up with everything.
            if empty && cursor.is_some() && stop.load(Ordering::SeqCst) {
                return polls;
            }
        }
        tokio::time::sleep(Duration::from_millis(120)).await;
    }
}

/// A send or a reply that finished.
enum Done {
    Sent(Vec<SendOutcome>),
    /// Body, contact, the webhook's final status, deliveries.
    Replied(String, &'static str, u16, u32),
    /// The mover's number changed (or why not).
    Moved(Result<(), String>),
}

impl Done {
    fn record(
        self,
        sends: &mut Vec<SendOutcome>,
        delivered_inbound: &mut Vec<(String, &'static str)>,
        report: &mut Report,
    ) {
        match self {
            Done::Sent(outcomes) => sends.extend(outcomes),
            Done::Moved(Ok(())) => report.add("contact numbers changed mid-run", 1),
            Done::Moved(Err(e)) => report.violations.push(e),
            Done::Replied(body, contact, status, deliveries) => {
                report.add("inbound messages played", 1);
                report.add(
                    "inbound webhooks delivered twice",
                    u64::from(deliveries > 1),
                );
                if status == 200 {
                    delivered_inbound.push((body, contact));
                } else {
                    report.add("inbound refused after Twilio's retries", 1);
                }
            }
        }
    }
}

/// What one send ended as.
struct SendOutcome {
    text: String,
    /// The parts' message ids of the final 202; None when it was never accepted.
    accepted: Option<Vec<String>>,
    retries: u64,
    double_click: bool,
}

/// One composition sent by the page's user (`key`: its Idempotency-Key).
async fn send(
    client: Client,
    contact: &str,
    text: String,
    key: String,
    double_click: bool,
) -> SendOutcome {
    let body = json!({"contact_id": contact, "text": text});
    let post = |client: Client, body: Value, key: String| async move {
        client
            .call_with(
                reqwest::Method::POST,
                "/whatsapp/messages",
                Some(body),
                Some(&key),
            )
            .await
    };
    let mut retries = 0;
    let mut first = if double_click {
        // Two requests at once, as a double click on a slow network.
        let (a, b) = tokio::join!(
            post(client.clone(), body.clone(), key.clone()),
            post(client.clone(), body.clone(), key.clone())
        );
        if a.0 == 202 { a } else { b }
    } else {
        post(client.clone(), body.clone(), key.clone()).await
    };
    // The page's user presses Send again after an error, with the same composition.
    while first.0 != 202 && retries < 12 {
        if first.0 != 0 && first.0 != 409 && first.0 != 503 {
            break;
        }
        retries += 1;
        tokio::time::sleep(Duration::from_millis(150 * retries.min(4))).await;
        first = post(client.clone(), body.clone(), key.clone()).await;
    }
    let accepted = (first.0 == 202).then(|| {
        first.1["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_owned))
            .collect()
    });
    SendOutcome {
        text,
        accepted,
        retries,
        double_click,
    }
}

/// Injects a random fault every few hundred milliseconds until stopped.
async fn injector(
    client: Client,
    mut dice: Dice,
    store_faults: bool,
    stop: Arc<AtomicBool>,
) -> BTreeMap<String, u64> {
    const TWILIO: [&str; 8] = [
        "server_error",
        "rate_limited",
        "timeout",
        "accept_then_timeout",
        "accept_then_drop",
        "accept_then_server_error",
        "list_unavailable",
        "shuffled_callbacks",
    ];
    const STORE: [(&str, &str); 11] = [
        ("messages", "insert"),
        ("messages", "insert_inbound"),
        ("messages", "inbound_effects_done"),
        ("messages", "apply_status"),
        ("messages", "save_idempotent_send"),
        ("contacts", "update"),
        ("messages", "hold_sid"),
        ("messages", "record_destination"),
        ("queue", "enqueue"),
        ("worker", "stop_mid_job"),
        ("worker", "stop_mid_job"),
    ];
    let mut injected: BTreeMap<String, u64> = BTreeMap::new();
    while !stop.load(Ordering::SeqCst) {
        if !store_faults || dice.chance(55) {
            let mode = TWILIO[dice.below(TWILIO.len() as u64) as usize];
            let to = CONTACTS[dice.below(CONTACTS.len() as u64) as usize].1;
            let (status, _) = client
                .call(
                    reqwest::Method::POST,
                    "/sandbox/faults",
                    Some(json!({"mode": mode, "to": to, "times": 1})),
                )
                .await;
            if status == 201 {
                *injected.entry(format!("twilio {mode}")).or_default() += 1;
            }
        } else {
            let (store, operation) = STORE[dice.below(STORE.len() as u64) as usize];
            let after = dice.below(3);
            let (status, _) = client
                .call(
                    reqwest::Method::POST,
                    "/local/store-faults",
                    Some(
                        json!({"store": store, "operation": operation, "times": 1, "after": after}),
                    ),
                )
                .await;
            if status == 204 {
                *injected.entry(format!("{store} {operation}")).or_default() += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(120 + dice.below(200))).await;
    }
    injected
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

    // Pollers first: they must see every change from here on.
    let stop_polling = Arc::new(AtomicBool::new(false));
    let mut pollers = JoinSet::new();
    let mut seen_by_contact = HashMap::new();
    for (contact, _) in CONTACTS {
        let seen: Seen = Arc::default();
        seen_by_contact.insert(contact, seen.clone());
        pollers.spawn(poller(client.clone(), contact, seen, stop_polling.clone()));
    }
    let stop_injecting = Arc::new(AtomicBool::new(false));
    let faults = tokio::spawn(injector(
        client.clone(),
        Dice(dice.next() | 1),
        plan.store_faults,
        stop_injecting.clone(),
    ));

    // The mover: a contact the CRM writes (number A), who has written from A.
    if let Err(e) = write_mover(&client, MOVER.1, &tag).await {
        report.violations.push(e);
    }

    // Sends and inbound messages, interleaved, `concurrency` at a time.
    enum Work {
        Send(&'static str, String, bool),
        /// The same text twice at once to one contact, the first accepted with its answer
        /// lost, the second not sent: two look-alike parts reconciled together.
        Twins(&'static str, &'static str, String),
        Reply(&'static str, String, u32),
        Stop(u32),
        /// The CRM changes the mover's number while sends to it may be in retry.
        Move,
    }
    let mut work = Vec::new();
    for i in 0..plan.sends {
        let contact = if dice.chance(15) {
            MOVER.0
        } else {
            CONTACTS[dice.below(3) as usize].0
        };
        work.push(Work::Send(
            contact,
            format!("chaos-{tag}-{i}"),
            dice.chance(10),
        ));
    }
    for i in 0..plan.sends / 20 {
        let (contact, phone) = CONTACTS[dice.below(3) as usize];
        work.push(Work::Twins(contact, phone, format!("chaos-{tag}-twin-{i}")));
    }
    for i in 0..plan.inbound {
        let from = CONTACTS[dice.below(3) as usize].1;
        let deliveries = if dice.chance(25) { 2 } else { 1 };
        work.push(Work::Reply(from, format!("inbound-{tag}-{i}"), deliveries));
    }
    work.push(Work::Stop(2));
    // Shuffled, so sends, replies and the STOP overlap.
    for i in (1..work.len()).rev() {
        let j = dice.below(i as u64 + 1) as usize;
        work.swap(i, j);
    }
    // The move comes in the middle, among the sends.
    work.insert(work.len() / 2, Work::Move);
    let mut sends = vec![];
    let mut delivered_inbound: Vec<(String, &'static str)> = vec![];
    let mut in_flight: JoinSet<Done> = JoinSet::new();
    let contact_of = |phone: &str| {
        CONTACTS
            .iter()
            .find(|(_, p)| *p == phone)
            .map_or("", |(c, _)| *c)
    };
    for item in work {
        if in_flight.len() >= plan.concurrency.max(1)
            && let Some(Ok(done)) = in_flight.join_next().await
        {
            done.record(&mut sends, &mut delivered_inbound, &mut report);
        }
        tokio::time::sleep(plan.pace).await;
        let client = client.clone();
        let at_once = plan.concurrent_repeats;
        match item {
            Work::Send(contact, text, double) => {
                in_flight.spawn(async move {
                    let key = format!("key-{text}");
                    Done::Sent(vec![send(client, contact, text, key, double).await])
                });
            }
            Work::Twins(contact, phone, text) => {
                in_flight.spawn(async move {
                    for mode in ["accept_then_timeout", "timeout"] {
                        client
                            .call(
                                reqwest::Method::POST,
                                "/sandbox/faults",
                                Some(json!({"mode": mode, "to": phone, "times": 1})),
                            )
                            .await;
                    }
                    let (a, b) = tokio::join!(
                        send(
                            client.clone(),
                            contact,
                            text.clone(),
                            format!("key-{text}-a"),
                            false
                        ),
                        send(
                            client.clone(),
                            contact,
                            text.clone(),
                            format!("key-{text}-b"),
                            false
                        )
                    );
                    Done::Sent(vec![a, b])
                });
            }
            Work::Reply(from, body, deliveries) => {
                let contact = contact_of(from);
                in_flight.spawn(async move {
                    let status = reply(&client, from, &body, deliveries, at_once).await;
                    Done::Replied(body, contact, status, deliveries)
                });
            }
            Work::Stop(deliveries) => {
                in_flight.spawn(async move {
                    let status = reply(&client, STOPPER.1, "STOP", deliveries, at_once).await;
                    Done::Replied("STOP".into(), STOPPER.0, status, deliveries)
                });
            }
            Work::Move => {
                let tag = tag.clone();
                in_flight
                    .spawn(async move { Done::Moved(write_mover(&client, MOVER.2, &tag).await) });
            }
        }
    }
    while let Some(Ok(done)) = in_flight.join_next().await {
        done.record(&mut sends, &mut delivered_inbound, &mut report);
    }
    stop_injecting.store(true, Ordering::SeqCst);
    report.faults = faults.await.unwrap_or_default();
    // Faults nobody consumed would only slow the settling down.
    client
        .call(reqwest::Method::DELETE, "/sandbox/faults", None)
        .await;

    // Every accepted message ends final.
    let accepted: Vec<(&SendOutcome, &String)> = sends
        .iter()
        .filter_map(|s| s.accepted.as_ref().map(|ids| (s, ids)))
        .flat_map(|(s, ids)| ids.iter().map(move |id| (s, id)))
        .collect();
    // Settled: nothing PENDING and two reads a second apart alike (callbacks done).
    let deadline = Instant::now() + plan.settle;
    let mut conversations: HashMap<&str, Vec<Value>> = HashMap::new();
    loop {
        let mut now: HashMap<&str, Vec<Value>> = HashMap::new();
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
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // The pollers catch up (each ends on an empty poll) before they are compared.
    stop_polling.store(true, Ordering::SeqCst);
    let poll_deadline = Instant::now() + Duration::from_secs(30);
    let mut polls = 0;
    while let Ok(Some(Ok(n))) =
        tokio::time::timeout_at(poll_deadline.into(), pollers.join_next()).await
    {
        polls += n;
    }
    pollers.abort_all();
    report.add("polls", polls);
    let by_id: HashMap<&str, &Value> = conversations
        .values()
        .flatten()
        .filter_map(|m| m["id"].as_str().map(|id| (id, m)))
        .collect();

    let sandbox: Vec<Value> = client
        .call(reqwest::Method::GET, "/sandbox/messages", None)
        .await
        .1
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut at_twilio: HashMap<&str, u64> = HashMap::new();
    for m in &sandbox {
        if m["direction"] == "outbound-api"
            && let Some(body) = m["body"].as_str()
        {
            *at_twilio.entry(body).or_default() += 1;
        }
    }

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
    report.add("parts accepted", accepted.len() as u64);
    // Per text (look-alike sends share one): the Twilio messages are at least the parts
    // shown sent and at most those plus the unconfirmed ones.
    let mut by_text: BTreeMap<&str, Vec<&SendOutcome>> = BTreeMap::new();
    for send in &sends {
        by_text.entry(send.text.as_str()).or_default().push(send);
    }
    report.add(
        "look-alike sends (same text at once)",
        by_text.values().filter(|s| s.len() > 1).count() as u64,
    );
    for (text, group) in &by_text {
        let sent = at_twilio.get(text).copied().unwrap_or(0);
        let (mut shown_sent, mut unconfirmed) = (0, 0);
        for id in group.iter().flat_map(|s| s.accepted.iter().flatten()) {
            let Some(message) = by_id.get(id.as_str()) else {
                report
                    .violations
                    .push(format!("accepted message {id} is not in its conversation"));
                continue;
            };
            let status = message["status"].as_str().unwrap_or_default().to_owned();
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
        if sent < shown_sent {
            report.violations.push(format!(
                "{text:?}: {shown_sent} part(s) shown sent, {sent} reached Twilio"
            ));
        }
        if sent > shown_sent + unconfirmed {
            report.violations.push(format!(
                "{text:?} reached Twilio {sent} times for {shown_sent} part(s) shown sent and {unconfirmed} unconfirmed"
            ));
        }
    }
    report.add(
        "outbound messages at the sandbox",
        at_twilio
            .iter()
            .filter(|(b, _)| b.starts_with(&format!("chaos-{tag}-")))
            .map(|(_, n)| n)
            .sum(),
    );

    // Every inbound message Twilio delivered is stored once.
    for (body, contact) in &delivered_inbound {
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

    // The STOP stuck.
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

    // Every poller saw every message's last change.
    let mut changes_seen = 0;
    for (contact, messages) in &conversations {
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
    report.elapsed = started.elapsed();
    report
}

/// The CRM writes the mover with `number`, after the contact wrote from it (so that Twilio's
/// 24-hour window is open there: until the write, the number is an unknown sender's).
async fn write_mover(client: &Client, number: &str, tag: &str) -> Result<(), String> {
    // Store faults may refuse a delivery even after Twilio's retries: the contact writes again.
    let mut status = 0;
    for attempt in 0..5 {
        status = reply(
            client,
            number,
            &format!("moving-{tag}-{number}-{attempt}"),
            1,
            false,
        )
        .await;
        if status == 200 {
            break;
        }
    }
    if status != 200 {
        return Err(format!(
            "the mover's message from {number} answered {status}"
        ));
    }
    let (status, body) = client
        .call(
            reqwest::Method::PUT,
            &format!("/local/contacts/{}", MOVER.0),
            Some(json!({
                "name": "Chaos Mover",
                "phone_number": number,
                "whatsapp_opt_in": true,
                "last_inbound_minutes_ago": 1,
            })),
        )
        .await;
    if status != 204 {
        return Err(format!(
            "the CRM's write of the mover answered {status} {body}"
        ));
    }
    Ok(())
}

/// The contact writes through the sandbox (Twilio's retries as the documented overrides
/// say); the webhook's final status.
async fn reply(client: &Client, from: &str, body: &str, deliveries: u32, at_once: bool) -> u16 {
    let (status, answer) = client
        .call(
            reqwest::Method::POST,
            "/sandbox/reply",
            Some(json!({
                "organization_id": ORGANIZATION,
                "from": from,
                "body": body,
                "deliveries": deliveries,
                "at_once": at_once,
            })),
        )
        .await;
    if status != 200 {
        return status;
    }
    answer["webhook_status"].as_u64().unwrap_or(0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dice_are_reproducible_and_spread() {
        let mut a = Dice(42);
        let mut b = Dice(42);
        let rolls: Vec<u64> = (0..1000).map(|_| a.below(6)).collect();
        assert_eq!(rolls, (0..1000).map(|_| b.below(6)).collect::<Vec<_>>());
        for face in 0..6 {
            let n = rolls.iter().filter(|r| **r == face).count();
            assert!((100..240).contains(&n), "face {face}: {n}");
        }
    }

    #[test]
    fn the_report_lists_violations() {
        let mut report = Report {
            seed: 7,
            ..Report::default()
        };
        report.add("sends requested", 3);
        assert!(report.to_string().contains("invariants: all hold"));
        report.violations.push("x reached Twilio 2 times".into());
        let text = report.to_string();
        assert!(text.contains("VIOLATIONS (1)") && text.contains("x reached Twilio 2 times"));
    }
}
