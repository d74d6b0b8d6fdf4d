//! The Messages API as Twilio answers it, for the accounts in the seed: creating a message and
//! delivering it (its media checked, its status callbacks). Reading: `message_reads`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use shared::domain::{MAX_TEXT_CHARS, PhoneNumber};
use shared::twilio::new_message_sid;

use super::answers::{form_body, twilio_error, unparsable_body, whatsapp_number};
use super::auth::authenticated;
use super::fault_answers::{answer, refused_by};
use super::message_reads::resource;
use super::{FaultMode, Sandbox, SandboxMessage, twilio_date};

/// `POST …/Messages.json`: checked as Twilio checks a send (the account, its credentials,
/// the addresses, the content), then recorded and delivered (`deliver_later`), unless a fault
/// armed for the contact answers instead.
pub async fn create_message(
    State(sandbox): State<Sandbox>,
    Path(account_sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(account) = sandbox.state.accounts.get(&account_sid) else {
        return twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            &format!(
                "The requested resource /2010-04-01/Accounts/{account_sid}/Messages.json was not found"
            ),
        );
    };
    if !authenticated(&sandbox, &headers, &account_sid) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let Some(form) = form_body(&body) else {
        return unparsable_body();
    };
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let (to_raw, to) = match recipient(get("To")) {
        Ok(to) => to,
        Err(refused) => return *refused,
    };
    let sender = match sandbox.resolve_sender(
        &account_sid,
        account,
        get("From"),
        get("MessagingServiceSid"),
        &to,
    ) {
        Ok(sender) => sender,
        Err(refused) => return refused.into_response(),
    };
    let content = match Content::read(&sandbox, &account_sid, account, &form, get) {
        Ok(content) => content,
        Err(refused) => return *refused,
    };
    let fault = sandbox.take_fault(&to, false).inspect(|f| {
        tracing::info!(mode = ?f.mode, to = %to, "sandbox fault applied");
    });
    // WhatsApp delivers free-form only within 24 hours of the contact's last message, and a
    // template only when approved: otherwise Twilio accepts and the callback says 63016.
    let mut undelivered =
        (!content.approved && !sandbox.window_open(&account_sid, &to)).then_some(63016);
    if let Some(fault) = &fault {
        match refused_by(fault).await {
            Some(refused) => return refused,
            None if fault.mode == FaultMode::Undelivered => {
                undelivered = fault.code.or(Some(30008));
            }
            None => {}
        }
    }
    let callback = get("StatusCallback").map(str::to_owned);
    let key = super::auth::key_of(&headers);
    let message = taken(&account_sid, to_raw, &sender, content, callback, key);
    let resource = resource(&message);
    let shuffled = fault
        .as_ref()
        .is_some_and(|f| f.mode == FaultMode::ShuffledCallbacks);
    deliver_later(&sandbox, &message, undelivered, shuffled);
    sandbox.record(message);
    answer(fault.map(|f| f.mode), resource).await
}

/// The message as Twilio holds it once taken.
fn taken(
    account_sid: &str,
    to_raw: &str,
    sender: &super::services::ResolvedSender,
    content: Content,
    callback: Option<String>,
    key: Option<String>,
) -> SandboxMessage {
    SandboxMessage {
        sid: new_message_sid(),
        account_sid: account_sid.to_owned(),
        direction: "outbound-api",
        from: sender.from.whatsapp_address(),
        to: to_raw.to_owned(),
        body: content.text,
        media_url: content.media_url,
        media_content_type: None,
        media_size: None,
        // Through a Messaging Service Twilio answers `accepted`, else `queued`.
        status: if sender.messaging_service_sid.is_some() {
            "accepted"
        } else {
            "queued"
        }
        .into(),
        error_code: None,
        status_callback: callback,
        date_created: twilio_date(Utc::now()),
        messaging_service_sid: sender.messaging_service_sid.clone(),
        api_key_sid: key,
        read_by_business: false,
        lost_webhooks: Vec::new(),
    }
}

/// The `To` of a send: a `whatsapp:` number, or Twilio's refusal.
fn recipient(to: Option<&str>) -> Result<(&str, PhoneNumber), Box<Response>> {
    let Some(to_raw) = to else {
        return Err(Box::new(twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        )));
    };
    match whatsapp_number(to_raw) {
        Some(to) => Ok((to_raw, to)),
        None => Err(Box::new(twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("Invalid 'To' Phone Number: {to_raw}"),
        ))),
    }
}

/// What a send carries: its text (a template rendered), its one media, whether it is an
/// approved template (delivered outside the 24-hour window too).
struct Content {
    text: Option<String>,
    media_url: Vec<String>,
    approved: bool,
}

