//! What a send carries (free-form content or an approved template) and Twilio's answer.

use serde::Deserialize;

use crate::domain::{OrgConfig, PhoneNumber};

/// What a message carries: free-form content inside the 24-hour window, or an approved
/// template (Content API) outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundContent {
    FreeForm {
        body: Option<String>,
        media_url: Option<String>,
    },
    Template {
        content_sid: String,
        /// JSON object of template variables, as Twilio's `ContentVariables` takes it.
        content_variables: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub to: PhoneNumber,
    pub content: OutboundContent,
    pub status_callback: Option<String>,
}

impl OutboundMessage {
    /// The Messages API form: the organization's sender (its Messaging Service or its
    /// number), `whatsapp:` addresses, and only the fields that are set.
    pub fn form(&self, config: &OrgConfig) -> Vec<(&'static str, String)> {
        let mut form = config.sender_params();
        form.push(("To", self.to.whatsapp_address()));
        match &self.content {
            OutboundContent::FreeForm { body, media_url } => {
                if let Some(body) = body {
                    form.push(("Body", body.clone()));
                }
                if let Some(url) = media_url {
                    form.push(("MediaUrl", url.clone()));
                }
            }
            OutboundContent::Template {
                content_sid,
                content_variables,
            } => {
                form.push(("ContentSid", content_sid.clone()));
                if let Some(vars) = content_variables {
                    form.push(("ContentVariables", vars.clone()));
                }
            }
        }
        if let Some(cb) = &self.status_callback {
            form.push(("StatusCallback", cb.clone()));
        }
        form
    }
}

/// Twilio's answer to an accepted message (the fields we keep).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentMessage {
    pub sid: String,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to() -> PhoneNumber {
        PhoneNumber::parse_e164("+60123456789").unwrap()
    }

    fn config(secret: serde_json::Value) -> OrgConfig {
        match crate::domain::parse_org_secret(&secret.to_string()) {
            crate::domain::ChannelConfig::Configured(c) => c,
            crate::domain::ChannelConfig::NotConfigured { why } => panic!("{why}"),
        }
    }

    fn numbered() -> OrgConfig {
        config(serde_json::json!({
            "twilio_account_sid": crate::testing::ACCOUNT_SID,
            "twilio_auth_token": "t",
            "twilio_whatsapp_from": "whatsapp:+14155238886",
            "whatsapp_enabled": true,
        }))
    }

    #[test]
    fn free_form_adds_whatsapp_prefixes_and_only_set_fields() {
        let m = OutboundMessage {
            to: to(),
            content: OutboundContent::FreeForm {
                body: Some("Hi".into()),
                media_url: None,
            },
            status_callback: Some("https://x/status?message_id=1".into()),
        };
        assert_eq!(
            m.form(&numbered()),
            vec![
                ("From", "whatsapp:+14155238886".to_owned()),
                ("To", "whatsapp:+60123456789".to_owned()),
                ("Body", "Hi".to_owned()),
                ("StatusCallback", "https://x/status?message_id=1".to_owned()),
            ]
        );
        // With a Messaging Service, the service instead of From: Twilio picks the sender.
        let service = config(serde_json::json!({
            "twilio_account_sid": crate::testing::ACCOUNT_SID,
            "twilio_auth_token": "t",
            "twilio_whatsapp_from": "whatsapp:+14155238886",
            "twilio_messaging_service_sid": "MG0123456789abcdef0123456789abcdef",
            "whatsapp_enabled": true,
        }));
        let form = m.form(&service);
        assert_eq!(
            form[..2],
            [
                (
                    "MessagingServiceSid",
                    "MG0123456789abcdef0123456789abcdef".to_owned()
                ),
                ("To", "whatsapp:+60123456789".to_owned()),
            ]
        );
        assert!(!form.iter().any(|(k, _)| *k == "From"));
    }

    #[test]
    fn template_sends_content_sid_and_variables() {
        let m = OutboundMessage {
            to: to(),
            content: OutboundContent::Template {
                content_sid: "HX0123".into(),
                content_variables: Some(r#"{"1":"Aisha"}"#.into()),
            },
            status_callback: None,
        };
        let form = m.form(&numbered());
        assert!(form.contains(&("ContentSid", "HX0123".to_owned())));
        assert!(form.contains(&("ContentVariables", r#"{"1":"Aisha"}"#.to_owned())));
        assert!(!form.iter().any(|(k, _)| *k == "Body"));
    }
}
