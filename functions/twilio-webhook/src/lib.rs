//! Twilio webhooks of one organization (no JWT; X-Twilio-Signature instead):
//! - `POST /webhook/twilio/whatsapp/{organization_id}`: a contact's message;
//! - `POST /webhook/twilio/whatsapp/{organization_id}/status`: a status callback.
//!
//! Every request is checked before anything is stored: the organization's auth token signs
//! the public URL and every posted parameter, and the AccountSid (and, inbound, the To
//! number) must be the organization's own. Anything we could not store or apply answers 503;
//! Twilio retries it only because the configured webhook URLs carry connection overrides
//! (`#…rc=3&rp=ct,rt,5xx`; by default Twilio retries failed connections only). A retry applies
//! exactly what the earlier delivery could not (see `apply_inbound_effects`).

use std::time::Duration;

use chrono::Utc;
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, body_bytes, header,
    path_parameter, query, route_key, twiml_response,
};
use shared::config::Settings;
use shared::domain::{
    Attachment, ChannelConfig, ContactChange, JobKind, Message, MessageId, MessageStatus,
    OptAction, OrgConfig, OrganizationId, SendJob, StatusChange, is_account_sid, keyword_action,
    opt_out_type_action, sentences,
};
use shared::ports::{
    ContactStore, CredentialStore, InboundInsert, MessageStore, Ports, SendQueue, WhatsAppSender,
};
use shared::runtime::HttpRoutes;
use shared::telemetry;
use shared::twilio::{
    FormParams, InboundMessage, RECOMMENDED_OVERRIDES, SIGNATURE_HEADER, StatusCallback,
    describe_error_code, is_well_formed_signature, validate_signature,
};

use secrecy::ExposeSecret;

/// Inbound media is copied by the worker (through the queue), off the webhook's critical
/// path.
#[derive(Clone)]
pub struct TwilioWebhook<P> {
    pub ports: P,
    /// The API's public base URL as configured in Twilio (`PUBLIC_BASE_URL`); None: the
    /// `https://` + domain API Gateway reports.
    pub public_base_url: Option<String>,
}

enum Kind {
    Inbound,
    Status,
}

impl<P: Ports> TwilioWebhook<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            public_base_url: settings.public_base_url.clone(),
        }
    }
}

impl<P: Ports> HttpRoutes for TwilioWebhook<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let kind = match route_key(event).as_str() {
            "POST /webhook/twilio/whatsapp/{organization_id}" => Kind::Inbound,
            "POST /webhook/twilio/whatsapp/{organization_id}/status" => Kind::Status,
            _ => return Err(ApiError::NotFound("No such route.")),
        };
        let org = path_parameter(event, "organization_id")
            .and_then(|id| OrganizationId::parse(id).ok())
            .inspect(telemetry::record_organization)
            .ok_or(ApiError::NotFound("Unknown organization."))?;
        // What cannot be Twilio's is refused before anything is read: a flood of unsigned
        // or malformed requests costs no Secrets Manager call.
        let signature = header(event, SIGNATURE_HEADER).unwrap_or_default().trim();
        if !is_well_formed_signature(signature) {
            tracing::warn!(
                has_signature = !signature.is_empty(),
                "webhook without a well-formed signature"
            );
            return Err(ApiError::Forbidden("Invalid Twilio signature."));
        }
        let form = FormParams::parse(&body_bytes(event)?).map_err(|_| {
            ApiError::InvalidParameter(
                "The body must be a form (application/x-www-form-urlencoded).".into(),
            )
        })?;
        if !form.get("AccountSid").is_some_and(is_account_sid) {
            tracing::warn!("webhook without a well-formed AccountSid");
            return Err(ApiError::Forbidden(
                "The request is not for this organization's account.",
            ));
        }
        // An organization without a usable configuration has no token to check with.
        let config = match self.ports.credentials().channel_config(&org).await? {
            ChannelConfig::Configured(config) => config,
            ChannelConfig::NotConfigured { .. } => {
                tracing::warn!("webhook for an organization that is not configured");
                return Err(ApiError::NotFound("Unknown organization."));
            }
        };
        self.verify(event, &org, &kind, &config, &form)?;
        match kind {
            Kind::Inbound => self.inbound(&org, &config, &form).await,
            Kind::Status => self.status(&org, event, &form).await,
        }
    }
}

