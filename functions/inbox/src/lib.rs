//! The inbox: every conversation of the organization at a glance.
//!
//! - `GET /whatsapp/conversations?cursor=&limit=`: the conversations, the most recent
//!   activity first, each with its contact (how it stands: a contact no longer eligible is
//!   listed with its reason, its history stays readable), newest message, unread count and
//!   read marker. One Query of the `inbox` index and one BatchGetItem of the page's contacts,
//!   whatever the organization's size. The first page (no cursor) also carries the
//!   organization's `unread_total` (one Query of the `unread` index, which holds only the
//!   conversations with something unread). A conversation whose contact is gone (being erased) is
//!   left out; unknown senders have no conversation.
//! - `POST /whatsapp/conversations/{contact_id}/read` with `{"up_to": "<message id>"}`: marks
//!   read every inbound message up to that one, for the whole organization (one shared
//!   inbox). Idempotent; an older marker changes nothing. 404 for a contact that is not the
//!   organization's, 422 for a message that is not in that conversation.

use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, ConversationContact,
    ConversationSummaryView, ConversationView, json_body, json_response, organization_id,
    path_parameter, query, query_limit, route_key,
};
use shared::config::Settings;
use shared::domain::{ContactId, ConversationSummary, MessageId, OrganizationId};
use shared::ports::{ContactStore, ConversationStore, MessageStore, Ports};
use shared::runtime::HttpRoutes;

pub const DEFAULT_PAGE_SIZE: usize = 25;
pub const MAX_PAGE_SIZE: usize = 100;

#[derive(Clone)]
pub struct InboxApi<P> {
    pub ports: P,
    pub org_claim: String,
}

impl<P: Ports> InboxApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ConversationList {
    pub conversations: Vec<ConversationView>,
    /// Pass as `cursor` for the next page; None on the last.
    pub next_cursor: Option<String>,
    /// Unread inbound messages over all the organization's conversations: on the first page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unread_total: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadRequest {
    up_to: String,
}

impl<P: Ports> HttpRoutes for InboxApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "GET /whatsapp/conversations" => self.list(&org, event).await,
            "POST /whatsapp/conversations/{contact_id}/read" => self.read(&org, event).await,
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }
}

impl<P: Ports> InboxApi<P> {
    async fn list(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let limit = query_limit(event, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let cursor = query(event, "cursor");
        let page = self
            .ports
            .messages()
            .conversations(org, cursor.as_deref(), limit)
            .await?;
        let unread_total = match cursor {
            None => Some(self.ports.messages().unread_total(org).await?),
            Some(_) => None,
        };
        let ids: Vec<ContactId> = page.items.iter().map(|s| s.contact_id.clone()).collect();
        let contacts = self.ports.contacts().get_many(org, &ids).await?;
        let conversations = page
            .items
            .iter()
            .filter_map(|summary| {
                let contact = contacts
                    .iter()
                    .find(|c| c.contact_id == summary.contact_id)?;
                Some(view(ConversationContact::from(contact), summary))
            })
            .collect();
        tracing::info!(organization_id = %org, listed = page.items.len(), "conversations listed");
        Ok(json_response(
            200,
            &ConversationList {
                conversations,
                next_cursor: page.next_cursor,
                unread_total,
            },
        ))
    }

    async fn read(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        // An id of another organization is "not found", exactly like an unknown one.
        let contact_id = path_parameter(event, "contact_id")
            .and_then(|id| ContactId::parse(id).ok())
            .ok_or(ApiError::NotFound("Contact not found."))?;
        let request: ReadRequest = json_body(event)?;
        let up_to = MessageId::parse(request.up_to.trim())
            .map_err(|_| ApiError::InvalidParameter("up_to must be a message id.".into()))?;
        let contact = self
            .ports
            .contacts()
            .get(org, &contact_id)
            .await?
            .ok_or(ApiError::NotFound("Contact not found."))?;
        let in_conversation = self
            .ports
            .messages()
            .get(org, &up_to)
            .await?
            .is_some_and(|m| m.contact_id.as_ref() == Some(&contact_id));
        if !in_conversation {
            return Err(ApiError::NotInConversation);
        }
        let summary = self
            .ports
            .messages()
            .mark_read(org, &contact_id, &up_to)
            .await?
            .ok_or(ApiError::NotInConversation)?;
        tracing::info!(organization_id = %org, contact_id = %contact_id, unread = summary.unread(), "conversation read");
        Ok(json_response(
            200,
            &view(ConversationContact::from(&contact), &summary),
        ))
    }
}

fn view(contact: ConversationContact, summary: &ConversationSummary) -> ConversationView {
    ConversationView {
        contact,
        summary: ConversationSummaryView::from(summary),
    }
}
