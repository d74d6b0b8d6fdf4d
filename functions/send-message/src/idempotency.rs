//! `Idempotency-Key`: a repeated send (a retry after a 503 or a lost answer, a double click)
//! sends nothing twice.
//!
//! The first request with a key checks the send as usual, then records the request and the
//! message id of each part (`IdempotentSend`, kept 24 hours) and holds a short lease while
//! it stores and queues the parts. A repeat:
//! - with another body: 422, nothing changes;
//! - while the lease is held: 409 with Retry-After (the first is still working);
//! - after every part was queued: the first answer again (the messages as they are now),
//!   nothing queued;
//! - after a partial failure: only the parts that did not get queued are sent. A part whose
//!   message is stored PENDING is queued again (the worker's send claim makes a second job
//!   harmless); a part whose queueing failed (FAILED, never handed to Twilio) gets a new
//!   message; a part that reached Twilio is left alone.

use chrono::{DateTime, Utc};
use shared::api::{ApiError, ApiGatewayV2httpRequest, MessageView};
use shared::domain::{Message, MessageStatus, OrganizationId};
use shared::ports::{IdempotentSend, MessageStore, Ports, SendPart};

use crate::{Accepted, SendApi, SendRequest, log_accepted};

pub const HEADER: &str = "idempotency-key";
pub const MAX_KEY_CHARS: usize = 255;

/// How long a record is kept: a repeat within it is recognised.
pub fn retention() -> chrono::Duration {
    chrono::Duration::hours(24)
}

/// How long a request holds a record it works on: longer than the function may run
/// (template: 10 s), so a repeat never works on the parts while the first still does.
pub fn lease() -> chrono::Duration {
    chrono::Duration::seconds(30)
}

/// The request's key, if it sent one: 1–255 printable ASCII characters.
pub fn key(event: &ApiGatewayV2httpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = event.headers.get(HEADER) else {
        return Ok(None);
    };
    let printable = ApiError::InvalidIdempotencyKey("Idempotency-Key must be printable ASCII.");
    let value = value.to_str().map_err(|_| printable.clone())?;
    if value.trim().is_empty() {
        return Err(ApiError::InvalidIdempotencyKey(
            "Idempotency-Key must not be empty.",
        ));
    }
    if value.len() > MAX_KEY_CHARS {
        return Err(ApiError::InvalidIdempotencyKey(
            "Idempotency-Key must be at most 255 characters.",
        ));
    }
    if !value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(printable);
    }
    Ok(Some(value.to_owned()))
}

/// What a repeat must match: the request as parsed, so formatting does not matter.
fn canonical(request: &SendRequest) -> Result<String, ApiError> {
    serde_json::to_string(request)
        .map_err(|_| ApiError::InvalidJson("The body could not be read.".into()))
}

/// What a part of a resumed send needs.
enum PartState {
    /// Queued, or it reached Twilio: nothing to do.
    Done,
    /// Stored PENDING, maybe never queued: queue it (again).
    Requeue,
    /// Never stored, or its queueing failed: store the freshly prepared part and queue it.
    Store,
}

impl<P: Ports> SendApi<P> {
    pub async fn send_once(
        &self,
        org: &OrganizationId,
        key: String,
        request: SendRequest,
    ) -> Result<Accepted, ApiError> {
        let fingerprint = canonical(&request)?;
        let now = Utc::now();
        if let Some(record) = self
            .ports
            .messages()
            .idempotent_send(org, &key, now)
            .await?
        {
            return self.repeat(org, record, &fingerprint, request, now).await;
        }
        // Checked before anything is recorded: a refused request leaves no trace.
        let parts = self.prepare_guarded(org, request).await?;
        let record = IdempotentSend {
            key: key.clone(),
            request: fingerprint.clone(),
            parts: parts
                .iter()
                .map(|m| SendPart {
                    message_id: m.id,
                    queued: false,
                })
                .collect(),
            lease_until: Some(now + lease()),
            version: 1,
            expires_at: now + retention(),
        };
        if !self
            .ports
            .messages()
            .save_idempotent_send(org, &record, None, now)
            .await?
        {
            // Another request with this key (a double click) got there first.
            for message in &parts {
                self.discard_sealed(message).await;
            }
            return match self
                .ports
                .messages()
                .idempotent_send(org, &key, now)
                .await?
            {
                Some(first) if first.request != fingerprint => Err(ApiError::IdempotencyKeyReused),
                _ => Err(ApiError::SendInProgress),
            };
        }
        let work = parts.into_iter().map(|m| (PartState::Store, m)).collect();
        self.deliver(org, record, work).await
    }

