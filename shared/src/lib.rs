//! Everything the WhatsApp-channel Lambdas share: pure domain rules, the Twilio protocol,
//! the ports handlers depend on, their in-memory implementations, and the HTTP API glue.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod api;
pub mod aws;
pub mod cache;
pub mod config;
pub mod deadline;
pub mod domain;
pub mod https;
pub mod live;
pub mod media_link;
pub mod memory;
pub mod ports;
pub mod routes;
pub mod runtime;
pub mod telemetry;
pub mod template_cache;
#[cfg(any(test, feature = "testing"))]
#[allow(
    clippy::too_many_lines,
    reason = "test scenarios read whole, top to bottom (docs/design.md, \"Long functions\")"
)]
pub mod testing;
pub mod twilio;
