//! The form Twilio posts for a contact's message: the parameters every inbound webhook
//! carries, those of its kind (location, tap, referral, WhatsApp user), as Twilio names them.

use axum::response::Response;
use shared::domain::PhoneNumber;

use super::{ReplyRequest, ReplyUser, Sample, bad_request};

/// The parameters every inbound webhook carries, as Twilio names them.
pub(super) fn base_params(
    request: &ReplyRequest,
    sid: &str,
    body: &str,
    media: Option<Sample>,
    (account_sid, from, to): (&str, &PhoneNumber, &PhoneNumber),
) -> Vec<(String, String)> {
    vec![
        ("SmsMessageSid".into(), sid.to_owned()),
        (
            "NumMedia".into(),
            if media.is_some() { "1" } else { "0" }.into(),
        ),
        (
            "ProfileName".into(),
            request
                .profile_name
                .clone()
                .unwrap_or_else(|| "WhatsApp User".into()),
        ),
        (
            "MessageType".into(),
            message_type(request, media.map(|(_, _, kind)| kind)),
        ),
        ("SmsSid".into(), sid.to_owned()),
        ("WaId".into(), from.wa_id().to_owned()),
        ("SmsStatus".into(), "received".into()),
        ("Body".into(), body.to_owned()),
        ("To".into(), to.whatsapp_address()),
        ("NumSegments".into(), "1".into()),
        ("ReferralNumMedia".into(), "0".into()),
        ("MessageSid".into(), sid.to_owned()),
        ("AccountSid".into(), account_sid.to_owned()),
        ("From".into(), from.whatsapp_address()),
        ("ApiVersion".into(), "2010-04-01".into()),
    ]
}

/// WhatsApp's other kinds, with Twilio's parameters: a location, a button tap, a list pick,
/// the message quoted, the ad the contact came from.
pub(super) fn kind_params(
    request: &ReplyRequest,
    to: &PhoneNumber,
    params: &mut Vec<(String, String)>,
) {
    if let Some(location) = &request.location {
        params.push(("Latitude".into(), location.latitude.to_string()));
        params.push(("Longitude".into(), location.longitude.to_string()));
        if let Some(address) = &location.address {
            params.push(("Address".into(), address.clone()));
        }
        if let Some(label) = &location.label {
            params.push(("Label".into(), label.clone()));
        }
    }
    if let Some(button) = &request.button {
        params.push(("ButtonText".into(), button.text.clone()));
        params.push(("ButtonType".into(), "QUICK_REPLY".into()));
        if let Some(payload) = &button.payload {
            params.push(("ButtonPayload".into(), payload.clone()));
        }
    }
    if let Some(item) = &request.list {
        params.push(("ListId".into(), item.id.clone()));
        params.push(("ListTitle".into(), item.title.clone()));
    }
    if let Some(sid) = &request.reply_to {
        params.push(("OriginalRepliedMessageSid".into(), sid.clone()));
        params.push(("OriginalRepliedMessageSender".into(), to.whatsapp_address()));
    }
    if let Some(referral) = &request.referral {
        params.push(("ReferralSourceUrl".into(), referral.source_url.clone()));
        params.push((
            "ReferralSourceType".into(),
            referral.source_type.clone().unwrap_or_else(|| "ad".into()),
        ));
        params.push(("ReferralSourceId".into(), "120200000000000000".into()));
        if let Some(headline) = &referral.headline {
            params.push(("ReferralHeadline".into(), headline.clone()));
        }
        if let Some(text) = &referral.body {
            params.push(("ReferralBody".into(), text.clone()));
        }
    }
}

/// The contact as a WhatsApp user with a username: the parameters public integrations see.
pub(super) fn user_params(
    user: &ReplyUser,
    params: &mut Vec<(String, String)>,
) -> Result<(), Box<Response>> {
    if !shared::domain::is_whatsapp_user_id(&user.user_id) {
        return Err(Box::new(bad_request(
            "\"user.user_id\" must be a WhatsApp user id such as US.13491208655302741918.",
        )));
    }
    if user.hide_number {
        params.retain(|(k, _)| k != "WaId" && k != "From");
        params.push(("From".into(), format!("whatsapp:{}", user.user_id)));
    }
    params.push(("ExternalUserId".into(), user.user_id.clone()));
    if let Some(parent) = &user.parent_user_id {
        params.push(("ParentExternalUserId".into(), parent.clone()));
    }
    if let Some(username) = &user.username {
        params.push(("ProfileUsername".into(), username.clone()));
    }
    Ok(())
}

/// Twilio's `MessageType` for what the contact sends.
fn message_type(request: &ReplyRequest, media_kind: Option<&str>) -> String {
    if let Some(kind) = &request.message_type {
        return kind.clone();
    }
    let kind = if request.location.is_some() {
        "location"
    } else if request.list.is_some() || (request.button.is_some() && request.reply_to.is_some()) {
        // The answer to a message with buttons or a list.
        "interactive"
    } else if request.button.is_some() {
        "button"
    } else {
        media_kind.unwrap_or("text")
    };
    kind.to_owned()
}
