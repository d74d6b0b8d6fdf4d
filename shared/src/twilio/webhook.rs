//! Twilio webhook forms: inbound messages and status callbacks.

use crate::domain::{
    ButtonReply, InboundDetails, Location, PhoneNumber, Referral, ReplyTo, WhatsAppUser,
    is_whatsapp_user_id,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the body is not an application/x-www-form-urlencoded form")]
    NotAForm,
    #[error("the form has no {0}")]
    Missing(&'static str),
    #[error("the form's {0} is not valid")]
    Invalid(&'static str),
}

/// Every posted parameter, repeated names included, in the order posted: the signature is
/// computed over all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormParams(Vec<(String, String)>);

impl FormParams {
    pub fn parse(body: &[u8]) -> Result<Self, WebhookError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Self)
            .map_err(|_| WebhookError::NotAForm)
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The first value of a parameter, if present and not blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.trim().is_empty())
    }

    fn require(&self, name: &'static str) -> Result<&str, WebhookError> {
        self.get(name).ok_or(WebhookError::Missing(name))
    }

    pub fn encode(&self) -> String {
        serde_urlencoded::to_string(&self.0).unwrap_or_default()
    }
}

fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34
        && value.starts_with(prefix)
        && value[2..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A message sid (`SM…` or `MM…`, 34 characters): safe to put in a URL path.
pub fn is_message_sid(value: &str) -> bool {
    is_sid(value, "SM") || is_sid(value, "MM")
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMedia {
    pub url: String,
    pub content_type: String,
}

/// A message a contact sent to the organization's WhatsApp sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub message_sid: String,
    pub account_sid: String,
    /// The contact's number; None for a WhatsApp user who writes under a username and
    /// withholds it (then `details.user` says who wrote).
    pub from: Option<PhoneNumber>,
    pub to: PhoneNumber,
    /// The Messaging Service of the sender written to, when it belongs to one: inbound to
    /// any of a service's senders is the organization's that sends through it.
    pub messaging_service_sid: Option<String>,
    pub body: String,
    pub media: Vec<InboundMedia>,
    pub profile_name: Option<String>,
    pub opt_out_type: Option<String>,
    /// Location, button reply, quoted message, referral, or "unsupported"; every parameter.
    pub details: InboundDetails,
}

/// What WhatsApp's message kinds carry, from Twilio's parameters. A broken part (coordinates
/// out of range, a referral without an http(s) URL, a quoted sid that is no message sid) is
/// left out; the rest is kept.
fn inbound_details(form: &FormParams, has_text: bool, has_media: bool) -> InboundDetails {
    let text = |name: &str| form.get(name).map(str::to_owned);
    let kind = text("MessageType");
    let location = match (form.get("Latitude"), form.get("Longitude")) {
        (Some(lat), Some(lon)) => Location::parse(lat, lon, form.get("Address"), form.get("Label")),
        _ => None,
    };
    let button = tap(form);
    let reply_to = form
        .get("OriginalRepliedMessageSid")
        .filter(|sid| is_sid(sid, "SM") || is_sid(sid, "MM"))
        .map(|sid| ReplyTo {
            twilio_message_sid: sid.to_owned(),
            message_id: None,
        });
    let referral = form
        .get("ReferralSourceUrl")
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .map(|url| Referral {
            source_url: url.to_owned(),
            headline: text("ReferralHeadline"),
            body: text("ReferralBody"),
            source_type: text("ReferralSourceType"),
        });
    let shown =
        has_text || has_media || location.is_some() || button.is_some() || referral.is_some();
    let unsupported = match kind.as_deref() {
        Some("unsupported") => kind.clone(),
        _ if !shown => Some(kind.clone().unwrap_or_else(|| "unknown".into())),
        _ => None,
    };
    InboundDetails {
        kind,
        location,
        button,
        reply_to,
        referral,
        unsupported,
        user: whatsapp_user(form),
        params: form.pairs().to_vec(),
    }
}

/// A tap on a button or a list item of a message the organization sent. Twilio posts a
/// button's as `ButtonText`/`ButtonPayload` (a template's quick reply, a `twilio/quick-reply`)
/// and a list item's as `ListTitle`/`ListId` (a `twilio/list-picker`); integrations have seen
/// either pair for either kind, and a tap whose title is missing but whose `Body` carries it,
/// so every one of these forms is read. `kind` is Twilio's `ButtonType`, or `list` for a list
/// item.
fn tap(form: &FormParams) -> Option<ButtonReply> {
    let text = |name: &str| form.get(name).map(str::to_owned);
    if let Some(id) = text("ListId") {
        return Some(ButtonReply {
            text: text("ListTitle")
                .or_else(|| text("Body"))
                .unwrap_or_else(|| id.clone()),
            payload: Some(id),
            kind: Some("list".into()),
        });
    }
    let payload = text("ButtonPayload");
    let title = text("ButtonText").or_else(|| payload.as_ref().and(text("Body")))?;
    Some(ButtonReply {
        text: title,
        payload,
        kind: text("ButtonType"),
    })
}

/// A WhatsApp user id Twilio posts, with or without the `whatsapp:` prefix.
fn user_id(value: &str) -> Option<String> {
    let id = value.trim();
    let id = id.strip_prefix("whatsapp:").unwrap_or(id);
    is_whatsapp_user_id(id).then(|| id.to_owned())
}

/// Who wrote, by WhatsApp user id: `From` itself when it is one (a user who hides their
/// number), else Twilio's `ExternalUserId`. Twilio's documentation names none of these
/// parameters yet (`ExternalUserId`, `ParentExternalUserId`, `ProfileUsername` are the names
/// public integrations use); every posted parameter is kept in `params` whatever its name.
fn whatsapp_user(form: &FormParams) -> Option<WhatsAppUser> {
    let id = form
        .get("From")
        .and_then(user_id)
        .or_else(|| form.get("ExternalUserId").and_then(user_id))?;
    Some(WhatsAppUser {
        user_id: id,
        parent_user_id: form.get("ParentExternalUserId").and_then(user_id),
        username: form
            .get("ProfileUsername")
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty()),
        profile_name: form.get("ProfileName").map(str::to_owned),
    })
}

