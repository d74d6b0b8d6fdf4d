//! Playing the contact: a message from a contact's phone to an organization's sender,
//! delivered to the product's inbound webhook exactly as Twilio would (signed form).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use serde_json::json;
use shared::domain::{OptAction, PhoneNumber, keyword_action};
use shared::routes::inbound_webhook_path;
use shared::twilio::{RECOMMENDED_OVERRIDES, new_message_sid};

mod form;

use super::{Sandbox, SandboxMessage, twilio_date};
use form::{base_params, kind_params, user_params};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The contact's number (E.164).
    pub from: String,
    #[serde(default)]
    pub body: String,
    /// Which organization's sender receives it; optional when only one is configured.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Which of the organization's senders (E.164) it is written to: any of its numbers or
    /// of its Messaging Service's pool. Default: the one the contact last talked with, else
    /// its number, else the pool's first.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub profile_name: Option<String>,
    /// A media to send along: `image`, `document` or `voice`.
    #[serde(default)]
    pub media: Option<String>,
    /// The connection overrides of the organization's "when a message comes in" URL, as set
    /// in Twilio's console (the fragment after `#`); default the documented ones, `""` none.
    #[serde(default)]
    pub overrides: Option<String>,
    /// How many times the same webhook is delivered (1–5, default 1): Twilio may deliver a
    /// webhook more than once. The repeats follow the first answer, unless `at_once`.
    #[serde(default)]
    pub deliveries: Option<u32>,
    /// Deliver the repeats at the same time as the first.
    #[serde(default)]
    pub at_once: bool,
    /// A shared location (Twilio's `Latitude`, `Longitude`, `Address`, `Label`).
    #[serde(default)]
    pub location: Option<ReplyLocation>,
    /// A tap on a button (`ButtonText`, `ButtonPayload`).
    #[serde(default)]
    pub button: Option<ReplyButton>,
    /// A pick from a list (`ListId`, `ListTitle`), as a `twilio/list-picker` answer posts it.
    #[serde(default)]
    pub list: Option<ReplyListItem>,
    /// The sid of an earlier message this one replies to (`OriginalRepliedMessageSid`).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// The Click-to-WhatsApp ad the contact came from (`Referral*`).
    #[serde(default)]
    pub referral: Option<ReplyReferral>,
    /// Twilio's `MessageType` (e.g. `unsupported`, `reaction`); from the content otherwise.
    #[serde(default)]
    pub message_type: Option<String>,
    /// The contact as a WhatsApp user with a username (2026).
    #[serde(default)]
    pub user: Option<ReplyUser>,
}

/// A WhatsApp user's business-scoped id and username go along as `ExternalUserId`,
/// `ParentExternalUserId` and `ProfileUsername` (the names public integrations use: Twilio
/// documents none yet). `hide_number`: a user who withholds their number, so `From` is the
/// user id and there is no `WaId`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyUser {
    pub user_id: String,
    #[serde(default)]
    pub parent_user_id: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub hide_number: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyLocation {
    pub latitude: f64,
    pub longitude: f64,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyButton {
    pub text: String,
    #[serde(default)]
    pub payload: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyListItem {
    pub id: String,
    pub title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyReferral {
    pub source_url: String,
    #[serde(default)]
    pub headline: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub source_type: Option<String>,
}

fn bad_request(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"code": "invalid_reply", "message": message}})),
    )
        .into_response()
}

pub async fn reply(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let request: ReplyRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_request(&format!("Not a reply: {e}.")),
    };
    let (from, media) = match checked(&request) {
        Ok(checked) => checked,
        Err(refused) => return *refused,
    };
    // A tap's words are the message's text, as on the contact's phone.
    let body = match (&request.button, &request.list) {
        (Some(button), _) => button.text.clone(),
        (None, Some(item)) => item.title.clone(),
        (None, None) => request.body.clone(),
    };
    let (account_sid, account, to) = match addressed(&sandbox, &request, &from) {
        Ok(addressed) => addressed,
        Err(refused) => return *refused,
    };
    let service = account.service_of(&to).map(str::to_owned);
    // Twilio's messages with media have MM sids.
    let sid = match media {
        Some(_) => new_message_sid().replacen("SM", "MM", 1),
        None => new_message_sid(),
    };
    let mut params = base_params(&request, &sid, &body, media, (account_sid, &from, &to));
    let mut media_url = vec![];
    if let Some((bytes, content_type, _)) = media {
        let media_sid = new_message_sid().replacen("SM", "ME", 1);
        let url = format!(
            "{}/sandbox/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media/{media_sid}",
            sandbox.state.public_base_url
        );
        sandbox.keep_media(&media_sid, bytes, content_type);
        params.push(("MediaUrl0".into(), url.clone()));
        params.push(("MediaContentType0".into(), content_type.into()));
        media_url.push(url);
    }
    kind_params(&request, &to, &mut params);
    if let Some(user) = &request.user
        && let Err(refused) = user_params(user, &mut params)
    {
        return *refused;
    }
    // A sender in a Messaging Service: Twilio names the service.
    if let Some(service) = &service {
        params.push(("MessagingServiceSid".into(), service.clone()));
    }
    // Twilio's Advanced Opt-Out tells the webhook which keyword it recognised.
    match keyword_action(&request.body) {
        Some(OptAction::OptOut) => params.push(("OptOutType".into(), "STOP".into())),
        Some(OptAction::OptIn) => params.push(("OptOutType".into(), "START".into())),
        None => {}
    }
    sandbox.contact_wrote(account_sid, &from);
    sandbox.record(SandboxMessage {
        sid: sid.clone(),
        account_sid: account_sid.clone(),
        direction: "inbound",
        from: from.whatsapp_address(),
        to: to.whatsapp_address(),
        body: Some(body.clone()),
        media_url,
        media_content_type: None,
        media_size: None,
        status: "received".into(),
        error_code: None,
        status_callback: None,
        date_created: twilio_date(Utc::now()),
        messaging_service_sid: service,
        api_key_sid: None,
        read_by_business: false,
        lost_webhooks: Vec::new(),
    });
    post_webhook(&sandbox, account_sid, account, &request, &params, &sid).await
}

