//! Live updates, measured: how long a reply takes from the webhook to a subscribed page (the
//! local runner in process, its sandbox posting signed webhooks, a WebSocket client speaking
//! AppSync Events' protocol), how many events an outbound message publishes, and what an
//! idle open tab costs an hour, polling against push (docs/benchmarks.md, "Live updates").

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::samples::percentile;

/// AppSync Events' prices (us-east-1 and eu-west-1, December 2026).
pub mod prices {
    pub const CONNECTION_MINUTE: f64 = 0.08 / 1e6;
    /// Each publish to a channel, and each delivery to a subscriber.
    pub const OPERATION: f64 = 1.00 / 1e6;
}

/// What the page does on an idle tab: polls every 3 s without push; with push, one
/// catch-up poll per connection (AppSync ends one after 2 hours) and the safety net, which
/// starts at 60 s and doubles to 10 minutes while it finds nothing.
pub const POLL_SECONDS: f64 = 3.0;
pub const CONNECTION_SECONDS: f64 = 7200.0;
pub const SAFETY_FIRST_SECONDS: f64 = 60.0;
pub const SAFETY_MAX_SECONDS: f64 = 600.0;

/// The operation the live publisher is measured on (a stream batch of ten status ticks).
pub const TICKS_OPERATION: &str = "status ticks (10 records)";

/// The operation presence is priced on (one request of an agent's page, told to the others).
pub const PRESENCE_OPERATION: &str = "presence told (viewing / composing)";

/// The benchmark's agent-hour: 12 conversations, 5 minutes each, one after the other; in each
/// the agent reads for a minute, then types for 25 s (composing at the first key, viewing 5 s
/// after the last), then leaves at the end.
pub const PRESENCE_VISITS_PER_HOUR: u32 = 12;
const VISIT_SECONDS: f64 = 300.0;
const FIRST_KEY_SECONDS: f64 = 60.0;
const TYPING_SECONDS: f64 = 25.0;
const COMPOSING_ENDS_SECONDS: f64 = 5.0;
/// The page tells a state again this long after its last request (`renew_in_seconds`: 2 of
/// the 5 minutes a presence lives).
const RENEW_SECONDS: f64 = 120.0;

/// The requests the page makes for changes at `tells` (seconds, in order) until `end`, when
/// it tells "left": each change, plus a renewal whenever `RENEW_SECONDS` pass without one
/// (the page's renewal timer starts again at every request).
pub fn presence_requests(tells: &[f64], end: f64) -> u32 {
    let mut requests = 0;
    let mut last = None;
    for &at in tells.iter().chain([&end]) {
        if let Some(last) = last {
            let gap: f64 = at - last;
            // A renewal at last+120, last+240…, strictly before the next request.
            requests += ((gap / RENEW_SECONDS).ceil() - 1.0).max(0.0) as u32;
        }
        requests += 1;
        last = Some(at);
    }
    requests
}

/// An agent's presence requests in the benchmark's agent-hour (see `PRESENCE_VISITS_PER_HOUR`).
pub fn presence_requests_per_hour() -> u32 {
    let stopped = FIRST_KEY_SECONDS + TYPING_SECONDS + COMPOSING_ENDS_SECONDS;
    PRESENCE_VISITS_PER_HOUR * presence_requests(&[0.0, FIRST_KEY_SECONDS, stopped], VISIT_SECONDS)
}

/// An agent parked on one conversation all hour: viewing, its renewals, left.
pub fn parked_requests_per_hour() -> u32 {
    presence_requests(&[0.0], 3600.0)
}
pub const TARGET_PRESENCE_USD_PER_AGENT_HOUR: f64 = 0.0002;

pub const TARGET_P95_MS: f64 = 100.0;
pub const TARGET_IDLE_RATIO: f64 = 50.0;

#[derive(Debug, Default, Serialize)]
pub struct LiveReport {
    /// Replies measured, webhook posted → `data` frame at the subscriber.
    pub replies: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
    /// Message events an outbound message published (PENDING, SENT, DELIVERED, READ…).
    pub events_per_outbound: f64,
    pub idle_tab: IdleTab,
    pub presence: PresenceHour,
    /// USD per million outbound messages with push (one subscribed tab), and without.
    pub outbound_usd_per_million_push: f64,
    pub outbound_usd_per_million_poll: f64,
}

