//! POST /whatsapp/attachments on Lambda.
use presign_upload::PresignApi;
use shared::runtime::{Resource, init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[Resource::MediaBucket]).await?;
    serve(PresignApi::new(ports, &settings)).await
}
