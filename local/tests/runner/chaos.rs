//! The fault-injection run on the in-process stores (see `local::chaos`): Twilio faults,
//! repeated and shuffled callbacks, repeated webhooks, store writes failing, workers stopped
//! mid-job. `./scripts/test.sh` runs it and prints its counts.

use std::time::Duration;

use local::chaos::{Plan, run};

use crate::common::start_with;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "the fault-injection run: ./scripts/test.sh runs it with its counts printed"]
async fn fault_injection_run_in_process() {
    // With RUST_LOG set, the run's logs (message ids in their spans) explain a violation.
    if std::env::var_os("RUST_LOG").is_some() {
        shared::telemetry::init_local();
    }
    let local = start_with(&[("SEND_MAX_ATTEMPTS", "5")]).await;
    let seed = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| ulid::Ulid::new().random() as u64);
    let plan = Plan {
        seed,
        sends: 300,
        inbound: 200,
        concurrency: 12,
        store_faults: true,
        concurrent_repeats: true,
        settle: Duration::from_secs(90),
        pace: Duration::from_millis(60),
    };
    let report = run(&local.running.base_url, &local.token("acme"), &plan).await;
    println!("{report}");
    assert!(
        report.violations.is_empty(),
        "{report}\nrepeat with CHAOS_SEED={seed}"
    );
    assert!(report.counts["parts accepted"] >= 250, "{report}");
    assert!(report.faults.values().sum::<u64>() >= 50, "{report}");
}
