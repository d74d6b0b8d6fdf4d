//! `GET`/`PUT`/`DELETE /whatsapp/conversations/{contact_id}/draft`: the calling agent's
//! draft in the conversation (the agent from the token's `sub`; none: 403
//! `agent_required`). A draft is checked as a send is (text length, number of attachments,
//! what each declares, keys under the organization's prefix) and refused whole: nothing is
//! stored. Saving an empty draft deletes it. Whether each attachment's upload is still
//! there is told on reading (`available`): uploads are deleted two days after they were made.

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, agent_id, json_body, json_response,
};
use shared::domain::{
    AgentId, Contact, Draft, DraftAttachment, DraftKind, DraftRejection, MediaRejection,
    OrganizationId,
};
use shared::ports::{DraftStore, MediaStore, Ports, media_key};

use crate::InboxApi;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DraftRequest {
    #[serde(default)]
    kind: DraftKind,
    #[serde(default)]
    text: String,
    #[serde(default)]
    attachments: Vec<DraftAttachment>,
}

/// A draft's attachment as the page reads it: whether its upload can still be sent.
#[derive(Debug, Serialize)]
struct AttachmentView {
    #[serde(flatten)]
    attachment: DraftAttachment,
    available: bool,
}

#[derive(Debug, Serialize)]
struct DraftView {
    kind: DraftKind,
    text: String,
    attachments: Vec<AttachmentView>,
    updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct DraftAnswer {
    draft: Option<DraftView>,
}

impl<P: Ports> InboxApi<P> {
    /// The agent and the path's contact, the organization's own.
    async fn draft_owner(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<(AgentId, Contact), ApiError> {
        let agent = agent_id(event)?;
        let contact = self.path_contact(org, event).await?;
        Ok((agent, contact))
    }

    pub(crate) async fn get_draft(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let (agent, contact) = self.draft_owner(org, event).await?;
        let draft = self
            .ports
            .messages()
            .draft(org, &contact.contact_id, &agent)
            .await?;
        let draft = match draft {
            Some(draft) => Some(self.view(org, draft).await?),
            None => None,
        };
        Ok(json_response(200, &DraftAnswer { draft }))
    }

    pub(crate) async fn put_draft(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let request: DraftRequest = json_body(event)?;
        let (agent, contact) = self.draft_owner(org, event).await?;
        let draft = Draft {
            kind: request.kind,
            text: request.text,
            attachments: request.attachments,
            updated_at: Utc::now(),
        };
        check(org, &draft)?;
        let drafts = self.ports.messages();
        if draft.is_empty() {
            drafts
                .delete_draft(org, &contact.contact_id, &agent)
                .await?;
            return Ok(json_response(200, &DraftAnswer { draft: None }));
        }
        drafts
            .save_draft(org, &contact.contact_id, &agent, &draft)
            .await?;
        tracing::info!(
            contact_id = %contact.contact_id,
            attachments = draft.attachments.len(),
            "draft saved"
        );
        let view = self.view(org, draft).await?;
        Ok(json_response(200, &DraftAnswer { draft: Some(view) }))
    }

    pub(crate) async fn delete_draft(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let (agent, contact) = self.draft_owner(org, event).await?;
        self.ports
            .messages()
            .delete_draft(org, &contact.contact_id, &agent)
            .await?;
        Ok(json_response(200, &DraftAnswer { draft: None }))
    }

    async fn view(&self, org: &OrganizationId, draft: Draft) -> Result<DraftView, ApiError> {
        let mut attachments = Vec::with_capacity(draft.attachments.len());
        for attachment in draft.attachments {
            let available = self
                .ports
                .media()
                .head(org, &attachment.key)
                .await?
                .is_some();
            attachments.push(AttachmentView {
                attachment,
                available,
            });
        }
        Ok(DraftView {
            kind: draft.kind,
            text: draft.text,
            attachments,
            updated_at: draft.updated_at,
        })
    }
}

/// A send's checks, and every key under the organization's prefix (another's is "not
/// uploaded", as a send says).
fn check(org: &OrganizationId, draft: &Draft) -> Result<(), ApiError> {
    draft.check().map_err(|rejection| match rejection {
        DraftRejection::TextTooLong => ApiError::TextTooLong,
        DraftRejection::TooManyAttachments => ApiError::InvalidParameter(rejection.to_string()),
        DraftRejection::Attachment(why) => ApiError::AttachmentRejected(why),
    })?;
    for attachment in &draft.attachments {
        if media_key(org, &attachment.key).ok().as_deref() != Some(attachment.key.as_str()) {
            return Err(ApiError::AttachmentRejected(MediaRejection::NotUploaded));
        }
    }
    Ok(())
}
