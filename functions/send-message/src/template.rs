//! Template sends: `{contact_id, template: {content_sid, variables}}`. The template must be
//! one of the organization's approved ones (Twilio's Content API, cached), every variable it
//! uses given and valid for WhatsApp. Allowed outside the 24-hour window — that is what
//! templates are for. The stored message records the template and, as its text, what the
//! contact receives.

use std::collections::BTreeMap;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::ApiError;
use shared::domain::{
    Message, OrgConfig, OrganizationId, OutboundPart, SentTemplate, is_content_sid,
};
use shared::ports::Ports;

use crate::SendApi;

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    pub content_sid: String,
    /// Placeholder → value, e.g. `{"1": "Aisha"}`; strings only.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

impl<P: Ports> SendApi<P> {
    pub(crate) async fn prepare_template(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
        contact_id: &str,
        reference: TemplateRef,
    ) -> Result<Message, ApiError> {
        if !is_content_sid(&reference.content_sid) {
            return Err(ApiError::InvalidParameter(
                "template.content_sid must be HX followed by 32 hex digits.".into(),
            ));
        }
        let contact = self.contact(org, contact_id).await?;
        let phone = contact.eligibility().map_err(ApiError::Ineligible)?;
        let template = self
            .templates
            .find(self.ports.sender(), org, config, &reference.content_sid)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "templates could not be read");
                ApiError::from_twilio(&e)
            })?
            .ok_or(ApiError::TemplateNotFound)?;
        template
            .check(&reference.variables)
            .map_err(ApiError::TemplateRejected)?;
        let part = OutboundPart {
            message_type: template.message_type(),
            text: Some(template.render(&reference.variables)),
            attachment: None,
        };
        let now = Utc::now();
        let mut message = Message::outbound_pending(org, &contact.contact_id, &phone, part, now);
        message.expires_at = config.message_expiry(now);
        message.template = Some(SentTemplate {
            content_sid: template.content_sid,
            name: template.name,
            variables: reference.variables,
        });
        Ok(message)
    }
}
