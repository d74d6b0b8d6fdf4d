//! Twilio Programmable Messaging REST client (the part the WhatsApp channel uses): sends,
//! the Messages list, templates. Beside it: `outbound` (what a send carries) and
//! `media_download` (an inbound message's media).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use secrecy::ExposeSecret;
use serde::Deserialize;

use super::media_fetch::MediaPolicy;
use super::outbound::{OutboundMessage, SentMessage};
use super::{DEFAULT_MEDIA_HOSTS, TwilioError};
use crate::domain::{OrgConfig, PhoneNumber};

/// A message as Twilio's Messages list shows it: what reconciling a send needs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ListedMessage {
    pub sid: String,
    #[serde(default)]
    pub body: Option<String>,
    /// Twilio sends it as a string ("0", "1").
    #[serde(default)]
    pub num_media: Option<String>,
    /// RFC 2822, as Twilio writes dates.
    #[serde(default)]
    pub date_created: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    /// `whatsapp:+…`: the sender Twilio used (a Messaging Service's pick included).
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// Set when the message failed or was undelivered (`null` otherwise).
    #[serde(default)]
    pub error_code: Option<u32>,
    #[serde(default)]
    pub error_message: Option<String>,
}

impl ListedMessage {
    pub fn created_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let date = self.date_created.as_deref()?;
        chrono::DateTime::parse_from_rfc2822(date)
            .ok()
            .map(|d| d.with_timezone(&chrono::Utc))
    }

    pub fn media_count(&self) -> usize {
        self.num_media
            .as_deref()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }
}

#[derive(Debug, Deserialize)]
struct MessagePage {
    messages: Vec<ListedMessage>,
    /// The next page, relative to the API's origin; null on the last.
    #[serde(default)]
    next_page_uri: Option<String>,
}

/// Messages read per page of Twilio's list when reconciling a send.
pub const RECONCILE_PAGE_SIZE: u32 = 50;
/// Pages read at most: 500 messages to one contact since the first attempt.
pub const RECONCILE_MAX_PAGES: usize = 10;

/// Templates read per Content API page (Twilio allows up to 1,000).
pub const CONTENT_PAGE_SIZE: u32 = 500;
/// Pages of templates read at most: 10,000 templates, far beyond what a sender has.
pub const MAX_CONTENT_PAGES: usize = 20;

/// Twilio's REST API for one deployment. Cheap to clone. API calls go through the process's
/// one HTTPS client (`crate::https`, shared with the AWS SDK); media downloads through a
/// client of their own (own resolver, no redirects), built on first use.
#[derive(Debug, Clone)]
pub struct TwilioClient {
    media: Arc<OnceLock<Result<reqwest::Client, String>>>,
    timeout: Duration,
    pub(super) base_url: String,
    /// The Content API's base (`https://content.twilio.com`; the sandbox locally).
    pub(super) content_base_url: String,
    /// The Messaging API's base (`https://messaging.twilio.com`; the sandbox locally):
    /// Messaging Services.
    pub(super) messaging_base_url: String,
    pub(super) content_page_size: u32,
    pub(super) media_policy: MediaPolicy,
}

/// Largest inbound media accepted (WhatsApp's own limit is 16 MB, documents 100 MB are
/// refused here rather than held in memory).
pub const MAX_INBOUND_MEDIA_BYTES: usize = 16 * 1024 * 1024;

/// The longest one media download may take, redirects and body included.
pub const DEFAULT_MEDIA_FETCH_TIME: Duration = Duration::from_secs(30);

