//! Who did something: an agent (the verified JWT's `sub`, with the name the token gives) or
//! a caller without a user (a machine client of the API).

use serde::{Deserialize, Serialize};

/// Who an agent is: the verified JWT's `sub`, as the identity provider wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentId(String);

impl AgentId {
    /// Longest `sub` taken (Cognito's are 36 characters, Auth0's `provider|id` under 100).
    pub const MAX_CHARS: usize = 255;

    /// A `sub` as the token carries it: non-empty, at most 255 characters, no control
    /// characters. None otherwise (the caller answers 403 `agent_required`).
    pub fn parse(sub: &str) -> Option<Self> {
        let sub = sub.trim();
        (!sub.is_empty()
            && sub.chars().count() <= Self::MAX_CHARS
            && !sub.chars().any(char::is_control))
        .then(|| Self(sub.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AgentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An agent as a message records them: who (the `sub`) and the name shown to other agents
/// (the token's `name`, else its `email`, else the `sub` itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentRef {
    pub sub: AgentId,
    pub name: String,
}

impl AgentRef {
    /// Longest name kept (a display name, not an identity; longer ones are cut).
    pub const MAX_NAME_CHARS: usize = 100;

    /// The agent of a token's claims: `sub`, and the first of `name`, `email` usable as a
    /// name. None without a usable `sub`.
    pub fn from_claims(sub: &str, name: Option<&str>, email: Option<&str>) -> Option<Self> {
        let sub = AgentId::parse(sub)?;
        let shown = |value: &str| {
            let value: String = value
                .trim()
                .chars()
                .filter(|c| !c.is_control())
                .take(Self::MAX_NAME_CHARS)
                .collect();
            (!value.is_empty()).then_some(value)
        };
        let name = name
            .and_then(shown)
            .or_else(|| email.and_then(shown))
            .unwrap_or_else(|| sub.as_str().to_owned());
        Some(Self { sub, name })
    }
}

/// Who made an outbound message. Messages from before this was recorded have none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum SentBy {
    /// An agent, by the page or the API with their token.
    Agent(AgentRef),
    /// A caller whose token names no user (an integration).
    Api,
}

impl SentBy {
    /// The agent, or None for a send without a user.
    pub fn agent(&self) -> Option<&AgentRef> {
        match self {
            Self::Agent(agent) => Some(agent),
            Self::Api => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_is_a_non_empty_sub_without_control_characters() {
        assert_eq!(AgentId::parse(" user-1 ").unwrap().as_str(), "user-1");
        assert_eq!(
            AgentId::parse("auth0|5f7c8ec7c33c6c004bbafe82")
                .unwrap()
                .as_str(),
            "auth0|5f7c8ec7c33c6c004bbafe82"
        );
        for refused in ["", "  ", "a\nb", &"x".repeat(AgentId::MAX_CHARS + 1)] {
            assert_eq!(AgentId::parse(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn an_agent_is_named_by_name_then_email_then_sub() {
        let cases = [
            (Some("Ana Lima"), Some("ana@example.com"), "Ana Lima"),
            (None, Some("ana@example.com"), "ana@example.com"),
            (Some("  "), Some("ana@example.com"), "ana@example.com"),
            (Some("Ana\u{7}\n"), None, "Ana"),
            (None, None, "user-1"),
        ];
        for (name, email, shown) in cases {
            let agent = AgentRef::from_claims("user-1", name, email).unwrap();
            assert_eq!(agent.name, shown, "{name:?} {email:?}");
            assert_eq!(agent.sub.as_str(), "user-1");
        }
        let long = "n".repeat(300);
        let agent = AgentRef::from_claims("user-1", Some(&long), None).unwrap();
        assert_eq!(agent.name.chars().count(), AgentRef::MAX_NAME_CHARS);
        assert!(AgentRef::from_claims(" ", Some("Ana"), None).is_none());
    }

    #[test]
    fn who_sent_is_stored_tagged() {
        let agent = SentBy::Agent(AgentRef::from_claims("u1", Some("Ana"), None).unwrap());
        let json = serde_json::to_value(&agent).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"by": "agent", "sub": "u1", "name": "Ana"})
        );
        assert_eq!(serde_json::from_value::<SentBy>(json).unwrap(), agent);
        let api = serde_json::to_value(SentBy::Api).unwrap();
        assert_eq!(api, serde_json::json!({"by": "api"}));
        assert_eq!(SentBy::Api.agent(), None);
    }
}
