//! The health of a WhatsApp sender as Twilio's Senders API reports it (`GET
//! https://messaging.twilio.com/v2/Channels/Senders?Channel=whatsapp`): its status, Meta's
//! quality rating and messaging limit (under `properties`), and why it is offline. `level`
//! is what an agent sees at a glance.

use serde::{Deserialize, Serialize};

/// At a glance: green (sending), amber (sending, but watch it, or not ready yet), red (not
/// sending).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthLevel {
    Green,
    Amber,
    Red,
}

/// Why a sender is offline, as Twilio lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineReason {
    pub code: Option<String>,
    pub message: Option<String>,
    pub more_info: Option<String>,
}

/// One sender of the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderHealth {
    /// The number, E.164.
    pub sender: String,
    /// Twilio's status, as listed (`ONLINE`, `OFFLINE`, `TWILIO_REVIEW`…).
    pub status: String,
    /// Meta's rating: `HIGH`, `MEDIUM`, `LOW` (or none yet).
    pub quality_rating: Option<String>,
    /// Meta's messaging limit, as Twilio words it (`10K Customers/24hr`).
    pub messaging_limit: Option<String>,
    pub offline_reasons: Vec<OfflineReason>,
    pub level: HealthLevel,
}

impl SenderHealth {
    pub fn new(
        sender: String,
        status: String,
        quality_rating: Option<String>,
        messaging_limit: Option<String>,
        offline_reasons: Vec<OfflineReason>,
    ) -> Self {
        let level = level(&status, quality_rating.as_deref());
        Self {
            sender,
            status,
            quality_rating,
            messaging_limit,
            offline_reasons,
            level,
        }
    }
}

/// Every status Twilio documents (`channels_sender_enum_status`), at a glance:
/// - `ONLINE`: green, amber with a `MEDIUM` or `LOW` rating (Meta lowers the limit next);
/// - `ONLINE:UPDATING` (a change being applied) and `TWILIO_REVIEW`: amber, it still sends;
/// - `CREATING`, `PENDING_VERIFICATION`, `VERIFYING`, `DRAFT`, `STUBBED`: amber, being set up
///   and not sending yet;
/// - `OFFLINE`: red, with its reasons;
/// - a status Twilio adds later: amber, shown as Twilio words it.
pub fn level(status: &str, quality_rating: Option<&str>) -> HealthLevel {
    let rating_low = quality_rating
        .is_some_and(|r| r.eq_ignore_ascii_case("MEDIUM") || r.eq_ignore_ascii_case("LOW"));
    match status {
        "OFFLINE" => HealthLevel::Red,
        "ONLINE" if !rating_low => HealthLevel::Green,
        _ => HealthLevel::Amber,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_has_a_level() {
        let cases = [
            ("ONLINE", Some("HIGH"), HealthLevel::Green),
            ("ONLINE", None, HealthLevel::Green),
            ("ONLINE", Some("MEDIUM"), HealthLevel::Amber),
            ("ONLINE", Some("LOW"), HealthLevel::Amber),
            ("ONLINE:UPDATING", Some("HIGH"), HealthLevel::Amber),
            ("TWILIO_REVIEW", Some("HIGH"), HealthLevel::Amber),
            ("CREATING", None, HealthLevel::Amber),
            ("PENDING_VERIFICATION", None, HealthLevel::Amber),
            ("VERIFYING", None, HealthLevel::Amber),
            ("DRAFT", None, HealthLevel::Amber),
            ("STUBBED", None, HealthLevel::Amber),
            ("OFFLINE", Some("HIGH"), HealthLevel::Red),
            ("SOMETHING_NEW", Some("HIGH"), HealthLevel::Amber),
        ];
        for (status, rating, expected) in cases {
            assert_eq!(level(status, rating), expected, "{status} {rating:?}");
        }
    }
}
