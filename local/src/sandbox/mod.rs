//! A Twilio sandbox: answers the Messages API like Twilio (basic auth, validation, error
//! JSON, `SM…` sids), sends signed status callbacks (sent → delivered → read), lets a person
//! or a script play a contact and reply, and can be told to fail.
//!
//! Routes (under `/sandbox`):
//! - `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` — the Messages API; `GET` the
//!   same path reads it back (`To`, `From`, `PageSize`), newest first
//! - `GET /messages[?to=+E164]` — what the sandbox received and delivered
//! - `POST /reply` `{from, body?, media?, organization_id?, profile_name?}` — a contact
//!   writes, optionally with a photo, document or voice note (`media`: image|document|voice)
//! - `GET /2010-04-01/Accounts/{sid}/Messages/{sid}/Media/{sid}` — that media, behind basic
//!   auth, redirecting to `/cdn/{sid}` like Twilio's media CDN
//! - `GET /v1/ContentAndApprovals` — the Content API: the account's templates from the seed,
//!   then what it created; `POST /v1/Content`, `GET|DELETE /v1/Content/{sid}` write it
//! - `GET /v1/Services/{sid}/ChannelSenders` — a Messaging Service's WhatsApp senders
//! - `GET /v2/Channels/Senders?Channel=whatsapp` — the account's WhatsApp senders and their
//!   health; `POST /senders`, `POST /senders/unavailable`, `DELETE /senders` set it
//! - `POST /v2/Indicators/Typing.json` — the typing indicator, which also marks read; `GET
//!   /phone?phone=` — what the contact's phone shows of it
//! - `GET|POST|DELETE /faults` — failure injection (`faults`: arming them; `fault_answers`:
//!   what an armed fault makes of a send)

mod answers;
mod api;
mod auth;
mod content;
mod content_create;
mod fault_answers;
mod faults;
mod indicators;
mod keys;
mod media;
mod message_reads;
mod reply;
mod senders;
mod services;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use shared::domain::{ChannelConfig, OrganizationId, PhoneNumber, parse_org_secret};
use shared::twilio::{ConnectionOverrides, RetryOn, compute_signature};

pub use faults::{Fault, FaultMode};
pub use media::{SAMPLE_DOCUMENT, SAMPLE_PHOTO, SAMPLE_VOICE, SAMPLE_WEBPAGE};

use crate::seed::Seed;

/// A Twilio account the sandbox knows, from the seed's organization secrets.
struct Account {
    auth_token: SecretString,
    organization_id: OrganizationId,
    /// The organization's own number (`twilio_whatsapp_from`), if its secret names one.
    number: Option<PhoneNumber>,
    /// Its Messaging Service (`twilio_messaging_service_sid`) and that service's pool.
    service: Option<services::MessagingService>,
    /// The account's Content API templates, as Twilio's JSON (from the seed).
    templates: Vec<serde_json::Value>,
}

/// A message as the sandbox saw it.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxMessage {
    pub sid: String,
    pub account_sid: String,
    /// `outbound-api` (sent by the product) or `inbound` (a contact's reply).
    pub direction: &'static str,
    pub from: String,
    pub to: String,
    pub body: Option<String>,
    pub media_url: Vec<String>,
    /// What the sandbox downloaded from the media URL, as WhatsApp would.
    pub media_content_type: Option<String>,
    pub media_size: Option<u64>,
    pub status: String,
    pub error_code: Option<u32>,
    pub status_callback: Option<String>,
    pub date_created: String,
    /// The Messaging Service it went through, or whose sender received it.
    pub messaging_service_sid: Option<String>,
    /// The API key the product sent it with (None: the account's auth token, or inbound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_sid: Option<String>,
    /// An inbound message the business marked read (a typing indicator named it or a later one).
    pub read_by_business: bool,
    /// Webhooks about this message that every attempt failed to deliver (`inbound`, or the
    /// status whose callback was lost): what Twilio gives up on, the product never learns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub lost_webhooks: Vec<String>,
}

struct State {
    accounts: HashMap<String, Account>,
    /// API keys by sid (`auth`): the seed's, and those made through the Keys resource.
    keys: Mutex<HashMap<String, auth::ApiKeyEntry>>,
    messages: Mutex<Vec<SandboxMessage>>,
    faults: Mutex<Vec<Fault>>,
    /// Media contacts sent, by media sid: bytes and content type.
    media: Mutex<HashMap<String, (Vec<u8>, String)>>,
    /// When each contact last wrote to each account (the seed's times, then replies): WhatsApp
    /// delivers free-form messages only within 24 hours of it.
    last_inbound: Mutex<HashMap<(String, PhoneNumber), chrono::DateTime<chrono::Utc>>>,
    /// Until when each contact (account sid, `whatsapp:` address) sees "typing…".
    typing: Mutex<HashMap<(String, String), chrono::DateTime<chrono::Utc>>>,
    /// Contents made through the Content API.
    created_contents: Mutex<content_create::CreatedContents>,
    /// What the Senders API lists about each sender's health.
    sender_health: Mutex<senders::SenderHealthState>,
    http: reqwest::Client,
    /// Where the product's API is reachable (inbound webhooks go there).
    public_base_url: String,
    callback_delay: Duration,
}

