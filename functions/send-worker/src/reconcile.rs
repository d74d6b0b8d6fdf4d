//! Finding a message Twilio may already have: after a send whose outcome is unknown (a
//! timeout after the request was written, a connection dropped before the answer, an
//! unreadable 2xx, a worker that died mid-job), the next attempt reads Twilio's newest
//! messages to the contact and looks for this one before sending again.

use chrono::{DateTime, Duration, Utc};
use shared::domain::Message;
use shared::twilio::ListedMessage;

/// Twilio's clock and ours may differ by this much, and Twilio dates have whole seconds.
pub const CLOCK_SKEW: Duration = Duration::seconds(120);

/// The Twilio message that is `message`, sent no earlier than `since` (when the first
/// unresolved attempt began): same body, same number of media, created since then, and not
/// already recorded for another of our messages (`taken`). The oldest such one, because
/// Twilio lists newest first and an earlier attempt is the one that got through.
pub fn find_sent<'a>(
    message: &Message,
    since: DateTime<Utc>,
    listed: &'a [ListedMessage],
    taken: impl Fn(&str) -> bool,
) -> Option<&'a ListedMessage> {
    candidates(message, since, listed)
        .into_iter()
        .find(|m| !taken(&m.sid))
}

/// The listed messages that look like `message` (body, media count, created since `since`),
/// oldest first: only their sids need checking against our store.
pub fn candidates<'a>(
    message: &Message,
    since: DateTime<Utc>,
    listed: &'a [ListedMessage],
) -> Vec<&'a ListedMessage> {
    let body = message.text.as_deref().unwrap_or_default();
    // A template's media is the template's: Twilio may count it or not.
    let media = message
        .template
        .is_none()
        .then(|| message.attachments.len().min(1));
    let mut found: Vec<&ListedMessage> = listed
        .iter()
        .filter(|m| m.body.as_deref().unwrap_or_default() == body)
        .filter(|m| media.is_none_or(|media| m.media_count() == media))
        .filter(|m| m.created_at().is_some_and(|at| at >= since - CLOCK_SKEW))
        .collect();
    found.sort_by_key(|m| m.created_at());
    found
}