impl Content {
    fn read<'a>(
        sandbox: &Sandbox,
        account_sid: &str,
        account: &super::Account,
        form: &'a [(String, String)],
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<Self, Box<Response>> {
        let bad =
            |code, message: &str| Box::new(twilio_error(StatusCode::BAD_REQUEST, code, message));
        // A template (Content API): Twilio renders it.
        let content_sid = get("ContentSid");
        let template = match (content_sid, get("ContentVariables")) {
            (None, Some(_)) => {
                return Err(bad(
                    21654,
                    "A ContentSid must be specified if ContentVariables are provided.",
                ));
            }
            (None, None) => None,
            (Some(sid), variables) => Some(
                sandbox
                    .render_template(account_sid, account, sid, variables)
                    .map_err(|(code, message)| bad(code, message))?,
            ),
        };
        let text = match &template {
            Some(rendered) => rendered.body.clone(),
            None => get("Body").map(str::to_owned),
        };
        let media_url: Vec<String> = form
            .iter()
            .filter(|(k, _)| k == "MediaUrl")
            .map(|(_, v)| v.clone())
            .collect();
        // WhatsApp carries one media per message.
        if media_url.len() > 1 {
            return Err(bad(21623, "Number of media files exceeds allowed limit"));
        }
        if media_url
            .iter()
            .any(|u| !(u.starts_with("https://") || u.starts_with("http://")))
        {
            return Err(bad(21620, "Invalid media URL(s)"));
        }
        if text.is_none() && media_url.is_empty() && content_sid.is_none() {
            return Err(bad(
                21619,
                "A text message body or media urls must be specified.",
            ));
        }
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
        {
            return Err(bad(
                21617,
                "The concatenated message body exceeds the 1600 character limit.",
            ));
        }
        Ok(Self {
            text,
            media_url,
            approved: template.is_some_and(|t| t.approved),
        })
    }
}

/// The message goes on to WhatsApp whether or not anyone asked for status callbacks: like
/// WhatsApp, its media is fetched before it goes out.
fn deliver_later(
    sandbox: &Sandbox,
    message: &SandboxMessage,
    undelivered: Option<u32>,
    shuffled: bool,
) {
    let sandbox = sandbox.clone();
    let (sid, account_sid, from, to) = (
        message.sid.clone(),
        message.account_sid.clone(),
        message.from.clone(),
        message.to.clone(),
    );
    let service = message.messaging_service_sid.clone();
    let status_callback = message.status_callback.clone();
    let media = message.media_url.first().cloned();
    tokio::spawn(async move {
        let failure = match media {
            Some(url) => sandbox.fetch_media(&sid, &url).await.err(),
            None => None,
        };
        sandbox
            .deliver(
                &sid,
                &account_sid,
                (&from, service.as_deref()),
                &to,
                status_callback.as_deref(),
                callback_steps(failure.or(undelivered), shuffled),
            )
            .await;
    });
}

/// The status callbacks of a message, in the order they are posted.
fn callback_steps(undelivered: Option<u32>, shuffled: bool) -> Vec<(&'static str, Option<u32>)> {
    let mut steps = match undelivered {
        Some(code @ (63016 | 63019 | 63021)) => vec![("failed", Some(code))],
        Some(code) => vec![("sent", None), ("undelivered", Some(code))],
        None => vec![("sent", None), ("delivered", None), ("read", None)],
    };
    if shuffled {
        // Newest first, then all of them again in order: late, early and repeated.
        let in_order = steps.clone();
        steps.reverse();
        steps.extend(in_order);
    }
    steps
}

impl Sandbox {
    /// Downloads a message's media as WhatsApp would; the error code if it cannot.
    /// Checks and downloads a message's media as Twilio does before WhatsApp sends it: a
    /// `HEAD` (its type must be one WhatsApp takes), then a `GET`; either failing is 63019.
    async fn fetch_media(&self, sid: &str, url: &str) -> Result<(), u32> {
        let head = self
            .state
            .http
            .head(url)
            .send()
            .await
            .map_err(|_| 63019u32)?;
        if !head.status().is_success() {
            return Err(63019);
        }
        let response = self
            .state
            .http
            .get(url)
            .send()
            .await
            .map_err(|_| 63019u32)?;
        if !response.status().is_success() {
            return Err(63019);
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.bytes().await.map_err(|_| 63019u32)?;
        if bytes.is_empty() {
            return Err(63019);
        }
        self.set_media(sid, &content_type, bytes.len() as u64);
        if shared::domain::media_rule(&content_type).is_none() {
            return Err(63021);
        }
        Ok(())
    }

    /// Walks a message through its statuses, telling the product at every step. `from` is
    /// the sender and the Messaging Service that picked it, named in every callback.
    async fn deliver(
        &self,
        sid: &str,
        account_sid: &str,
        (from, service): (&str, Option<&str>),
        to: &str,
        callback: Option<&str>,
        steps: Vec<(&'static str, Option<u32>)>,
    ) {
        for (status, error_code) in steps {
            tokio::time::sleep(self.state.callback_delay).await;
            self.set_status(sid, status, error_code);
            let mut params: Vec<(String, String)> = [
                ("AccountSid", account_sid),
                ("ApiVersion", "2010-04-01"),
                ("ChannelInstallSid", "XE00000000000000000000000000000000"),
                ("ChannelPrefix", "whatsapp"),
                ("ChannelToAddress", to.trim_start_matches("whatsapp:")),
                ("From", from),
                ("MessageSid", sid),
                ("MessageStatus", status),
                ("SmsSid", sid),
                ("SmsStatus", status),
                ("To", to),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            if let Some(code) = error_code {
                params.push(("ErrorCode".into(), code.to_string()));
            }
            if let Some(service) = service {
                params.push(("MessagingServiceSid".into(), service.to_owned()));
            }
            let Some(callback) = callback else { continue };
            match self.post_signed(account_sid, callback, &params).await {
                Ok((code, _)) if (200..300).contains(&code) => {}
                Ok((code, body)) => {
                    tracing::warn!(sid, status, code, body, "status callback refused");
                    self.webhook_lost(sid, status);
                }
                Err(e) => {
                    tracing::warn!(sid, status, error = %e, "status callback failed");
                    self.webhook_lost(sid, status);
                }
            }
        }
    }
}
