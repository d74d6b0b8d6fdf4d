//! The traffic of a run: pollers watching the conversations, sends (double clicks, retries
//! with their key, look-alike twins), replies (some delivered twice), a STOP, the CRM moving a
//! contact's number, and the injector throwing faults at all of it meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;

use super::client::Client;
use super::pollers::{Seen, poller};
use super::report::Report;
use super::{CONTACTS, MOVER, Plan, STOPPER};

/// xorshift64*: reproducible choices without a dependency.
#[derive(Clone)]
pub(super) struct Dice(pub u64);

impl Dice {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What one send ended as.
pub(super) struct SendOutcome {
    pub text: String,
    /// The parts' message ids of the final 202; None when it was never accepted.
    pub accepted: Option<Vec<String>>,
    pub retries: u64,
    pub double_click: bool,
}

/// What the traffic left for the checks.
pub(super) struct Driven {
    pub sends: Vec<SendOutcome>,
    /// Inbound messages the webhook took (200), with their contact.
    pub delivered_inbound: Vec<(String, &'static str)>,
    pub seen_by_contact: HashMap<&'static str, Seen>,
    /// Still polling: stopped once everything settled.
    pub pollers: JoinSet<u64>,
    pub stop_polling: Arc<AtomicBool>,
}

/// A send or a reply that finished.
enum Done {
    Sent(Vec<SendOutcome>),
    Replied {
        body: String,
        contact: &'static str,
        /// The webhook's final status, after Twilio's retries.
        webhook_status: u16,
        deliveries: u32,
    },
    /// The mover's number changed (or why not).
    Moved(Result<(), String>),
}

impl Done {
    fn record(self, driven: &mut Driven, report: &mut Report) {
        match self {
            Done::Sent(outcomes) => driven.sends.extend(outcomes),
            Done::Moved(Ok(())) => report.add("contact numbers changed mid-run", 1),
            Done::Moved(Err(e)) => report.violations.push(e),
            Done::Replied {
                body,
                contact,
                webhook_status,
                deliveries,
            } => {
                report.add("inbound messages played", 1);
                report.add(
                    "inbound webhooks delivered twice",
                    u64::from(deliveries > 1),
                );
                if webhook_status == 200 {
                    driven.delivered_inbound.push((body, contact));
                } else {
                    report.add("inbound refused after Twilio's retries", 1);
                }
            }
        }
    }
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
pub(super) async fn injector(
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

/// One piece of the run's traffic.
enum Work {
    Send {
        contact: &'static str,
        text: String,
        double_click: bool,
    },
    /// The same text twice at once to one contact, the first accepted with its answer lost,
    /// the second not sent: two look-alike parts reconciled together.
    Twins {
        contact: &'static str,
        phone: &'static str,
        text: String,
    },
    Reply {
        from: &'static str,
        body: String,
        deliveries: u32,
    },
    Stop {
        deliveries: u32,
    },
    /// The CRM changes the mover's number while sends to it may be in retry.
    Move,
}

/// The traffic of the plan, shuffled, `concurrency` at a time.
fn plan_work(plan: &Plan, dice: &mut Dice, tag: &str) -> Vec<Work> {
    let mut work = Vec::new();
    for i in 0..plan.sends {
        let contact = if dice.chance(15) {
            MOVER.0
        } else {
            CONTACTS[dice.below(3) as usize].0
        };
        work.push(Work::Send {
            contact,
            text: format!("chaos-{tag}-{i}"),
            double_click: dice.chance(10),
        });
    }
    for i in 0..plan.sends / 20 {
        let (contact, phone) = CONTACTS[dice.below(3) as usize];
        work.push(Work::Twins {
            contact,
            phone,
            text: format!("chaos-{tag}-twin-{i}"),
        });
    }
    for i in 0..plan.inbound {
        work.push(Work::Reply {
            from: CONTACTS[dice.below(3) as usize].1,
            body: format!("inbound-{tag}-{i}"),
            deliveries: if dice.chance(25) { 2 } else { 1 },
        });
    }
    work.push(Work::Stop { deliveries: 2 });
    // Shuffled, so sends, replies and the STOP overlap.
    for i in (1..work.len()).rev() {
        let j = dice.below(i as u64 + 1) as usize;
        work.swap(i, j);
    }
    // The move comes in the middle, among the sends.
    work.insert(work.len() / 2, Work::Move);
    work
}

fn contact_of(phone: &str) -> &'static str {
    CONTACTS
        .iter()
        .find(|(_, p)| *p == phone)
        .map_or("", |(c, _)| *c)
}

fn start(work: Work, client: Client, tag: &str, at_once: bool, in_flight: &mut JoinSet<Done>) {
    match work {
        Work::Send {
            contact,
            text,
            double_click,
        } => {
            in_flight.spawn(async move {
                let key = format!("key-{text}");
                Done::Sent(vec![send(client, contact, text, key, double_click).await])
            });
        }
        Work::Twins {
            contact,
            phone,
            text,
        } => {
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
        Work::Reply {
            from,
            body,
            deliveries,
        } => {
            in_flight.spawn(async move {
                let webhook_status = client.reply(from, &body, deliveries, at_once).await;
                Done::Replied {
                    body,
                    contact: contact_of(from),
                    webhook_status,
                    deliveries,
                }
            });
        }
        Work::Stop { deliveries } => {
            in_flight.spawn(async move {
                let webhook_status = client.reply(STOPPER.1, "STOP", deliveries, at_once).await;
                Done::Replied {
                    body: "STOP".into(),
                    contact: STOPPER.0,
                    webhook_status,
                    deliveries,
                }
            });
        }
        Work::Move => {
            let tag = tag.to_owned();
            in_flight.spawn(async move { Done::Moved(client.write_mover(MOVER.2, &tag).await) });
        }
    }
}

/// Starts the pollers, then plays the whole traffic of the plan while the injector runs;
/// returns once every send and reply has finished and the injector has stopped.
pub(super) async fn drive(
    client: &Client,
    plan: &Plan,
    dice: &mut Dice,
    tag: &str,
    report: &mut Report,
) -> Driven {
    // Pollers first: they must see every change from here on.
    let stop_polling = Arc::new(AtomicBool::new(false));
    let mut driven = Driven {
        sends: vec![],
        delivered_inbound: vec![],
        seen_by_contact: HashMap::new(),
        pollers: JoinSet::new(),
        stop_polling: stop_polling.clone(),
    };
    for (contact, _) in CONTACTS {
        let seen: Seen = Arc::default();
        driven.seen_by_contact.insert(contact, seen.clone());
        driven
            .pollers
            .spawn(poller(client.clone(), contact, seen, stop_polling.clone()));
    }
    let stop_injecting = Arc::new(AtomicBool::new(false));
    let faults = tokio::spawn(injector(
        client.clone(),
        Dice(dice.next() | 1),
        plan.store_faults,
        stop_injecting.clone(),
    ));

    // The mover: a contact the CRM writes (number A), who has written from A.
    if let Err(e) = client.write_mover(MOVER.1, tag).await {
        report.violations.push(e);
    }
    let mut in_flight: JoinSet<Done> = JoinSet::new();
    for work in plan_work(plan, dice, tag) {
        if in_flight.len() >= plan.concurrency.max(1)
            && let Some(Ok(done)) = in_flight.join_next().await
        {
            done.record(&mut driven, report);
        }
        tokio::time::sleep(plan.pace).await;
        start(
            work,
            client.clone(),
            tag,
            plan.concurrent_repeats,
            &mut in_flight,
        );
    }
    while let Some(Ok(done)) = in_flight.join_next().await {
        done.record(&mut driven, report);
    }
    stop_injecting.store(true, Ordering::SeqCst);
    report.faults = faults.await.unwrap_or_default();
    // Faults nobody consumed would only slow the settling down.
    client
        .call(reqwest::Method::DELETE, "/sandbox/faults", None)
        .await;
    driven
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
}