impl InboundMessage {
    pub fn from_form(form: &FormParams) -> Result<Self, WebhookError> {
        let message_sid = form.require("MessageSid")?;
        if !(is_sid(message_sid, "SM") || is_sid(message_sid, "MM")) {
            return Err(WebhookError::Invalid("MessageSid"));
        }
        let account_sid = form.require("AccountSid")?;
        // A number, or a WhatsApp user id (a user who hides their number behind a username).
        let from_param = form.require("From")?;
        let from = match PhoneNumber::parse_address(from_param) {
            Ok(phone) => Some(phone),
            Err(_) if user_id(from_param).is_some() => None,
            Err(_) => return Err(WebhookError::Invalid("From")),
        };
        let to = PhoneNumber::parse_address(form.require("To")?)
            .map_err(|_| WebhookError::Invalid("To"))?;
        let num_media: usize = match form.get("NumMedia") {
            None => 0,
            Some(n) => n
                .trim()
                .parse()
                .map_err(|_| WebhookError::Invalid("NumMedia"))?,
        };
        // WhatsApp carries at most one media per message; Twilio's limit for MMS is 10.
        if num_media > 10 {
            return Err(WebhookError::Invalid("NumMedia"));
        }
        let mut media = Vec::with_capacity(num_media);
        for i in 0..num_media {
            let url = form
                .get(&format!("MediaUrl{i}"))
                .ok_or(WebhookError::Missing("MediaUrl"))?;
            let content_type = form
                .get(&format!("MediaContentType{i}"))
                .unwrap_or("application/octet-stream");
            media.push(InboundMedia {
                url: url.to_owned(),
                content_type: content_type.to_owned(),
            });
        }
        let body = form.get("Body").unwrap_or_default().to_owned();
        let details = inbound_details(form, !body.trim().is_empty(), !media.is_empty());
        Ok(Self {
            message_sid: message_sid.to_owned(),
            account_sid: account_sid.to_owned(),
            from,
            to,
            messaging_service_sid: form
                .get("MessagingServiceSid")
                .filter(|sid| !sid.is_empty())
                .map(str::to_owned),
            body,
            media,
            profile_name: form.get("ProfileName").map(str::to_owned),
            opt_out_type: form.get("OptOutType").map(str::to_owned),
            details,
        })
    }
}

