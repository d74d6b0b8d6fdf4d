//! The send queue's consumer on Lambda (SQS event source, partial batch responses).
use send_worker::SendWorker;
use shared::runtime::{Resource, init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[
        Resource::SendQueue,
        Resource::MediaQueue,
        Resource::MediaBucket,
    ])
    .await?;
    serve(SendWorker::new(ports, &settings)).await
}