#[derive(Clone)]
pub struct Sandbox {
    state: Arc<State>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a sandbox lock leaves plain data behind; keep serving it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sandbox {
    pub fn new(seed: &Seed, public_base_url: &str, callback_delay: Duration) -> Self {
        let mut accounts = HashMap::new();
        let mut keys = HashMap::new();
        let mut last_inbound = HashMap::new();
        let now = chrono::Utc::now();
        for org in &seed.organizations {
            let Some(secret) = &org.twilio else { continue };
            if let ChannelConfig::Configured(config) = parse_org_secret(&secret.to_string()) {
                for contact in &org.contacts {
                    let written = contact
                        .to_contact(&org.organization_id, now)
                        .last_inbound_at;
                    let phone = contact
                        .phone_number
                        .as_deref()
                        .and_then(|p| PhoneNumber::parse_e164(p).ok());
                    if let (Some(phone), Some(written)) = (phone, written) {
                        last_inbound.insert((config.account_sid.clone(), phone), written);
                    }
                }
                if let Some(key) = &config.api_key {
                    keys.insert(
                        key.sid.clone(),
                        auth::ApiKeyEntry {
                            account_sid: config.account_sid.clone(),
                            secret: key.secret.expose_secret().to_owned(),
                            friendly_name: "seed".into(),
                            date_created: twilio_date(now),
                        },
                    );
                }
                accounts.insert(
                    config.account_sid.clone(),
                    Account {
                        auth_token: config.auth_token.clone(),
                        organization_id: org.organization_id.clone(),
                        service: config.messaging_service_sid.clone().map(|sid| {
                            services::MessagingService {
                                sid,
                                senders: service_pool(&config, &org.messaging_service_senders),
                            }
                        }),
                        number: config.whatsapp_from.clone(),
                        templates: org.templates.clone(),
                    },
                );
            }
        }
        Self {
            state: Arc::new(State {
                accounts,
                keys: Mutex::new(keys),
                messages: Mutex::default(),
                faults: Mutex::default(),
                media: Mutex::default(),
                last_inbound: Mutex::new(last_inbound),
                typing: Mutex::new(HashMap::new()),
                sender_health: Mutex::default(),
                created_contents: Mutex::default(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
                public_base_url: public_base_url.trim_end_matches('/').to_owned(),
                callback_delay,
            }),
        }
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                post(api::create_message).get(message_reads::read_messages),
            )
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages/{message_file}",
                get(message_reads::read_message),
            )
            .route(
                "/2010-04-01/Accounts/{account_sid}/Keys.json",
                post(keys::create_key),
            )
            .route(
                "/2010-04-01/Accounts/{account_sid}/Keys/{key_file}",
                get(keys::fetch_key).delete(keys::delete_key),
            )
            .route("/messages", get(message_reads::list_messages))
            .route("/reply", post(reply::reply))
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages/{message_sid}/Media/{media_sid}",
                get(media::media),
            )
            .route("/cdn/{media_sid}", get(media::cdn))
            .route(
                "/v1/ContentAndApprovals",
                get(content::content_and_approvals),
            )
            .route(
                "/v1/Content",
                get(content_create::list).post(content_create::create),
            )
            .route(
                "/v1/Content/{sid}",
                get(content_create::fetch).delete(content_create::delete),
            )
            .route("/v2/Indicators/Typing.json", post(indicators::typing))
            .route("/phone", get(indicators::phone))
            .route(
                "/v1/Services/{service_sid}/ChannelSenders",
                get(services::channel_senders),
            )
            .route("/v2/Channels/Senders", get(senders::list))
            .route("/senders", post(senders::set).delete(senders::reset))
            .route("/senders/unavailable", post(senders::set_unavailable))
            .route(
                "/faults",
                get(faults::list).post(faults::add).delete(faults::clear),
            )
            .with_state(self.clone())
    }

    fn record(&self, message: SandboxMessage) {
        lock(&self.state.messages).push(message);
    }

    /// A contact wrote to the account: its 24-hour window opens.
    fn contact_wrote(&self, account_sid: &str, from: &PhoneNumber) {
        lock(&self.state.last_inbound)
            .insert((account_sid.to_owned(), from.clone()), chrono::Utc::now());
    }

    /// Whether the contact wrote to the account within the last 24 hours.
    fn window_open(&self, account_sid: &str, to: &PhoneNumber) -> bool {
        lock(&self.state.last_inbound)
            .get(&(account_sid.to_owned(), to.clone()))
            .is_some_and(|at| {
                shared::domain::conversation_window(Some(*at), chrono::Utc::now()).open
            })
    }

    fn set_media(&self, sid: &str, content_type: &str, size: u64) {
        if let Some(m) = lock(&self.state.messages).iter_mut().find(|m| m.sid == sid) {
            m.media_content_type = Some(content_type.to_owned());
            m.media_size = Some(size);
        }
    }

    fn set_status(&self, sid: &str, status: &str, error_code: Option<u32>) {
        let delivered = lock(&self.state.messages)
            .iter_mut()
            .find(|m| m.sid == sid)
            .and_then(|m| {
                m.status = status.to_owned();
                m.error_code = error_code;
                (status == "delivered").then(|| (m.account_sid.clone(), m.to.clone()))
            });
        if let Some((account_sid, contact)) = delivered {
            self.typing_ends(&account_sid, &contact);
        }
    }

    /// Records that every attempt at a webhook about `sid` failed (`what`: `inbound` or a
    /// status), and logs it.
    fn webhook_lost(&self, sid: &str, what: &str) {
        tracing::warn!(
            sid,
            what,
            "sandbox: every attempt at the webhook failed; Twilio gives up"
        );
        if let Some(m) = lock(&self.state.messages).iter_mut().find(|m| m.sid == sid) {
            m.lost_webhooks.push(what.to_owned());
        }
    }

    /// Posts a signed webhook as Twilio does, retrying only what the URL's connection
    /// overrides ask for (without a fragment: one retry of a failed connection), every
    /// attempt within the total time `tt`. The answer of the last attempt.
    async fn post_signed(
        &self,
        account_sid: &str,
        url: &str,
        params: &[(String, String)],
    ) -> Result<(u16, String), String> {
        let token = self
            .state
            .accounts
            .get(account_sid)
            .map(|a| a.auth_token.expose_secret().to_owned())
            .ok_or("unknown account")?;
        // The fragment is Twilio's own: it is neither requested nor signed.
        let (url, overrides) = ConnectionOverrides::split(url);
        let signature = compute_signature(&token, url, params);
        let body = serde_urlencoded::to_string(params).map_err(|e| e.to_string())?;
        // Every attempt carries the same idempotency token, as Twilio's retries do.
        let idempotency = ulid::Ulid::new().to_string();
        let gives_up_at =
            std::time::Instant::now() + Duration::from_millis(overrides.total_timeout_ms.into());
        let mut attempt = 0;
        loop {
            let left = gives_up_at.saturating_duration_since(std::time::Instant::now());
            let read_timeout = Duration::from_millis(overrides.read_timeout_ms.into()).min(left);
            let sent = self
                .state
                .http
                .post(url)
                .timeout(read_timeout)
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=UTF-8",
                )
                .header("x-twilio-signature", &signature)
                .header("user-agent", "TwilioProxy/1.1")
                .header("i-twilio-idempotency-token", &idempotency)
                .body(body.clone())
                .send()
                .await;
            let failure = match &sent {
                Err(e) if e.is_timeout() => Some(RetryOn::Read),
                Err(_) => Some(RetryOn::Connect),
                Ok(r) if r.status().is_server_error() => Some(RetryOn::ServerError),
                Ok(r) if r.status().is_client_error() => Some(RetryOn::ClientError),
                Ok(_) => None,
            };
            let pause = Duration::from_millis(200);
            let retry = failure.is_some_and(|f| overrides.retries(f))
                && attempt < overrides.retry_count
                && std::time::Instant::now() + pause < gives_up_at;
            if !retry {
                let response = sent.map_err(|e| format!("webhook not reachable: {e}"))?;
                let status = response.status().as_u16();
                let text = response.text().await.unwrap_or_default();
                return Ok((status, text));
            }
            attempt += 1;
            tracing::info!(
                url,
                attempt,
                ?failure,
                "sandbox retries the webhook as its overrides say"
            );
            tokio::time::sleep(pause).await;
        }
    }
}

