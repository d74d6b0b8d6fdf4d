//! `GET /whatsapp/messages?contact_id=&after=&before=&limit=`: a contact's conversation in
//! `created_at` order with the contact's 24-hour window state.
//!
//! - no cursor: the newest page;
//! - `before=<id>`: the page just older than that message (scrolling up);
//! - `after=<cursor>`: what was created *or changed* since the cursor (polling). The answer's
//!   `next_after` is the cursor for the next poll. A poll with nothing new is answered after
//!   one read, without `contact` and `window` (nothing about them changed either). The
//!   cursor (see [`cursor`]) cannot skip a change that becomes visible late, and never
//!   returns the same change twice.
//!
//! The newest page also lists the other agents viewing or writing in the conversation
//! (`viewers`, one read of its presence item), so an agent opening it sees who is there.
#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod cursor;

use std::time::Duration;

use chrono::Utc;
use cursor::{PollCursor, horizon};
use serde::Serialize;
pub use shared::api::DOWNLOAD_URL_EXPIRY;
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, ConversationContact, MessageView,
    agent_id, contact_state, json_response, message_views, organization_id, query, query_limit,
    query_value, route_key,
};
use shared::config::Settings;
use shared::domain::{
    Contact, ContactId, ConversationWindow, MessageId, OrganizationId, Presence, shown_presences,
};
use shared::ports::{
    ContactStore, ConversationPage, ConversationQuery, MessageStore, Ports, PresenceStore,
};
use shared::runtime::HttpRoutes;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 200;

/// Attachments are shown through short-lived presigned GETs of our own bucket.
#[derive(Clone)]
pub struct MessagesApi<P> {
    pub ports: P,
    pub org_claim: String,
    /// See `Settings::poll_settle`.
    pub poll_settle: Duration,
}

impl<P: Ports> MessagesApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
            poll_settle: settings.poll_settle,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Conversation {
    /// How the contact stands now, with every answer (polls included).
    pub contact: ConversationContact,
    pub window: ConversationWindow,
    pub messages: Vec<MessageView>,
    /// Pass as `after` to poll for what is new or changed.
    pub next_after: Option<String>,
    /// Pass as `before` to load older messages; None when there are none.
    pub next_before: Option<MessageId>,
    /// The newest page only: the other agents viewing or writing in the conversation now,
    /// by name (then told by `presence` events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewers: Option<Vec<Presence>>,
}

impl<P: Ports> HttpRoutes for MessagesApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "GET /whatsapp/messages" => self.conversation(&org, event).await,
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }
}

/// A poll's answer: the changes, the cursor after them, and the contact as it is now.
type Polled = (ConversationPage, PollCursor, Contact);

/// What a conversation request asks for: the contact, `after` (a poll) or `before` (an older
/// page), and the page's size.
fn page_request(
    event: &ApiGatewayV2httpRequest,
) -> Result<(String, Option<PollCursor>, Option<MessageId>, usize), ApiError> {
    let contact_id = query(event, "contact_id")
        .ok_or_else(|| ApiError::InvalidParameter("contact_id is required.".into()))?;
    let after = query_value(event, "after")?
        .map(|v| {
            PollCursor::parse(&v).map_err(|_| {
                ApiError::InvalidParameter("after must be a message id or cursor.".into())
            })
        })
        .transpose()?;
    let before = query_value(event, "before")?
        .map(|v| {
            MessageId::parse(&v).map_err(|_| {
                ApiError::InvalidParameter("before must be a message id or cursor.".into())
            })
        })
        .transpose()?;
    let limit = query_limit(event, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    if after.is_some() && before.is_some() {
        // Each fits the description alone; together they mean nothing (422, not 400).
        return Err(ApiError::NotSupported(
            "Use either after or before, not both.",
        ));
    }

    Ok((contact_id, after, before, limit))
}

impl<P: Ports> MessagesApi<P> {
    async fn conversation(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let (contact_id, after, before, limit) = page_request(event)?;

        // An id of another organization is "not found", exactly like an unknown one.
        let contact_id =
            ContactId::parse(&contact_id).map_err(|_| ApiError::NotFound("Contact not found."))?;
        let now = Utc::now();
        let horizon = horizon(now.timestamp_millis().max(0) as u64, self.poll_settle);
        // A poll reads the changes and the contact at once: the page learns of a contact the
        // CRM changed (blocked, opted out) or deleted (its conversation erased: 404) even when
        // no message is new.
        let polling = after.is_some();
        let mut polled_contact = None;
        let (page, next_after) = match after {
            Some(cursor) => {
                let (changed, next, contact) =
                    self.poll(org, &contact_id, &cursor, limit, horizon).await?;
                polled_contact = Some(contact);
                (Some(changed), Some(next))
            }
            None => (None, None),
        };
        let contact = match polled_contact {
            Some(contact) => contact,
            None => self
                .ports
                .contacts()
                .get(org, &contact_id)
                .await?
                .ok_or(ApiError::NotFound("Contact not found."))?,
        };
        let mut viewers = None;
        let (page, next_after) = match (page, before) {
            (Some(page), _) => (page, next_after),
            (None, Some(id)) => (
                self.ports
                    .messages()
                    .conversation(org, &contact_id, ConversationQuery::Before { id, limit })
                    .await?,
                None,
            ),
            (None, None) => {
                viewers = Some(shown_presences(
                    self.ports
                        .messages()
                        .presences(org, &contact_id, now)
                        .await?,
                    now,
                    agent_id(event).ok().as_ref(),
                ));
                let page = self
                    .ports
                    .messages()
                    .conversation(org, &contact_id, ConversationQuery::Latest { limit })
                    .await?;
                // Before the first poll: what this page shows is seen; a change above the
                // horizon that it does not show (not yet visible, or an older message that
                // changed) comes with the first poll.
                let start = PollCursor::start(page.messages.iter().map(|m| m.revision), horizon);
                (page, Some(start))
            }
        };
        let next_before = match page.has_more && !polling {
            true => page.messages.first().map(|m| m.id),
            false => None,
        };
        let next_after = next_after.map(|c| c.to_string());
        let (contact, window) = contact_state(&contact, now);
        Ok(json_response(
            200,
            &Conversation {
                contact,
                window,
                messages: message_views(self.ports.media(), org, &page.messages).await?,
                next_after,
                next_before,
                viewers,
            },
        ))
    }

    /// A poll: the changes after the cursor (past those it already returned, so they cannot
    /// crowd out news) and the contact as it is now, read at once.
    async fn poll(
        &self,
        org: &OrganizationId,
        contact_id: &ContactId,
        cursor: &PollCursor,
        limit: usize,
        horizon: MessageId,
    ) -> Result<Polled, ApiError> {
        // Read past the changes already returned, so they cannot crowd out news.
        let read = ConversationQuery::ChangedAfter {
            cursor: cursor.floor,
            limit: limit + cursor.seen.len(),
        };
        let (changed, contact) = tokio::join!(
            self.ports.messages().conversation(org, contact_id, read),
            self.ports.contacts().get(org, contact_id),
        );
        let contact = contact?.ok_or(ApiError::NotFound("Contact not found."))?;
        let mut changed = changed?;
        let read_up_to = changed
            .has_more
            .then(|| changed.messages.iter().map(|m| m.revision).max())
            .flatten();
        changed.messages.retain(|m| !cursor.has_seen(m.revision));
        let next = cursor.advance(
            changed.messages.iter().map(|m| m.revision),
            read_up_to,
            horizon,
        );
        changed.has_more = false;
        Ok((changed, next, contact))
    }
}
