//! One attempt at a claimed message: a POST goes out only while the claim outlasts it;
//! Twilio's answer is recorded once its sid is this message's, and a failure is retried,
//! reconciled or final by what Twilio said (`outcome::handle_failure`).

use chrono::Utc;
use secrecy::ExposeSecret;
use shared::domain::sentences::send_failed;
use shared::domain::{ChannelConfig, Message, MessageJob, OrgConfig, StatusChange};
use shared::ports::{
    AttemptOutcome, ClaimLease, ContactStore, CredentialStore, MediaStore, MessageStore, PortError,
    Ports, WhatsAppSender,
};
use shared::routes::status_callback_path;
use shared::twilio::{FailureKind, OutboundContent, OutboundMessage, RECOMMENDED_OVERRIDES};

use crate::{CLAIM_MARGIN, JobOutcome, MEDIA_URL_EXPIRY, NOT_CONFIGURED, SendWorker};

impl<P: Ports> SendWorker<P> {
    /// Whether a request to Twilio started now ends (or times out) while the claim `lease`
    /// still holds: past that, another delivery of the job could take the message and
    /// reconcile while this request is still in flight.
    pub(crate) fn may_post(&self, lease: &ClaimLease) -> bool {
        let needed = self.settings.twilio_timeout + CLAIM_MARGIN;
        (lease.until - Utc::now())
            .to_std()
            .is_ok_and(|left| left > needed)
    }

    /// Too little of the claim is left to post: nothing was sent, so the claim is cleared
    /// and the same attempt comes back shortly.
    pub(crate) async fn postpone(
        &self,
        job: &MessageJob,
        message: &Message,
        lease: &ClaimLease,
    ) -> Result<JobOutcome, PortError> {
        self.ports
            .messages()
            .release_send(
                &job.organization_id,
                &message.id,
                lease,
                AttemptOutcome::NotSent,
            )
            .await?;
        tracing::info!("claim too short to post; the attempt is postponed");
        self.requeue(job, job.attempt)
            .await
            .map(|(attempt, delay)| JobOutcome::Retrying { attempt, delay })
    }

    pub(crate) async fn attempt(
        &self,
        job: &MessageJob,
        message: &Message,
        lease: &ClaimLease,
    ) -> Result<JobOutcome, PortError> {
        let org = &job.organization_id;
        let contact = match &message.contact_id {
            Some(id) => self.ports.contacts().get(org, id).await?,
            None => None,
        };
        let Some(contact) = contact else {
            return self
                .fail(message, send_failed("the contact no longer exists."))
                .await;
        };
        // The contact may have opted out since the message was accepted.
        let to = match contact.eligibility() {
            Ok(phone) => phone,
            Err(why) => {
                return self.fail(message, send_failed(why)).await;
            }
        };
        let Some(message) = self.with_destination(message, &to).await? else {
            return Ok(JobOutcome::Skipped);
        };
        let message = &message;
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => config,
            ChannelConfig::NotConfigured { why } => {
                tracing::warn!(why, "organization not configured");
                return self.fail(message, NOT_CONFIGURED.into()).await;
            }
        };
        let media_url = self.media_url(message, &config).await?;
        let content = match self
            .outbound_content(job, message, &config, &contact.contact_id, media_url, lease)
            .await?
        {
            Ok(content) => content,
            Err(ended) => return Ok(ended),
        };
        let outbound = OutboundMessage {
            to,
            content,
            status_callback: self.status_callback(message),
        };

