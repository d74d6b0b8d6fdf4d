//! Live updates: what the page is told the moment a message or a contact changes, on its
//! organization's channel of the Event API (AWS AppSync Events; the local runner serves the
//! same protocol). Push is a hint: the page's `after=` poll stays the truth, so an event may
//! be lost or arrive twice without the page missing or doubling anything.
//!
//! - [`Change`]: what the stores changed (a DynamoDB stream record on AWS, the in-process
//!   stores' feed locally);
//! - [`LiveEvent`]: what goes on the channel, the API's own JSON (never a secret, a Twilio
//!   URL or another organization's data);
//! - the port that publishes up to [`MAX_EVENTS_PER_PUBLISH`] events is
//!   `ports::ChannelPublisher`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::{ConversationContact, ConversationSummaryView, MessageView, contact_state};
use crate::domain::{
    AgentRef, Contact, ContactId, ConversationSummary, ConversationWindow, Message, OrganizationId,
    Presence, PresenceState,
};

/// The channel namespace of the Event API.
pub const NAMESPACE: &str = "whatsapp";

/// AppSync Events takes at most five events per publish.
pub const MAX_EVENTS_PER_PUBLISH: usize = 5;

/// The longest channel segment.
pub const SEGMENT_MAX: usize = 50;

/// Whether `segment` may be a segment of an Event API channel: 1–50 letters, digits and
/// dashes, neither first nor last a dash. AppSync documents this pattern for a namespace
/// name (API reference, `ChannelNamespace`: `[A-Za-z0-9](?:[A-Za-z0-9\-]{0,48}[A-Za-z0-9])?`)
/// and no looser one for the other segments, so every segment is held to it. Organization
/// ids may also hold `_` and reach 64 characters: such an organization has no channel.
pub fn is_channel_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    (1..=SEGMENT_MAX).contains(&bytes.len())
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

/// An organization's channel: every agent of it subscribes here, nobody else may. None for
/// an organization whose id cannot be a channel segment: its page polls instead.
pub fn channel(org: &OrganizationId) -> Option<String> {
    is_channel_segment(org.as_str()).then(|| format!("/{NAMESPACE}/{org}"))
}

/// Whether `path` is the channel of the organization `claim` names, exactly (no wildcard,
/// no deeper segment): the subscribe rule, as the namespace's handler applies it on AWS.
pub fn may_subscribe(path: &str, claim: Option<&str>) -> bool {
    match claim.and_then(|org| OrganizationId::parse(org).ok()) {
        Some(org) => channel(&org).is_some_and(|own| path == own),
        None => false,
    }
}

/// A change the stores made that the page shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A message created or changed (its revision moved).
    Message(Box<Message>),
    /// A contact created or changed in a way the conversation shows.
    Contact(Contact),
    /// A conversation's summary changed (a message, a status, a read).
    Conversation(Box<ConversationSummary>),
    /// A contact deleted in the CRM: its conversation is being erased.
    ContactRemoved {
        organization_id: OrganizationId,
        contact_id: ContactId,
    },
    /// An agent's presence in a conversation set, renewed or left.
    Presence {
        organization_id: OrganizationId,
        contact_id: ContactId,
        presence: Presence,
    },
}

impl Change {
    pub fn organization_id(&self) -> &OrganizationId {
        match self {
            Change::Message(m) => &m.organization_id,
            Change::Contact(c) => &c.organization_id,
            Change::Conversation(s) => &s.organization_id,
            Change::ContactRemoved {
                organization_id, ..
            }
            | Change::Presence {
                organization_id, ..
            } => organization_id,
        }
    }
}

/// One event on an organization's channel, as JSON: `{"type": "message" | "contact" |
/// "conversation" | "contact_deleted" | "presence", …}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// The message as `GET /whatsapp/messages` shows it, revision included.
    Message { message: Box<MessageView> },
    /// How the contact stands, as every conversation answer carries it.
    Contact {
        contact: ConversationContact,
        window: ConversationWindow,
    },
    /// A conversation's row of the inbox, as `GET /whatsapp/conversations` shows it without
    /// its contact (the page has it, or reads the list again).
    Conversation {
        conversation: ConversationSummaryView,
    },
    /// The page clears the conversation, as a poll's 404 makes it do.
    ContactDeleted { contact_id: ContactId },
    /// Who is viewing or writing in a conversation, until when (`left`: no longer).
    Presence {
        contact_id: ContactId,
        agent: AgentRef,
        state: PresenceState,
        expires_at: DateTime<Utc>,
    },
}

impl LiveEvent {
    pub fn contact(contact: &Contact, now: DateTime<Utc>) -> Self {
        let (contact, window) = contact_state(contact, now);
        LiveEvent::Contact { contact, window }
    }

    /// The event as the Event API carries it: a JSON string.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Whether an HTTP status the Event API answered (for the request, or for one event in its
/// `failed` list) refuses for good: a 4xx other than 429 (throttled), 401 and 403 (the
/// publisher's credentials or the API's configuration, which a person fixes).
pub fn refuses_for_good(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401 | 403 | 429)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_claims_own_channel_may_be_subscribed() {
        assert!(may_subscribe("/whatsapp/org-a", Some("org-a")));
        for (path, claim) in [
            ("/whatsapp/org-b", Some("org-a")),
            ("/whatsapp/*", Some("org-a")),
            ("/whatsapp/org-a/*", Some("org-a")),
            ("/whatsapp/org-a/x", Some("org-a")),
            ("/whatsapp/org-a", None),
            ("/other/org-a", Some("org-a")),
            ("/whatsapp/", Some("")),
            ("/whatsapp/a#b", Some("a#b")),
            // A valid organization id that is no channel segment has no channel at all.
            ("/whatsapp/org_a", Some("org_a")),
        ] {
            assert!(!may_subscribe(path, claim), "{path} for {claim:?}");
        }
    }

    #[test]
    fn a_channel_segment_is_appsyncs_namespace_name_pattern() {
        let fifty = "a".repeat(SEGMENT_MAX);
        for good in ["a", "org-a", "Org-42", "0", fifty.as_str()] {
            assert!(is_channel_segment(good), "{good}");
        }
        let fifty_one = "a".repeat(SEGMENT_MAX + 1);
        for bad in [
            "",
            "org_a",
            "-org",
            "org-",
            "org a",
            "org/a",
            "org*",
            "é",
            fifty_one.as_str(),
        ] {
            assert!(!is_channel_segment(bad), "{bad}");
        }
        // Every organization id is parsed before it names a channel; some have none.
        assert_eq!(channel(&OrganizationId::parse("org_a").unwrap()), None);
        assert_eq!(
            channel(&OrganizationId::parse(&"a".repeat(64)).unwrap()),
            None
        );
    }

    #[test]
    fn a_channel_is_the_namespace_and_the_organization() {
        let org = OrganizationId::parse("org-a").unwrap();
        assert_eq!(channel(&org).as_deref(), Some("/whatsapp/org-a"));
        let event = LiveEvent::ContactDeleted {
            contact_id: ContactId::parse("c1").unwrap(),
        };
        assert_eq!(
            event.to_json(),
            r#"{"type":"contact_deleted","contact_id":"c1"}"#
        );
    }
}