/// A status callback for a message the organization sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCallback {
    pub message_sid: String,
    pub account_sid: String,
    pub message_status: String,
    pub error_code: Option<u32>,
    pub error_message: Option<String>,
    /// What WhatsApp itself said about a failure (Meta's text), when Twilio passes it on.
    pub channel_status_message: Option<String>,
}

impl StatusCallback {
    pub fn from_form(form: &FormParams) -> Result<Self, WebhookError> {
        let message_sid = form
            .get("MessageSid")
            .or_else(|| form.get("SmsSid"))
            .ok_or(WebhookError::Missing("MessageSid"))?;
        if !(is_sid(message_sid, "SM") || is_sid(message_sid, "MM")) {
            return Err(WebhookError::Invalid("MessageSid"));
        }
        let message_status = form
            .get("MessageStatus")
            .or_else(|| form.get("SmsStatus"))
            .ok_or(WebhookError::Missing("MessageStatus"))?;
        let error_code = match form.get("ErrorCode") {
            None => None,
            Some(c) => Some(
                c.trim()
                    .parse()
                    .map_err(|_| WebhookError::Invalid("ErrorCode"))?,
            ),
        };
        Ok(Self {
            message_sid: message_sid.to_owned(),
            account_sid: form.require("AccountSid")?.to_owned(),
            message_status: message_status.to_owned(),
            error_code,
            error_message: form.get("ErrorMessage").map(str::to_owned),
            channel_status_message: form.get("ChannelStatusMessage").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Recorded from a Twilio WhatsApp inbound webhook (sids and numbers replaced).
    const INBOUND: &str = "SmsMessageSid=SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c&NumMedia=0&ProfileName=Aisha&MessageType=text&SmsSid=SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c&WaId=60123456789&SmsStatus=received&Body=Hello+there%21&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&MessageSid=SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c&AccountSid=AC0123456789abcdef0123456789abcdef&From=whatsapp%3A%2B60123456789&ApiVersion=2010-04-01";

    #[test]
    fn parses_a_recorded_inbound_text() {
        let form = FormParams::parse(INBOUND.as_bytes()).unwrap();
        let m = InboundMessage::from_form(&form).unwrap();
        assert_eq!(m.message_sid, "SM7b0b2e8b5b0a4b6f9f3c1d2e3f4a5b6c");
        assert_eq!(
            m.from.as_ref().map(PhoneNumber::as_str),
            Some("+60123456789")
        );
        assert_eq!(m.to.as_str(), "+14155238886");
        assert_eq!(m.body, "Hello there!");
        assert_eq!(m.profile_name.as_deref(), Some("Aisha"));
        assert!(m.media.is_empty());
        assert_eq!(form.pairs().len(), 15);
    }

    #[test]
    fn parses_inbound_media() {
        let body = INBOUND.replacen(
            "&NumMedia=0&",
            "&NumMedia=1&MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FMessages%2FMM1%2FMedia%2FME1&MediaContentType0=image%2Fjpeg&",
            1,
        );
        let m = InboundMessage::from_form(&FormParams::parse(body.as_bytes()).unwrap()).unwrap();
        assert_eq!(m.media.len(), 1);
        assert_eq!(m.media[0].content_type, "image/jpeg");
    }

    /// The recorded text message with some parameters replaced or added, as Twilio posts
    /// the other WhatsApp kinds.
    fn kind(changes: &[(&str, &str)]) -> InboundMessage {
        let mut pairs: Vec<(String, String)> = FormParams::parse(INBOUND.as_bytes()).unwrap().0;
        for (name, value) in changes {
            match pairs.iter_mut().find(|(k, _)| k == name) {
                Some(pair) => pair.1 = value.to_string(),
                None => pairs.push((name.to_string(), value.to_string())),
            }
        }
        InboundMessage::from_form(&FormParams::from_pairs(pairs)).unwrap()
    }

    #[test]
    fn every_whatsapp_kind_is_read_with_what_it_carries() {
        let location = kind(&[
            ("MessageType", "location"),
            ("Body", ""),
            ("Latitude", "3.139003"),
            ("Longitude", "101.686855"),
            ("Address", "Jalan Ampang, Kuala Lumpur"),
            ("Label", "KLCC"),
        ]);
        let l = location.details.location.clone().unwrap();
        assert_eq!(
            (l.latitude.as_str(), l.longitude.as_str()),
            ("3.139003", "101.686855")
        );
        assert_eq!(l.label.as_deref(), Some("KLCC"));
        assert_eq!(location.details.unsupported, None);

        let button = kind(&[
            ("MessageType", "button"),
            ("Body", "Yes, see you then"),
            ("ButtonText", "Yes, see you then"),
            ("ButtonPayload", "confirm"),
        ]);
        let b = button.details.button.clone().unwrap();
        assert_eq!(
            (b.text.as_str(), b.payload.as_deref()),
            ("Yes, see you then", Some("confirm"))
        );

        // A list item, and a button tap whose title only `Body` carries.
        let list = kind(&[
            ("MessageType", "interactive"),
            ("Body", "Tomorrow 9:00"),
            ("ListId", "slot-2"),
            ("ListTitle", "Tomorrow 9:00"),
        ]);
        let l = list.details.button.clone().unwrap();
        assert_eq!(
            (l.text.as_str(), l.payload.as_deref(), l.kind.as_deref()),
            ("Tomorrow 9:00", Some("slot-2"), Some("list"))
        );
        assert_eq!(list.details.unsupported, None);
        let untitled = kind(&[("Body", "Yes"), ("ButtonPayload", "yes")]);
        let u = untitled.details.button.unwrap();
        assert_eq!(
            (u.text.as_str(), u.payload.as_deref()),
            ("Yes", Some("yes"))
        );
        let list_without_title = kind(&[("Body", ""), ("ListId", "slot-3")]);
        assert_eq!(list_without_title.details.button.unwrap().text, "slot-3");

        let reply = kind(&[(
            "OriginalRepliedMessageSid",
            "SM00000000000000000000000000000042",
        )]);
        assert_eq!(
            reply.details.reply_to.unwrap().twilio_message_sid,
            "SM00000000000000000000000000000042"
        );

        let referral = kind(&[
            ("ReferralSourceUrl", "https://fb.me/ad/123"),
            ("ReferralHeadline", "Spring sale"),
            ("ReferralBody", "20% off everything"),
            ("ReferralSourceType", "ad"),
            (
                "ReferralMediaUrl",
                "https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1",
            ),
        ]);
        // Twilio's media URL needs the account's credentials: it never reaches a browser
        // (the raw parameters, which keep it, are left out of the view).
        let view = serde_json::to_string(&referral.details.for_view()).unwrap();
        assert!(!view.contains("api.twilio.com"), "{view}");
        let r = referral.details.referral.unwrap();
        assert_eq!(
            (r.headline.as_deref(), r.source_type.as_deref()),
            (Some("Spring sale"), Some("ad"))
        );

        let sticker = kind(&[
            ("MessageType", "sticker"),
            ("Body", ""),
            ("NumMedia", "1"),
            (
                "MediaUrl0",
                "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
            ),
            ("MediaContentType0", "image/webp"),
        ]);
        assert_eq!(sticker.media[0].content_type, "image/webp");
        assert_eq!(sticker.details.kind.as_deref(), Some("sticker"));
        assert_eq!(sticker.details.unsupported, None);

        for (changes, expected) in [
            (
                &[("MessageType", "unsupported"), ("Body", "")][..],
                "unsupported",
            ),
            (
                &[("MessageType", "interactive"), ("Body", "")][..],
                "interactive",
            ),
            (&[("MessageType", "reaction"), ("Body", "")][..], "reaction"),
        ] {
            assert_eq!(
                kind(changes).details.unsupported.as_deref(),
                Some(expected),
                "{changes:?}"
            );
        }
        // Every posted parameter is kept, the new ones included.
        let kept = kind(&[("SomethingNew", "42")]).details.params;
        assert!(kept.contains(&("SomethingNew".to_owned(), "42".to_owned())));
        assert_eq!(kept.len(), 16);
    }

    #[test]
    fn broken_parts_are_left_out_and_the_rest_kept() {
        let bad = kind(&[
            ("Body", "see you here"),
            ("Latitude", "95.0"),
            ("Longitude", "10"),
            ("ReferralHeadline", "no url"),
            ("ReferralSourceUrl", "javascript:alert(1)"),
            ("OriginalRepliedMessageSid", "not-a-sid"),
        ]);
        assert_eq!(bad.body, "see you here");
        assert_eq!(bad.details.location, None);
        assert_eq!(bad.details.referral, None);
        assert_eq!(bad.details.reply_to, None);
        assert_eq!(bad.details.unsupported, None, "the text is still shown");
        let empty = kind(&[("Body", ""), ("Latitude", "north"), ("Longitude", "east")]);
        assert_eq!(
            empty.details.unsupported.as_deref(),
            Some("text"),
            "nothing left to show"
        );
    }

    #[test]
    fn refuses_forms_without_the_essentials() {
        let without_sid = INBOUND
            .replace("MessageSid=", "Other=")
            .replace("SmsOther", "SmsMessageSid");
        let form = FormParams::parse(without_sid.as_bytes()).unwrap();
        assert_eq!(
            InboundMessage::from_form(&form),
            Err(WebhookError::Missing("MessageSid"))
        );
        let bad_from = INBOUND.replace("From=whatsapp%3A%2B60123456789", "From=whatsapp%3Aabc");
        assert_eq!(
            InboundMessage::from_form(&FormParams::parse(bad_from.as_bytes()).unwrap()),
            Err(WebhookError::Invalid("From"))
        );
        let bad_media = INBOUND.replace("NumMedia=0", "NumMedia=two");
        assert_eq!(
            InboundMessage::from_form(&FormParams::parse(bad_media.as_bytes()).unwrap()),
            Err(WebhookError::Invalid("NumMedia"))
        );
    }

    #[test]
    fn parses_a_failed_status_callback() {
        let body = "ErrorCode=63016&MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=undelivered&AccountSid=AC0123456789abcdef0123456789abcdef&From=whatsapp%3A%2B14155238886&To=whatsapp%3A%2B60123456789&ApiVersion=2010-04-01&ChannelPrefix=whatsapp";
        let cb = StatusCallback::from_form(&FormParams::parse(body.as_bytes()).unwrap()).unwrap();
        assert_eq!(cb.message_status, "undelivered");
        assert_eq!(cb.error_code, Some(63016));
    }

    #[test]
    fn repeated_names_are_kept_for_the_signature() {
        let form = FormParams::parse(b"A=1&A=2&B=").unwrap();
        assert_eq!(form.pairs().len(), 3);
        assert_eq!(form.get("A"), Some("1"));
        assert_eq!(form.get("B"), None);
    }
}
