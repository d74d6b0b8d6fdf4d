//! The health of the account's WhatsApp senders, from Twilio's Senders API (`GET
//! /v2/Channels/Senders?Channel=whatsapp`, twilio_messaging_v2): status, Meta's quality rating
//! and messaging limit (under `properties`), and why a sender is offline.

use std::time::Duration;

use serde::Deserialize;

use super::TwilioError;
use super::client::TwilioClient;
use super::pages::ListRead;
use crate::domain::{OfflineReason, OrgConfig, PhoneNumber, SenderHealth};

/// Senders read per page (the API's most).
const PAGE_SIZE: u32 = 1000;
/// Pages read at most before the list is called broken.
const MAX_PAGES: usize = 5;
/// The channel status waits this long on Twilio at most: the health is a courtesy, and the
/// page shows "unknown" rather than wait.
pub const SENDER_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize)]
struct SenderPage {
    #[serde(default)]
    senders: Vec<ListedSender>,
    #[serde(default)]
    meta: PageMeta,
}

#[derive(Debug, Default, Deserialize)]
struct PageMeta {
    #[serde(default)]
    next_page_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListedSender {
    /// `whatsapp:+15017122661`.
    #[serde(default)]
    sender_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    properties: Option<Properties>,
    #[serde(default)]
    offline_reasons: Option<Vec<Option<ListedReason>>>,
}

#[derive(Debug, Default, Deserialize)]
struct Properties {
    #[serde(default)]
    quality_rating: Option<String>,
    #[serde(default)]
    messaging_limit: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListedReason {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    more_info: Option<String>,
}

/// The WhatsApp senders of a page (a sender without a number or status is left out).
fn healths(page: SenderPage) -> Vec<SenderHealth> {
    page.senders
        .into_iter()
        .filter_map(|s| {
            let number = PhoneNumber::parse_address(s.sender_id.as_deref()?).ok()?;
            let properties = s.properties.unwrap_or_default();
            let reasons = s
                .offline_reasons
                .unwrap_or_default()
                .into_iter()
                .flatten()
                .map(|r| OfflineReason {
                    // Documented as a string; a number is taken as one.
                    code: r.code.map(|c| match c {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    }),
                    message: r.message,
                    more_info: r.more_info,
                })
                .collect();
            Some(SenderHealth::new(
                number.to_string(),
                s.status?,
                properties.quality_rating,
                properties.messaging_limit,
                reasons,
            ))
        })
        .collect()
}

impl TwilioClient {
    /// Every WhatsApp sender of the organization's account with its health, every page, each
    /// request within `SENDER_HEALTH_TIMEOUT`. The credentials go only to the Messaging
    /// API's own origin: a next page elsewhere is an error, never followed.
    pub async fn sender_health(
        &self,
        config: &OrgConfig,
    ) -> Result<Vec<SenderHealth>, TwilioError> {
        let list = ListRead {
            base: &self.messaging_base_url,
            first_page: format!(
                "{}/v2/Channels/Senders?Channel=whatsapp&PageSize={PAGE_SIZE}",
                self.messaging_base_url
            ),
            max_pages: MAX_PAGES,
            timeout: Some(SENDER_HEALTH_TIMEOUT),
            what: "senders",
        };
        self.read_pages(config, list, |page: SenderPage, senders| {
            let next = page.meta.next_page_url.clone();
            senders.extend(healths(page));
            next
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::HealthLevel;

    #[test]
    fn a_page_reads_as_twilios_reference_shows_it() {
        // The shape of twilio_messaging_v2's ListChannelsSenderResponse and its examples
        // (whatsapp_fetch, whatsapp_fetch_offline_reasons), trimmed.
        let page = r#"{
            "senders": [
                {"sid": "XEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status": "ONLINE",
                 "sender_id": "whatsapp:+14155238886",
                 "configuration": {"waba_id": "1234567XXX"},
                 "properties": {"quality_rating": "HIGH", "messaging_limit": "10K Customers/24hr"},
                 "offline_reasons": null},
                {"sid": "XEbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "status": "OFFLINE",
                 "sender_id": "whatsapp:+447911123456",
                 "properties": {"quality_rating": "LOW", "messaging_limit": null},
                 "offline_reasons": [{"code": "30008", "message": "No delivery",
                   "more_info": "https://www.twilio.com/docs/api/errors/30008"}]},
                {"sid": "XEcccccccccccccccccccccccccccccccc", "status": "TWILIO_REVIEW",
                 "sender_id": "whatsapp:+60123456789", "properties": null, "offline_reasons": [null]},
                {"sid": "XEdddddddddddddddddddddddddddddddd", "status": "ONLINE",
                 "sender_id": "rcs:twilio_agent"}
            ],
            "meta": {"page": 0, "page_size": 1000, "next_page_url": null, "key": "senders"}
        }"#;
        let senders = healths(serde_json::from_str(page).unwrap());
        assert_eq!(senders.len(), 3, "the RCS sender is left out");
        assert_eq!(senders[0].sender, "+14155238886");
        assert_eq!(senders[0].level, HealthLevel::Green);
        assert_eq!(
            senders[0].messaging_limit.as_deref(),
            Some("10K Customers/24hr")
        );
        assert_eq!(senders[1].level, HealthLevel::Red);
        assert_eq!(senders[1].offline_reasons[0].code.as_deref(), Some("30008"));
        assert_eq!(
            senders[1].offline_reasons[0].message.as_deref(),
            Some("No delivery")
        );
        assert_eq!(senders[2].level, HealthLevel::Amber);
        assert_eq!(senders[2].quality_rating, None);
        assert!(senders[2].offline_reasons.is_empty());
    }
}
