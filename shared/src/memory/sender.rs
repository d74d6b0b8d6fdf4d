//! Twilio in handler tests: a scripted sender that records attempts and keeps what it
//! accepted, as Twilio's Messages list would show it.

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

impl ScriptedSender {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next sends fail with these errors, in order; Twilio accepts none of them.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = TwilioError>) {
        if let Ok(mut script) = lock(&self.script) {
            script.extend(errors.into_iter().map(Answer::Fail));
        }
    }

    /// The next send is accepted by Twilio, but its answer is lost with this error (a
    /// timeout, a dropped connection, an unreadable body).
    pub fn accept_then_fail(&self, error: TwilioError) {
        if let Ok(mut script) = lock(&self.script) {
            script.push_back(Answer::AcceptThenFail(error));
        }
    }

    /// The next reads of the Messages list fail with these errors.
    pub fn fail_next_lists(&self, errors: impl IntoIterator<Item = TwilioError>) {
        if let Ok(mut failures) = lock(&self.list_failures) {
            failures.extend(errors);
        }
    }

    /// The next send waits, once it has reached "Twilio", until the returned gate is opened
    /// (`notify_one`).
    pub fn hold_next(&self) -> Arc<tokio::sync::Notify> {
        let gate = Arc::new(tokio::sync::Notify::new());
        if let Ok(mut holds) = lock(&self.holds) {
            holds.push_back(gate.clone());
        }
        gate
    }

    /// A message another sender of the account sent to `to` (another Messaging Service, a
    /// number the organization used before): listed by Twilio, nothing this product sent.
    pub fn sent_elsewhere(&self, to: PhoneNumber, message: ListedMessage) {
        if let Ok(mut accepted) = lock(&self.accepted) {
            accepted.push((to, message));
        }
    }

    /// What Twilio accepted, in order: the messages the contacts receive.
    pub fn accepted(&self) -> Vec<(PhoneNumber, ListedMessage)> {
        lock(&self.accepted).map(|a| a.clone()).unwrap_or_default()
    }

    /// Answers for fetches of one media URL, in order; the last one repeats.
    pub fn media_answers(&self, url: &str, answers: impl IntoIterator<Item = MediaAnswer>) {
        if let Ok(mut media) = lock(&self.media) {
            media.entry(url.to_owned()).or_default().extend(answers);
        }
    }

    /// The approved templates the Content API answers with.
    pub fn set_templates(&self, templates: Vec<Template>) {
        if let Ok(mut t) = lock(&self.templates) {
            *t = templates;
        }
    }

    /// The next reads of the templates fail with these errors.
    pub fn fail_next_template_reads(&self, errors: impl IntoIterator<Item = TwilioError>) {
        if let Ok(mut failures) = lock(&self.template_failures) {
            failures.extend(errors);
        }
    }

    /// How often the templates were read from "Twilio".
    pub fn template_reads(&self) -> usize {
        self.template_reads
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// An inbound message as Twilio's Message resource shows it, created at `at`.
    pub fn received(&self, sid: &str, at: chrono::DateTime<chrono::Utc>) {
        if let Ok(mut received) = lock(&self.received) {
            received.insert(
                sid.to_owned(),
                ListedMessage {
                    sid: sid.to_owned(),
                    body: None,
                    num_media: Some("0".into()),
                    date_created: Some(at.to_rfc2822()),
                    status: Some("received".into()),
                    from: None,
                    messaging_service_sid: None,
                    error_code: None,
                    error_message: None,
                },
            );
        }
    }

    /// The next accepted messages get these sids, in order.
    pub fn next_sids(&self, sids: impl IntoIterator<Item = String>) {
        if let Ok(mut next) = lock(&self.next_sids) {
            next.extend(sids);
        }
    }

    /// Every media fetch takes this long.
    pub fn media_delay(&self, delay: std::time::Duration) {
        if let Ok(mut d) = lock(&self.media_delay) {
            *d = delay;
        }
    }

    /// The most media fetches that ran at the same time.
    pub fn media_most_at_once(&self) -> usize {
        self.media_most_at_once
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The WhatsApp senders a Messaging Service's pool lists from now on.
    pub fn set_service_senders(&self, senders: Vec<PhoneNumber>) {
        if let Ok(mut pool) = lock(&self.service_senders) {
            *pool = senders;
        }
    }

    /// The next read of a service's senders fails with `error`.
    pub fn fail_service_senders(&self, error: TwilioError) {
        if let Ok(mut failures) = lock(&self.service_sender_failures) {
            failures.push_back(error);
        }
    }

    /// The Contents the account has (name, sid): made through `create_content`, or put here
    /// as a crashed worker's would be.
    pub fn contents(&self) -> Vec<(String, String)> {
        lock(&self.contents)
            .map(|c| c.iter().map(|c| (c.name.clone(), c.sid.clone())).collect())
            .unwrap_or_default()
    }

    pub fn put_content(&self, name: &str, sid: &str) {
        self.put_content_changed(name, sid, chrono::Utc::now());
    }

    /// A Content last changed at `changed` (as Twilio's list dates it).
    pub fn put_content_changed(
        &self,
        name: &str,
        sid: &str,
        changed: chrono::DateTime<chrono::Utc>,
    ) {
        if let Ok(mut contents) = lock(&self.contents) {
            contents.push(crate::twilio::ListedContent {
                sid: sid.to_owned(),
                name: name.to_owned(),
                changed: Some(changed),
            });
        }
    }

    /// How many Contents were created.
    pub fn content_creates(&self) -> usize {
        self.content_creates
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The next Content create fails with `error`.
    pub fn fail_content_create(&self, error: TwilioError) {
        if let Ok(mut failures) = lock(&self.content_failures) {
            failures.push_back(error);
        }
    }

    /// The senders the Senders API lists from now on, with their health.
    pub fn set_sender_health(&self, senders: Vec<crate::domain::SenderHealth>) {
        if let Ok(mut listed) = lock(&self.sender_health) {
            *listed = senders;
        }
    }

    /// The next read of the Senders API fails with `error`.
    pub fn fail_sender_health(&self, error: TwilioError) {
        if let Ok(mut failures) = lock(&self.sender_health_failures) {
            failures.push_back(error);
        }
    }

    /// How many times the Senders API was read.
    pub fn sender_health_reads(&self) -> usize {
        self.sender_health_reads
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The message sids of every typing indicator asked for, failed ones included.
    pub fn typing_indicators(&self) -> Vec<String> {
        lock(&self.typing_indicators)
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// The next typing indicator fails with `error`.
    pub fn fail_typing_indicator(&self, error: TwilioError) {
        if let Ok(mut failures) = lock(&self.typing_failures) {
            failures.push_back(error);
        }
    }

    /// Every attempt so far with the account sid it used, failed ones included.
    pub fn attempts(&self) -> Vec<(String, OutboundMessage)> {
        lock(&self.sent).map(|s| s.clone()).unwrap_or_default()
    }
}

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
