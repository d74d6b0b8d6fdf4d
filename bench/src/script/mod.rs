//! The benchmark's script: what is started, what is measured in which order, and the report.
//! Each step measures one function or one path and adds it to the results; the order matters
//! (the sends feed the worker, the sent messages the status callbacks, the erasure comes once
//! nothing else needs the conversation), so `run` reads as the list of steps.
//!
//! - here: starting the emulator's resources and the stubs, and the report at the end;
//! - `functions`: one step per function, in that order;
//! - `agents`: the agents' paths (notes, the guarded send, buttons, canned responses, drafts).

mod agents;
mod functions;

use std::path::PathBuf;

use crate::measure::{self, Function, Measured, Options, init_functions};
use crate::{Args, aws_proxy, cold_start, event_api_stub, phone, provision, report, twilio_stub};

/// What the steps share: the functions' binaries, how they are run, the emulator's resources,
/// the stubs, and what was measured so far.
struct Bench {
    bin_dir: PathBuf,
    options: Options,
    /// For the calls moto takes long over (see `start`).
    patient: Options,
    sdk: aws_config::SdkConfig,
    resources: provision::Resources,
    twilio: twilio_stub::TwilioStub,
    event_api: event_api_stub::EventApiStub,
    results: Vec<Measured>,
}

impl Bench {
    fn function(&self, name: &str) -> Function {
        Function::binary(name, self.bin_dir.join(name))
    }

    /// Adds a measured path to the function already measured under `name`.
    fn add_to(&mut self, name: &str, usage: impl IntoIterator<Item = (String, measure::Cost)>) {
        if let Some(result) = self.results.iter_mut().find(|r| r.name == name) {
            result.extra_usage.extend(usage);
        }
    }
}

pub async fn run(args: Args) -> Result<(), String> {
    if args.cold_start_only {
        return cold_start::run(&args.bin_dir, args.cold_starts).await;
    }
    // The first phone-number validation of a process, per calling code, now and before.
    eprintln!("measuring the first phone-number validation of a process");
    let phone_first = phone::first_validations(&args.bin_dir, 5)?;
    let mut bench = start(&args).await?;

    // Init first, every function in turn round after round (see `measure::inits`).
    let init_functions = init_functions(&args.bin_dir);
    let init_rounds = args.cold_starts * 3;
    eprintln!("measuring init: {init_rounds} rounds of the floor and every function in turn");
    let inits = measure::inits(&init_functions, &bench.options, init_rounds).await?;

    bench.floor_and_plain_functions().await?;
    bench.media_links().await?;
    bench.sends().await?;
    let sent = bench.conversations().await?;
    let read_up_to = sent.first().map(|(id, _)| id.clone()).unwrap_or_default();
    bench.webhooks(sent).await?;
    bench.inbox(&read_up_to).await?;
    bench.agents().await?;
    bench.erasure().await?;
    bench.search().await?;

    let node = match &args.node_dir {
        Some(dir) => {
            eprintln!("measuring the Node.js + twilio alternative");
            Some(
                measure::measure(
                    &Function::node("node + twilio (alternative)", dir),
                    &bench.options,
                    |i| {
                        crate::events::inbound(&crate::events::message_sid(), &format!("Reply {i}"))
                    },
                    None,
                )
                .await?,
            )
        }
        None => None,
    };
    eprintln!("measuring the webhook handler in process (in-memory ports)");
    let in_memory = crate::in_memory::webhook_latency(args.invocations.max(10_000)).await?;
    eprintln!("measuring live updates: webhook → data frame through the local runner");
    let live = crate::live::measure(args.invocations.clamp(200, 500), 20).await?;

    // The init of the interleaved rounds replaces each function's own cold starts' (which
    // ran one function at a time, between other work).
    for result in &mut bench.results {
        if let Some(at) = init_functions.iter().position(|f| f.name == result.name) {
            result.init = inits[at].clone();
        }
    }
    let zips = report::zip_sizes(args.zip_dir.as_deref());
    let accepted = bench.twilio.accepted_count();
    let mut report = report::Report::new(bench.results, node, in_memory, zips, accepted);
    report.set_phone_first(phone_first);
    report.set_live(live);
    print!("{}", report.table());
    std::fs::write(&args.out, report.json()).map_err(|e| format!("{}: {e}", args.out.display()))?;
    eprintln!("results written to {}", args.out.display());
    Ok(())
}

/// The emulator's resources for this run, the counting proxy in front of it, the Twilio and
/// Event API stubs, and the environment every function gets.
async fn start(args: &Args) -> Result<Bench, String> {
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
    // moto copies a whole table for every transaction (to roll back) and scans a partition in
    // Python for every Query, so the webhook's transaction and the searches of the large
    // organizations can take longer than the functions' 10 s DynamoDB timeout. Those calls get
    // a longer one; the latencies of AWS calls here are the emulator's anyway, and the
    // capacity counted is DynamoDB's either way.
    let mut patient_env = env.clone();
    patient_env.retain(|(k, _)| k != "DYNAMODB_TIMEOUT_SECONDS" && k != "POLL_SETTLE_SECONDS");
    patient_env.push(("DYNAMODB_TIMEOUT_SECONDS".into(), "120".into()));
    patient_env.push(("POLL_SETTLE_SECONDS".into(), "180".into()));
    let options = |env| Options {
        invocations: args.invocations,
        cold_starts: args.cold_starts,
        env,
        proxy: proxy.clone(),
    };
    Ok(Bench {
        bin_dir: args.bin_dir.clone(),
        options: options(env),
        patient: options(patient_env),
        sdk,
        resources,
        twilio,
        event_api,
        results: Vec::new(),
    })
}
