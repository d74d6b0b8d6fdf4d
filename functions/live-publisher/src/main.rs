//! The messages and contacts tables' stream consumer on Lambda (DynamoDB event sources,
//! partial batch responses): every change the page shows, published on its organization's
//! Event API channel.
use live_publisher::LivePublisher;
use shared::aws::EventApiPublisher;
use shared::runtime::{Resource, init_with_sdk, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (_settings, ports, sdk) = init_with_sdk(&[Resource::MediaBucket]).await?;
    let url = std::env::var("LIVE_PUBLISH_URL")
        .map_err(|_| "LIVE_PUBLISH_URL (the Event API's https://…/event) is required")?;
    let region = sdk
        .region()
        .map(|r| r.to_string())
        .ok_or("AWS_REGION is required")?;
    let credentials = sdk
        .credentials_provider()
        .ok_or("the function's credentials are not in its environment")?;
    let channels = EventApiPublisher::new(&url, region, credentials)?;
    serve(LivePublisher::new(ports.media, channels)).await
}
