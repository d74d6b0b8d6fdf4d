//! The worker's jobs, one kind each with its own fields: a message to send, an inbound
//! message's media to copy or count, a deleted contact's conversation to erase.
//!
//! On the queue a job keeps the one format jobs have always had (`WireJob`:
//! `{organization_id, message_id, attempt, kind?}`), so jobs queued before a deploy — and
//! those a worker of the previous version still reads during one — mean the same both ways
//! (`jobs_already_queued_survive_the_deploy` feeds recorded JSON of every kind).

use serde::{Deserialize, Serialize};

use super::{ContactId, MessageId, OrganizationId};

/// A job of one message: to send it (`WorkerJob::Send`) or to copy its files
/// (`WorkerJob::CopyMedia`), tried again with the next `attempt` until it is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageJob {
    pub organization_id: OrganizationId,
    pub message_id: MessageId,
    /// 1 for the first try; the worker gives up after the configured number.
    pub attempt: u32,
}

impl MessageJob {
    pub fn new(organization_id: &OrganizationId, message_id: MessageId) -> Self {
        Self {
            organization_id: organization_id.clone(),
            message_id,
            attempt: 1,
        }
    }

    /// The same job as attempt `attempt`.
    pub fn attempt(&self, attempt: u32) -> Self {
        Self {
            attempt,
            ..self.clone()
        }
    }
}

/// One page of a deleted contact's erasure: its messages older than `older_than`, in the
/// `sweep`th sweep (`ERASURE_SWEEPS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureJob {
    pub organization_id: OrganizationId,
    pub contact_id: ContactId,
    pub older_than: MessageId,
    pub sweep: u32,
}

/// The unit of work on the worker's queues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "WireJob", into = "WireJob")]
pub enum WorkerJob {
    /// Send an outbound message through Twilio.
    Send(MessageJob),
    /// Copy an inbound message's media from Twilio into our bucket.
    CopyMedia(MessageJob),
    /// Count an inbound message in its conversation's summary: its webhook stored it
    /// uncounted because other messages kept the summary busy until it had to answer.
    CountInbound {
        organization_id: OrganizationId,
        message_id: MessageId,
    },
    /// Erase what is stored of a contact the CRM deleted, a page per job.
    EraseContact(ErasureJob),
}

/// An erasure sweeps a contact's conversation twice: at once, and once more when every
/// writer that read the contact before it was deleted is done (`ERASURE_FINAL_SWEEP_DELAY`).
pub const ERASURE_SWEEPS: u32 = 2;

/// Longer than any handler that may still write for a contact it read before the deletion
/// (a webhook, a send, a worker attempt and its lease) and than the index lag; SQS's
/// longest delay.
pub const ERASURE_FINAL_SWEEP_DELAY: std::time::Duration = std::time::Duration::from_secs(900);

impl WorkerJob {
    /// The first job of a contact's erasure: every message of its conversation, newest first.
    pub fn erase_contact(organization_id: &OrganizationId, contact_id: &ContactId) -> Self {
        WorkerJob::EraseContact(ErasureJob {
            organization_id: organization_id.clone(),
            contact_id: contact_id.clone(),
            older_than: MessageId::ceiling(),
            sweep: 1,
        })
    }

    pub fn organization_id(&self) -> &OrganizationId {
        match self {
            WorkerJob::Send(job) | WorkerJob::CopyMedia(job) => &job.organization_id,
            WorkerJob::CountInbound {
                organization_id, ..
            } => organization_id,
            WorkerJob::EraseContact(job) => &job.organization_id,
        }
    }

    /// The message the job is about (none for an erasure).
    pub fn message_id(&self) -> Option<&MessageId> {
        match self {
            WorkerJob::Send(job) | WorkerJob::CopyMedia(job) => Some(&job.message_id),
            WorkerJob::CountInbound { message_id, .. } => Some(message_id),
            WorkerJob::EraseContact(_) => None,
        }
    }

    /// A long job (a copy of large files, an erasure page), kept off the send queue's
    /// batches and timeout when the long jobs have a queue of their own.
    pub fn is_long(&self) -> bool {
        !matches!(self, WorkerJob::Send(_))
    }
}

/// A job as the queue carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WireJob {
    organization_id: OrganizationId,
    /// The message; for an erasure, where the sweep goes on.
    message_id: MessageId,
    /// The attempt; for an erasure, the sweep.
    #[serde(default = "first_attempt")]
    attempt: u32,
    #[serde(default, skip_serializing_if = "WireKind::is_send")]
    kind: WireKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WireKind {
    #[default]
    Send,
    CopyMedia,
    CountInbound,
    EraseContact {
        contact_id: ContactId,
    },
}

impl WireKind {
    fn is_send(&self) -> bool {
        *self == WireKind::Send
    }
}

fn first_attempt() -> u32 {
    1
}