impl TwilioClient {
    /// `base_url` is `https://api.twilio.com` in production and the sandbox locally.
    /// Building the client does no I/O.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, TwilioError> {
        url::Url::parse(base_url)
            .map_err(|e| TwilioError::InvalidResponse(format!("Twilio base URL: {e}")))?;
        Ok(Self {
            media: Arc::default(),
            timeout,
            base_url: base_url.trim_end_matches('/').to_owned(),
            content_base_url: "https://content.twilio.com".to_owned(),
            messaging_base_url: "https://messaging.twilio.com".to_owned(),
            content_page_size: CONTENT_PAGE_SIZE,
            media_policy: MediaPolicy::new(
                DEFAULT_MEDIA_HOSTS,
                MAX_INBOUND_MEDIA_BYTES,
                DEFAULT_MEDIA_FETCH_TIME,
            ),
        })
    }

    /// Downloads media under this policy (hosts, size and time caps, the local sandbox).
    /// Set before the first request: the media client is built once, with its resolver.
    pub fn with_media_policy(mut self, policy: MediaPolicy) -> Self {
        self.media_policy = policy;
        self.media = Arc::default();
        self
    }

    /// Reads templates in pages of this size (1–1000; tests page through a few templates).
    pub fn with_content_page_size(mut self, size: u32) -> Self {
        self.content_page_size = size.clamp(1, 1000);
        self
    }

    /// Reads templates from this Content API base instead of Twilio's.
    pub fn with_content_base_url(mut self, base_url: &str) -> Result<Self, TwilioError> {
        url::Url::parse(base_url)
            .map_err(|e| TwilioError::InvalidResponse(format!("Content API base URL: {e}")))?;
        self.content_base_url = base_url.trim_end_matches('/').to_owned();
        Ok(self)
    }

    /// Calls the Messaging API (Messaging Services) at this base instead of Twilio's.
    pub fn with_messaging_base_url(mut self, base_url: &str) -> Result<Self, TwilioError> {
        url::Url::parse(base_url)
            .map_err(|e| TwilioError::InvalidResponse(format!("Messaging API base URL: {e}")))?;
        self.messaging_base_url = base_url.trim_end_matches('/').to_owned();
        Ok(self)
    }

    /// A request to Twilio's API on the shared client, within the Twilio timeout.
    pub(super) fn api(
        &self,
        method: reqwest::Method,
        url: url::Url,
    ) -> Result<reqwest::RequestBuilder, TwilioError> {
        let client = crate::https::client().map_err(TwilioError::Network)?;
        Ok(client.request(method, url).timeout(self.timeout))
    }

    /// The media client: redirects are followed by hand, without credentials; names resolve
    /// only to public addresses; no proxy from the environment.
    pub(super) fn media(&self) -> Result<&reqwest::Client, TwilioError> {
        self.media
            .get_or_init(|| {
                crate::https::builder()?
                    .timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .dns_resolver(self.media_policy.resolver())
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| TwilioError::Network(e.clone()))
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub async fn send_message(
        &self,
        config: &OrgConfig,
        message: &OutboundMessage,
    ) -> Result<SentMessage, TwilioError> {
        // The account sid is validated (AC + hex) when the config is read: safe in a path.
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, config.account_sid
        );
        let body = serde_urlencoded::to_string(message.form(config))
            .map_err(|e| TwilioError::InvalidResponse(e.to_string()))?;
        let url = url::Url::parse(&url)
            .map_err(|e| TwilioError::Network(format!("Twilio base URL: {e}")))?;
        let request = self
            .api(reqwest::Method::POST, url)?
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body);
        json_answer(request, config).await
    }
}

impl TwilioClient {
    /// One message of the account by sid (Twilio's Message resource): how an inbound
    /// message's own time (`date_created`) is read, since the webhook does not carry it.
    pub async fn message(
        &self,
        config: &OrgConfig,
        sid: &str,
    ) -> Result<ListedMessage, TwilioError> {
        // A sid goes into the path: only Twilio's own shape (two letters and 32 hex digits).
        if !crate::twilio::is_message_sid(sid) {
            return Err(TwilioError::Api {
                http_status: 404,
                code: Some(20404),
                message: "not a message sid".into(),
                more_info: None,
            });
        }
        let url = url::Url::parse(&format!(
            "{}/2010-04-01/Accounts/{}/Messages/{sid}.json",
            self.base_url, config.account_sid
        ))
        .map_err(|e| TwilioError::Network(format!("Twilio base URL: {e}")))?;
        let request = self.api(reqwest::Method::GET, url)?;
        json_answer(request, config).await
    }