#[derive(Debug, Default, Serialize)]
pub struct IdleTab {
    pub poll_usd_per_poll: f64,
    pub polls_per_hour_polling: f64,
    pub polling_usd_per_hour: f64,
    pub safety_polls_per_hour: f64,
    pub push_usd_per_hour: f64,
    /// With a fixed 60 s safety net, for comparison.
    pub push_fixed_60s_usd_per_hour: f64,
    pub ratio: f64,
    pub ratio_fixed_60s: f64,
    /// The arithmetic, line by line.
    pub arithmetic: Vec<String>,
}

/// What an agent's presence costs in an hour, one other tab watching.
#[derive(Debug, Default, Serialize)]
pub struct PresenceHour {
    pub requests_per_hour: f64,
    /// API Gateway, Lambda and the DynamoDB write of one request (measured).
    pub usd_per_request: f64,
    /// Its stream record's publish: the publisher's share, one publish, and its deliveries
    /// (the agent's own tab is subscribed too).
    pub usd_per_event: f64,
    pub usd_per_agent_hour: f64,
    /// An agent parked on one conversation all hour.
    pub usd_per_parked_hour: f64,
    /// The idle tab's push per hour, to compare.
    pub idle_tab_push_usd_per_hour: f64,
    pub arithmetic: Vec<String>,
}

/// An agent-hour of presence from the measured request and event costs.
pub fn presence_hour(request_usd: f64, event_usd: f64, idle_push_usd: f64) -> PresenceHour {
    let n = f64::from(presence_requests_per_hour());
    let parked = f64::from(parked_requests_per_hour());
    let each = request_usd + event_usd;
    let hour = n * each;
    PresenceHour {
        requests_per_hour: n,
        usd_per_request: request_usd,
        usd_per_event: event_usd,
        usd_per_agent_hour: hour,
        usd_per_parked_hour: parked * each,
        idle_tab_push_usd_per_hour: idle_push_usd,
        arithmetic: vec![
            format!(
                "one presence request (API Gateway + Lambda + a DynamoDB UpdateItem, measured): ${request_usd:.3e}"
            ),
            format!(
                "its event (the publisher's share of a 10-record batch + one publish + a delivery to each of the agent's tab and the other tab): ${event_usd:.3e}"
            ),
            format!(
                "{n:.0} requests/h ({PRESENCE_VISITS_PER_HOUR} conversations of 5 minutes: viewing, composing, viewing, a renewal, left) × ${each:.3e} = ${hour:.3e} per agent-hour"
            ),
            format!(
                "parked on one conversation all hour: {parked:.0} requests (viewing, a renewal every 2 minutes, left) = ${:.3e}",
                parked * each
            ),
            format!(
                "an idle tab's push: ${idle_push_usd:.3e}/h; presence is {:.1}× that",
                hour / idle_push_usd.max(f64::MIN_POSITIVE)
            ),
        ],
    }
}

/// Safety-net polls in one connection's life (the catch-up poll at connect included).
pub fn safety_polls_per_connection() -> f64 {
    let (mut at, mut gap, mut polls) = (0.0, SAFETY_FIRST_SECONDS * 2.0, 1.0);
    // The catch-up finds nothing: the next poll is 120 s later, then 240, 480, 600…
    while at + gap < CONNECTION_SECONDS {
        at += gap;
        polls += 1.0;
        gap = (gap * 2.0).min(SAFETY_MAX_SECONDS);
    }
    polls
}

