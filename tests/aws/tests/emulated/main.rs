//! Integration tests of the AWS side, one binary:
//! - `template`: the SAM template against the code (no emulator needed);
//! - `adapters`, `inbox`, `flows`, `erasure`, `local_runner`, `live_stream`: the AWS adapters, the handlers on them and the
//!   local runner's `--aws` mode against an AWS emulator (moto) on loopback. They are
//!   `#[ignore]`d so a plain `cargo test` needs nothing but Rust; `./scripts/test.sh` runs
//!   them with the emulator (`cargo test -p aws-integration -- --ignored`);
//! - `twilio_sdk`: webhook signatures made by the official Twilio SDK in the test venv,
//!   also `#[ignore]`d and run by `./scripts/test.sh`;
//! - `event_api`: the live publisher's SigV4 signature recomputed by botocore (test venv,
//!   `#[ignore]`d likewise), and its reading of the Event API's answers.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

mod adapters;
mod contention;
mod emulator;
mod erasure;
mod event_api;
mod flows;
mod inbox;
mod live_stream;
mod local_runner;
mod template;
mod twilio_sdk;
