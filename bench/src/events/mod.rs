//! The events each function gets during the benchmark, shaped as API Gateway and SQS deliver
//! them; webhooks are signed with the organization's auth token as Twilio signs them. Here:
//! the benchmark organization; `api` (the page's requests), `twilio` (webhooks, media link
//! fetches), `records` (SQS jobs, DynamoDB stream records).

mod api;
mod records;
mod twilio;

pub use api::*;
pub use records::*;
pub use twilio::*;

pub const ORG: &str = "bench";
pub const ACCOUNT_SID: &str = "AC0000000000000000000000000000beef";
pub const AUTH_TOKEN: &str = "bench-auth-token-0123456789abcdef";
pub const SENDER: &str = "+14155238886";
pub const CONTACT_ID: &str = "c-bench";
pub const CONTACT_PHONE: &str = "+60123456789";
/// The URL Twilio is configured to call (`PUBLIC_BASE_URL` of the webhook function).
pub const PUBLIC_BASE_URL: &str = "https://bench.example.com";

fn json(event: &impl serde::Serialize) -> Vec<u8> {
    serde_json::to_vec(event).unwrap_or_default()
}
