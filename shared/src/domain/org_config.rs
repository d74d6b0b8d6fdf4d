//! An organization's Twilio configuration, as stored in its secret.

use secrecy::SecretString;
use serde::Deserialize;

use super::PhoneNumber;

/// A usable configuration. The auth token is a `SecretString`: its Debug prints nothing,
/// and it has no Serialize, so it cannot end up in a response or a log line by accident.
#[derive(Debug, Clone)]
pub struct OrgConfig {
    pub account_sid: String,
    /// Signs Twilio's webhooks (and this service's media links); also the REST credential
    /// when there is no API key.
    pub auth_token: SecretString,
    /// `twilio_auth_token_secondary`: a second token webhooks and media links may be signed
    /// with while a token is rotated (Twilio's secondary token, promoted in its console
    /// before the secret names it as primary). Never used to sign or to call Twilio.
    pub auth_token_secondary: Option<SecretString>,
    /// The REST credential when the secret names one: rotated or revoked in Twilio's console
    /// without touching the webhooks' auth token.
    pub api_key: Option<ApiKey>,
    /// `twilio_whatsapp_from`: the organization's WhatsApp number. None when the secret names
    /// only a Messaging Service.
    pub whatsapp_from: Option<PhoneNumber>,
    /// `twilio_messaging_service_sid`: sends name the service (`MessagingServiceSid`) and
    /// Twilio picks the sender from its pool (sticky sender, failover, the service's
    /// features); inbound to any of its senders is the organization's.
    pub messaging_service_sid: Option<String>,
    /// How long the organization keeps its messages and their media (`message_retention_days`;
    /// None: for ever). One of `RETENTION_DAYS`, each an S3 lifecycle rule of the bucket.
    pub message_retention_days: Option<u32>,
    /// `send_read_receipts` (default true): opening a conversation tells WhatsApp its
    /// messages were read (blue ticks), and typing shows "typing…" to the contact.
    pub send_read_receipts: bool,
}

/// The retention periods an organization may choose: the media bucket has one lifecycle rule
/// per value (objects tagged `whatsapp-retention=<days>`), which S3 needs fixed in advance.
pub const RETENTION_DAYS: [u32; 8] = [30, 90, 180, 365, 730, 1095, 1825, 2555];

/// The S3 object tag that puts a stored file under its organization's retention rule.
pub const RETENTION_TAG: &str = "whatsapp-retention";

/// A Twilio API key (`SK` and 32 hex digits) and its secret: HTTP Basic for REST calls.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub sid: String,
    pub secret: SecretString,
}

impl OrgConfig {
    /// The tokens a signature from Twilio (or on this service's media links) may be made
    /// with: the primary, then the secondary if there is one.
    pub fn signing_tokens(&self) -> impl Iterator<Item = &SecretString> {
        std::iter::once(&self.auth_token).chain(self.auth_token_secondary.as_ref())
    }

    /// Who REST calls (Messages, Content API, media, indicators) authenticate as, HTTP Basic:
    /// the API key when there is one, else the account sid and its auth token. The account
    /// sid stays in the URLs either way.
    pub fn rest_credentials(&self) -> (&str, &SecretString) {
        match &self.api_key {
            Some(key) => (&key.sid, &key.secret),
            None => (&self.account_sid, &self.auth_token),
        }
    }

    /// Who a send goes out as, in the Messages API's terms: the Messaging Service when the
    /// secret names one (Twilio picks its sender; `twilio_whatsapp_from`, if also set, is not
    /// sent, so the pool's failover stays Twilio's), else the organization's number.
    pub fn sender_params(&self) -> Vec<(&'static str, String)> {
        match (&self.messaging_service_sid, &self.whatsapp_from) {
            (Some(service), _) => vec![("MessagingServiceSid", service.clone())],
            (None, Some(from)) => vec![("From", from.whatsapp_address())],
            // parse_org_secret never makes a config with neither.
            (None, None) => Vec::new(),
        }
    }

    /// Whether a message Twilio delivered to `to` (through `messaging_service_sid`, which
    /// Twilio names when the receiving sender belongs to a service) is the organization's:
    /// its own number, or any sender of its Messaging Service.
    pub fn receives_at(&self, to: &PhoneNumber, messaging_service_sid: Option<&str>) -> bool {
        self.whatsapp_from.as_ref() == Some(to)
            || (self.messaging_service_sid.is_some()
                && self.messaging_service_sid.as_deref() == messaging_service_sid)
    }

