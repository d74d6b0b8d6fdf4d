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
//!   organization's, 422 for a message that is not in that conversation. When the marker
//!   covers the conversation's newest inbound message, WhatsApp is told (`indicator`).
//! - `POST /whatsapp/conversations/{contact_id}/typing`: an agent is typing a reply; WhatsApp
//!   shows "typing…" to the contact (`indicator`: at most every 20 s, never an error). 404
//!   for a contact that is not the organization's; else 200 with what became of it.
//!
//! - `GET`/`PUT`/`DELETE /whatsapp/conversations/{contact_id}/draft`: the calling agent's
//!   draft in the conversation (`draft`).
//!
//! - `POST /whatsapp/conversations/{contact_id}/presence`: the calling agent views, writes
//!   in or left the conversation, for the other agents to see (`presence`).
//!
//! Layout: `indicator` — the typing indicator and read receipts (Twilio's Indicators API);
//! `draft` — agents' drafts; `presence` — who is in a conversation.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod draft;
mod indicator;
mod presence;

pub use indicator::{INDICATOR_EVERY, Indicator, READ_RECEIPT_MAX_AGE};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, ConversationContact,
    ConversationSummaryView, ConversationView, json_body, json_response, organization_id,
    path_parameter, query_limit, query_value, route_key,
};
use shared::config::Settings;
use shared::domain::{Contact, ContactId, ConversationSummary, MessageId, OrganizationId};
use shared::ports::{ContactStore, ConversationStore, MessageStore, Ports};
use shared::runtime::HttpRoutes;

pub const DEFAULT_PAGE_SIZE: usize = 25;
pub const MAX_PAGE_SIZE: usize = 100;

#[derive(Clone)]
pub struct InboxApi<P> {
    pub ports: P,
    pub org_claim: String,
    /// How long an agent's presence lasts unless renewed.
    pub presence_ttl: std::time::Duration,
}

impl<P: Ports> InboxApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
            presence_ttl: settings.presence_ttl,
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
            "POST /whatsapp/conversations/{contact_id}/typing" => self.typing(&org, event).await,
            "GET /whatsapp/conversations/{contact_id}/draft" => self.get_draft(&org, event).await,
            "PUT /whatsapp/conversations/{contact_id}/draft" => self.put_draft(&org, event).await,
            "DELETE /whatsapp/conversations/{contact_id}/draft" => {
                self.delete_draft(&org, event).await
            }
            "POST /whatsapp/conversations/{contact_id}/presence" => {
                self.presence(&org, event).await
            }
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
        let cursor = query_value(event, "cursor")?;
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
        tracing::info!(listed = page.items.len(), "conversations listed");
        Ok(json_response(
            200,
            &ConversationList {
                conversations,
                next_cursor: page.next_cursor,
                unread_total,
            },
        ))
    }

    /// The path's contact, the organization's own; an id of another organization is "not
    /// found", exactly like an unknown one.
    async fn path_contact(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<Contact, ApiError> {
        let contact_id = path_parameter(event, "contact_id")
            .and_then(|id| ContactId::parse(id).ok())
            .ok_or(ApiError::NotFound("Contact not found."))?;
        self.ports
            .contacts()
            .get(org, &contact_id)
            .await?
            .ok_or(ApiError::NotFound("Contact not found."))
    }

    async fn read(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let request: ReadRequest = json_body(event)?;
        let up_to = MessageId::parse(request.up_to.trim())
            .map_err(|_| ApiError::InvalidParameter("up_to must be a message id.".into()))?;
        let contact = self.path_contact(org, event).await?;
        let contact_id = contact.contact_id.clone();
        let read = self
            .ports
            .messages()
            .get(org, &up_to)
            .await?
            .filter(|m| m.contact_id.as_ref() == Some(&contact_id))
            .ok_or(ApiError::NotInConversation)?;
        let summary = self
            .ports
            .messages()
            .mark_read(org, &contact_id, &up_to)
            .await?
            .ok_or(ApiError::NotInConversation)?;
        tracing::info!(contact_id = %contact_id, unread = summary.unread(), "conversation read");
        // The marker this request set (or one another agent set to the same message): the
        // contact learns it was read.
        if summary.last_read_id == Some(up_to) {
            let inbound = self.newest_inbound(org, &contact, Some(&read)).await;
            let indicator = self
                .indicate(org, &contact, inbound.as_ref(), Utc::now())
                .await;
            tracing::debug!(contact_id = %contact_id, ?indicator, "read receipt");
        }
        Ok(json_response(
            200,
            &view(ConversationContact::from(&contact), &summary),
        ))
    }
}

/// The typing route's answer.
#[derive(Debug, Serialize)]
struct TypingAnswer {
    indicator: Indicator,
}

impl<P: Ports> InboxApi<P> {
    async fn typing(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let contact = self.path_contact(org, event).await?;
        let inbound = self.newest_inbound(org, &contact, None).await;
        let indicator = self
            .indicate(org, &contact, inbound.as_ref(), Utc::now())
            .await;
        Ok(json_response(200, &TypingAnswer { indicator }))
    }
}

fn view(contact: ConversationContact, summary: &ConversationSummary) -> ConversationView {
    ConversationView {
        contact,
        summary: ConversationSummaryView::from(summary),
    }
}
