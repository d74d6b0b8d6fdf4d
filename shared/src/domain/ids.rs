//! Identifiers. Each one is validated once at the edge so the rest of the code can put it in
//! a secret name, a storage key or a URL path without further escaping.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: {reason}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub reason: &'static str,
}

fn check_token(
    kind: &'static str,
    value: &str,
    max: usize,
    extra: &[char],
) -> Result<(), InvalidId> {
    if value.is_empty() {
        return Err(InvalidId {
            kind,
            reason: "must not be empty",
        });
    }
    if value.len() > max {
        return Err(InvalidId {
            kind,
            reason: "is too long",
        });
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || extra.contains(&c))
    {
        return Err(InvalidId {
            kind,
            reason: "has characters other than letters, digits, '-' and '_'",
        });
    }
    Ok(())
}

macro_rules! string_id {
    ($name:ident, $kind:literal, $max:expr, $extra:expr) => {
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                check_token($kind, value, $max, $extra)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                check_token($kind, &value, $max, $extra)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(OrganizationId, "organization id", 64, &[]);
string_id!(ContactId, "contact id", 128, &['.', ':']);

/// Message ids are ULIDs: unique without coordination and sorted by creation time, so a
/// conversation sorted by id is sorted by `created_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(ulid::Ulid);

impl MessageId {
    /// A new id, greater than every id this process made before — also within the same
    /// millisecond, so the messages of one send keep their order.
    pub fn new() -> Self {
        static GENERATOR: std::sync::Mutex<ulid::Generator> =
            std::sync::Mutex::new(ulid::Generator::new());
        let generated = GENERATOR
            .lock()
            .ok()
            .and_then(|mut generator| generator.generate().ok());
        Self(generated.unwrap_or_else(|| ulid::Ulid::from_datetime(std::time::SystemTime::now())))
    }

    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        ulid::Ulid::from_string(value)
            .map(Self)
            .map_err(|_| InvalidId {
                kind: "message id",
                reason: "is not a ULID",
            })
    }

    /// An id of a message made at `at` (tests make their messages at explicit times).
    pub fn at(at: chrono::DateTime<chrono::Utc>) -> Self {
        let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
        Self(ulid::Ulid::from_parts(millis, ulid::Ulid::new().random()))
    }

    /// The smallest id that could have been generated at `millis` since the epoch; used as a
    /// time cursor.
    pub fn floor_at(millis: u64) -> Self {
        Self(ulid::Ulid::from_parts(millis, 0))
    }

    /// The greatest id there can be: a cursor above every message.
    pub fn ceiling() -> Self {
        Self(ulid::Ulid(u128::MAX))
    }

    pub fn timestamp_ms(&self) -> u64 {
        self.0.timestamp_ms()
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl TryFrom<String> for MessageId {
    type Error = InvalidId;
    fn try_from(value: String) -> Result<Self, InvalidId> {
        Self::parse(&value)
    }
}

impl From<MessageId> for String {
    fn from(id: MessageId) -> String {
        id.0.to_string()
    }
}

impl FromStr for MessageId {
    type Err = InvalidId;
    fn from_str(s: &str) -> Result<Self, InvalidId> {
        Self::parse(s)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_ids_are_path_and_key_safe() {
        assert!(OrganizationId::parse("org-acme_01").is_ok());
        assert!(OrganizationId::parse("").is_err());
        assert!(OrganizationId::parse("../other").is_err());
        assert!(OrganizationId::parse("a/b").is_err());
        assert!(OrganizationId::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn contact_ids_allow_crm_style_ids() {
        assert!(ContactId::parse("crm:contact.42").is_ok());
        assert!(ContactId::parse("has space").is_err());
    }

    #[test]
    fn ids_made_in_the_same_millisecond_keep_their_order() {
        let ids: Vec<MessageId> = (0..1000).map(|_| MessageId::new()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn message_ids_sort_by_creation_time() {
        let a = MessageId::new();
        let b = MessageId::at(chrono::Utc::now() + chrono::Duration::milliseconds(2));
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
        assert_eq!(MessageId::parse(&a.to_string()).unwrap(), a);
        assert!(MessageId::parse("not-a-ulid").is_err());
        assert!(MessageId::floor_at(a.timestamp_ms()) <= a);
    }
}