/// The idle tab's hour, polling against push, from the measured cost of one empty poll.
pub fn idle_tab(poll_usd: f64) -> IdleTab {
    let connections_per_hour = 3600.0 / CONNECTION_SECONDS;
    let safety = safety_polls_per_connection() * connections_per_hour;
    // Connect and subscribe are an operation each, per connection.
    let push_fixed =
        60.0 * prices::CONNECTION_MINUTE + 2.0 * connections_per_hour * prices::OPERATION;
    let polls = 3600.0 / POLL_SECONDS;
    let polling = polls * poll_usd;
    let push = push_fixed + safety * poll_usd;
    let push_60 = push_fixed + (3600.0 / SAFETY_FIRST_SECONDS) * poll_usd;
    IdleTab {
        poll_usd_per_poll: poll_usd,
        polls_per_hour_polling: polls,
        polling_usd_per_hour: polling,
        safety_polls_per_hour: safety,
        push_usd_per_hour: push,
        push_fixed_60s_usd_per_hour: push_60,
        ratio: polling / push,
        ratio_fixed_60s: polling / push_60,
        arithmetic: vec![
            format!("one empty poll (API Gateway + Lambda + DynamoDB, measured): ${poll_usd:.3e}"),
            format!("polling: {polls:.0} polls/h × ${poll_usd:.3e} = ${polling:.3e}/h"),
            format!(
                "push: 60 connection-minutes × $0.08/M + {:.1} connect/subscribe operations × $1/M = ${push_fixed:.3e}/h",
                2.0 * connections_per_hour
            ),
            format!(
                "push: + {safety:.2} safety-net polls/h (catch-up at connect, then 120 s doubling to 600 s, a connection lasting 2 h) × ${poll_usd:.3e} = ${push:.3e}/h"
            ),
            format!(
                "ratio: {:.0}× (with a fixed 60 s safety net: ${push_60:.3e}/h, {:.0}×)",
                polling / push,
                polling / push_60
            ),
            "keep-alive (ka) frames are not billed as operations; were they, each would add $1/M"
                .into(),
        ],
    }
}

/// Starts the local runner in process and measures `replies` replies end to end, then counts
/// the events of `sends` outbound messages until each is read.
pub async fn measure(replies: usize, sends: usize) -> Result<LiveReport, String> {
    let running = local::start(local::Options {
        port: 0,
        seed: local::seed::Seed::default_demo().map_err(|e| e.to_string())?,
        web_dir: std::env::temp_dir(),
        env: Arc::new(|name| match name {
            "SEND_RETRY_BASE_MS" => Some("50".into()),
            _ => None,
        }),
        callback_delay: Duration::from_millis(20),
        backend: local::Backend::Memory,
    })
    .await
    .map_err(|e| e.to_string())?;
    let token = running
        .organizations
        .iter()
        .find(|o| o.organization_id == "acme")
        .map(|o| o.token.clone())
        .ok_or("the demo seed has acme")?;
    let mut events = subscribe(&running.addr.to_string(), &token).await?;
    let http = reqwest::Client::new();
    let base = running.base_url.clone();
    let samples = reply_latencies(&http, &base, &mut events, replies).await?;
    let events_per_outbound = events_per_outbound(&http, &base, &token, &mut events, sends).await?;
    running.stop();
    Ok(LiveReport {
        replies: samples.len(),
        p50_ms: percentile(&samples, 0.5),
        p95_ms: percentile(&samples, 0.95),
        max_ms: percentile(&samples, 1.0),
        events_per_outbound,
        ..LiveReport::default()
    })
}

/// Every message event of the organization's channel, with when it arrived: the runner's
/// Event API over its WebSocket protocol, subscribed as the page subscribes.
async fn subscribe(host: &str, token: &str) -> Result<Events, String> {
    let header = json!({"host": host, "Authorization": token});
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
    let mut request = format!("ws://{host}/event/realtime")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("aws-appsync-event-ws, header-{encoded}")
            .parse()
            .map_err(|_| "header")?,
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .map_err(|e| e.to_string())?;
    let (mut write, mut read) = socket.split();
    let send = |frame: Value| Message::Text(frame.to_string().into());
    write
        .send(send(json!({"type": "connection_init"})))
        .await
        .map_err(|e| e.to_string())?;
    write
        .send(send(
            json!({"type": "subscribe", "id": "bench", "channel": "/whatsapp/acme",
            "authorization": {"Authorization": token, "host": host}}),
        ))
        .await
        .map_err(|e| e.to_string())?;
    let (events_tx, events) = tokio::sync::mpsc::unbounded_channel::<(Instant, Value)>();
    tokio::spawn(async move {
        while let Some(Ok(Message::Text(text))) = read.next().await {
            let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if frame["type"] == "data"
                && let Some(event) = frame["event"]
                    .as_str()
                    .and_then(|e| serde_json::from_str(e).ok())
            {
                let _ = events_tx.send((Instant::now(), event));
            }
        }
    });
    Ok(events)
}

type Events = tokio::sync::mpsc::UnboundedReceiver<(Instant, Value)>;

