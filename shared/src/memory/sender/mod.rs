//! Twilio in handler tests: a scripted sender that records attempts and keeps what it
//! accepted, as Twilio's Messages list would show it. Here: what it holds and how it answers
//! as Twilio; `script`: what a test tells it to answer next, and what it asks of it.

mod script;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::domain::{OrgConfig, PhoneNumber, Template};
use crate::ports::WhatsAppSender;
use crate::twilio::{
    ListedMessage, OutboundContent, OutboundMessage, RECONCILE_MAX_PAGES, RECONCILE_PAGE_SIZE,
    SentMessage, TwilioError, new_message_sid,
};

/// One scripted answer to a send.
#[derive(Debug, Clone)]
enum Answer {
    /// Twilio refuses (or never gets) the request.
    Fail(TwilioError),
    /// Twilio accepts the message, but its answer is lost this way.
    AcceptThenFail(TwilioError),
}

/// A stand-in for Twilio in handler tests: records every attempt, keeps what "Twilio"
/// accepted (what the contact receives, and what its Messages list shows), and answers with
/// scripted results, then with success.
#[derive(Clone, Default)]
pub struct ScriptedSender {
    sent: Arc<Mutex<Vec<(String, OutboundMessage)>>>,
    accepted: Arc<Mutex<Vec<(PhoneNumber, ListedMessage)>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    list_failures: Arc<Mutex<VecDeque<TwilioError>>>,
    /// Gates the next sends wait at (after the attempt is recorded), to hold a worker
    /// mid-send while a test does something else.
    holds: Arc<Mutex<VecDeque<Arc<tokio::sync::Notify>>>>,
    /// Media by URL: the answers to successive fetches (the last one repeats).
    media: Arc<Mutex<std::collections::HashMap<String, VecDeque<MediaAnswer>>>>,
    /// The approved templates of every account, and failures of the next reads.
    templates: Arc<Mutex<Vec<Template>>>,
    template_failures: Arc<Mutex<VecDeque<TwilioError>>>,
    template_reads: Arc<std::sync::atomic::AtomicUsize>,
    /// The WhatsApp senders of every Messaging Service, or the failure of the next reads.
    service_senders: Arc<Mutex<Vec<PhoneNumber>>>,
    service_sender_failures: Arc<Mutex<VecDeque<TwilioError>>>,
    /// Contents made, how many creates there were, failures of the next ones.
    contents: Arc<Mutex<Vec<crate::twilio::ListedContent>>>,
    content_creates: Arc<std::sync::atomic::AtomicUsize>,
    content_failures: Arc<Mutex<VecDeque<TwilioError>>>,
    /// Every sender's health as the Senders API lists it, failures of the next reads, and
    /// how many reads there were.
    sender_health: Arc<Mutex<Vec<crate::domain::SenderHealth>>>,
    sender_health_failures: Arc<Mutex<VecDeque<TwilioError>>>,
    sender_health_reads: Arc<std::sync::atomic::AtomicUsize>,
    /// The typing indicators asked for (the message sids), and failures of the next ones.
    typing_indicators: Arc<Mutex<Vec<String>>>,
    typing_failures: Arc<Mutex<VecDeque<TwilioError>>>,
    /// Inbound messages Twilio knows, by sid (what `message` answers besides sent ones).
    received: Arc<Mutex<std::collections::HashMap<String, ListedMessage>>>,
    /// Sids the next accepted messages get (else new ones).
    next_sids: Arc<Mutex<VecDeque<String>>>,
    /// How long each media fetch takes, and how many ran at once at most.
    media_delay: Arc<Mutex<std::time::Duration>>,
    media_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    media_most_at_once: Arc<std::sync::atomic::AtomicUsize>,
}

type MediaAnswer = Result<(Vec<u8>, String), TwilioError>;

impl WhatsAppSender for ScriptedSender {
    async fn send(
        &self,
        config: &OrgConfig,
        message: &OutboundMessage,
    ) -> Result<SentMessage, TwilioError> {
        lock(&self.sent)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .push((config.account_sid.clone(), message.clone()));
        let hold = lock(&self.holds)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front();
        if let Some(gate) = hold {
            gate.notified().await;
        }
        let next = lock(&self.script)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front();
        if let Some(Answer::Fail(e)) = next {
            return Err(e);
        }
        let (body, media) = match &message.content {
            OutboundContent::FreeForm { body, media_url } => {
                (body.clone(), usize::from(media_url.is_some()))
            }
            // Twilio lists a template message with its rendered body.
            OutboundContent::Template {
                content_sid,
                content_variables,
            } => {
                let values: std::collections::BTreeMap<String, String> = content_variables
                    .as_deref()
                    .and_then(|v| serde_json::from_str(v).ok())
                    .unwrap_or_default();
                let body = lock(&self.templates)
                    .map_err(|e| TwilioError::Network(e.to_string()))?
                    .iter()
                    .find(|t| &t.content_sid == content_sid)
                    .map(|t| t.render(&values));
                (body, 0)
            }
        };
        let sid = lock(&self.next_sids)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front()
            .unwrap_or_else(new_message_sid);
        let listed = ListedMessage {
            sid,
            body,
            num_media: Some(media.to_string()),
            date_created: Some(chrono::Utc::now().to_rfc2822()),
            status: Some("queued".into()),
            // Through a Messaging Service Twilio names the service (and later its pick).
            from: config
                .whatsapp_from
                .as_ref()
                .map(PhoneNumber::whatsapp_address),
            messaging_service_sid: config.messaging_service_sid.clone(),
            error_code: None,
            error_message: None,
        };
        lock(&self.accepted)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .push((message.to.clone(), listed.clone()));
        match next {
            Some(Answer::AcceptThenFail(e)) => Err(e),
            _ => Ok(SentMessage {
                sid: listed.sid,
                status: "queued".into(),
            }),
        }
    }

