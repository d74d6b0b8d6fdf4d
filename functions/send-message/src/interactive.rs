//! Buttons and lists: `{contact_id, interactive: {type: "buttons"|"list", …}}`, never with
//! text, attachments or a template. Checked whole when the send is accepted (WhatsApp's
//! limits, `Interactive::check`): a refusal is a 400 and nothing is queued. Session only, like
//! free text: outside the 24-hour window the same refusal as free text. The stored message
//! keeps the buttons or list, and their body as its text; the worker sends it as a Twilio
//! Content made once per distinct payload.

use chrono::Utc;
use shared::api::ApiError;
use shared::domain::{
    Interactive, Message, MessageType, OrgConfig, OrganizationId, OutboundPart, conversation_window,
};
use shared::ports::Ports;

use crate::SendApi;

impl<P: Ports> SendApi<P> {
    pub(crate) async fn prepare_interactive(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
        contact_id: &str,
        interactive: Interactive,
    ) -> Result<Message, ApiError> {
        // The shape and lengths are the description's (400); options sharing an id it cannot
        // refuse by itself (422).
        interactive.check().map_err(|refused| {
            if refused.duplicate_id() {
                ApiError::DuplicateOptionId(refused.0)
            } else {
                ApiError::InvalidParameter(refused.0)
            }
        })?;
        let contact = self.contact(org, contact_id).await?;
        let phone = contact.eligibility().map_err(ApiError::Ineligible)?;
        let now = Utc::now();
        if !conversation_window(contact.last_inbound_at, now).open {
            return Err(ApiError::OutsideWindow);
        }
        let part = OutboundPart {
            message_type: MessageType::Interactive,
            text: Some(interactive.body().to_owned()),
            attachment: None,
        };
        let mut message = Message::outbound_pending(org, &contact.contact_id, &phone, part, now);
        message.expires_at = config.message_expiry(now);
        message.interactive = Some(interactive);
        Ok(message)
    }
}
