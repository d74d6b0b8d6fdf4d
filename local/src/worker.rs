//! The in-process stand-in for the SQS event source mapping: jobs from the memory queue go
//! to the same `SendWorker` the Lambda runs, each in its own task.
//!
//! Fault `worker`/`stop_mid_job` stops the next job at a random point (the future is
//! dropped, as a Lambda that times out or crashes): it comes back after the claim lease, as
//! an SQS message comes back after its visibility timeout.

use std::time::Duration;

use send_worker::SendWorker;
use shared::domain::WorkerJob;
use shared::memory::{MemoryQueue, StoreFaults};
use shared::ports::Ports;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

/// How long a job whose processing failed (a store error) waits before it is tried again,
/// like an SQS message whose visibility timeout expires.
const REDELIVERY_DELAY: Duration = Duration::from_secs(1);

pub fn spawn<P: Ports>(
    worker: SendWorker<P>,
    mut jobs: UnboundedReceiver<WorkerJob>,
    queue: MemoryQueue,
    faults: StoreFaults,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(job) = jobs.recv().await {
            let worker = worker.clone();
            let queue = queue.clone();
            let stop = faults.check("stop_mid_job").is_err();
            tokio::spawn(async move {
                let result = if stop {
                    // Somewhere within the first 400 ms: before, during or after Twilio's call.
                    let at = Duration::from_millis(ulid::Ulid::new().random() as u64 % 400);
                    match tokio::time::timeout(at, worker.process(&job)).await {
                        Ok(result) => result,
                        Err(_) => {
                            tracing::warn!(
                                organization_id = %job.organization_id(),
                                message_id = ?job.message_id(),
                                "worker stopped mid-job (injected); the job comes back after the claim lease"
                            );
                            let visibility =
                                worker.settings.claim_lease + Duration::from_millis(500);
                            if let Err(e) = queue.redeliver(&job, visibility) {
                                tracing::error!(error = %e, "job could not be redelivered");
                            }
                            return;
                        }
                    }
                } else {
                    worker.process(&job).await
                };
                if let Err(e) = result {
                    tracing::error!(
                        organization_id = %job.organization_id(),
                        message_id = ?job.message_id(),
                        error = %e,
                        "job failed; redelivering"
                    );
                    if let Err(e) = queue.redeliver(&job, REDELIVERY_DELAY) {
                        tracing::error!(error = %e, "job could not be redelivered");
                    }
                }
            });
        }
    })
}
