//! `lambda-bench`: runs the release Lambda binaries under a Runtime API on loopback, beside the
//! hello-world floor and the Node.js + twilio alternative, with AWS (an emulator behind a
//! counting proxy) and Twilio (a stub) on loopback. Prints the table and writes the JSON.
//! `scripts/bench.sh` builds everything and starts the emulator; see docs/benchmarks.md.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod aws_proxy;
mod cold_start;
mod dynamodb_units;
mod event_api_stub;
mod events;
mod in_memory;
mod inbox;
mod live;
mod measure;
mod phone;
mod provision;
mod report;
mod runtime_api;
mod samples;
mod search;
mod twilio_stub;

use std::path::PathBuf;

use measure::{FLOOR, Function, Measured, Options, init_functions, measure};

const USAGE: &str = "usage: lambda-bench --bin-dir DIR [--node-dir DIR] [--zip-dir DIR]
    [--invocations N] [--cold-starts K] [--out FILE]
  --bin-dir DIR      release binaries of the functions and hello-floor (target/release)
  --node-dir DIR     the Node.js + twilio alternative (bench/node-twilio, npm ci done)
  --zip-dir DIR      cargo lambda's output with bootstrap.zip per function (target/lambda)
  --invocations N    warm invocations per function (default 1000)
  --cold-starts K    cold starts per function (default 10)
  --out FILE         where the JSON results go (default bench/results.json)
  --cold-start-only  only the first phone validations and init against the floor, printed
                     (no emulator needed, nothing written)
AWS_ENDPOINT_URL must point at the AWS emulator.";

