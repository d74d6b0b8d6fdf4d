//! POST /whatsapp/messages on Lambda.
use send_message::SendApi;
use shared::runtime::{Resource, init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[Resource::SendQueue, Resource::MediaBucket]).await?;
    serve(SendApi::new(ports, &settings)).await
}