impl<P: Ports> TwilioWebhook<P> {
    /// The URL Twilio called, as it signed it. With `PUBLIC_BASE_URL` (a custom domain,
    /// perhaps with an API mapping path such as `/whatsapp`), that base plus the route's own
    /// path: API Gateway's `rawPath` may carry the mapping key too, which would put it in
    /// twice. Without it, the execute-api domain plus `rawPath`, exactly what was called.
    fn public_url(
        &self,
        event: &ApiGatewayV2httpRequest,
        org: &OrganizationId,
        kind: &Kind,
    ) -> String {
        let url = match &self.public_base_url {
            Some(base) => {
                let suffix = match kind {
                    Kind::Inbound => "",
                    Kind::Status => "/status",
                };
                format!("{base}/webhook/twilio/whatsapp/{org}{suffix}")
            }
            None => format!(
                "https://{}{}",
                event
                    .request_context
                    .domain_name
                    .as_deref()
                    .unwrap_or_default(),
                event.raw_path.as_deref().unwrap_or_default()
            ),
        };
        match event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
            Some(q) => format!("{url}?{q}"),
            None => url,
        }
    }

    fn verify(
        &self,
        event: &ApiGatewayV2httpRequest,
        org: &OrganizationId,
        kind: &Kind,
        config: &OrgConfig,
        form: &FormParams,
    ) -> Result<(), ApiError> {
        let signature = header(event, SIGNATURE_HEADER).unwrap_or_default();
        let url = self.public_url(event, org, kind);
        // Twilio does not document whether the URL it signs keeps the connection-override
        // fragment of the configured URL (docs/deploy.md's, and our status callbacks'), and
        // its SDKs' validators sign whatever URL they are given: both readings are accepted.
        let configured = format!("{url}#{RECOMMENDED_OVERRIDES}");
        let signed = [url.as_str(), configured.as_str()]
            .into_iter()
            .any(|candidate| {
                validate_signature(
                    config.auth_token.expose_secret(),
                    candidate,
                    form.pairs(),
                    signature,
                )
            });
        if !signed {
            tracing::warn!(
                url,
                has_signature = !signature.is_empty(),
                "webhook signature rejected"
            );
            return Err(ApiError::Forbidden("Invalid Twilio signature."));
        }
        if form.get("AccountSid") != Some(config.account_sid.as_str()) {
            tracing::warn!("webhook for another Twilio account");
            return Err(ApiError::Forbidden(
                "The request is not for this organization's account.",
            ));
        }
        Ok(())
    }

    async fn inbound(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
        form: &FormParams,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let inbound = InboundMessage::from_form(form)
            .map_err(|e| ApiError::InvalidParameter(format!("Invalid webhook: {e}.")))?;
        if !config.receives_at(&inbound.to, inbound.messaging_service_sid.as_deref()) {
            tracing::warn!("inbound message to another sender");
            return Err(ApiError::Forbidden(
                "The request is not for this organization's sender.",
            ));
        }
        // Everyone the organization has with this number (or, for a WhatsApp user who
        // withholds it, whose record carries their user id); the conversation is the first's.
        let mut contacts = match &inbound.from {
            Some(phone) => self.ports.contacts().contacts_by_phone(org, phone).await?,
            None => Vec::new(),
        };
        if contacts.is_empty()
            && let Some(user) = &inbound.details.user
        {
            contacts = self
                .ports
                .contacts()
                .contacts_by_whatsapp_user(org, &user.user_id)
                .await?;
        }
        let attachments: Vec<Attachment> = inbound
            .media
            .iter()
            .map(|m| Attachment {
                key: None,
                url: Some(m.url.clone()),
                content_type: m.content_type.clone(),
                filename: None,
                size: None,
                error: None,
                card: None,
            })
            .collect();
        let mut message = Message::inbound(
            org,
            contacts.first().map(|c| c.contact_id.clone()),
            inbound.from.as_ref(),
            &inbound.message_sid,
            Some(inbound.body.clone()),
            attachments,
            Utc::now(),
        );
        message.expires_at = config.message_expiry(message.created_at);
        let mut details = inbound.details.clone();
        if let Some(reply_to) = &mut details.reply_to {
            // Linked only to a message of this organization in the same conversation.
            reply_to.message_id = self
                .ports
                .messages()
                .find_by_sid(org, &reply_to.twilio_message_sid)
                .await?
                .filter(|quoted| {
                    quoted.contact_id.is_some() && quoted.contact_id == message.contact_id
                })
                .map(|quoted| quoted.id);
        }
        message.details = Some(details);
        let message = match self.ports.messages().insert_inbound(&message).await? {
            InboundInsert::Stored => message,
            InboundInsert::Duplicate {
                message_id: Some(id),
                effects_done: false,
            } => {
                // An earlier delivery stored the message but failed before every effect was
                // applied: apply them now (each is idempotent), with the stored message's time.
                tracing::info!(message_id = %id, "repeated webhook: applying what an earlier delivery could not");
                match self.ports.messages().get(org, &id).await? {
                    Some(stored) => stored,
                    None => return Err(ApiError::Unavailable),
                }
            }
            InboundInsert::Duplicate { .. } => {
                tracing::info!(twilio_message_sid = %inbound.message_sid, "repeated webhook ignored");
                return Ok(twiml_response());
            }
        };
        telemetry::record_message(&message.id);
        self.apply_inbound_effects(org, config, &inbound, &message, &contacts)
            .await?;
        self.ports
            .messages()
            .inbound_effects_done(org, &inbound.message_sid)
            .await?;
        tracing::info!(contacts = contacts.len(), "inbound message stored");
        Ok(twiml_response())
    }

    /// Everything an inbound message changes besides itself: the media copy, and for every
    /// contact with the number the 24-hour window and a STOP/START. Each is idempotent (the
    /// window only moves forward, an opt change only applies if newer, the copy skips what is
    /// copied), so a retried webhook re-applies them safely; any failure answers 503 so that
    /// Twilio retries.
    async fn apply_inbound_effects(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
        inbound: &InboundMessage,
        message: &Message,
        contacts: &[shared::domain::Contact],
    ) -> Result<(), ApiError> {
        if !message.attachments.is_empty() {
            self.queue_media_copy(org, message).await?;
        }
        let opt = inbound
            .opt_out_type
            .as_deref()
            .and_then(opt_out_type_action)
            .or_else(|| keyword_action(&inbound.body));
        let opt_at = match opt {
            Some(_) => Some(self.sent_at(config, message).await),
            None => None,
        };
        let change = ContactChange {
            last_inbound_at: Some(message.created_at),
            whatsapp_opt_in: opt.map(|a| a == OptAction::OptIn),
            // Opting back in also lifts a WhatsApp-level unsubscribe (Twilio 21610).
            whatsapp_unsubscribed: (opt == Some(OptAction::OptIn)).then_some(false),
            opt_at,
        };
        for contact in contacts {
            self.ports
                .contacts()
                .update(org, &contact.contact_id, &change)
                .await?;
            if opt.is_some() {
                tracing::info!(contact_id = %contact.contact_id, opt = ?opt, "contact opted out or in");
            }
        }
        if contacts.is_empty() {
            tracing::info!("inbound message from a number that is no contact");
        }
        Ok(())
    }

    /// When the contact sent an opt keyword, so that of a STOP and a START the later one wins
    /// whatever order their deliveries (and Twilio's retries) arrive in. The webhook carries
    /// no time: Twilio's own record of the message (`date_created`, whole seconds) is read;
    /// if it cannot be, the time the message was first stored (a retry after a failed effect
    /// keeps it). Only STOP/START messages make this call. Two keywords in one second of
    /// Twilio's clock, both received late, tie: the first applied stands.
    async fn sent_at(&self, config: &OrgConfig, message: &Message) -> chrono::DateTime<Utc> {
        let Some(sid) = &message.twilio_message_sid else {
            return message.created_at;
        };
        match self.ports.sender().message(config, sid).await {
            // Twilio's time has whole seconds: within its second, the receipt time (finer)
            // orders two keywords; a delivery retried later stays in the second it was sent.
            Ok(record) => match record.created_at() {
                Some(second) => message
                    .created_at
                    .min(second + chrono::Duration::milliseconds(999)),
                None => message.created_at,
            },
            Err(e) => {
                tracing::warn!(error = %e, "Twilio's record of an opt keyword could not be read; its receipt time orders it");
                message.created_at
            }
        }
    }

    /// Queues the copy of an inbound message's media (the worker skips what is copied, so a
    /// repeated job is harmless). If it cannot be queued the webhook answers 503 and Twilio's
    /// retry queues it.
    async fn queue_media_copy(
        &self,
        org: &OrganizationId,
        message: &Message,
    ) -> Result<(), ApiError> {
        let job = SendJob {
            organization_id: org.clone(),
            message_id: message.id,
            attempt: 1,
            kind: JobKind::CopyMedia,
        };
        self.ports
            .queue()
            .enqueue(&job, Duration::ZERO)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "media copy not queued");
                ApiError::from(e)
            })
    }

    async fn status(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
        form: &FormParams,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let callback = StatusCallback::from_form(form)
            .map_err(|e| ApiError::InvalidParameter(format!("Invalid status callback: {e}.")))?;
        let message = self
            .callback_message(org, event, &callback.message_sid)
            .await?;
        let Some(message) = message else {
            tracing::warn!(twilio_message_sid = %callback.message_sid, "status callback for an unknown message");
            return Ok(twiml_response());
        };
        telemetry::record_message(&message.id);
        let Some(status) = MessageStatus::from_twilio(&callback.message_status) else {
            return Ok(twiml_response());
        };
        let error_reason = (status == MessageStatus::Failed).then(|| failure_reason(&callback));
        let outcome = self
            .ports
            .messages()
            .apply_status(
                org,
                &message.id,
                &StatusChange {
                    status,
                    twilio_message_sid: Some(callback.message_sid.clone()),
                    error_reason,
                },
            )
            .await?;
        if callback.error_code == Some(21610)
            && let Some(contact_id) = &message.contact_id
        {
            let change = ContactChange {
                whatsapp_unsubscribed: Some(true),
                ..Default::default()
            };
            self.ports
                .contacts()
                .update(org, contact_id, &change)
                .await?;
        }
        tracing::info!(
            twilio_status = %callback.message_status,
            applied = matches!(outcome, Some(shared::ports::StatusOutcome::Applied(_))),
            "status callback"
        );
        Ok(twiml_response())
    }
}

