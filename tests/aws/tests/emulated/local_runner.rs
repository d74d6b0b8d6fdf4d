//! The local runner on the AWS adapters (`--aws`) against the emulator: the same HTTP
//! flow as in process, with DynamoDB, Secrets Manager and SQS underneath.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use local::seed::Seed;
use local::{Backend, Options};
use serde_json::{Value, json};

async fn start() -> (local::Running, reqwest::Client) {
    let (running, client, _) = start_stack().await;
    (running, client)
}

/// The runner on a stack of its own, and the stack's name.
async fn start_stack() -> (local::Running, reqwest::Client, String) {
    let stack = format!("lr{}", ulid::Ulid::new().to_string().to_lowercase());
    let vars: HashMap<String, String> = [
        ("AWS_ENDPOINT_URL", crate::emulator::endpoint().to_owned()),
        ("AWS_REGION", "eu-west-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("CONTACTS_TABLE", format!("{stack}-contacts")),
        ("MESSAGES_TABLE", format!("{stack}-messages")),
        ("SECRET_PREFIX", format!("{stack}/whatsapp/")),
        ("SEND_RETRY_BASE_MS", "50".to_owned()),
        ("TWILIO_TIMEOUT_SECONDS", "2".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let running = local::start(Options {
        port: 0,
        seed: Seed::default_demo().unwrap(),
        web_dir: std::env::temp_dir(),
        env: Arc::new(move |name| vars.get(name).cloned()),
        callback_delay: Duration::from_millis(100),
        backend: Backend::Aws,
    })
    .await
    .expect("local runner on AWS adapters");
    (running, reqwest::Client::new(), stack)
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

#[tokio::test]
#[ignore = "needs the AWS emulator"]
async fn the_whole_text_flow_runs_on_the_aws_adapters() {
    let (running, client) = start().await;
    let base = running.base_url.clone();
    let token = running
        .organizations
        .iter()
        .find(|o| o.organization_id == "acme")
        .unwrap()
        .token
        .clone();
    let get = |path: &str| {
        call(
            &client,
            reqwest::Method::GET,
            format!("{base}{path}"),
            Some(&token),
            None,
        )
    };

    let (status, contacts) = get("/whatsapp/contacts").await;
    assert_eq!(status, 200);
    assert_eq!(contacts["contacts"].as_array().unwrap().len(), 4);

    let (status, sent) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/whatsapp/messages"),
        Some(&token),
        Some(json!({"contact_id": "c-aisha", "text": "Hello over SQS"})),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let id = sent["messages"][0]["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, conversation) = get("/whatsapp/messages?contact_id=c-aisha").await;
        let status = conversation["messages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id.as_str())
            .unwrap()["status"]
            .clone();
        if status == "READ" {
            break;
        }
        assert!(Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (status, _) = call(
        &client,
        reqwest::Method::POST,
        format!("{base}/sandbox/reply"),
        None,
        Some(json!({"organization_id": "acme", "from": "+6591234567", "body": "STOP"})),
    )
    .await;
    assert_eq!(status, 200);
    let (_, ben) = get("/whatsapp/messages?contact_id=c-ben").await;
    assert_eq!(ben["messages"][0]["text"], "STOP");
    assert_eq!(ben["contact"]["eligible"], false);
    let (_, contacts) = get("/whatsapp/contacts").await;
    assert_eq!(contacts["contacts"].as_array().unwrap().len(), 3);
    running.stop();
}

/// The fault-injection run (see `local::chaos`) on DynamoDB, SQS and Secrets Manager:
/// Twilio faults, repeated and shuffled callbacks, repeated webhooks, double clicks and
/// retried sends. (Store write failures and stopped workers need the in-process stores.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the AWS emulator"]
async fn fault_injection_run_on_the_emulator() {
    let (running, _, stack) = start_stack().await;
    // DynamoDB's transaction conflicts too: each transaction in flight 5 ms, so the
    // webhooks and statuses that overlap meet as they would on DynamoDB.
    crate::emulator::transactions_in_flight(
        &crate::emulator::sdk_config().await,
        &format!("{stack}-messages"),
        5,
    )
    .await;
    let token = running
        .organizations
        .iter()
        .find(|o| o.organization_id == "acme")
        .map(|o| o.token.clone())
        .unwrap();
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| ulid::Ulid::new().random() as u64);
    let plan = local::chaos::Plan {
        seed,
        sends: 120,
        inbound: 80,
        concurrency: 8,
        store_faults: false,
        concurrent_repeats: false,
        settle: Duration::from_secs(150),
        pace: Duration::from_millis(80),
    };
    let report = local::chaos::run(&running.base_url, &token, &plan).await;
    println!("{report}");
    running.stop();
    assert!(
        report.violations.is_empty(),
        "{report}\nrepeat with CHAOS_SEED={seed}"
    );
    assert!(report.counts["parts accepted"] >= 100, "{report}");
}