        if !self.may_post(lease) {
            return self.postpone(job, message, lease).await;
        }
        let mut result = self.ports.sender().send(&config, &outbound).await;
        // The token may have been rotated since it was cached: read it again, once.
        if let Err(e) = &result
            && e.kind() == FailureKind::Configuration
            && let Some(fresh) = self.rotated_config(job, &config).await?
        {
            if !self.may_post(lease) {
                return self.postpone(job, message, lease).await;
            }
            result = self.ports.sender().send(&fresh, &outbound).await;
        }
        match result {
            Ok(sent) => self.adopt_answer(job, message, lease, &sent.sid).await,
            Err(e) if e.outcome_unknown() => {
                self.reconcile_later(job, message, lease, e.reason()).await
            }
            Err(e) => {
                // Twilio certainly did not take it: the next attempt sends without asking.
                self.ports
                    .messages()
                    .release_send(org, &message.id, lease, AttemptOutcome::NotSent)
                    .await?;
                self.handle_failure(job, message, &contact.contact_id, e)
                    .await
            }
        }
    }

    /// One number per attempt: the contact's current one, recorded before it is posted to,
    /// so that a lost answer is looked for where the message went. None: the message is gone.
    async fn with_destination(
        &self,
        message: &Message,
        to: &shared::domain::PhoneNumber,
    ) -> Result<Option<Message>, PortError> {
        if message.contact_phone.as_deref() == Some(to.as_str()) {
            return Ok(Some(message.clone()));
        }
        self.ports
            .messages()
            .record_destination(&message.organization_id, &message.id, to)
            .await
    }

    /// Where Twilio reports the message's status: the overrides make Twilio retry a callback
    /// we answered 5xx (a store failed). None without a public base URL.
    fn status_callback(&self, message: &Message) -> Option<String> {
        self.settings.public_base_url.as_ref().map(|base| {
            format!(
                "{base}{}?message_id={}#{RECOMMENDED_OVERRIDES}",
                status_callback_path(message.organization_id.as_str()),
                message.id
            )
        })
    }

    /// The link Twilio fetches the message's file from. WhatsApp carries one media per
    /// message; the send path split them already. Twilio checks it with HEAD as well as GET:
    /// our signed link answers both (an S3 presigned GET answers HEAD with 403); without a
    /// public base URL, a presigned GET.
    async fn media_url(
        &self,
        message: &Message,
        config: &shared::domain::OrgConfig,
    ) -> Result<Option<String>, PortError> {
        let org = &message.organization_id;
        let url = match message.attachments.first().and_then(|a| a.key.as_deref()) {
            Some(key) => {
                let expires =
                    chrono::Utc::now().timestamp() + shared::media_link::LINK_LIFETIME_SECONDS;
                let link = self.settings.public_base_url.as_ref().and_then(|base| {
                    shared::media_link::path(config.auth_token.expose_secret(), org, key, expires)
                        .map(|path| format!("{base}{path}"))
                });
                match link {
                    Some(link) => Some(link),
                    None => Some(
                        self.ports
                            .media()
                            .presign_get(org, key, MEDIA_URL_EXPIRY)
                            .await?,
                    ),
                }
            }
            None => None,
        };
        Ok(url)
    }

    /// What the message goes out as: an approved template, buttons or a list (the payload's
    /// Content, made once), or its text and media; or how the attempt ended without it.
    async fn outbound_content(
        &self,
        job: &MessageJob,
        message: &Message,
        config: &OrgConfig,
        contact_id: &shared::domain::ContactId,
        media_url: Option<String>,
        lease: &ClaimLease,
    ) -> Result<Result<OutboundContent, JobOutcome>, PortError> {
        Ok(Ok(match (&message.template, &message.interactive) {
            // An approved template: Twilio renders it; no Body, no MediaUrl.
            (Some(template), _) => OutboundContent::Template {
                content_sid: template.content_sid.clone(),
                content_variables: (!template.variables.is_empty())
                    .then(|| serde_json::to_string(&template.variables).ok())
                    .flatten(),
            },
            (None, Some(interactive)) => {
                match self
                    .interactive_content(job, message, config, contact_id, interactive, lease)
                    .await?
                {
                    crate::interactive::ContentFor::Sid(content_sid) => OutboundContent::Template {
                        content_sid,
                        content_variables: None,
                    },
                    crate::interactive::ContentFor::Ended(outcome) => return Ok(Err(outcome)),
                }
            }
            (None, None) => OutboundContent::FreeForm {
                body: message.text.clone(),
                media_url,
            },
        }))
    }

    /// Twilio took the message under `sid`: recorded SENT once the sid is this message's.
    /// If a look-alike message of ours adopted that sid while the answer was on its way
    /// (reconciling its own lost answer), that Twilio message counts for the look-alike, and
    /// this one is looked for again before anything is sent. A message erased meanwhile
    /// holds nothing.
    pub(crate) async fn adopt_answer(
        &self,
        job: &MessageJob,
        message: &Message,
        lease: &ClaimLease,
        sid: &str,
    ) -> Result<JobOutcome, PortError> {
        if self
            .ports
            .messages()
            .hold_sid(&job.organization_id, sid, &message.id)
            .await?
        {
            self.record(message, StatusChange::sent(sid)).await?;
            return Ok(JobOutcome::Sent {
                sid: sid.to_owned(),
            });
        }
        // Erased while Twilio took it: nothing is left to record the sid on.
        if self
            .ports
            .messages()
            .get(&job.organization_id, &message.id)
            .await?
            .is_none()
        {
            tracing::info!(twilio_message_sid = %sid, "the message was erased while Twilio took it");
            return Ok(JobOutcome::Skipped);
        }
        tracing::warn!(twilio_message_sid = %sid, "Twilio's answer names a sid another message holds");
        self.reconcile_later(
            job,
            message,
            lease,
            "the message Twilio answered with was recorded for another message".into(),
        )
        .await
    }

    pub(crate) async fn rotated_config(
        &self,
        job: &MessageJob,
        used: &OrgConfig,
    ) -> Result<Option<OrgConfig>, PortError> {
        match self
            .ports
            .credentials()
            .refresh(&job.organization_id)
            .await?
        {
            ChannelConfig::Configured(fresh)
                if fresh.account_sid != used.account_sid
                    || fresh.rest_credentials().0 != used.rest_credentials().0
                    || fresh.rest_credentials().1.expose_secret()
                        != used.rest_credentials().1.expose_secret()
                    || fresh.whatsapp_from != used.whatsapp_from
                    || fresh.messaging_service_sid != used.messaging_service_sid =>
            {
                Ok(Some(fresh))
            }
            _ => Ok(None),
        }
    }
}