impl<P: Ports> TwilioWebhook<P> {
    /// The message a status callback is for: the one holding its sid. Our status callback
    /// URL names the message (and is covered by the signature), so a callback that overtakes
    /// the worker's own SENT still finds it, and makes it hold the sid — unless a look-alike
    /// message adopted that sid first while reconciling, in which case the Twilio message is
    /// the look-alike's and so are its callbacks.
    async fn callback_message(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
        sid: &str,
    ) -> Result<Option<Message>, ApiError> {
        let messages = self.ports.messages();
        let named = match query(event, "message_id").and_then(|v| MessageId::parse(&v).ok()) {
            Some(id) => messages.get(org, &id).await?,
            None => None,
        };
        if let Some(named) = &named
            && named.twilio_message_sid.as_deref() == Some(sid)
        {
            return Ok(Some(named.clone()));
        }
        if let Some(holder) = messages.find_by_sid(org, sid).await? {
            return Ok(Some(holder));
        }
        match named {
            Some(named)
                if named.twilio_message_sid.is_none()
                    && named.direction == shared::domain::Direction::Outbound =>
            {
                if messages.hold_sid(org, sid, &named.id).await? {
                    Ok(Some(named))
                } else {
                    Ok(messages.find_by_sid(org, sid).await?)
                }
            }
            _ => Ok(None),
        }
    }
}

/// Why a message failed, as a person reads it: WhatsApp's own words when Twilio passes them
/// on, else Twilio's message, else the text for its error code; an unknown code still shows.
fn failure_reason(callback: &StatusCallback) -> String {
    let text = callback
        .channel_status_message
        .clone()
        .or_else(|| callback.error_message.clone())
        .or_else(|| {
            callback
                .error_code
                .and_then(describe_error_code)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| format!("Twilio reported the message {}", callback.message_status));
    match callback.error_code {
        Some(code) => {
            sentences::twilio_failure(Some(code), format!("{text} (Twilio error {code})"))
        }
        None => sentences::send_failed(text),
    }
}
