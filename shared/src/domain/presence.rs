//! Presence: which agents have a conversation open (*viewing*) or are writing in it
//! (*composing*), so two agents do not answer one customer at once. It is told by the agent's
//! page on change and renewed while it lasts; each presence expires by itself, so a tab that
//! died stops being shown without anyone telling.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::AgentRef;

/// What an agent is doing in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    /// The conversation is open on their screen.
    Viewing,
    /// They are writing in it (a message or a note).
    Composing,
    /// They closed it (or their page went away): no longer shown.
    Left,
}

/// One agent's presence in one conversation, until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub agent: AgentRef,
    pub state: PresenceState,
    pub expires_at: DateTime<Utc>,
}

impl Presence {
    /// Whether it is still to be shown at `now`: not left, not expired.
    pub fn is_shown(&self, now: DateTime<Utc>) -> bool {
        self.state != PresenceState::Left && self.expires_at > now
    }
}

/// The presences of a conversation still shown at `now`, other than `except`'s (the agent
/// asking does not need telling they are there), by name, so every screen lists them alike.
pub fn shown_presences(
    all: impl IntoIterator<Item = Presence>,
    now: DateTime<Utc>,
    except: Option<&super::AgentId>,
) -> Vec<Presence> {
    let mut shown: Vec<Presence> = all
        .into_iter()
        .filter(|p| p.is_shown(now) && Some(&p.agent.sub) != except)
        .collect();
    shown.sort_by(|a, b| (&a.agent.name, &a.agent.sub).cmp(&(&b.agent.name, &b.agent.sub)));
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgentId;

    fn presence(sub: &str, name: &str, state: PresenceState, seconds: i64) -> Presence {
        Presence {
            agent: AgentRef::from_claims(sub, Some(name), None).unwrap(),
            state,
            expires_at: Utc::now() + chrono::Duration::seconds(seconds),
        }
    }

    #[test]
    fn shown_are_the_others_present_and_unexpired_by_name() {
        let all = [
            presence("z", "Zoe", PresenceState::Composing, 60),
            presence("a", "Ana", PresenceState::Viewing, 60),
            presence("me", "Me", PresenceState::Viewing, 60),
            presence("gone", "Gone", PresenceState::Viewing, -1),
            presence("left", "Left", PresenceState::Left, 60),
        ];
        let me = AgentId::parse("me").unwrap();
        let shown = shown_presences(all, Utc::now(), Some(&me));
        let names: Vec<_> = shown.iter().map(|p| p.agent.name.as_str()).collect();
        assert_eq!(names, ["Ana", "Zoe"]);
    }

    #[test]
    fn states_are_lowercase_words() {
        assert_eq!(
            serde_json::to_value(PresenceState::Composing).unwrap(),
            "composing"
        );
        assert!(serde_json::from_str::<PresenceState>("\"typing\"").is_err());
    }
}
