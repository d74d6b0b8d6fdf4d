//! The inbox routes on Lambda.
use inbox::InboxApi;
use shared::runtime::{init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[]).await?;
    serve(InboxApi::new(ports, &settings)).await
}
