//! Messaging Services (Twilio's Messaging API): the WhatsApp senders in a service's pool,
//! from `GET /v1/Services/{MessagingServiceSid}/ChannelSenders` — what the channel status
//! shows an agent as the numbers the organization sends from.

use serde::Deserialize;

use super::TwilioError;
use super::client::TwilioClient;
use super::pages::ListRead;
use crate::domain::{OrgConfig, PhoneNumber};

/// Channel senders read per page (Twilio's most; a pool holds at most 400 senders).
const PAGE_SIZE: u32 = 1000;
/// Pages read at most before the list is called broken.
const MAX_SERVICE_SENDER_PAGES: usize = 5;

#[derive(Debug, Deserialize)]
struct ChannelSenderPage {
    #[serde(default)]
    senders: Vec<ChannelSender>,
    #[serde(default)]
    meta: PageMeta,
}

#[derive(Debug, Default, Deserialize)]
struct PageMeta {
    #[serde(default)]
    next_page_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChannelSender {
    /// `whatsapp:+15017122661` for a WhatsApp sender.
    #[serde(default)]
    sender: Option<String>,
}

/// The WhatsApp numbers among a page's channel senders (other channels are left out).
fn whatsapp_numbers(page: &ChannelSenderPage) -> Vec<PhoneNumber> {
    page.senders
        .iter()
        .filter_map(|s| s.sender.as_deref())
        .filter(|s| s.starts_with("whatsapp:"))
        .filter_map(|s| PhoneNumber::parse_address(s).ok())
        .collect()
}

impl TwilioClient {
    /// The WhatsApp senders of the organization's Messaging Service, every page; empty when
    /// it sends from its number alone. The credentials go only to the Messaging API's own
    /// origin: a next page elsewhere is an error, never followed.
    pub async fn service_senders(
        &self,
        config: &OrgConfig,
    ) -> Result<Vec<PhoneNumber>, TwilioError> {
        // Validated MG + hex when the secret is read: safe in a path.
        let Some(service) = &config.messaging_service_sid else {
            return Ok(Vec::new());
        };
        let list = ListRead {
            base: &self.messaging_base_url,
            first_page: format!(
                "{}/v1/Services/{service}/ChannelSenders?PageSize={PAGE_SIZE}",
                self.messaging_base_url
            ),
            max_pages: MAX_SERVICE_SENDER_PAGES,
            timeout: None,
            what: "channel senders",
        };
        self.read_pages(config, list, |page: ChannelSenderPage, senders| {
            senders.extend(whatsapp_numbers(&page));
            page.meta.next_page_url
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whatsapp_senders_of_the_pool_are_kept() {
        // The shape of Twilio's ListChannelSenderResponse (twilio_messaging_v1).
        let page = r#"{
            "senders": [
                {"sid": "XE0123456789abcdef0123456789abcdef", "sender": "whatsapp:+14155238886",
                 "sender_type": "WhatsApp", "country_code": "US",
                 "messaging_service_sid": "MG0123456789abcdef0123456789abcdef"},
                {"sid": "XE0123456789abcdef0123456789abcdee", "sender": "messenger:1234",
                 "sender_type": "Messenger"},
                {"sid": "XE0123456789abcdef0123456789abcded", "sender": "whatsapp:not-a-number"},
                {"sid": "XE0123456789abcdef0123456789abcdec", "sender": null},
                {"sid": "XE0123456789abcdef0123456789abcdeb", "sender": "whatsapp:+447911123456"}
            ],
            "meta": {"page": 0, "page_size": 1000, "next_page_url": null}
        }"#;
        let page: ChannelSenderPage = serde_json::from_str(page).unwrap();
        let senders = whatsapp_numbers(&page);
        let shown: Vec<&str> = senders.iter().map(PhoneNumber::as_str).collect();
        assert_eq!(shown, ["+14155238886", "+447911123456"]);
    }
}