    async fn repeat(
        &self,
        org: &OrganizationId,
        mut record: IdempotentSend,
        fingerprint: &str,
        request: SendRequest,
        now: DateTime<Utc>,
    ) -> Result<Accepted, ApiError> {
        if record.request != fingerprint {
            return Err(ApiError::IdempotencyKeyReused);
        }
        if record.parts.iter().all(|p| p.queued) {
            tracing::info!("repeated send answered from its record");
            return self.answer(org, &record).await;
        }
        if record.lease_until.is_some_and(|until| until > now) {
            return Err(ApiError::SendInProgress);
        }
        // The first request ended without queueing every part: take the record over.
        let expected = record.version;
        record.version += 1;
        record.lease_until = Some(now + lease());
        if !self
            .ports
            .messages()
            .save_idempotent_send(org, &record, Some(expected), now)
            .await?
        {
            return Err(ApiError::SendInProgress);
        }
        let fresh = match self.prepare(org, request).await {
            Ok(parts) if parts.len() == record.parts.len() => parts,
            // The same request splits the same way; anything else is refused as a conflict.
            Ok(parts) => {
                for message in &parts {
                    self.discard_sealed(message).await;
                }
                self.release(org, record).await;
                return Err(ApiError::IdempotencyKeyReused);
            }
            Err(e) => {
                self.release(org, record).await;
                return Err(e);
            }
        };
        let mut work = Vec::with_capacity(fresh.len());
        for (part, fresh) in record.parts.iter().zip(fresh) {
            let state = if part.queued {
                PartState::Done
            } else {
                match self.ports.messages().get(org, &part.message_id).await {
                    Ok(None) => PartState::Store,
                    Ok(Some(m)) if m.status == MessageStatus::Pending => PartState::Requeue,
                    Ok(Some(m))
                        if m.status == MessageStatus::Failed && m.twilio_message_sid.is_none() =>
                    {
                        PartState::Store
                    }
                    Ok(Some(_)) => PartState::Done,
                    Err(e) => {
                        self.release(org, record.clone()).await;
                        return Err(e.into());
                    }
                }
            };
            work.push((state, fresh));
        }
        self.deliver(org, record, work).await
    }

    /// Stores and queues what each part needs, recording progress; ends the lease.
    async fn deliver(
        &self,
        org: &OrganizationId,
        mut record: IdempotentSend,
        work: Vec<(PartState, Message)>,
    ) -> Result<Accepted, ApiError> {
        for (index, (state, mut fresh)) in work.into_iter().enumerate() {
            let outcome = match state {
                PartState::Done => {
                    self.discard_sealed(&fresh).await;
                    record.parts[index].queued = true;
                    continue;
                }
                PartState::Requeue => {
                    self.discard_sealed(&fresh).await;
                    self.enqueue(org, record.parts[index].message_id).await
                }
                PartState::Store => {
                    record.parts[index].message_id = fresh.id;
                    // Erasing the message erases the record that holds its request.
                    fresh.idempotency_key = Some(record.key.clone());
                    match self.ports.messages().insert(&fresh).await {
                        Ok(()) => {
                            log_accepted(&fresh);
                            self.enqueue(org, fresh.id).await
                        }
                        Err(e) => Err(e.into()),
                    }
                }
            };
            if let Err(e) = outcome {
                self.release(org, record).await;
                return Err(e);
            }
            record.parts[index].queued = true;
        }
        let answer = self.answer(org, &record).await;
        self.release(org, record).await;
        answer
    }

    /// Saves the progress and ends the lease, so a repeat can go on at once. If this save
    /// fails, the lease runs out by itself and a repeat re-checks each part.
    async fn release(&self, org: &OrganizationId, mut record: IdempotentSend) {
        let expected = record.version;
        record.version += 1;
        record.lease_until = None;
        match self
            .ports
            .messages()
            .save_idempotent_send(org, &record, Some(expected), Utc::now())
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!("idempotency record changed under its lease")
            }
            Err(e) => {
                tracing::warn!(error = %e, "idempotency record not saved")
            }
        }
    }

    /// The parts' messages as they are stored now.
    async fn answer(
        &self,
        org: &OrganizationId,
        record: &IdempotentSend,
    ) -> Result<Accepted, ApiError> {
        let mut messages = Vec::with_capacity(record.parts.len());
        for part in &record.parts {
            if let Some(message) = self.ports.messages().get(org, &part.message_id).await? {
                messages.push(MessageView::from(&message));
            }
        }
        Ok(Accepted { messages })
    }
}