/// A sample file the contact sends: its bytes, type and WhatsApp kind.
type Sample = (&'static [u8], &'static str, &'static str);

/// The reply as asked: who writes (`from`) and the sample file it carries, or why not.
fn checked(request: &ReplyRequest) -> Result<(PhoneNumber, Option<Sample>), Box<Response>> {
    let refused = |message: &str| Box::new(bad_request(message));
    let deliveries = request.deliveries.unwrap_or(1);
    if !(1..=5).contains(&deliveries) {
        return Err(refused("\"deliveries\" is 1 to 5."));
    }
    let Ok(from) = PhoneNumber::parse_address(&request.from) else {
        return Err(refused("\"from\" must be an E.164 number."));
    };
    let media = match request.media.as_deref() {
        None => None,
        Some(kind) => match super::media::sample(kind) {
            Some(sample) => Some(sample),
            None => {
                return Err(refused(
                    "\"media\" is one of image, document, voice, contact, sticker, webpage.",
                ));
            }
        },
    };
    let carries_something = media.is_some()
        || request.location.is_some()
        || request.button.is_some()
        || request.list.is_some()
        || request.referral.is_some()
        || request.message_type.is_some();
    if request.body.trim().is_empty() && !carries_something {
        return Err(refused(
            "\"body\" must not be empty (or send \"media\", a location, …).",
        ));
    }
    Ok((from, media))
}

/// Which organization's account the contact writes to, and which of its senders (`to`, else
/// the one the contact last talked with, else its number, else its pool's first).
fn addressed<'a>(
    sandbox: &'a Sandbox,
    request: &ReplyRequest,
    from: &PhoneNumber,
) -> Result<(&'a String, &'a super::Account, PhoneNumber), Box<Response>> {
    let refused = |message: &str| Box::new(bad_request(message));
    let accounts = &sandbox.state.accounts;
    let account = match &request.organization_id {
        Some(org) => accounts
            .iter()
            .find(|(_, a)| a.organization_id.as_str() == org),
        None if accounts.len() == 1 => accounts.iter().next(),
        None => {
            return Err(refused(
                "Several organizations are configured: say which in \"organization_id\".",
            ));
        }
    };
    let Some((account_sid, account)) = account else {
        return Err(refused("No configured organization with that id."));
    };
    let to = match request.to.as_deref().map(PhoneNumber::parse_address) {
        Some(Ok(to)) if account.owns(&to) => to,
        Some(_) => {
            return Err(refused(
                "\"to\" is none of the organization's WhatsApp senders.",
            ));
        }
        None => {
            let mut senders: Vec<PhoneNumber> = account.number.iter().cloned().collect();
            senders.extend(
                account
                    .service
                    .iter()
                    .flat_map(|s| s.senders.iter().cloned()),
            );
            match sandbox.sticky_sender(account_sid, from, &senders) {
                Some(to) => to,
                None => return Err(refused("The organization has no WhatsApp sender.")),
            }
        }
    };
    Ok((account_sid, account, to))
}

/// Posts the signed webhook (`deliveries` times, the repeats after the first answer or with
/// it) to the organization's inbound URL with its connection overrides; a message whose
/// every attempt failed is marked lost.
async fn post_webhook(
    sandbox: &Sandbox,
    account_sid: &str,
    account: &super::Account,
    request: &ReplyRequest,
    params: &[(String, String)],
    sid: &str,
) -> Response {
    let deliveries = request.deliveries.unwrap_or(1);
    let overrides = request
        .overrides
        .as_deref()
        .unwrap_or(RECOMMENDED_OVERRIDES);
    let url = format!(
        "{}{}#{overrides}",
        sandbox.state.public_base_url,
        inbound_webhook_path(account.organization_id.as_str())
    );
    let repeats = (1..deliveries).map(|_| sandbox.post_signed(account_sid, &url, params));
    let first = if request.at_once {
        let (first, ()) = tokio::join!(sandbox.post_signed(account_sid, &url, params), async {
            deliver_in_turn(repeats).await
        });
        first
    } else {
        let first = sandbox.post_signed(account_sid, &url, params).await;
        deliver_in_turn(repeats).await;
        first
    };
    if !matches!(first, Ok((status, _)) if (200..300).contains(&status)) {
        sandbox.webhook_lost(sid, "inbound");
    }
    match first {
        Ok((status, _)) => (
            StatusCode::OK,
            Json(json!({"message_sid": sid, "webhook_status": status})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({"error": {"code": "webhook_failed", "message": e}})),
        )
            .into_response(),
    }
}

/// Runs the repeated deliveries, each after the one before (their answers are not the
/// reply's).
async fn deliver_in_turn<R: std::future::Future>(repeats: impl Iterator<Item = R>) {
    for repeat in repeats {
        repeat.await;
    }
}