    /// The account's messages to one contact, most recent first, from every sender (Twilio's
    /// Messages list filtered by `To` only), page after page until one created before
    /// `back_to` is listed or the list ends (at most `RECONCILE_MAX_PAGES`): a busy
    /// conversation does not hide an older message on a later page. Not filtered by sender:
    /// the list has no Messaging Service filter, the sender may have changed since the
    /// attempt, and whether the list reaches back is judged on all of it
    /// (send-worker's `reconcile`).
    pub async fn recent_messages(
        &self,
        config: &OrgConfig,
        to: &PhoneNumber,
        back_to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ListedMessage>, TwilioError> {
        let mut url = url::Url::parse(&format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url, config.account_sid
        ))
        .map_err(|e| TwilioError::Network(format!("Twilio base URL: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("To", &to.whatsapp_address());
            query.append_pair("PageSize", &RECONCILE_PAGE_SIZE.to_string());
        }
        // Only the account's own Messages list is followed, on the API's origin.
        let list_path = format!("/2010-04-01/Accounts/{}/Messages.json", config.account_sid);
        let mut listed = Vec::new();
        for _ in 0..RECONCILE_MAX_PAGES {
            let request = self.api(reqwest::Method::GET, url.clone())?;
            let page = json_answer::<MessagePage>(request, config).await?;
            let reached = page
                .messages
                .iter()
                .any(|m| m.created_at().is_none_or(|at| at < back_to));
            listed.extend(page.messages);
            let next = page
                .next_page_uri
                .filter(|next| next.split('?').next() == Some(list_path.as_str()));
            match next {
                // Relative to the API's base (Twilio's origin; the sandbox's prefix locally).
                Some(next) if !reached => {
                    url = url::Url::parse(&format!("{}{next}", self.base_url))
                        .map_err(|e| TwilioError::InvalidResponse(format!("next_page_uri: {e}")))?;
                }
                _ => break,
            }
        }
        Ok(listed)
    }
}

/// Sends an API request with the account's credentials and reads Twilio's JSON answer, or
/// its error document.
pub(super) async fn json_answer<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
    config: &OrgConfig,
) -> Result<T, TwilioError> {
    let (user, password) = config.rest_credentials();
    let response = request
        .basic_auth(user, Some(password.expose_secret()))
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(transport_error)?;
    let status = response.status();
    let bytes = response.bytes().await.map_err(transport_error)?;
    if !status.is_success() {
        return Err(TwilioError::from_error_response(status.as_u16(), &bytes));
    }
    serde_json::from_slice::<T>(&bytes).map_err(|e| TwilioError::InvalidResponse(e.to_string()))
}

/// Only the kind of failure: reqwest's Display can include the URL, never secrets, but the
/// URL carries the account sid, which logs need not repeat. What matters is whether Twilio
/// can have received the request: only a failed connection says it cannot.
pub(super) fn transport_error(e: reqwest::Error) -> TwilioError {
    if e.is_connect() {
        TwilioError::Network("connection failed".into())
    } else if e.is_builder() {
        TwilioError::Network("the request could not be built".into())
    } else if e.is_timeout() {
        TwilioError::Timeout
    } else if e.is_body() || e.is_decode() {
        TwilioError::ConnectionLost("dropped while reading the answer".into())
    } else {
        TwilioError::ConnectionLost("the request failed after it was sent".into())
    }
}

/// A new Twilio-style message sid: `SM` and 32 hex digits.
pub fn new_message_sid() -> String {
    format!("SM{:032x}", u128::from(ulid::Ulid::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_sids_look_like_twilios() {
        let sid = new_message_sid();
        assert_eq!(sid.len(), 34);
        assert!(sid.starts_with("SM"));
        assert_ne!(sid, new_message_sid());
    }
}
