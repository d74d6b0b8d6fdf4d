//! `lambda-bench --cold-start-only`: the two cold-start targets alone, in about two minutes
//! and without the emulator: the first phone-number validation per calling code, and init in
//! interleaved rounds against the floor. Prints them; writes nothing.

use std::path::Path;

use crate::measure::{self, Options};
use crate::report::{TARGET_FIRST_PHONE_MS, TARGET_INIT_VS_FLOOR};
use crate::samples::percentile;
use crate::{aws_proxy, phone, provision};

/// Where nothing listens: a cold start makes no request.
const NOWHERE: &str = "http://127.0.0.1:9";

pub async fn run(bin_dir: &Path, cold_starts: usize) -> Result<(), String> {
    let phone_first = phone::first_validations(bin_dir, 5)?;
    let (proxy, proxy_url) = aws_proxy::AwsProxy::start(NOWHERE)
        .await
        .map_err(|e| e.to_string())?;
    let resources = provision::Resources {
        contacts_table: "contacts".into(),
        contact_search_table: "contact-search".into(),
        messages_table: "messages".into(),
        queue_url: format!("{NOWHERE}/queue"),
        bucket: "media".into(),
        secret_prefix: "whatsapp/".into(),
        sent_media_key: String::new(),
    };
    let mut env = measure::function_env(&resources, &proxy_url, NOWHERE);
    env.push(("LIVE_PUBLISH_URL".into(), format!("{NOWHERE}/event")));
    let options = Options {
        invocations: 0,
        cold_starts,
        env,
        proxy,
    };
    let functions = measure::init_functions(bin_dir);
    let rounds = cold_starts * 3;
    eprintln!("init: {rounds} rounds of the floor and every function in turn");
    let inits = measure::inits(&functions, &options, rounds).await?;
    let floor = percentile(&inits[0], 0.5);
    println!(
        "init, median of {rounds} (target ≤ {TARGET_INIT_VS_FLOOR}× the floor's {floor:.2} ms):"
    );
    for (function, samples) in functions.iter().zip(&inits).skip(1) {
        let median = percentile(samples, 0.5);
        let ratio = median / floor.max(f64::EPSILON);
        let met = if ratio <= TARGET_INIT_VS_FLOOR {
            "met"
        } else {
            "MISSED"
        };
        println!("  {:16} {median:.2} ms  {ratio:.2}×  {met}", function.name);
    }
    println!(
        "first phone validation of a process, median of 5 (target ≤ {TARGET_FIRST_PHONE_MS} ms, and valid):"
    );
    for first in &phone_first {
        let met = if first.now_ms <= TARGET_FIRST_PHONE_MS && first.valid {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "  {:16} {:.2} ms (before: {:.2} ms)  {met}",
            first.number, first.now_ms, first.before_ms
        );
    }
    Ok(())
}
