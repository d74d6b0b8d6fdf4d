//! GET /whatsapp/channel and GET /whatsapp/templates on Lambda.
use channel::ChannelApi;
use shared::runtime::{init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[]).await?;
    serve(ChannelApi::new(ports, &settings)).await
}
