//! The local runner over HTTP, one test binary: the gateway emulation and demo auth, the
//! OpenAPI description against the served routes, the Twilio sandbox, the whole
//! send/reply/status flow, attachments both ways, and the page it serves.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

mod api_keys;
mod attachments;
mod chaos;
mod common;
mod content_api;
mod flow;
mod gateway;
mod history;
mod live;
mod messaging_services;
mod openapi;
mod read_receipts;
mod sandbox;
mod security;
mod sender_health;
mod web;
