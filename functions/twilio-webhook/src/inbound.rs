//! `POST /webhook/twilio/whatsapp/{organization_id}`: a contact's message, stored once, and
//! what it changes (the media copy, the 24-hour window, STOP/START), each effect idempotent.

use std::time::Duration;

use chrono::Utc;
use shared::api::{ApiError, ApiGatewayV2httpResponse, twiml_response};
use shared::domain::{
    Attachment, ContactChange, Message, MessageJob, OptAction, OrgConfig, OrganizationId,
    WorkerJob, keyword_action, opt_out_type_action,
};
use shared::ports::{ContactStore, InboundInsert, MessageStore, Ports, SendQueue, WhatsAppSender};
use shared::telemetry;
use shared::twilio::{FormParams, InboundMessage};

use crate::TwilioWebhook;

impl<P: Ports> TwilioWebhook<P> {
    pub(crate) async fn inbound(
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
        let contact_id = contacts.first().map(|c| c.contact_id.clone());
        let message = self.message_of(org, config, &inbound, contact_id).await?;
        let inserted = self.ports.messages().insert_inbound(&message).await?;
        // Stored, but its count left for later (the conversation was contended): queued
        // before anything else, and again by a retry while the marker says it is pending.
        // The job also moves the contacts' 24-hour window: a burst that contends for the
        // conversation contends for its contact item as much.
        let count_deferred = matches!(
            inserted,
            InboundInsert::StoredUncounted
                | InboundInsert::Duplicate {
                    count_pending: true,
                    ..
                }
        );
        if count_deferred {
            let id = match &inserted {
                InboundInsert::Duplicate {
                    message_id: Some(id),
                    ..
                } => *id,
                _ => message.id,
            };
            let job = WorkerJob::CountInbound {
                organization_id: org.clone(),
                message_id: id,
            };
            self.queue_job(&job).await?;
        }
        let message = match inserted {
            InboundInsert::Stored | InboundInsert::StoredUncounted => message,
            InboundInsert::Duplicate {
                message_id: Some(id),
                effects_done: false,
                ..
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
        self.apply_inbound_effects(org, config, &inbound, &message, &contacts, count_deferred)
            .await?;
        self.ports
            .messages()
            .inbound_effects_done(org, &inbound.message_sid)
            .await?;
        tracing::info!(contacts = contacts.len(), "inbound message stored");
        Ok(twiml_response())
    }

    /// The message as it is stored: its files to copy, its retention, and the earlier message
    /// it quotes when that one is of this organization's same conversation.
    async fn message_of(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
        inbound: &InboundMessage,
        contact_id: Option<shared::domain::ContactId>,
    ) -> Result<Message, ApiError> {
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
            contact_id,
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
        Ok(message)
    }

    /// Everything an inbound message changes besides itself: the media copy, and for every
    /// contact with the number the 24-hour window and a STOP/START. Each is idempotent (the
    /// window only moves forward, an opt change only applies if newer, the copy skips what is
    /// copied), so a retried webhook re-applies them safely; any failure answers 503 so that
    /// Twilio retries. `window_deferred`: the `CountInbound` job queued for the message moves
    /// the window (send-worker), so it is not written here.
    async fn apply_inbound_effects(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
        inbound: &InboundMessage,
        message: &Message,
        contacts: &[shared::domain::Contact],
        window_deferred: bool,
    ) -> Result<(), ApiError> {
        if !message.attachments.is_empty() {
            self.queue_job(&WorkerJob::CopyMedia(MessageJob::new(org, message.id)))
                .await?;
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
            last_inbound_at: (!window_deferred).then_some(message.created_at),
            whatsapp_opt_in: opt.map(|a| a == OptAction::OptIn),
            // Opting back in also lifts a WhatsApp-level unsubscribe (Twilio 21610).
            whatsapp_unsubscribed: (opt == Some(OptAction::OptIn)).then_some(false),
            opt_at,
        };
        for contact in contacts
            .iter()
            .filter(|_| change != ContactChange::default())
        {
            self.ports
                .contacts()
                .update(org, &contact.contact_id, &change)
                .await?;
            if opt.is_some() {
                tracing::info!(contact_id = %contact.contact_id, opt = ?opt, "contact opted out or in");
            }
        }
        // A STOP or START reaches every contact of the person: those with their WhatsApp
        // user id and those with their number (the number the message came from, or the
        // one the user id's contacts carry), not only the conversation's.
        if opt.is_some() {
            let opt_only = ContactChange {
                last_inbound_at: None,
                ..change
            };
            for contact in self.same_person(org, inbound, contacts).await? {
                self.ports
                    .contacts()
                    .update(org, &contact.contact_id, &opt_only)
                    .await?;
                tracing::info!(contact_id = %contact.contact_id, opt = ?opt, "contact of the same person opted out or in");
            }
        }
        if contacts.is_empty() {
            tracing::info!("inbound message from a number that is no contact");
        }
        Ok(())
    }

    /// The organization's other contacts of the person who wrote: by their WhatsApp user id
    /// and by every number known for them, less `found` (already updated).
    async fn same_person(
        &self,
        org: &OrganizationId,
        inbound: &InboundMessage,
        found: &[shared::domain::Contact],
    ) -> Result<Vec<shared::domain::Contact>, ApiError> {
        let mut people: Vec<shared::domain::Contact> = found.to_vec();
        if let Some(user) = &inbound.details.user {
            for c in self
                .ports
                .contacts()
                .contacts_by_whatsapp_user(org, &user.user_id)
                .await?
            {
                if !people.iter().any(|p| p.contact_id == c.contact_id) {
                    people.push(c);
                }
            }
        }
        let mut phones: Vec<shared::domain::PhoneNumber> = inbound.from.iter().cloned().collect();
        let known = people
            .iter()
            .filter_map(|c| c.phone_number.as_deref())
            .filter_map(|n| shared::domain::PhoneNumber::parse_e164(n).ok());
        for phone in known.collect::<Vec<_>>() {
            if !phones.contains(&phone) {
                phones.push(phone);
            }
        }
        for phone in &phones {
            for c in self.ports.contacts().contacts_by_phone(org, phone).await? {
                if !people.iter().any(|p| p.contact_id == c.contact_id) {
                    people.push(c);
                }
            }
        }
        Ok(people.split_off(found.len()))
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

    /// Queues a job of an inbound message: the copy of its media, or its deferred count
    /// (the worker skips what is done, so a repeated job is harmless). If it cannot be
    /// queued the webhook answers 503 and Twilio's retry queues it.
    async fn queue_job(&self, job: &WorkerJob) -> Result<(), ApiError> {
        self.ports
            .queue()
            .enqueue(job, Duration::ZERO)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, ?job, "inbound message's job not queued");
                ApiError::from(e)
            })
    }
}
