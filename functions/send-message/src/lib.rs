//! `POST /whatsapp/notes` (`note`) records a note between agents in the conversation: the
//! other way an agent writes into it, never sent.
//!
//! `POST /whatsapp/messages` `{contact_id, text?, attachments?}`: validates, stores the
//! message(s) as PENDING, queues one send job each and answers 202. The worker sends.
//!
//! Attachments must be uploads of the caller's organization that exist and are what was
//! declared — checked against the stored object (size, type, the bytes themselves), never
//! taken from the client. WhatsApp carries one media per message: N attachments become N
//! messages, the text riding as the caption of the first one that takes a caption.
//!
//! `{contact_id, template: {content_sid, variables}}` sends an approved WhatsApp template
//! instead (see [`template`]): allowed outside the 24-hour window, never with text or files.
//!
//! With an `Idempotency-Key` header a repeat of the request sends nothing twice (see
//! [`idempotency`]). `seen_up_to` (the newest message the agent had on screen) refuses a
//! send made while the contact or another agent wrote meanwhile (see `guard`).
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod guard;
pub mod idempotency;
mod interactive;
mod note;
pub mod template;

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, MessageView, json_body,
    json_response, organization_id, route_key, sent_by,
};
use shared::config::Settings;
use shared::domain::{
    Attachment, ChannelConfig, ContactId, MAX_TEXT_CHARS, MediaRejection, MediaRule, Message,
    MessageId, MessageJob, OrganizationId, SNIFF_BYTES, SentBy, StatusChange, WorkerJob,
    check_content, check_declared, conversation_window, media_rule, sentences, split_outbound,
};
use shared::ports::{
    ContactStore, CredentialStore, MediaStore, MessageStore, Ports, SendQueue, media_key,
    sealed_key,
};
use shared::runtime::HttpRoutes;

#[derive(Clone)]
pub struct SendApi<P> {
    pub ports: P,
    pub org_claim: String,
    /// The organization's approved templates, for template sends.
    pub templates: shared::template_cache::TemplateCache,
}

impl<P: Ports> SendApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
            templates: shared::template_cache::TemplateCache::new(settings.template_cache_ttl),
        }
    }
}

pub use shared::domain::MAX_ATTACHMENTS;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub contact_id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
    /// An approved template instead of text and attachments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<template::TemplateRef>,
    /// Buttons or a list instead of text, attachments or a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<shared::domain::Interactive>,
    /// Who sends: from the verified token, never from the body (and not part of what makes
    /// two requests with one Idempotency-Key the same).
    #[serde(skip)]
    pub sent_by: Option<SentBy>,
    /// The newest message the agent had on screen: the send is refused when the contact or
    /// another agent wrote after it. Not part of what makes two requests the same.
    #[serde(default, skip_serializing)]
    pub seen_up_to: Option<String>,
}

/// An uploaded file to send, as returned by the presigned-upload route.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    pub key: String,
    pub content_type: String,
    #[serde(default)]
    pub filename: Option<String>,
    pub size: u64,
}

#[derive(Debug, Serialize)]
pub struct Accepted {
    pub messages: Vec<MessageView>,
}

impl<P: Ports> HttpRoutes for SendApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "POST /whatsapp/messages" => {
                let key = idempotency::key(event)?;
                let request = SendRequest {
                    sent_by: Some(sent_by(event)),
                    ..json_body(event)?
                };
                let accepted = match key {
                    Some(key) => self.send_once(&org, key, request).await?,
                    None => self.send(&org, request).await?,
                };
                Ok(json_response(202, &accepted))
            }
            "POST /whatsapp/notes" => self.note(&org, event).await,
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }
}

impl<P: Ports> SendApi<P> {
    pub async fn send(
        &self,
        org: &OrganizationId,
        request: SendRequest,
    ) -> Result<Accepted, ApiError> {
        let parts = self.prepare_guarded(org, request).await?;
        let mut accepted = Vec::with_capacity(parts.len());
        for message in parts {
            self.ports.messages().insert(&message).await?;
            self.enqueue(org, message.id).await?;
            log_accepted(&message);
            accepted.push(MessageView::from(&message));
        }
        Ok(Accepted { messages: accepted })
    }

