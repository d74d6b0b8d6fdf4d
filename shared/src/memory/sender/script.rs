//! A test's controls of the scripted sender: failures and answers to give next, templates,
//! Contents, senders and their health to list, and what was asked of "Twilio".

use std::sync::Arc;

use super::{Answer, MediaAnswer, ScriptedSender};
use crate::domain::{PhoneNumber, Template};
use crate::memory::lock;
use crate::twilio::{ListedMessage, OutboundMessage, TwilioError};

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