/// Webhook posted → the reply's event at the subscriber, `replies` times after a warm-up
/// reply (subscribed once its event arrives).
async fn reply_latencies(
    http: &reqwest::Client,
    base: &str,
    events: &mut Events,
    replies: usize,
) -> Result<Vec<Duration>, String> {
    let mut samples = Vec::with_capacity(replies);
    for i in 0..=replies {
        let body = format!("Latency {i}");
        let posted = Instant::now();
        let answer = http
            .post(format!("{base}/sandbox/reply"))
            .header("content-type", "application/json")
            .body(
                json!({"organization_id": "acme", "from": "+6591234567", "body": body}).to_string(),
            )
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !answer.status().is_success() {
            return Err(format!("sandbox reply: {}", answer.status()));
        }
        let arrived = loop {
            let (at, event) = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .map_err(|_| format!("no event for reply {i}"))?
                .ok_or("the socket closed")?;
            if event["message"]["text"] == body.as_str() {
                break at;
            }
        };
        if i > 0 {
            samples.push(arrived.duration_since(posted));
        }
    }
    Ok(samples)
}

/// The events `sends` outbound messages publish until each is READ, on average.
async fn events_per_outbound(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    events: &mut Events,
    sends: usize,
) -> Result<f64, String> {
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for i in 0..sends {
        let bytes = http
            .post(format!("{base}/whatsapp/messages"))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(json!({"contact_id": "c-ben", "text": format!("Outbound {i}")}).to_string())
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let answer: Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        let id = answer["messages"][0]["id"]
            .as_str()
            .ok_or("no message id")?
            .to_owned();
        loop {
            let (_, event) = tokio::time::timeout(Duration::from_secs(10), events.recv())
                .await
                .map_err(|_| format!("outbound {i} was not read"))?
                .ok_or("the socket closed")?;
            if event["message"]["id"] == id.as_str() {
                *per_message.entry(id.clone()).or_default() += 1;
                if event["message"]["status"] == "READ" {
                    break;
                }
            }
        }
    }
    Ok(per_message.values().sum::<usize>() as f64 / sends.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_reach_the_subscriber_and_every_tick_of_a_send_is_published() {
        let live = measure(20, 3).await.expect("measured");
        assert_eq!(live.replies, 20);
        assert!(live.p50_ms > 0.0 && live.p50_ms <= live.p95_ms && live.p95_ms <= live.max_ms);
        // PENDING, SENT, DELIVERED and READ at least, for each send.
        assert!(
            live.events_per_outbound >= 4.0,
            "{}",
            live.events_per_outbound
        );
    }

    #[test]
    fn presence_requests_follow_the_pages_timers() {
        // A change every minute needs no renewal; a 210 s quiet needs one, 240 s one, 241 s two.
        assert_eq!(presence_requests(&[0.0, 60.0], 120.0), 3);
        assert_eq!(presence_requests(&[0.0], 210.0), 3);
        assert_eq!(presence_requests(&[0.0], 240.0), 3);
        assert_eq!(presence_requests(&[0.0], 241.0), 4);
        // Viewing, composing, viewing, one renewal at 210 s, left: 5 a conversation.
        assert_eq!(presence_requests_per_hour(), 60);
        // Viewing, 29 renewals, left.
        assert_eq!(parked_requests_per_hour(), 31);
    }

    #[test]
    fn presence_is_priced_per_request_and_event_over_an_agent_hour() {
        let hour = presence_hour(1.0e-6, 2.0e-6, 1.0e-5);
        assert!((hour.usd_per_agent_hour - 60.0 * 3.0e-6).abs() < 1e-12);
        assert!((hour.usd_per_parked_hour - 31.0 * 3.0e-6).abs() < 1e-12);
        assert!(
            hour.arithmetic
                .last()
                .unwrap()
                .ends_with("presence is 18.0× that")
        );
    }

    #[test]
    fn an_idle_connection_polls_a_handful_of_times_in_its_two_hours() {
        // Catch-up, then 120, 240, 480, 600 s… within 7,200 s.
        let polls = safety_polls_per_connection();
        assert_eq!(polls, 1.0 + 3.0 + ((7200.0 - 840.0) / 600.0_f64).floor());
        let tab = idle_tab(1.34e-6);
        assert!((tab.polling_usd_per_hour - 1200.0 * 1.34e-6).abs() < 1e-12);
        assert!(tab.ratio > tab.ratio_fixed_60s);
        assert!(tab.push_usd_per_hour > 60.0 * prices::CONNECTION_MINUTE);
    }
}