    async fn recent_messages(
        &self,
        _config: &OrgConfig,
        to: &PhoneNumber,
        _back_to: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ListedMessage>, TwilioError> {
        if let Some(e) = lock(&self.list_failures)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front()
        {
            return Err(e);
        }
        Ok(lock(&self.accepted)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .iter()
            .rev()
            .filter(|(number, _)| number == to)
            .map(|(_, m)| m.clone())
            // As far as the client reads.
            .take(RECONCILE_PAGE_SIZE as usize * RECONCILE_MAX_PAGES)
            .collect())
    }

    async fn message(&self, _config: &OrgConfig, sid: &str) -> Result<ListedMessage, TwilioError> {
        if let Some(m) = lock(&self.received)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .get(sid)
        {
            return Ok(m.clone());
        }
        lock(&self.accepted)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .iter()
            .find(|(_, m)| m.sid == sid)
            .map(|(_, m)| m.clone())
            .ok_or(TwilioError::Api {
                http_status: 404,
                code: Some(20404),
                message: "The requested resource was not found".into(),
                more_info: None,
            })
    }

    async fn service_senders(&self, config: &OrgConfig) -> Result<Vec<PhoneNumber>, TwilioError> {
        if config.messaging_service_sid.is_none() {
            return Ok(Vec::new());
        }
        if let Some(e) = lock(&self.service_sender_failures)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front()
        {
            return Err(e);
        }
        lock(&self.service_senders)
            .map(|s| s.clone())
            .map_err(|e| TwilioError::Network(e.to_string()))
    }

    async fn create_content(
        &self,
        _config: &OrgConfig,
        friendly_name: &str,
        _types: &serde_json::Value,
    ) -> Result<String, TwilioError> {
        if let Some(e) = lock(&self.content_failures)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front()
        {
            return Err(e);
        }
        let n = self
            .content_creates
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let sid = format!("HX{:032x}", n + 1);
        lock(&self.contents)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .push(crate::twilio::ListedContent {
                sid: sid.clone(),
                name: friendly_name.to_owned(),
                changed: Some(chrono::Utc::now()),
            });
        Ok(sid)
    }

    async fn find_content(
        &self,
        _config: &OrgConfig,
        friendly_name: &str,
    ) -> Result<Option<String>, TwilioError> {
        Ok(lock(&self.contents)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .iter()
            .find(|c| c.name == friendly_name)
            .map(|c| c.sid.clone()))
    }

    async fn product_contents(
        &self,
        _config: &OrgConfig,
    ) -> Result<Vec<crate::twilio::ListedContent>, TwilioError> {
        Ok(lock(&self.contents)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .iter()
            .filter(|c| c.name.starts_with(crate::domain::CONTENT_NAME_PREFIX))
            .cloned()
            .collect())
    }

    async fn delete_content(
        &self,
        _config: &OrgConfig,
        content_sid: &str,
    ) -> Result<(), TwilioError> {
        lock(&self.contents)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .retain(|c| c.sid != content_sid);
        Ok(())
    }

    async fn sender_health(
        &self,
        _config: &OrgConfig,
    ) -> Result<Vec<crate::domain::SenderHealth>, TwilioError> {
        self.sender_health_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(e) = lock(&self.sender_health_failures)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front()
        {
            return Err(e);
        }
        lock(&self.sender_health)
            .map(|s| s.clone())
            .map_err(|e| TwilioError::Network(e.to_string()))
    }

    async fn typing_indicator(
        &self,
        _config: &OrgConfig,
        message_sid: &str,
    ) -> Result<(), TwilioError> {
        lock(&self.typing_indicators)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .push(message_sid.to_owned());
        match lock(&self.typing_failures)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn templates(&self, _config: &OrgConfig) -> Result<Vec<Template>, TwilioError> {
        self.template_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(e) = lock(&self.template_failures)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front()
        {
            return Err(e);
        }
        lock(&self.templates)
            .map(|t| t.clone())
            .map_err(|e| TwilioError::Network(e.to_string()))
    }

    async fn fetch_media(
        &self,
        _config: &OrgConfig,
        url: &str,
    ) -> Result<(Vec<u8>, String), TwilioError> {
        use std::sync::atomic::Ordering::SeqCst;
        let delay = *lock(&self.media_delay).map_err(|e| TwilioError::Network(e.to_string()))?;
        let now = self.media_in_flight.fetch_add(1, SeqCst) + 1;
        self.media_most_at_once.fetch_max(now, SeqCst);
        tokio::time::sleep(delay).await;
        self.media_in_flight.fetch_sub(1, SeqCst);
        let mut media = lock(&self.media).map_err(|e| TwilioError::Network(e.to_string()))?;
        let answers = media.get_mut(url).ok_or(TwilioError::Api {
            http_status: 404,
            code: Some(20404),
            message: "The requested resource was not found".into(),
            more_info: None,
        })?;
        match answers.len() {
            0 => Err(TwilioError::Network("no scripted answer".into())),
            1 => answers[0].clone(),
            _ => answers.pop_front().unwrap_or(Err(TwilioError::Timeout)),
        }
    }
}
