use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::domain::OrgConfig;
use crate::ports::WhatsAppSender;
use crate::twilio::{OutboundMessage, SentMessage, TwilioError, new_message_sid};

/// A stand-in for Twilio in handler tests: records what was sent and answers with scripted
/// results, then with success.
#[derive(Clone, Default)]
pub struct ScriptedSender {
    sent: Arc<Mutex<Vec<(String, OutboundMessage)>>>,
    script: Arc<Mutex<VecDeque<Result<(), TwilioError>>>>,
    /// Media by URL: the answers to successive fetches (the last one repeats).
    media: Arc<Mutex<std::collections::HashMap<String, VecDeque<MediaAnswer>>>>,
}

type MediaAnswer = Result<(Vec<u8>, String), TwilioError>;

impl ScriptedSender {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next sends fail with these errors, in order.
    pub fn fail_next(&self, errors: impl IntoIterator<Item = TwilioError>) {
        if let Ok(mut script) = lock(&self.script) {
            script.extend(errors.into_iter().map(Err));
        }
    }

    /// Answers for fetches of one media URL, in order; the last one repeats.
    pub fn media_answers(&self, url: &str, answers: impl IntoIterator<Item = MediaAnswer>) {
        if let Ok(mut media) = lock(&self.media) {
            media.entry(url.to_owned()).or_default().extend(answers);
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
        let next = lock(&self.script)
            .map_err(|e| TwilioError::Network(e.to_string()))?
            .pop_front();
        match next {
            Some(Err(e)) => Err(e),
            _ => Ok(SentMessage {
                sid: new_message_sid(),
                status: "queued".into(),
            }),
        }
    }

    async fn fetch_media(
        &self,
        _config: &OrgConfig,
        url: &str,
    ) -> Result<(Vec<u8>, String), TwilioError> {
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