struct Args {
    bin_dir: PathBuf,
    node_dir: Option<PathBuf>,
    zip_dir: Option<PathBuf>,
    invocations: usize,
    cold_starts: usize,
    out: PathBuf,
    cold_start_only: bool,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        bin_dir: PathBuf::new(),
        node_dir: None,
        zip_dir: None,
        invocations: 1000,
        cold_starts: 10,
        out: PathBuf::from("bench/results.json"),
        cold_start_only: false,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| USAGE.to_owned())
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bin-dir" => args.bin_dir = it.next().map(PathBuf::from).ok_or(USAGE)?,
            "--node-dir" => args.node_dir = it.next().map(PathBuf::from),
            "--zip-dir" => args.zip_dir = it.next().map(PathBuf::from),
            "--invocations" => args.invocations = number(it.next())?,
            "--cold-starts" => args.cold_starts = number(it.next())?,
            "--out" => args.out = it.next().map(PathBuf::from).ok_or(USAGE)?,
            "--cold-start-only" => args.cold_start_only = true,
            _ => return Err(USAGE.into()),
        }
    }
    if args.bin_dir.as_os_str().is_empty() {
        return Err(USAGE.into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(message) => {
            eprintln!("{message}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("lambda-bench: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the benchmark's script, step after step (docs/design.md, \"Long functions\")"
)]
async fn run(args: Args) -> Result<(), String> {
    if args.cold_start_only {
        return cold_start::run(&args.bin_dir, args.cold_starts).await;
    }
    // The first phone-number validation of a process, per calling code, now and before.
    eprintln!("measuring the first phone-number validation of a process");
    let phone_first = phone::first_validations(&args.bin_dir, 5)?;
    let emulator = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL must point at the AWS emulator".to_owned())?;
    let run_id = format!("bench-{}", ulid::Ulid::new().to_string().to_lowercase());
    let sdk = shared::aws::sdk_loader()
        .region(aws_config::Region::new("eu-west-1"))
        .endpoint_url(&emulator)
        .load()
        .await;
    let resources = provision::provision(&sdk, &run_id).await?;
    let (proxy, proxy_url) = aws_proxy::AwsProxy::start(&emulator)
        .await
        .map_err(|e| e.to_string())?;
    let (twilio, twilio_url) = twilio_stub::TwilioStub::start()
        .await
        .map_err(|e| e.to_string())?;
    let (event_api, event_api_url) = event_api_stub::EventApiStub::start()
        .await
        .map_err(|e| e.to_string())?;
    let mut env = measure::function_env(&resources, &proxy_url, &twilio_url);
    env.push(("LIVE_PUBLISH_URL".into(), event_api_url));
    let options = Options {
        invocations: args.invocations,
        cold_starts: args.cold_starts,
        env,
        proxy: proxy.clone(),
    };
    let bin = |name: &str| args.bin_dir.join(name);
    // moto copies a whole table for every transaction (to roll back) and scans a partition in
    // Python for every Query, so the webhook's transaction and the searches of the large
    // organizations can take longer than the functions' 10 s DynamoDB timeout. Those calls get
    // a longer one; the latencies of AWS calls here are the emulator's anyway, and the
    // capacity counted is DynamoDB's either way.
    let patient_options = {
        let mut env = options.env.clone();
        env.retain(|(k, _)| k != "DYNAMODB_TIMEOUT_SECONDS" && k != "POLL_SETTLE_SECONDS");
        env.push(("DYNAMODB_TIMEOUT_SECONDS".into(), "120".into()));
        env.push(("POLL_SETTLE_SECONDS".into(), "180".into()));
        Options {
            env,
            proxy: options.proxy.clone(),
            ..options
        }
    };

    // Init first, every function in turn round after round (see `measure::inits`).
    let init_functions = init_functions(&args.bin_dir);
    let init_rounds = args.cold_starts * 3;
    eprintln!("measuring init: {init_rounds} rounds of the floor and every function in turn");
    let inits = measure::inits(&init_functions, &options, init_rounds).await?;

    let mut results: Vec<Measured> = Vec::new();
    eprintln!("measuring the hello-world floor");
    results.push(
        measure(
            &Function::binary(FLOOR, bin("hello-floor")),
            &options,
            |_| br#"{"hello":"world"}"#.to_vec(),
            None,
        )
        .await?,
    );
    eprintln!("measuring presign-upload");
    results.push(
        measure(
            &Function::binary("presign-upload", bin("presign-upload")),
            &options,
            |_| events::presign_upload(),
            Some("presign upload"),
        )
        .await?,
    );
    eprintln!("measuring list-contacts");
    results.push(
        measure(
            &Function::binary("list-contacts", bin("list-contacts")),
            &options,
            |_| events::list_contacts(),
            Some("contact page"),
        )
        .await?,
    );
    // The first read asks Twilio's Senders API; the rest are served from the cache, as a
    // warm function serves an organization for TEMPLATE_CACHE_SECONDS.
    eprintln!("measuring channel");
    results.push(
        measure(
            &Function::binary("channel", bin("channel")),
            &options,
            |_| events::channel(),
            Some("channel status with sender health (cached)"),
        )
        .await?,
    );
    eprintln!("measuring contact-indexer");
    results.push(
        measure(
            &Function::binary("contact-indexer", bin("contact-indexer")),
            &options,
            events::contact_renamed,
            Some("contact renamed (indexer)"),
        )
        .await?,
    );
    eprintln!("measuring live-publisher");
    results.push(
        measure(
            &Function::binary("live-publisher", bin("live-publisher")),
            &options,
            |i| events::status_ticks(i, 10),
            Some(live::TICKS_OPERATION),
        )
        .await?,
    );
    eprintln!(
        "  the Event API stub took {} publishes ({} events)",
        event_api
            .publishes
            .load(std::sync::atomic::Ordering::Relaxed),
        event_api.events.load(std::sync::atomic::Ordering::Relaxed)
    );
    eprintln!("measuring media-url");
    let media_key = resources.sent_media_key.clone();
    let mut media = measure(
        &Function::binary("media-url", bin("media-url")),
        &options,
        |_| events::media_link("GET", &media_key),
        Some("media link GET"),
    )
    .await?;
    let (head_usage, _) = measure::extra(
        &Function::binary("media-url", bin("media-url")),
        &options,
        "media link HEAD",
        20,
        |_| events::media_link("HEAD", &media_key),
    )
    .await?;
    media.extra_usage.push(head_usage);
    results.push(media);
    eprintln!("measuring send-message");
    let send = measure(
        &Function::binary("send-message", bin("send-message")),
        &options,
        |i| events::send(&format!("Benchmark message {i}")),
        Some("send"),
    )
    .await?;
    let mut message_ids = send.message_ids.clone().into_iter();
    results.push(send);
    eprintln!("measuring canned-responses");
    results.push(
        measure_canned(
            &Function::binary("canned-responses", bin("canned-responses")),
            &options,
        )
        .await?,
    );
    eprintln!("measuring send-worker");
    let worker = measure(
        &Function::binary("send-worker", bin("send-worker")),
        &options,
        |_| events::worker_job(&message_ids.next().unwrap_or_default()),
        Some("worker run"),
    )
    .await?;
    results.push(worker);
    eprintln!("measuring list-messages");
    let cursor = ulid::Ulid::new().to_string();
    let mut poll = measure(
        &Function::binary("list-messages", bin("list-messages")),
        &options,
        |_| events::empty_poll(&cursor),
        Some("empty poll"),
    )
    .await?;
    let (conversation_usage, pages) = measure::extra(
        &Function::binary("list-messages", bin("list-messages")),
        &options,
        "conversation page",
        20,
        |_| events::conversation_page(),
    )
    .await?;
    // Sent messages with their Twilio sids, for the status callbacks below.
    let sent: Vec<(String, String)> = pages
        .first()
        .and_then(measure::api_body)
        .and_then(|page| page["messages"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|m| {
            Some((
                m["id"].as_str()?.to_owned(),
                m["twilio_message_sid"].as_str()?.to_owned(),
            ))
        })
        .collect();
    poll.extra_usage.push(conversation_usage);
    results.push(poll);
    eprintln!("measuring twilio-webhook");
    let mut webhook = measure(
        &Function::binary("twilio-webhook", bin("twilio-webhook")),
        &patient_options,
        |i| events::inbound(&events::message_sid(), &format!("Reply {i}")),
        Some("inbound message"),
    )
    .await?;
    let read_up_to = sent.first().map(|(id, _)| id.clone()).unwrap_or_default();
    let mut sent = sent.into_iter();
    let (status_usage, _) = measure::extra(
        &Function::binary("twilio-webhook", bin("twilio-webhook")),
        &options,
        "status callback",
        20,
        |_| {
            let (id, sid) = sent.next().unwrap_or_default();
            events::status_callback(&id, &sid, "delivered")
        },
    )
    .await?;
    webhook.extra_usage.push(status_usage);
    // Forged webhooks: each refused (403) after the checks that need no secret; the first
    // reads the secret again (a rotated token), the next ones within 10 s do not.
    let (forged_usage, _) = measure::extra_refused(
        &Function::binary("twilio-webhook", bin("twilio-webhook")),
        &options,
        "forged webhook (403)",
        20,
        403,
        |_| events::forged_inbound(&events::message_sid()),
    )
    .await?;
    webhook.extra_usage.push(forged_usage);
    results.push(webhook);

    // The inbox: the benchmark organization's page and a read; then an organization of
    // 20,000 contacts with 5,000 conversations.
    eprintln!("measuring inbox");
    let mut inbox = measure(
        &Function::binary("inbox", bin("inbox")),
        &options,
        |_| events::inbox_page(events::ORG),
        Some("inbox page"),
    )
    .await?;
    let (read_usage, _) = measure::extra(
        &Function::binary("inbox", bin("inbox")),
        &options,
        "read (mark read up to a message)",
        20,
        |_| events::mark_read(&read_up_to),
    )
    .await?;
    inbox.extra_usage.push(read_usage);
    // The typing hint: the read above (or the warm-up) sent the indicator; the 20 measured
    // come while it is up (one failed conditional PutItem each), as a burst of keys does.
    let (typing_usage, _) = measure::extra(
        &Function::binary("inbox", bin("inbox")),
        &options,
        "typing hint (indicator up)",
        20,
        |_| events::typing(),
    )
    .await?;
    if twilio.indicator_count() == 0 {
        return Err("no read receipt or typing indicator reached the Twilio stub".into());
    }
    inbox.extra_usage.push(typing_usage);
    inbox
        .extra_usage
        .extend(measure_drafts(&Function::binary("inbox", bin("inbox")), &options).await?);
    let (presence_usage, _) = measure::extra(
        &Function::binary("inbox", bin("inbox")),
        &options,
        live::PRESENCE_OPERATION,
        20,
        |i| events::presence(if i % 2 == 0 { "viewing" } else { "composing" }),
    )
    .await?;
    inbox.extra_usage.push(presence_usage);
    eprintln!(
        "filling an organization with {} contacts and {} conversations",
        inbox::CONTACTS,
        inbox::CONVERSATIONS
    );
    inbox::fill(&sdk, &resources).await?;
    let big = inbox::organization();
    let (big_usage, _) = measure::extra(
        &Function::binary("inbox", bin("inbox")),
        &patient_options,
        &format!(
            "inbox page, {} contacts, {} conversations",
            inbox::CONTACTS,
            inbox::CONVERSATIONS
        ),
        3,
        |_| events::inbox_page(&big),
    )
    .await?;
    inbox.extra_usage.push(big_usage);
    results.push(inbox);

    // A note and a guarded send, once the conversation's sent messages have served the status
    // callbacks (the newest page is where those are read).
    let notes_and_guard = measure_notes_and_guard(
        &Function::binary("send-message", bin("send-message")),
        &options,
    )
    .await?;
    if let Some(send) = results.iter_mut().find(|r| r.name == "send-message") {
        send.extra_usage.extend(notes_and_guard);
    }

    // Buttons: accepted, then sent by the worker with the Content made at the first send.
    let (buttons_accepted, buttons_sent) = measure_interactive(
        &Function::binary("send-message", bin("send-message")),
        &Function::binary("send-worker", bin("send-worker")),
        &options,
    )
    .await?;
    if let Some(send) = results.iter_mut().find(|r| r.name == "send-message") {
        send.extra_usage.push(buttons_accepted);
    }
    if let Some(worker) = results.iter_mut().find(|r| r.name == "send-worker") {
        worker.extra_usage.push(buttons_sent);
    }

    // Erasure, once nothing else needs the conversation: the CRM deletes the benchmark
    // contact; the indexer sees contacts removed and queues their erasure; the worker erases
    // the conversation a page (100 messages) per job.
    eprintln!("measuring a contact's erasure");
    let (removed_usage, _) = measure::extra(
        &Function::binary("contact-indexer", bin("contact-indexer")),
        &options,
        "contact removed (indexer)",
        5,
        events::contact_removed,
    )
    .await?;
    if let Some(indexer) = results.iter_mut().find(|r| r.name == "contact-indexer") {
        indexer.extra_usage.push(removed_usage);
    }
    provision::delete_contact(&sdk, &resources).await?;
    let (erasure_usage, _) = measure::extra(
        &Function::binary("send-worker", bin("send-worker")),
        &patient_options,
        "erasure job (100 messages)",
        // The warm-up and these erase 300 messages: full pages from 150 invocations up.
        2,
        |_| events::erasure_job(),
    )
    .await?;
    if let Some(worker) = results.iter_mut().find(|r| r.name == "send-worker") {
        worker.extra_usage.push(erasure_usage);
    }

    // Contact search at 1,000 and 20,000 contacts: the first page of each search.
    for size in [1_000, 20_000] {
        eprintln!("filling the search index with {size} contacts");
        search::fill(&sdk, &resources, size).await?;
        let org = search::organization(size);
        for (what, entry) in search::SEARCHES {
            let label = format!("search, {size} contacts, {what} ({entry:?})");
            let (usage, _) = measure::extra(
                &Function::binary("list-contacts", bin("list-contacts")),
                &patient_options,
                &label,
                3,
                |_| events::search_contacts(&org, entry),
            )
            .await?;
            if let Some(contacts) = results.iter_mut().find(|r| r.name == "list-contacts") {
                contacts.extra_usage.push(usage);
            }
        }
    }

    let node = match &args.node_dir {
        Some(dir) => {
            eprintln!("measuring the Node.js + twilio alternative");
            Some(
                measure(
                    &Function::node("node + twilio (alternative)", dir),
                    &options,
                    |i| events::inbound(&events::message_sid(), &format!("Reply {i}")),
                    None,
                )
                .await?,
            )
        }
        None => None,
    };
    eprintln!("measuring the webhook handler in process (in-memory ports)");
    let in_memory = in_memory::webhook_latency(args.invocations.max(10_000)).await?;
    eprintln!("measuring live updates: webhook → data frame through the local runner");
    let live = live::measure(args.invocations.clamp(200, 500), 20).await?;

    // The init of the interleaved rounds replaces each function's own cold starts' (which
    // ran one function at a time, between other work).
    for result in &mut results {
        if let Some(at) = init_functions.iter().position(|f| f.name == result.name) {
            result.init = inits[at].clone();
        }
    }
    let zips = report::zip_sizes(args.zip_dir.as_deref());
    let mut report = report::Report::new(results, node, in_memory, zips, twilio.accepted_count());
    report.set_phone_first(phone_first);
    report.set_live(live);
    print!("{}", report.table());
    std::fs::write(&args.out, report.json()).map_err(|e| format!("{}: {e}", args.out.display()))?;
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

/// send-message's other paths: a note, and a send naming what the agent saw: the first note,
/// newer than every reply, so the guard reads the conversation since and lets the send
/// through (notes and the agent's own sends are no news).
async fn measure_notes_and_guard(
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
async fn measure_interactive(
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
async fn measure_canned(canned: &Function, options: &Options) -> Result<Measured, String> {
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
async fn measure_drafts(
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
