//! The in-process stand-in for the SQS event source mapping: jobs from the memory queue go
//! to the same `SendWorker` the Lambda runs, each in its own task.

use std::time::Duration;

use send_worker::SendWorker;
use shared::domain::SendJob;
use shared::ports::{Ports, SendQueue};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// How long a job whose processing failed (a store error) waits before it is tried again,
/// like an SQS message whose visibility timeout expires.
const REDELIVERY_DELAY: Duration = Duration::from_secs(1);

pub fn spawn<P: Ports>(
    worker: SendWorker<P>,
    mut jobs: UnboundedReceiver<SendJob>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            let worker = worker.clone();
            tokio::spawn(async move {
                if let Err(e) = worker.process(&job).await {
                    tracing::error!(
                        organization_id = %job.organization_id,
                        message_id = %job.message_id,
                        error = %e,
                        "job failed; redelivering"
                    );
                    if let Err(e) = worker.ports.queue().enqueue(&job, REDELIVERY_DELAY).await {
                        tracing::error!(error = %e, "job could not be redelivered");
                    }
                }
            });
        }
    })
}
