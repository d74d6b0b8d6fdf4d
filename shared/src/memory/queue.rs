//! The send queue in memory: recorded for tests, or delivered after each job's delay to the
//! local runner's worker loop.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::lock;
use crate::domain::WorkerJob;
use crate::ports::{PortError, PortResult, SendQueue};

/// An in-process send queue. `recording()` keeps every job for tests to inspect;
/// `channel()` delivers jobs (after their delay) to a receiver, as the local runner's
/// worker loop consumes them.
#[derive(Clone)]
pub struct MemoryQueue {
    recorded: Arc<Mutex<Vec<(WorkerJob, Duration)>>>,
    sender: Option<mpsc::UnboundedSender<WorkerJob>>,
    /// Operations: `enqueue`.
    pub faults: super::StoreFaults,
}

impl MemoryQueue {
    pub fn recording() -> Self {
        Self {
            recorded: Arc::default(),
            sender: None,
            faults: super::StoreFaults::default(),
        }
    }

    pub fn channel() -> (Self, mpsc::UnboundedReceiver<WorkerJob>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Self {
                recorded: Arc::default(),
                sender: Some(tx),
                faults: super::StoreFaults::default(),
            },
            rx,
        )
    }

    /// The jobs enqueued so far, with their delays (recording queues only).
    pub fn jobs(&self) -> Vec<(WorkerJob, Duration)> {
        lock(&self.recorded).map(|r| r.clone()).unwrap_or_default()
    }

    /// Takes the recorded jobs out, as a consumer would.
    pub fn drain(&self) -> Vec<(WorkerJob, Duration)> {
        lock(&self.recorded)
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

impl MemoryQueue {
    /// Puts a job back, as SQS makes a message visible again after its visibility timeout:
    /// not an enqueue, so no injected fault touches it.
    pub fn redeliver(&self, job: &WorkerJob, delay: Duration) -> PortResult<()> {
        self.deliver(job, delay)
    }

    fn deliver(&self, job: &WorkerJob, delay: Duration) -> PortResult<()> {
        let Some(sender) = &self.sender else {
            lock(&self.recorded)?.push((job.clone(), delay));
            return Ok(());
        };
        if sender.is_closed() {
            return Err(PortError::Unavailable("the send queue is closed".into()));
        }
        let sender = sender.clone();
        let job = job.clone();
        if delay.is_zero() {
            sender
                .send(job)
                .map_err(|_| PortError::Unavailable("the send queue is closed".into()))?;
        } else {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                // A closed queue means the process is shutting down.
                let _ = sender.send(job);
            });
        }
        Ok(())
    }
}

impl SendQueue for MemoryQueue {
    async fn enqueue(&self, job: &WorkerJob, delay: Duration) -> PortResult<()> {
        self.faults.check("enqueue")?;
        self.deliver(job, delay)
    }
}