    /// Whether a message of the account's Messages list went out from the organization:
    /// through its Messaging Service, or from its number.
    pub fn sent_from(&self, from: Option<&str>, messaging_service_sid: Option<&str>) -> bool {
        let from_number = from
            .and_then(|f| PhoneNumber::parse_address(f).ok())
            .is_some_and(|f| self.whatsapp_from.as_ref() == Some(&f));
        from_number
            || (self.messaging_service_sid.is_some()
                && self.messaging_service_sid.as_deref() == messaging_service_sid)
    }

    /// When a message created at `created_at` (and its files) expires under the
    /// organization's retention; None when it keeps messages for ever.
    pub fn message_expiry(
        &self,
        created_at: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.message_retention_days
            .map(|days| created_at + chrono::Duration::days(i64::from(days)))
    }
}

/// What the channel route and the send path need to know about an organization.
#[derive(Debug, Clone)]
pub enum ChannelConfig {
    Configured(OrgConfig),
    /// Missing secret, missing field or disabled. `why` is for the operator's log only; it
    /// never contains secret material.
    NotConfigured {
        why: String,
    },
}

impl ChannelConfig {
    pub fn not_configured(why: impl Into<String>) -> Self {
        Self::NotConfigured { why: why.into() }
    }
}

#[derive(Deserialize)]
struct SecretDocument {
    twilio_account_sid: Option<String>,
    twilio_auth_token: Option<String>,
    #[serde(default)]
    twilio_auth_token_secondary: Option<String>,
    #[serde(default)]
    twilio_api_key_sid: Option<String>,
    #[serde(default)]
    twilio_api_key_secret: Option<String>,
    twilio_whatsapp_from: Option<String>,
    #[serde(default)]
    twilio_messaging_service_sid: Option<String>,
    whatsapp_enabled: Option<serde_json::Value>,
    #[serde(default)]
    message_retention_days: Option<serde_json::Value>,
    #[serde(default)]
    send_read_receipts: Option<serde_json::Value>,
}

