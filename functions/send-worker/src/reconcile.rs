//! Finding a message Twilio may already have: after a send whose outcome is unknown (a
//! timeout after the request was written, a connection dropped before the answer, an
//! unreadable 2xx, a worker that died mid-job), the next attempt reads Twilio's newest
//! messages to the contact and looks for this one before sending again.

use chrono::{DateTime, Duration, Utc};
use shared::domain::sentences::{self, send_failed};
use shared::domain::{
    ChannelConfig, Message, MessageJob, MessageStatus, OrgConfig, PhoneNumber, StatusChange,
};
use shared::ports::{ClaimLease, CredentialStore, MessageStore, PortError, Ports, WhatsAppSender};
use shared::twilio::{
    ListedMessage, RECONCILE_MAX_PAGES, RECONCILE_PAGE_SIZE, describe_error_code,
};

use crate::outcome::MAX_RETRY_DELAY;
use crate::{JobOutcome, NOT_CONFIGURED, RECONCILE_ATTEMPTS, SendWorker};

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

/// Whether what Twilio listed reaches back to `since`: the whole list (it ends before the
/// pages run out), or a message older than the first attempt. Otherwise the one looked for
/// may be further back, and its absence proves nothing. Judged on everything listed, before
/// any filter by sender: a page full of another sender's messages is still a full page.
pub fn reaches_back(since: DateTime<Utc>, listed: &[ListedMessage]) -> bool {
    listed.len() < RECONCILE_PAGE_SIZE as usize * RECONCILE_MAX_PAGES
        || listed
            .iter()
            .any(|m| m.created_at().is_none_or(|at| at < since - CLOCK_SKEW))
}

/// The listed messages the organization's current sender sent (its number, or its
/// Messaging Service's pool): the only ones a message of ours may adopt.
fn sent_by_us(config: &OrgConfig, listed: &[ListedMessage]) -> Vec<ListedMessage> {
    by_sender(config, listed, true)
}

fn by_sender(config: &OrgConfig, listed: &[ListedMessage], ours: bool) -> Vec<ListedMessage> {
    listed
        .iter()
        .filter(|m| config.sent_from(m.from.as_deref(), m.messaging_service_sid.as_deref()) == ours)
        .cloned()
        .collect()
}

/// Why a listed look-alike from another sender of the account keeps the doubt: it may be
/// this message, sent before the organization's sender changed.
const SENT_ELSEWHERE: &str =
    "Twilio lists a message like this one from another sender of the account";

/// Looks at Twilio again for an UNCONFIRMED message this many times, every 15 minutes
/// (about two hours), after which it stays UNCONFIRMED unless a status callback settles it.
pub const CONFIRM_ATTEMPTS: u32 = 8;

