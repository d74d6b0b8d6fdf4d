//! The WhatsApp provider port, and Twilio's client as its implementation.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::domain::{OrgConfig, PhoneNumber};
use crate::twilio::{ListedContent, ListedMessage, OutboundMessage, SentMessage, TwilioError};

/// The WhatsApp provider: Twilio's Messages API in production and locally (sandbox).
pub trait WhatsAppSender: Clone + Send + Sync + 'static {
    fn send(
        &self,
        config: &OrgConfig,
        message: &OutboundMessage,
    ) -> impl Future<Output = Result<SentMessage, TwilioError>> + Send;

    /// Downloads an inbound message's media (bytes and content type).
    fn fetch_media(
        &self,
        config: &OrgConfig,
        url: &str,
    ) -> impl Future<Output = Result<(Vec<u8>, String), TwilioError>> + Send;

    /// The newest messages the organization's Twilio account sent to `to` (from any of its
    /// senders), most recent first, read back to one created before `back_to` where the list
    /// is that long, and never more than `RECONCILE_MAX_PAGES` pages: how a send whose
    /// outcome is unknown is looked up before it is made again.
    fn recent_messages(
        &self,
        config: &OrgConfig,
        to: &PhoneNumber,
        back_to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<ListedMessage>, TwilioError>> + Send;

    /// One message of the account by its sid (Twilio's Message resource): an inbound
    /// message's own time, which the webhook does not carry.
    fn message(
        &self,
        config: &OrgConfig,
        sid: &str,
    ) -> impl Future<Output = Result<ListedMessage, TwilioError>> + Send;

    /// The organization's approved WhatsApp templates (Twilio's Content API).
    fn templates(
        &self,
        config: &OrgConfig,
    ) -> impl Future<Output = Result<Vec<crate::domain::Template>, TwilioError>> + Send;

    /// The WhatsApp senders of the organization's Messaging Service (its sender pool);
    /// empty when it names none.
    fn service_senders(
        &self,
        config: &OrgConfig,
    ) -> impl Future<Output = Result<Vec<PhoneNumber>, TwilioError>> + Send;

    /// Makes a Content (Twilio's Content API) named `friendly_name` of `types`; its sid.
    fn create_content(
        &self,
        config: &OrgConfig,
        friendly_name: &str,
        types: &serde_json::Value,
    ) -> impl Future<Output = Result<String, TwilioError>> + Send;

    /// The sid of the account's Content named `friendly_name`, if any.
    fn find_content(
        &self,
        config: &OrgConfig,
        friendly_name: &str,
    ) -> impl Future<Output = Result<Option<String>, TwilioError>> + Send;

    /// The account's Contents the product made (named `domain::CONTENT_NAME_PREFIX…`).
    fn product_contents(
        &self,
        config: &OrgConfig,
    ) -> impl Future<Output = Result<Vec<ListedContent>, TwilioError>> + Send;

    /// Deletes a Content (one already gone counts as deleted).
    fn delete_content(
        &self,
        config: &OrgConfig,
        content_sid: &str,
    ) -> impl Future<Output = Result<(), TwilioError>> + Send;

    /// Every WhatsApp sender of the organization's account with its health (Twilio's Senders
    /// API), within `twilio::SENDER_HEALTH_TIMEOUT` a request.
    fn sender_health(
        &self,
        config: &OrgConfig,
    ) -> impl Future<Output = Result<Vec<crate::domain::SenderHealth>, TwilioError>> + Send;

    /// Shows "typing…" to the contact who sent the inbound message `message_sid`, and marks
    /// it (and every earlier one) read on their phone.
    fn typing_indicator(
        &self,
        config: &OrgConfig,
        message_sid: &str,
    ) -> impl Future<Output = Result<(), TwilioError>> + Send;
}

impl WhatsAppSender for crate::twilio::TwilioClient {
    async fn send(
        &self,
        config: &OrgConfig,
        message: &OutboundMessage,
    ) -> Result<SentMessage, TwilioError> {
        self.send_message(config, message).await
    }

    async fn fetch_media(
        &self,
        config: &OrgConfig,
        url: &str,
    ) -> Result<(Vec<u8>, String), TwilioError> {
        crate::twilio::TwilioClient::fetch_media(self, config, url).await
    }

    async fn recent_messages(
        &self,
        config: &OrgConfig,
        to: &PhoneNumber,
        back_to: DateTime<Utc>,
    ) -> Result<Vec<ListedMessage>, TwilioError> {
        crate::twilio::TwilioClient::recent_messages(self, config, to, back_to).await
    }

    async fn message(&self, config: &OrgConfig, sid: &str) -> Result<ListedMessage, TwilioError> {
        crate::twilio::TwilioClient::message(self, config, sid).await
    }

    async fn templates(
        &self,
        config: &OrgConfig,
    ) -> Result<Vec<crate::domain::Template>, TwilioError> {
        crate::twilio::TwilioClient::templates(self, config).await
    }

    async fn service_senders(&self, config: &OrgConfig) -> Result<Vec<PhoneNumber>, TwilioError> {
        crate::twilio::TwilioClient::service_senders(self, config).await
    }

    async fn sender_health(
        &self,
        config: &OrgConfig,
    ) -> Result<Vec<crate::domain::SenderHealth>, TwilioError> {
        crate::twilio::TwilioClient::sender_health(self, config).await
    }

    async fn create_content(
        &self,
        config: &OrgConfig,
        friendly_name: &str,
        types: &serde_json::Value,
    ) -> Result<String, TwilioError> {
        // The language Twilio requires; the body is the agent's own, in whatever language.
        crate::twilio::TwilioClient::create_content(self, config, friendly_name, "en", types).await
    }

    async fn find_content(
        &self,
        config: &OrgConfig,
        friendly_name: &str,
    ) -> Result<Option<String>, TwilioError> {
        crate::twilio::TwilioClient::find_content(self, config, friendly_name).await
    }

    async fn product_contents(
        &self,
        config: &OrgConfig,
    ) -> Result<Vec<ListedContent>, TwilioError> {
        crate::twilio::TwilioClient::contents_named(
            self,
            config,
            crate::domain::CONTENT_NAME_PREFIX,
        )
        .await
    }

    async fn delete_content(
        &self,
        config: &OrgConfig,
        content_sid: &str,
    ) -> Result<(), TwilioError> {
        crate::twilio::TwilioClient::delete_content(self, config, content_sid).await
    }

    async fn typing_indicator(
        &self,
        config: &OrgConfig,
        message_sid: &str,
    ) -> Result<(), TwilioError> {
        crate::twilio::TwilioClient::typing_indicator(self, config, message_sid).await
    }
}
