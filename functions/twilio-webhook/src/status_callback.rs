//! `POST /webhook/twilio/whatsapp/{organization_id}/status`: a status callback, applied by the
//! forward-only rule to the message holding its sid.

use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, query, twiml_response,
};
use shared::domain::{
    ContactChange, Message, MessageId, MessageStatus, OrganizationId, StatusChange, sentences,
};
use shared::ports::{ContactStore, MessageStore, Ports};
use shared::telemetry;
use shared::twilio::{FormParams, StatusCallback, describe_error_code};

use crate::TwilioWebhook;

impl<P: Ports> TwilioWebhook<P> {
    pub(crate) async fn status(
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
    ///
    /// A sid nobody holds while the named message holds another is ours too: the named
    /// message adopted a look-alike's Twilio message, and this one is the look-alike's to
    /// adopt. Answered 503, so Twilio tries again (the URL's overrides) once it may be held;
    /// what Twilio lists when the look-alike adopts it carries the status meanwhile.
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
        let Some(named) = named.filter(|m| m.direction == shared::domain::Direction::Outbound)
        else {
            return Ok(None);
        };
        if messages.hold_sid(org, sid, &named.id).await? {
            return Ok(Some(named));
        }
        match messages.find_by_sid(org, sid).await? {
            Some(holder) => Ok(Some(holder)),
            None => {
                tracing::warn!(
                    twilio_message_sid = %sid,
                    "status callback for a look-alike's Twilio message not adopted yet; Twilio will retry"
                );
                Err(ApiError::Unavailable)
            }
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
