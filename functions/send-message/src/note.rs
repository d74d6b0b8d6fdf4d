//! `POST /whatsapp/notes` `{contact_id, text}`: an agent's note in the contact's
//! conversation, for the other agents. Stored as a message of its own kind (`INTERNAL`,
//! `NOTE`, `RECORDED`) with its author: listed and pushed with the conversation, never sent to
//! Twilio, never unread, and not the inbox row's newest (`ConversationSummary::ignores`).
//! Allowed whatever the contact's eligibility or window: it reaches no one outside. Text only,
//! at most 1,600 characters, shown as written; kept as long as the organization keeps
//! messages (`message_retention_days`). The author is the token's agent (none: 403
//! `agent_required`).

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, MessageView, agent_ref, json_body,
    json_response,
};
use shared::domain::{ChannelConfig, ContactId, MAX_TEXT_CHARS, Message, OrganizationId};
use shared::ports::{ContactStore, CredentialStore, MessageStore, Ports};

use crate::SendApi;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteRequest {
    contact_id: String,
    text: String,
}

#[derive(Debug, Serialize)]
struct NoteAnswer {
    message: MessageView,
}

impl<P: Ports> SendApi<P> {
    pub(crate) async fn note(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let request: NoteRequest = json_body(event)?;
        let author = agent_ref(event)?;
        if request.text.trim().is_empty() {
            return Err(ApiError::NoContent);
        }
        if request.text.chars().count() > MAX_TEXT_CHARS {
            return Err(ApiError::TextTooLong);
        }
        let contact = match ContactId::parse(&request.contact_id) {
            Ok(id) => self.ports.contacts().get(org, &id).await?,
            Err(_) => None,
        }
        .ok_or(ApiError::NotFound("Contact not found."))?;
        let now = Utc::now();
        let mut note = Message::note(org, &contact.contact_id, request.text, author, now);
        // The organization's retention covers notes as it covers messages.
        if let ChannelConfig::Configured(config) =
            self.ports.credentials().channel_config(org).await?
        {
            note.expires_at = config.message_expiry(now);
        }
        self.ports.messages().insert(&note).await?;
        tracing::info!(contact_id = %contact.contact_id, message_id = %note.id, "note recorded");
        Ok(json_response(
            201,
            &NoteAnswer {
                message: MessageView::from(&note),
            },
        ))
    }
}
