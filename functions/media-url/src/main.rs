//! GET|HEAD /media/{organization_id}/{token}/{filename} on Lambda.
use media_url::MediaLinkApi;
use shared::runtime::{Resource, init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (_settings, ports) = init(&[Resource::MediaBucket]).await?;
    serve(MediaLinkApi::new(ports)).await
}