/// A Messaging Service's WhatsApp senders: the organization's number (when it has one) and
/// the seed's `messaging_service_senders`, each once, in that order.
fn service_pool(config: &shared::domain::OrgConfig, seeded: &[String]) -> Vec<PhoneNumber> {
    let mut pool: Vec<PhoneNumber> = config.whatsapp_from.iter().cloned().collect();
    for number in seeded {
        match PhoneNumber::parse_address(number) {
            Ok(number) if !pool.contains(&number) => pool.push(number),
            Ok(_) => {}
            Err(_) => tracing::warn!(number, "seed: a Messaging Service sender is not E.164"),
        }
    }
    pool
}

/// One page of a Twilio list as its v1/v2 APIs answer it: the items under `key`, and `meta`
/// with the page's URLs (`page_url` of a page number) and the next one while `more`.
fn list_page(
    key: &str,
    items: Vec<serde_json::Value>,
    (page, page_size): (usize, usize),
    more: bool,
    page_url: impl Fn(usize) -> String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::Json(serde_json::json!({
        key: items,
        "meta": {
            "page": page,
            "page_size": page_size,
            "first_page_url": page_url(0),
            "previous_page_url": (page > 0).then(|| page_url(page - 1)),
            "url": page_url(page),
            "next_page_url": more.then(|| page_url(page + 1)),
            "key": key,
        },
    }))
    .into_response()
}

fn twilio_date(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%a, %d %b %Y %H:%M:%S +0000").to_string()
}
