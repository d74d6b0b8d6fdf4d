//! Messages for tests, made field by field, at explicit times: `a_message("org-a")
//! .contact("c1").inbound().text("Hi").build()`. Each message made without `.at(…)` takes the
//! next instant of a test clock (`next_instant`): a millisecond after the one before, so ids
//! and times order as the messages were made — what a sleep between them used to buy.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Utc};

use super::org;
use crate::domain::{ContactId, Direction, Message, MessageId, MessageStatus, MessageType};

/// A millisecond after the last instant it gave, and past once it returns: strictly
/// increasing, and every id the code under test makes afterwards (`MessageId::new`, real time)
/// comes after it — what a sleep between messages used to buy, waited for in one place and
/// only as long as needed.
pub fn next_instant() -> DateTime<Utc> {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = Utc::now().timestamp_millis();
    let step = |last: i64| Some(last.max(now - 1) + 1);
    let previous = LAST
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, step)
        .unwrap_or(now);
    let ms = previous.max(now - 1) + 1;
    while Utc::now().timestamp_millis() <= ms {
        std::thread::yield_now();
    }
    DateTime::from_timestamp_millis(ms).unwrap_or_else(Utc::now)
}

/// A message being made for a test.
#[derive(Debug, Clone)]
pub struct MessageBuilder(Message);

/// An outbound PENDING text ("Hello") of the organization's unknown sender, at the test
/// clock's next instant; change what the test needs.
pub fn a_message(organization: &str) -> MessageBuilder {
    let at = next_instant();
    let id = MessageId::at(at);
    MessageBuilder(Message {
        id,
        organization_id: org(organization),
        contact_id: None,
        contact_phone: Some("+60123456789".into()),
        direction: Direction::Outbound,
        message_type: MessageType::Text,
        text: Some("Hello".into()),
        attachments: vec![],
        twilio_message_sid: None,
        status: MessageStatus::Pending,
        error_reason: None,
        created_at: at,
        updated_at: at,
        revision: id,
        template: None,
        details: None,
        expires_at: None,
        idempotency_key: None,
        sent_by: None,
        interactive: None,
    })
}

impl MessageBuilder {
    /// Of the organization's conversation with this contact (None: an unknown sender).
    pub fn contact(mut self, contact: Option<&str>) -> Self {
        self.0.contact_id = contact.map(|c| ContactId::parse(c).expect("valid contact id"));
        self
    }

    /// Written by the contact: RECEIVED.
    pub fn inbound(mut self) -> Self {
        self.0.direction = Direction::Inbound;
        self.0.status = MessageStatus::Received;
        self
    }

    /// Inbound or outbound (PENDING), as `direction` says.
    pub fn direction(self, direction: Direction) -> Self {
        match direction {
            Direction::Inbound => self.inbound(),
            _ => {
                let mut outbound = self;
                outbound.0.direction = direction;
                outbound.0.status = MessageStatus::Pending;
                outbound
            }
        }
    }

    pub fn text(mut self, text: &str) -> Self {
        self.0.text = Some(text.into());
        self
    }

    pub fn sid(mut self, sid: Option<&str>) -> Self {
        self.0.twilio_message_sid = sid.map(str::to_owned);
        self
    }

    pub fn status(mut self, status: MessageStatus) -> Self {
        self.0.status = status;
        self
    }

    /// Made at `at` (its id, revision and times).
    pub fn at(mut self, at: DateTime<Utc>) -> Self {
        let id = MessageId::at(at);
        self.0.id = id;
        self.0.revision = id;
        self.0.created_at = at;
        self.0.updated_at = at;
        self
    }

    /// Any other change.
    pub fn with(mut self, change: impl FnOnce(&mut Message)) -> Self {
        change(&mut self.0);
        self
    }

    pub fn build(self) -> Message {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_made_one_after_another_order_by_id_and_time() {
        let made: Vec<Message> = (0..50).map(|_| a_message("org-a").build()).collect();
        for pair in made.windows(2) {
            assert!(pair[0].id < pair[1].id);
            assert!(pair[0].created_at < pair[1].created_at);
            assert!(pair[0].id.timestamp_ms() < pair[1].id.timestamp_ms());
        }
        let inbound = a_message("org-a")
            .contact(Some("c1"))
            .inbound()
            .text("Hi")
            .build();
        assert_eq!(
            (inbound.direction, inbound.status, inbound.text.as_deref()),
            (Direction::Inbound, MessageStatus::Received, Some("Hi"))
        );
        assert_eq!(inbound.contact_id, Some(ContactId::parse("c1").unwrap()));
    }
}