impl<P: Ports> SendWorker<P> {
    /// The message's earlier attempt (from `since`) ended without a known outcome: it is sent
    /// only if Twilio has no such message.
    pub(crate) async fn reconcile_then_send(
        &self,
        job: &MessageJob,
        message: &Message,
        since: DateTime<Utc>,
        lease: &ClaimLease,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        // A status callback (it carries our message id) may have told us already.
        if let Some(sent) = self.known_sid(message).await? {
            return Ok(sent);
        }
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => config,
            // Twilio may have it, and there is no way to look: a doubt, not a failure.
            ChannelConfig::NotConfigured { .. } => {
                let reason = sentences::unconfirmed(NOT_CONFIGURED.trim_end_matches('.'));
                self.record(message, StatusChange::unconfirmed(reason.clone()))
                    .await?;
                return Ok(JobOutcome::Unconfirmed { reason });
            }
        };
        // Looked for at the number the attempt went to (recorded before it was posted).
        let Some(to) = destination(message) else {
            return self.attempt(job, message, lease).await;
        };
        let listed = match self
            .ports
            .sender()
            .recent_messages(&config, &to, since - CLOCK_SKEW)
            .await
        {
            Ok(listed) => listed,
            Err(e) => {
                tracing::warn!(error = %e, "Twilio's message list could not be read");
                return self.reconcile_later(job, message, lease, e.reason()).await;
            }
        };
        if let Some(adopted) = self
            .adopt_listed(message, since, &sent_by_us(&config, &listed))
            .await?
        {
            tracing::info!(twilio_message_sid = %adopted.sid, "Twilio had the message: not sent again");
            return self.record_adopted(message, &adopted).await;
        }
        if !reaches_back(since, &listed) {
            return self
                .reconcile_later(
                    job,
                    message,
                    lease,
                    "Twilio's list of recent messages does not reach back to the first attempt"
                        .into(),
                )
                .await;
        }
        if self
            .look_alike_elsewhere(&config, message, since, &listed)
            .await?
        {
            return self
                .reconcile_later(job, message, lease, SENT_ELSEWHERE.into())
                .await;
        }
        if job.attempt > self.settings.max_attempts {
            return self
                .fail(
                    message,
                    send_failed(format!(
                        "Twilio did not answer (gave up after {} attempts)",
                        self.settings.max_attempts
                    )),
                )
                .await;
        }
        tracing::info!("Twilio does not have the message: sending it");
        self.attempt(job, message, lease).await
    }

    /// A later look at an UNCONFIRMED message: SENT if Twilio has it, FAILED if Twilio's list
    /// shows it never got it, else looked at again later. Never sent.
    pub(crate) async fn confirm(
        &self,
        job: &MessageJob,
        message: &Message,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let reason = message.error_reason.clone().unwrap_or_default();
        if let Some(sent) = self.known_sid(message).await? {
            return Ok(sent);
        }
        let (ChannelConfig::Configured(config), Some(to)) = (
            self.ports.credentials().channel_config(org).await?,
            destination(message),
        ) else {
            return Ok(JobOutcome::Unconfirmed { reason });
        };
        // The first attempt cannot have begun before the message was accepted.
        let since = message.created_at;
        let listed = match self
            .ports
            .sender()
            .recent_messages(&config, &to, since - CLOCK_SKEW)
            .await
        {
            Ok(listed) if reaches_back(since, &listed) => listed,
            Ok(found) => {
                // The page is too short to prove an absence; what it shows still counts.
                if let Some(adopted) = self
                    .adopt_listed(message, since, &sent_by_us(&config, &found))
                    .await?
                {
                    return self.record_adopted(message, &adopted).await;
                }
                return self.confirm_later(job, reason).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Twilio's message list could not be read");
                return self.confirm_later(job, reason).await;
            }
        };
        match self
            .adopt_listed(message, since, &sent_by_us(&config, &listed))
            .await?
        {
            Some(adopted) => {
                tracing::info!(twilio_message_sid = %adopted.sid, "Twilio had the unconfirmed message");
                self.record_adopted(message, &adopted).await
            }
            None if self
                .look_alike_elsewhere(&config, message, since, &listed)
                .await? =>
            {
                self.confirm_later(job, reason).await
            }
            None => {
                self.fail(
                    message,
                    send_failed("Twilio has no record of it, so it was not sent."),
                )
                .await
            }
        }
    }

    /// Whether Twilio lists a look-alike of `message` that the current sender did not send
    /// and no other message of ours holds: possibly this message, sent from the sender the
    /// organization had before. Neither adopted (it may be another system's) nor proof of
    /// absence (sending again could deliver twice): the message stays in doubt.
    async fn look_alike_elsewhere(
        &self,
        config: &OrgConfig,
        message: &Message,
        since: DateTime<Utc>,
        listed: &[ListedMessage],
    ) -> Result<bool, PortError> {
        let elsewhere = by_sender(config, listed, false);
        for candidate in candidates(message, since, &elsewhere) {
            match self
                .ports
                .messages()
                .find_by_sid(&message.organization_id, &candidate.sid)
                .await?
            {
                Some(holder) if holder.id != message.id => continue,
                _ => return Ok(true),
            }
        }
        Ok(false)
    }

    /// A sid a status callback recorded meanwhile settles the message, once it holds it.
    async fn known_sid(&self, message: &Message) -> Result<Option<JobOutcome>, PortError> {
        let Some(sid) = &message.twilio_message_sid else {
            return Ok(None);
        };
        if !self
            .ports
            .messages()
            .hold_sid(&message.organization_id, sid, &message.id)
            .await?
        {
            return Ok(None);
        }
        self.record(message, StatusChange::sent(sid)).await?;
        Ok(Some(JobOutcome::Sent { sid: sid.clone() }))
    }

    async fn confirm_later(
        &self,
        job: &MessageJob,
        reason: String,
    ) -> Result<JobOutcome, PortError> {
        let last = self.settings.max_attempts + RECONCILE_ATTEMPTS + CONFIRM_ATTEMPTS;
        if job.attempt < last {
            self.requeue_after(job, job.attempt + 1, MAX_RETRY_DELAY)
                .await?;
        }
        Ok(JobOutcome::Unconfirmed { reason })
    }

    /// The first look-alike Twilio lists that this message can hold: one another message of
    /// ours holds is skipped, and a sid free until now is reserved for this message before
    /// it is recorded (`hold_sid`), so two look-alikes reconciled at once take one each.
    async fn adopt_listed(
        &self,
        message: &Message,
        since: DateTime<Utc>,
        listed: &[ListedMessage],
    ) -> Result<Option<ListedMessage>, PortError> {
        let org = &message.organization_id;
        for candidate in candidates(message, since, listed) {
            match self
                .ports
                .messages()
                .find_by_sid(org, &candidate.sid)
                .await?
            {
                Some(holder) if holder.id != message.id => continue,
                Some(_) => return Ok(Some(candidate.clone())),
                None => {
                    if self
                        .ports
                        .messages()
                        .hold_sid(org, &candidate.sid, &message.id)
                        .await?
                    {
                        return Ok(Some(candidate.clone()));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The message is the Twilio message `adopted`: recorded with the status Twilio lists
    /// for it, not just SENT, since callbacks that came before it was held found no holder.
    async fn record_adopted(
        &self,
        message: &Message,
        adopted: &ListedMessage,
    ) -> Result<JobOutcome, PortError> {
        self.record(message, adopted_status(adopted)).await?;
        Ok(JobOutcome::Sent {
            sid: adopted.sid.clone(),
        })
    }
}

/// What adopting a listed Twilio message records: the status Twilio lists (delivered,
/// read, or failed with its code), else SENT (queued, accepted, sending: Twilio took it).
pub fn adopted_status(listed: &ListedMessage) -> StatusChange {
    let sid = Some(listed.sid.clone());
    match listed
        .status
        .as_deref()
        .and_then(MessageStatus::from_twilio)
    {
        Some(status @ (MessageStatus::Delivered | MessageStatus::Read)) => StatusChange {
            status,
            twilio_message_sid: sid,
            error_reason: None,
        },
        Some(MessageStatus::Failed) => {
            let text = listed
                .error_message
                .clone()
                .or_else(|| {
                    listed
                        .error_code
                        .and_then(describe_error_code)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "Twilio lists the message as not delivered".into());
            StatusChange {
                status: MessageStatus::Failed,
                twilio_message_sid: sid,
                error_reason: Some(sentences::twilio_failure(listed.error_code, text)),
            }
        }
        _ => StatusChange::sent(&listed.sid),
    }
}

/// The number the message was (last) sent to.
fn destination(message: &Message) -> Option<PhoneNumber> {
    message
        .contact_phone
        .as_deref()
        .and_then(|p| PhoneNumber::parse_e164(p).ok())
}
