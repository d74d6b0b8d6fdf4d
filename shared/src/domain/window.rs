//! WhatsApp's 24-hour customer service window: free-form messages are allowed only within
//! 24 hours of the contact's last message to the business.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

pub const WINDOW_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConversationWindow {
    /// Whether a free-form message may be sent now.
    pub open: bool,
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// When the window closes (or closed); None if the contact never wrote.
    pub closes_at: Option<DateTime<Utc>>,
}

pub fn conversation_window(
    last_inbound_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ConversationWindow {
    let closes_at = last_inbound_at.map(|at| at + Duration::hours(WINDOW_HOURS));
    ConversationWindow {
        open: closes_at.is_some_and(|closes| now < closes),
        last_inbound_at,
        closes_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_within_24_hours_of_the_last_inbound_message() {
        let now = Utc::now();
        assert!(conversation_window(Some(now - Duration::hours(23)), now).open);
        assert!(conversation_window(Some(now - Duration::minutes(1)), now).open);
        let w = conversation_window(Some(now - Duration::hours(24)), now);
        assert!(!w.open);
        assert_eq!(w.closes_at, Some(now));
        assert!(!conversation_window(Some(now - Duration::hours(30)), now).open);
    }

    #[test]
    fn closed_when_the_contact_never_wrote() {
        let w = conversation_window(None, Utc::now());
        assert!(!w.open);
        assert_eq!(w.closes_at, None);
    }
}