/// `AC` and 32 hex digits: the shape of every Twilio account sid.
pub fn is_account_sid(sid: &str) -> bool {
    sid.len() == 34 && sid.starts_with("AC") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `SK` and 32 hex digits: the shape of a Twilio API key sid.
pub fn is_api_key_sid(sid: &str) -> bool {
    sid.len() == 34 && sid.starts_with("SK") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// `MG` and 32 hex digits: the shape of a Twilio Messaging Service sid.
pub fn is_messaging_service_sid(sid: &str) -> bool {
    sid.len() == 34 && sid.starts_with("MG") && sid[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Who the organization sends as: its number, its Messaging Service, or both (empty values,
/// as CloudFormation writes unset parameters, are none); the reason when neither is set or
/// one is malformed.
fn senders(
    from: Option<String>,
    service: Option<String>,
) -> Result<(Option<PhoneNumber>, Option<String>), &'static str> {
    let present = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let whatsapp_from = match present(from) {
        None => None,
        Some(from) => Some(
            PhoneNumber::parse_address(&from)
                .map_err(|_| "twilio_whatsapp_from is not an E.164 number")?,
        ),
    };
    let service = present(service);
    if service
        .as_deref()
        .is_some_and(|s| !is_messaging_service_sid(s))
    {
        return Err("twilio_messaging_service_sid is not an MG… Messaging Service sid");
    }
    if whatsapp_from.is_none() && service.is_none() {
        return Err("neither twilio_whatsapp_from nor twilio_messaging_service_sid is set");
    }
    Ok((whatsapp_from, service))
}

/// The API key of the secret: none when neither field is set (or both are empty, as
/// CloudFormation writes unset parameters); the reason when only one is, or the sid is not
/// one.
fn api_key(sid: Option<String>, secret: Option<String>) -> Result<Option<ApiKey>, &'static str> {
    let sid = sid.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let secret = secret
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty());
    match (sid, secret) {
        (None, None) => Ok(None),
        (Some(_), None) => Err("twilio_api_key_sid is set but twilio_api_key_secret is missing"),
        (None, Some(_)) => Err("twilio_api_key_secret is set but twilio_api_key_sid is missing"),
        (Some(sid), Some(_)) if !is_api_key_sid(&sid) => {
            Err("twilio_api_key_sid is not an SK… API key sid")
        }
        (Some(sid), Some(secret)) => Ok(Some(ApiKey {
            sid,
            secret: SecretString::from(secret),
        })),
    }
}

/// Reads the secret's JSON. Anything short of a complete, enabled configuration is "not
/// configured", with the reason (never a value) for the log.
pub fn parse_org_secret(json: &str) -> ChannelConfig {
    let doc: SecretDocument = match serde_json::from_str(json) {
        Ok(doc) => doc,
        Err(_) => {
            return ChannelConfig::not_configured(
                "secret is not a JSON object of the expected shape",
            );
        }
    };
    if flag(doc.whatsapp_enabled.as_ref(), false) != Some(true) {
        return ChannelConfig::not_configured("whatsapp_enabled is not true");
    }
    let Some(account_sid) = doc.twilio_account_sid.map(|s| s.trim().to_owned()) else {
        return ChannelConfig::not_configured("twilio_account_sid is missing");
    };
    if !is_account_sid(&account_sid) {
        return ChannelConfig::not_configured("twilio_account_sid is not an AC… account sid");
    }
    let Some(auth_token) = doc.twilio_auth_token.map(|t| t.trim().to_owned()) else {
        return ChannelConfig::not_configured("twilio_auth_token is missing");
    };
    if auth_token.is_empty() {
        return ChannelConfig::not_configured("twilio_auth_token is empty");
    }
    // Empty (a CloudFormation parameter left blank) is none.
    let auth_token_secondary = doc
        .twilio_auth_token_secondary
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && *t != auth_token)
        .map(SecretString::from);
    let api_key = match api_key(doc.twilio_api_key_sid, doc.twilio_api_key_secret) {
        Ok(key) => key,
        Err(why) => return ChannelConfig::not_configured(why),
    };
    let (whatsapp_from, messaging_service_sid) =
        match senders(doc.twilio_whatsapp_from, doc.twilio_messaging_service_sid) {
            Ok(senders) => senders,
            Err(why) => return ChannelConfig::not_configured(why),
        };
    // A number or its text (CloudFormation writes parameters as text); empty or null: none.
    let message_retention_days = match &doc.message_retention_days {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(value) => {
            let days = match value {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match days.and_then(|d| u32::try_from(d).ok()) {
                Some(d) if RETENTION_DAYS.contains(&d) => Some(d),
                _ => {
                    return ChannelConfig::not_configured(format!(
                        "message_retention_days must be one of {RETENTION_DAYS:?}"
                    ));
                }
            }
        }
    };
    let Some(send_read_receipts) = flag(doc.send_read_receipts.as_ref(), true) else {
        return ChannelConfig::not_configured("send_read_receipts is neither true nor false");
    };
    ChannelConfig::Configured(OrgConfig {
        account_sid,
        auth_token: SecretString::from(auth_token),
        auth_token_secondary,
        api_key,
        whatsapp_from,
        messaging_service_sid,
        message_retention_days,
        send_read_receipts,
    })
}

/// A yes/no setting: a boolean or its text (CloudFormation writes parameters as text);
/// absent, null or empty is `default`; anything else None.
fn flag(value: Option<&serde_json::Value>, default: bool) -> Option<bool> {
    match value {
        None | Some(serde_json::Value::Null) => Some(default),
        Some(serde_json::Value::Bool(b)) => Some(*b),
        Some(serde_json::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Some(default),
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";

    fn secret(enabled: &str, from: &str) -> String {
        format!(
            r#"{{"twilio_account_sid":"{SID}","twilio_auth_token":"tok3n","twilio_whatsapp_from":"{from}","whatsapp_enabled":{enabled}}}"#
        )
    }

    #[test]
    fn complete_enabled_secret_is_configured_with_or_without_prefix() {
        for from in ["+14155238886", "whatsapp:+14155238886"] {
            let ChannelConfig::Configured(c) = parse_org_secret(&secret("true", from)) else {
                panic!("expected configured for {from}");
            };
            assert_eq!(c.account_sid, SID);
            assert_eq!(c.auth_token.expose_secret(), "tok3n");
            assert_eq!(c.whatsapp_from.as_ref().unwrap().as_str(), "+14155238886");
            assert_eq!(c.messaging_service_sid, None);
            assert!(
                !format!("{c:?}").contains("tok3n"),
                "Debug must not print the token"
            );
        }
    }

    #[test]
    fn read_receipts_are_on_unless_the_secret_turns_them_off() {
        let with = |value: &str| {
            let json = secret("true", "+14155238886")
                .replace('}', &format!(r#","send_read_receipts":{value}}}"#));
            parse_org_secret(&json)
        };
        let ChannelConfig::Configured(c) = parse_org_secret(&secret("true", "+14155238886")) else {
            panic!()
        };
        assert!(c.send_read_receipts, "on when the secret says nothing");
        for (value, expected) in [
            ("true", true),
            ("false", false),
            ("\"false\"", false),
            ("\" TRUE \"", true),
            ("\"\"", true),
            ("null", true),
        ] {
            let ChannelConfig::Configured(c) = with(value) else {
                panic!("{value} should be accepted")
            };
            assert_eq!(c.send_read_receipts, expected, "{value}");
        }
        for value in ["\"no\"", "1", "[]"] {
            let ChannelConfig::NotConfigured { why } = with(value) else {
                panic!("{value} should be refused")
            };
            assert_eq!(why, "send_read_receipts is neither true nor false");
        }
    }

    #[test]
    fn a_retention_period_is_one_the_bucket_has_a_rule_for() {
        let with = |days: &str| {
            let json = secret("true", "+14155238886")
                .replace('}', &format!(r#","message_retention_days":{days}}}"#));
            parse_org_secret(&json)
        };
        for (days, expected) in [
            ("90", Some(90)),
            ("\"365\"", Some(365)),
            ("null", None),
            ("\"\"", None),
        ] {
            let ChannelConfig::Configured(c) = with(days) else {
                panic!("{days} should be accepted")
            };
            assert_eq!(c.message_retention_days, expected, "{days}");
        }
        for days in ["7", "-30", "90.5", "\"soon\"", "true", "100000000000"] {
            let ChannelConfig::NotConfigured { why } = with(days) else {
                panic!("{days} should be refused")
            };
            assert!(
                why.starts_with("message_retention_days must be one of"),
                "{why}"
            );
        }
        let ChannelConfig::Configured(c) = with("30") else {
            panic!()
        };
        let t = chrono::Utc::now();
        assert_eq!(c.message_expiry(t), Some(t + chrono::Duration::days(30)));
        let ChannelConfig::Configured(none) = parse_org_secret(&secret("true", "+14155238886"))
        else {
            panic!()
        };
        assert_eq!(none.message_expiry(t), None);
    }

    #[test]
    fn an_api_key_is_the_rest_credential_and_the_auth_token_still_signs_webhooks() {
        const KEY: &str = "SK0123456789abcdef0123456789abcdef";
        let with = |fields: &str| {
            parse_org_secret(&secret("true", "+14155238886").replace('}', &format!(",{fields}}}")))
        };
        let ChannelConfig::Configured(c) = with(&format!(
            r#""twilio_api_key_sid":" {KEY} ","twilio_api_key_secret":"k3y-secret""#
        )) else {
            panic!("a complete key is accepted")
        };
        let (user, password) = c.rest_credentials();
        assert_eq!((user, password.expose_secret()), (KEY, "k3y-secret"));
        assert_eq!(c.auth_token.expose_secret(), "tok3n");
        assert!(!format!("{c:?}").contains("k3y-secret"));
        // Without one (or with both empty, as CloudFormation writes unset parameters): the
        // account sid and its auth token.
        for fields in [
            r#""twilio_api_key_sid":null"#,
            r#""twilio_api_key_sid":"","twilio_api_key_secret":"""#,
        ] {
            let ChannelConfig::Configured(c) = with(fields) else {
                panic!("{fields}")
            };
            let (user, password) = c.rest_credentials();
            assert_eq!((user, password.expose_secret()), (SID, "tok3n"));
        }
        for (fields, why) in [
            (
                format!(r#""twilio_api_key_sid":"{KEY}""#),
                "twilio_api_key_sid is set but twilio_api_key_secret is missing",
            ),
            (
                r#""twilio_api_key_secret":"k3y-secret""#.to_owned(),
                "twilio_api_key_secret is set but twilio_api_key_sid is missing",
            ),
            (
                format!(r#""twilio_api_key_sid":"{SID}","twilio_api_key_secret":"k3y-secret""#),
                "twilio_api_key_sid is not an SK… API key sid",
            ),
        ] {
            let ChannelConfig::NotConfigured { why: got } = with(&fields) else {
                panic!("{fields} should be refused")
            };
            assert_eq!(got, why);
        }
    }

    #[test]
    fn a_messaging_service_sends_instead_of_the_number_and_receives_on_any_of_its_senders() {
        const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";
        let number = PhoneNumber::parse_e164("+14155238886").unwrap();
        let pool_sender = PhoneNumber::parse_e164("+447911123456").unwrap();
        let service_only = format!(
            r#"{{"twilio_account_sid":"{SID}","twilio_auth_token":"tok3n","twilio_messaging_service_sid":" {SERVICE} ","twilio_whatsapp_from":"","whatsapp_enabled":true}}"#
        );
        let ChannelConfig::Configured(c) = parse_org_secret(&service_only) else {
            panic!("a service alone is a sender")
        };
        assert_eq!(c.whatsapp_from, None);
        assert_eq!(
            c.sender_params(),
            vec![("MessagingServiceSid", SERVICE.to_owned())]
        );
        assert!(c.receives_at(&pool_sender, Some(SERVICE)));
        assert!(!c.receives_at(&pool_sender, None));
        assert!(!c.receives_at(&pool_sender, Some("MG0000000000000000000000000000000f")));
        assert!(c.sent_from(Some("whatsapp:+447911123456"), Some(SERVICE)));
        assert!(!c.sent_from(Some("whatsapp:+447911123456"), None));

        // Beside the number: sends still name the service; inbound to the number counts too.
        let both = secret("true", "+14155238886").replace(
            '}',
            &format!(r#","twilio_messaging_service_sid":"{SERVICE}"}}"#),
        );
        let ChannelConfig::Configured(c) = parse_org_secret(&both) else {
            panic!("both are accepted")
        };
        assert_eq!(
            c.sender_params(),
            vec![("MessagingServiceSid", SERVICE.to_owned())]
        );
        assert!(c.receives_at(&number, None));
        assert!(c.receives_at(&pool_sender, Some(SERVICE)));
        assert!(c.sent_from(Some("whatsapp:+14155238886"), None));

        // The number alone: From, and only that number.
        let ChannelConfig::Configured(c) = parse_org_secret(&secret("true", "+14155238886")) else {
            panic!()
        };
        assert_eq!(
            c.sender_params(),
            vec![("From", "whatsapp:+14155238886".to_owned())]
        );
        assert!(!c.receives_at(&pool_sender, Some(SERVICE)));

        for (json, why) in [
            (
                service_only.replace(SERVICE, "MG123"),
                "twilio_messaging_service_sid is not an MG… Messaging Service sid",
            ),
            (
                service_only.replace(SERVICE, &SID.replace("AC", "MG").replace('a', "z")),
                "twilio_messaging_service_sid is not an MG… Messaging Service sid",
            ),
            (
                service_only.replace(SERVICE, ""),
                "neither twilio_whatsapp_from nor twilio_messaging_service_sid is set",
            ),
        ] {
            let ChannelConfig::NotConfigured { why: got } = parse_org_secret(&json) else {
                panic!("{json} should be refused")
            };
            assert_eq!(got, why);
        }
    }

    #[test]
    fn disabled_incomplete_or_malformed_is_not_configured() {
        let cases = [
            secret("false", "+14155238886"),
            secret("\"no\"", "+14155238886"),
            secret("true", "not-a-number"),
            r#"{"twilio_auth_token":"x","twilio_whatsapp_from":"+14155238886","whatsapp_enabled":true}"#.into(),
            format!(r#"{{"twilio_account_sid":"{SID}","twilio_whatsapp_from":"+14155238886","whatsapp_enabled":true}}"#),
            format!(r#"{{"twilio_account_sid":"{SID}","twilio_auth_token":"x","whatsapp_enabled":true}}"#),
            r#"{"twilio_account_sid":"XX1","twilio_auth_token":"x","twilio_whatsapp_from":"+14155238886","whatsapp_enabled":true}"#.into(),
            "not json".into(),
            "[]".into(),
        ];
        for json in cases {
            match parse_org_secret(&json) {
                ChannelConfig::NotConfigured { why } => {
                    assert!(!why.contains("tok3n"));
                }
                ChannelConfig::Configured(_) => panic!("{json} should not be configured"),
            }
        }
    }
}
