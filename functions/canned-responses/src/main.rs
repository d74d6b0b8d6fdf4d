//! The canned-response routes on Lambda.
use canned_responses::CannedApi;
use shared::runtime::{init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[]).await?;
    serve(CannedApi::new(ports, &settings)).await
}