    /// `prepare`, then the collision guard when the request names `seen_up_to`; a refused
    /// send leaves nothing behind (its sealed copies are deleted).
    async fn prepare_guarded(
        &self,
        org: &OrganizationId,
        mut request: SendRequest,
    ) -> Result<Vec<Message>, ApiError> {
        let seen = request.seen_up_to.take();
        let sender = request.sent_by.clone();
        let parts = self.prepare(org, request).await?;
        let (Some(seen), Some(contact)) = (seen, parts.first().and_then(|m| m.contact_id.clone()))
        else {
            return Ok(parts);
        };
        if let Err(refused) = self.guard(org, &contact, &seen, sender.as_ref()).await {
            for message in &parts {
                self.discard_sealed(message).await;
            }
            return Err(refused);
        }
        Ok(parts)
    }

    /// Checks a request and builds its part(s) as PENDING messages, attachments sealed;
    /// stores nothing else.
    async fn prepare(
        &self,
        org: &OrganizationId,
        request: SendRequest,
    ) -> Result<Vec<Message>, ApiError> {
        // Nothing can be sent for an organization without a usable Twilio configuration.
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => config,
            ChannelConfig::NotConfigured { why } => {
                tracing::info!(why, "send refused: not configured");
                return Err(ApiError::NotConfigured);
            }
        };
        // The three shapes of the OpenAPI's SendRequest: a template alone (no text, not even
        // blanks), or text and/or attachments; text is counted before blanks are dropped.
        if request
            .text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(ApiError::TextTooLong);
        }
        let sent_by = request.sent_by;
        if let Some(interactive) = request.interactive {
            if request.text.is_some_and(|t| !t.is_empty())
                || !request.attachments.is_empty()
                || request.template.is_some()
            {
                return Err(ApiError::InvalidParameter(
                    "Buttons or a list cannot be combined with text, attachments or a template."
                        .into(),
                ));
            }
            let mut message = self
                .prepare_interactive(org, &config, &request.contact_id, interactive)
                .await?;
            message.sent_by = sent_by;
            return Ok(vec![message]);
        }
        if let Some(template) = request.template {
            if request.text.is_some_and(|t| !t.is_empty()) || !request.attachments.is_empty() {
                return Err(ApiError::InvalidParameter(
                    "A template cannot be combined with text or attachments.".into(),
                ));
            }
            let mut message = self
                .prepare_template(org, &config, &request.contact_id, template)
                .await?;
            message.sent_by = sent_by;
            return Ok(vec![message]);
        }
        let text = request.text.filter(|t| !t.trim().is_empty());
        if text.is_none() && request.attachments.is_empty() {
            return Err(ApiError::NoContent);
        }
        if request.attachments.len() > MAX_ATTACHMENTS {
            return Err(ApiError::InvalidParameter(format!(
                "At most {MAX_ATTACHMENTS} attachments per message."
            )));
        }

        let contact = self.contact(org, &request.contact_id).await?;
        let phone = contact.eligibility().map_err(ApiError::Ineligible)?;
        let now = Utc::now();
        if !conversation_window(contact.last_inbound_at, now).open {
            return Err(ApiError::OutsideWindow);
        }

        let mut attachments = Vec::with_capacity(request.attachments.len());
        for reference in &request.attachments {
            attachments.push(
                self.verified_attachment(org, reference, config.message_retention_days)
                    .await?,
            );
        }

        Ok(split_outbound(text, attachments)
            .into_iter()
            .map(|part| {
                let mut message =
                    Message::outbound_pending(org, &contact.contact_id, &phone, part, now);
                message.expires_at = config.message_expiry(now);
                message.sent_by = sent_by.clone();
                message
            })
            .collect())
    }

    /// The contact a send names; another organization's is "not found" like an unknown one.
    async fn contact(
        &self,
        org: &OrganizationId,
        contact_id: &str,
    ) -> Result<shared::domain::Contact, ApiError> {
        match ContactId::parse(contact_id) {
            Ok(id) => self.ports.contacts().get(org, &id).await?,
            Err(_) => None,
        }
        .ok_or(ApiError::NotFound("Contact not found."))
    }

    /// Deletes the sealed copies of a prepared part that will not be sent.
    async fn discard_sealed(&self, message: &Message) {
        for key in message.attachments.iter().filter_map(|a| a.key.as_deref()) {
            if let Err(e) = self
                .ports
                .media()
                .discard(&message.organization_id, key)
                .await
            {
                tracing::warn!(error = %e, "an unused attachment copy was not deleted");
            }
        }
    }

    /// Queues the send job; if that fails the message is FAILED at once (never a PENDING
    /// message that no worker will see) and the caller gets a 503.
    async fn enqueue(&self, org: &OrganizationId, id: MessageId) -> Result<(), ApiError> {
        let job = WorkerJob::Send(MessageJob::new(org, id));
        let Err(e) = self.ports.queue().enqueue(&job, Duration::ZERO).await else {
            return Ok(());
        };
        tracing::error!(message_id = %id, error = %e, "enqueue failed");
        let failed = StatusChange::failed(sentences::send_failed(
            "the message could not be queued. Please try again.",
        ));
        if let Err(e) = self.ports.messages().apply_status(org, &id, &failed).await {
            tracing::error!(message_id = %id, error = %e, "could not mark FAILED");
        }
        Err(ApiError::Unavailable)
    }

    /// The sealed copy is what was declared: size, type and the bytes themselves.
    async fn check_sealed(
        &self,
        org: &OrganizationId,
        sealed: &str,
        declared_size: u64,
        rule: &'static MediaRule,
        stored: &shared::ports::StoredObject,
    ) -> Result<(), ApiError> {
        let rejected = ApiError::AttachmentRejected;
        if stored.size != declared_size {
            return Err(rejected(MediaRejection::UploadMismatch("size")));
        }
        if media_rule(&stored.content_type).map(|r| r.content_type) != Some(rule.content_type) {
            return Err(rejected(MediaRejection::UploadMismatch("type")));
        }
        let head = self
            .ports
            .media()
            .read_head(org, sealed, SNIFF_BYTES)
            .await?
            .ok_or(rejected(MediaRejection::NotUploaded))?;
        check_content(rule, &head).map_err(rejected)
    }

    /// The upload behind a reference, sealed and checked against what was declared.
    async fn verified_attachment(
        &self,
        org: &OrganizationId,
        reference: &AttachmentRef,
        retention_days: Option<u32>,
    ) -> Result<(Attachment, &'static MediaRule), ApiError> {
        let rejected = ApiError::AttachmentRejected;
        // Another organization's key is "not uploaded", like a key that does not exist.
        let key =
            media_key(org, &reference.key).map_err(|_| rejected(MediaRejection::NotUploaded))?;
        let filename = reference
            .filename
            .clone()
            .unwrap_or_else(|| key.rsplit('/').next().unwrap_or_default().to_owned());
        let rule =
            check_declared(&filename, &reference.content_type, reference.size).map_err(rejected)?;
        // Sealed first, checked after: the copy is what gets sent, and no client can write it
        // (a presigned PUT to the upload key after this changes nothing).
        let sealed = sealed_key(org, &key);
        let stored = self
            .ports
            .media()
            .seal(org, &key, &sealed, retention_days)
            .await?
            .ok_or(rejected(MediaRejection::NotUploaded))?;
        if let Err(e) = self
            .check_sealed(org, &sealed, reference.size, rule, &stored)
            .await
        {
            if let Err(gone) = self.ports.media().discard(org, &sealed).await {
                tracing::warn!(error = %gone, "a refused attachment copy was not deleted");
            }
            return Err(e);
        }
        Ok((
            Attachment {
                key: Some(sealed),
                url: None,
                content_type: rule.content_type.to_owned(),
                filename: Some(filename),
                size: Some(reference.size),
                error: None,
                card: None,
            },
            rule,
        ))
    }
}

fn log_accepted(message: &Message) {
    tracing::info!(
        message_id = %message.id,
        contact_id = ?message.contact_id,
        message_type = ?message.message_type,
        "message accepted"
    );
}