impl From<WireJob> for WorkerJob {
    fn from(wire: WireJob) -> Self {
        let message = MessageJob {
            organization_id: wire.organization_id.clone(),
            message_id: wire.message_id,
            attempt: wire.attempt,
        };
        match wire.kind {
            WireKind::Send => WorkerJob::Send(message),
            WireKind::CopyMedia => WorkerJob::CopyMedia(message),
            WireKind::CountInbound => WorkerJob::CountInbound {
                organization_id: wire.organization_id,
                message_id: wire.message_id,
            },
            WireKind::EraseContact { contact_id } => WorkerJob::EraseContact(ErasureJob {
                organization_id: wire.organization_id,
                contact_id,
                older_than: wire.message_id,
                sweep: wire.attempt,
            }),
        }
    }
}

impl From<WorkerJob> for WireJob {
    fn from(job: WorkerJob) -> Self {
        let message = |job: MessageJob, kind| WireJob {
            organization_id: job.organization_id,
            message_id: job.message_id,
            attempt: job.attempt,
            kind,
        };
        match job {
            WorkerJob::Send(job) => message(job, WireKind::Send),
            WorkerJob::CopyMedia(job) => message(job, WireKind::CopyMedia),
            WorkerJob::CountInbound {
                organization_id,
                message_id,
            } => WireJob {
                organization_id,
                message_id,
                attempt: 1,
                kind: WireKind::CountInbound,
            },
            WorkerJob::EraseContact(job) => WireJob {
                organization_id: job.organization_id,
                message_id: job.older_than,
                attempt: job.sweep,
                kind: WireKind::EraseContact {
                    contact_id: job.contact_id,
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Jobs as earlier versions queued them (recorded from their `serde_json` output), read
    /// as the job they were, and written back the same.
    #[test]
    fn jobs_already_queued_survive_the_deploy() {
        let org = OrganizationId::parse("acme").unwrap();
        let id = MessageId::parse("01JB8Z3Q6V9W2X4Y5Z6A7B8C9D").unwrap();
        let contact = ContactId::parse("c-aisha").unwrap();
        let cases = [
            (
                r#"{"organization_id":"acme","message_id":"01JB8Z3Q6V9W2X4Y5Z6A7B8C9D","attempt":3}"#,
                WorkerJob::Send(MessageJob {
                    organization_id: org.clone(),
                    message_id: id,
                    attempt: 3,
                }),
            ),
            (
                r#"{"organization_id":"acme","message_id":"01JB8Z3Q6V9W2X4Y5Z6A7B8C9D","attempt":2,"kind":"copy_media"}"#,
                WorkerJob::CopyMedia(MessageJob {
                    organization_id: org.clone(),
                    message_id: id,
                    attempt: 2,
                }),
            ),
            (
                r#"{"organization_id":"acme","message_id":"01JB8Z3Q6V9W2X4Y5Z6A7B8C9D","attempt":1,"kind":"count_inbound"}"#,
                WorkerJob::CountInbound {
                    organization_id: org.clone(),
                    message_id: id,
                },
            ),
            (
                r#"{"organization_id":"acme","message_id":"01JB8Z3Q6V9W2X4Y5Z6A7B8C9D","attempt":2,"kind":{"erase_contact":{"contact_id":"c-aisha"}}}"#,
                WorkerJob::EraseContact(ErasureJob {
                    organization_id: org.clone(),
                    contact_id: contact.clone(),
                    older_than: id,
                    sweep: 2,
                }),
            ),
        ];
        for (recorded, job) in cases {
            let read: WorkerJob = serde_json::from_str(recorded).unwrap();
            assert_eq!(read, job, "{recorded}");
            assert_eq!(serde_json::to_string(&job).unwrap(), recorded);
        }
        // The oldest jobs carried no attempt: their first.
        let oldest: WorkerJob = serde_json::from_str(
            r#"{"organization_id":"acme","message_id":"01JB8Z3Q6V9W2X4Y5Z6A7B8C9D"}"#,
        )
        .unwrap();
        assert_eq!(oldest, WorkerJob::Send(MessageJob::new(&org, id)));
        for broken in [
            r#"{"organization_id":"acme"}"#,
            r#"{"organization_id":"acme","message_id":"x","attempt":1}"#,
            r#"{"organization_id":"acme","message_id":"01JB8Z3Q6V9W2X4Y5Z6A7B8C9D","kind":"launch"}"#,
        ] {
            assert!(
                serde_json::from_str::<WorkerJob>(broken).is_err(),
                "{broken}"
            );
        }
        // An erasure starts above every message of the conversation.
        let erasure = WorkerJob::erase_contact(&org, &contact);
        assert!(matches!(&erasure, WorkerJob::EraseContact(e) if e.older_than > MessageId::new()));
        assert!(erasure.is_long());
        assert!(!WorkerJob::Send(MessageJob::new(&org, id)).is_long());
    }
}
