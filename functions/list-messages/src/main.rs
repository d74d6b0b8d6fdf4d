//! GET /whatsapp/messages on Lambda.
use list_messages::MessagesApi;
use shared::runtime::{Resource, init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[Resource::MediaBucket]).await?;
    serve(MessagesApi::new(ports, &settings)).await
}
