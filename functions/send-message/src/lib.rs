//! `POST /whatsapp/messages` `{contact_id, text?, attachments?}`: validates, stores the
//! message as PENDING, queues the send job and answers 202. The worker does the sending.

use std::time::Duration;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, MessageView, json_body,
    json_response, organization_id, route_key,
};
use shared::domain::{
    ChannelConfig, ContactId, Direction, MAX_TEXT_CHARS, Message, MessageId, MessageStatus,
    MessageType, OrganizationId, SendJob, StatusChange, conversation_window,
};
use shared::ports::{ContactStore, CredentialStore, MessageStore, SendQueue};

#[derive(Clone)]
pub struct SendApi<C, M, K, Q> {
    pub contacts: C,
    pub messages: M,
    pub credentials: K,
    pub queue: Q,
    pub org_claim: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    pub contact_id: String,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

/// An uploaded file to send, as returned by the presigned-upload route.
#[derive(Debug, Deserialize)]
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

impl<C, M, K, Q> SendApi<C, M, K, Q>
where
    C: ContactStore,
    M: MessageStore,
    K: CredentialStore,
    Q: SendQueue,
{
    pub async fn handle(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        self.route(&event)
            .await
            .unwrap_or_else(ApiError::into_response)
    }

    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "POST /whatsapp/messages" => {
                let request: SendRequest = json_body(event)?;
                let accepted = self.send(&org, request).await?;
                Ok(json_response(202, &accepted))
            }
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }

    pub async fn send(
        &self,
        org: &OrganizationId,
        request: SendRequest,
    ) -> Result<Accepted, ApiError> {
        // Nothing can be sent for an organization without a usable Twilio configuration.
        if let ChannelConfig::NotConfigured { why } = self.credentials.channel_config(org).await? {
            tracing::info!(organization_id = %org, why, "send refused: not configured");
            return Err(ApiError::NotConfigured);
        }
        let text = request.text.filter(|t| !t.trim().is_empty());
        if text.is_none() && request.attachments.is_empty() {
            return Err(ApiError::NoContent);
        }
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(ApiError::TextTooLong);
        }
        if !request.attachments.is_empty() {
            return Err(ApiError::NotSupported("Attachments are not supported yet."));
        }

        let contact = match ContactId::parse(&request.contact_id) {
            Ok(id) => self.contacts.get(org, &id).await?,
            Err(_) => None,
        }
        .ok_or(ApiError::NotFound("Contact not found."))?;
        let phone = contact.eligibility().map_err(ApiError::Ineligible)?;
        let now = Utc::now();
        if !conversation_window(contact.last_inbound_at, now).open {
            return Err(ApiError::OutsideWindow);
        }

        let id = MessageId::new();
        let message = Message {
            id,
            organization_id: org.clone(),
            contact_id: Some(contact.contact_id.clone()),
            contact_phone: Some(phone.to_string()),
            direction: Direction::Outbound,
            message_type: MessageType::Text,
            text,
            attachments: vec![],
            twilio_message_sid: None,
            status: MessageStatus::Pending,
            error_reason: None,
            created_at: now,
            updated_at: now,
            revision: id,
        };
        self.messages.insert(&message).await?;
        let job = SendJob {
            organization_id: org.clone(),
            message_id: id,
            attempt: 1,
        };
        if let Err(e) = self.queue.enqueue(&job, Duration::ZERO).await {
            // Never leave a message PENDING that no worker will ever see.
            tracing::error!(organization_id = %org, message_id = %id, error = %e, "enqueue failed");
            let failed = StatusChange {
                status: MessageStatus::Failed,
                twilio_message_sid: None,
                error_reason: Some(
                    "Failed to send via WhatsApp: the message could not be queued. Please try again."
                        .into(),
                ),
            };
            if let Err(e) = self.messages.apply_status(org, &id, &failed).await {
                tracing::error!(organization_id = %org, message_id = %id, error = %e, "could not mark FAILED");
            }
            return Err(ApiError::Unavailable);
        }
        tracing::info!(
            organization_id = %org,
            message_id = %id,
            contact_id = %contact.contact_id,
            "message accepted"
        );
        Ok(Accepted {
            messages: vec![MessageView::from(&message)],
        })
    }
}
