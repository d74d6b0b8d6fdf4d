//! The collision guard: a send may name `seen_up_to`, the newest message its agent had on
//! screen. When the contact wrote since, or another agent (or the API) sent since, the send is
//! refused with 409 `conversation_changed` carrying those messages, so the agent reads them
//! before answering. The caller's own sends, notes and status changes do not count.
//!
//! Read from the conversation index, newest first, down to `seen_up_to`: a message stored a
//! moment before the send may not be listed yet (the index lags by well under a second), so
//! the guard narrows a race, it cannot close it; nothing is ever refused that was seen.

use shared::api::{ApiError, MessageView};
use shared::domain::{ContactId, Direction, Message, MessageId, OrganizationId, SentBy};
use shared::ports::{ConversationQuery, MessageStore, Ports};

use crate::SendApi;

/// How many messages a page of the index reads, and how many the 409 carries at most.
const PAGE: usize = 20;

/// Whether `m`, stored after what the agent saw, is news to `sender`.
pub fn is_news(m: &Message, sender: Option<&SentBy>) -> bool {
    match m.direction {
        Direction::Inbound => true,
        Direction::Internal => false,
        Direction::Outbound => match (&m.sent_by, sender) {
            (Some(SentBy::Agent(by)), Some(SentBy::Agent(me))) => by.sub != me.sub,
            (Some(SentBy::Api), Some(SentBy::Api)) => false,
            _ => true,
        },
    }
}

impl<P: Ports> SendApi<P> {
    /// Refuses the send when the conversation changed after `seen_up_to` (see the module).
    pub(crate) async fn guard(
        &self,
        org: &OrganizationId,
        contact: &ContactId,
        seen_up_to: &str,
        sender: Option<&SentBy>,
    ) -> Result<(), ApiError> {
        let seen = MessageId::parse(seen_up_to.trim())
            .map_err(|_| ApiError::InvalidParameter("seen_up_to must be a message id.".into()))?;
        self.ports
            .messages()
            .get(org, &seen)
            .await?
            .filter(|m| m.contact_id.as_ref() == Some(contact))
            .ok_or(ApiError::NotInConversation)?;
        let mut news = Vec::new();
        let mut query = ConversationQuery::Latest { limit: PAGE };
        loop {
            let page = self
                .ports
                .messages()
                .conversation(org, contact, query)
                .await?;
            let reached = page.messages.first().is_none_or(|m| m.id <= seen);
            // Newest first, so the 409 carries the latest news when there is much of it.
            for m in page.messages.iter().rev().filter(|m| m.id > seen) {
                if news.len() < PAGE && is_news(m, sender) {
                    news.push(m.clone());
                }
            }
            match page.messages.first() {
                Some(oldest) if !reached && page.has_more && news.len() < PAGE => {
                    query = ConversationQuery::Before {
                        id: oldest.id,
                        limit: PAGE,
                    };
                }
                _ => break,
            }
        }
        if news.is_empty() {
            return Ok(());
        }
        news.reverse();
        tracing::info!(contact_id = %contact, news = news.len(), "send refused: conversation changed");
        let views: Vec<MessageView> = news.iter().map(MessageView::from).collect();
        Err(ApiError::ConversationChanged {
            count: views.len(),
            messages: serde_json::to_value(&views).unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::domain::AgentRef;

    fn outbound(by: Option<SentBy>) -> Message {
        let org = OrganizationId::parse("acme").unwrap();
        let contact = ContactId::parse("c1").unwrap();
        let author = AgentRef::from_claims("u9", Some("Zoe"), None).unwrap();
        let mut m = Message::note(&org, &contact, "x".into(), author, chrono::Utc::now());
        m.direction = Direction::Outbound;
        m.sent_by = by;
        m
    }

    #[test]
    fn news_is_the_contact_and_everyone_else_but_never_a_note() {
        let ana = SentBy::Agent(AgentRef::from_claims("ana", Some("Ana"), None).unwrap());
        let ben = SentBy::Agent(AgentRef::from_claims("ben", Some("Ben"), None).unwrap());
        let cases = [
            (Some(ana.clone()), Some(&ana), false),
            (Some(ben.clone()), Some(&ana), true),
            (Some(SentBy::Api), Some(&ana), true),
            (None, Some(&ana), true),
            (Some(SentBy::Api), Some(&SentBy::Api), false),
            (Some(ana.clone()), Some(&SentBy::Api), true),
        ];
        for (by, me, news) in cases {
            assert_eq!(
                is_news(&outbound(by.clone()), me),
                news,
                "{by:?} for {me:?}"
            );
        }
        let mut inbound = outbound(None);
        inbound.direction = Direction::Inbound;
        assert!(is_news(&inbound, Some(&ana)));
        let mut note = outbound(Some(ben));
        note.direction = Direction::Internal;
        assert!(!is_news(&note, Some(&ana)));
    }
}
