//! Twilio's inbound-message and status-callback webhooks on Lambda.
use shared::runtime::{Resource, init, serve};
use twilio_webhook::TwilioWebhook;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[Resource::MediaQueue]).await?;
    serve(TwilioWebhook::new(ports, &settings)).await
}
