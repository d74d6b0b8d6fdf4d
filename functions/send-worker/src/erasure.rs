//! The third job of the worker: erasing what is stored of a contact the CRM deleted. The
//! contact indexer queues the first job when the contacts table's stream shows the contact
//! removed (the local runner does when its CRM route deletes one). Each job erases one page
//! of the conversation — every file of a message, then its `SID#` item and idempotency
//! record, then the message itself — and queues the next page; a job that fails half-way is
//! delivered again and finds what is left. When the conversation is empty, one more sweep
//! runs `ERASURE_FINAL_SWEEP_DELAY` later, for what a webhook, a send or a worker attempt
//! that read the contact before its deletion wrote after the first sweep.

use std::time::Duration;

use shared::domain::{
    ERASURE_FINAL_SWEEP_DELAY, ERASURE_SWEEPS, ErasureJob, Message, MessageId, WorkerJob,
};
use shared::ports::{
    ContactStore, ConversationStore, DraftStore, Erasure, MediaStore, MessageStore, PortError,
    Ports, SendQueue,
};

use crate::{JobOutcome, SendWorker};

/// Messages erased per job: a few seconds of deletes, far inside the worker's timeout.
pub const ERASURE_PAGE: usize = 100;

/// Messages erased at once within a page.
pub const ERASURE_CONCURRENCY: usize = 8;

impl<P: Ports> SendWorker<P> {
    pub(crate) async fn erase_contact(&self, job: &ErasureJob) -> Result<JobOutcome, PortError> {
        let (org, contact) = (&job.organization_id, &job.contact_id);
        // Restored in the CRM (the same id written again): it keeps what is not erased yet.
        if self.ports.contacts().get(org, contact).await?.is_some() {
            tracing::warn!(contact_id = %contact, "the contact exists again: erasure stopped");
            return Ok(JobOutcome::Skipped);
        }
        let page = self
            .ports
            .messages()
            .erasable(org, contact, &job.older_than, ERASURE_PAGE)
            .await?;
        for chunk in page.messages.chunks(ERASURE_CONCURRENCY) {
            let mut erasing = tokio::task::JoinSet::new();
            for message in chunk {
                let (ports, message) = (self.ports.clone(), message.clone());
                erasing.spawn(async move { erase_message(&ports, &message).await });
            }
            // Every erase of the chunk ends before a failure is reported: none is cut off
            // half-way, and the retry finds exactly what is left.
            let mut failure = None;
            while let Some(done) = erasing.join_next().await {
                let result = done
                    .map_err(|e| PortError::Unavailable(format!("erasure task: {e}")))
                    .and_then(|erased| erased);
                if let Err(e) = result {
                    failure.get_or_insert(e);
                }
            }
            if let Some(e) = failure {
                return Err(e);
            }
        }
        let next = match page.messages.first() {
            Some(oldest) if page.has_more => Some((
                ErasureJob {
                    older_than: oldest.id,
                    ..job.clone()
                },
                Duration::ZERO,
            )),
            _ if job.sweep < ERASURE_SWEEPS => Some((
                ErasureJob {
                    older_than: MessageId::ceiling(),
                    sweep: job.sweep + 1,
                    ..job.clone()
                },
                ERASURE_FINAL_SWEEP_DELAY,
            )),
            _ => None,
        };
        let done = next.is_none();
        if !page.has_more {
            // A sweep found nothing more of the conversation: its row (and its unread count)
            // leaves the inbox now, and again after the final sweep, for a row a late status
            // callback wrote meanwhile.
            self.ports.messages().forget(org, contact).await?;
            // Agents' drafts of the conversation go with it (again after the final sweep,
            // for a draft a tab saved meanwhile).
            self.ports.messages().erase_drafts(org, contact).await?;
        }
        if let Some((next, delay)) = next {
            let next = WorkerJob::EraseContact(next);
            self.ports.queue().enqueue(&next, delay).await?;
        }
        tracing::info!(contact_id = %contact, sweep = job.sweep, erased = page.messages.len(), done, "contact erasure");
        Ok(JobOutcome::Erased {
            messages: page.messages.len(),
            done,
        })
    }
}

/// A message's files, then its items (the message last, so a retry finds it again). A
/// message that changed since it was read (a media copy recorded a file meanwhile) is read
/// again and erased as it is now, so no file it gained is left behind.
async fn erase_message<P: Ports>(ports: &P, message: &Message) -> Result<(), PortError> {
    let org = &message.organization_id;
    let mut message = message.clone();
    loop {
        for key in message.attachments.iter().filter_map(|a| a.key.as_deref()) {
            match ports.media().discard(org, key).await {
                // A key outside the organization's prefix names nothing of its own to delete.
                Ok(()) | Err(PortError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        match ports.messages().erase(&message).await? {
            Erasure::Erased => return Ok(()),
            Erasure::ChangedSinceRead(now) => message = *now,
        }
        if std::time::Instant::now() >= shared::deadline::retries_end() {
            return Err(PortError::Unavailable(
                "the message kept changing while it was erased".into(),
            ));
        }
    }
}
