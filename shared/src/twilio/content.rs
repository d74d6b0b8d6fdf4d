//! Twilio's Content API: an account's templates and their WhatsApp approval
//! (`GET /v1/ContentAndApprovals`, paged by `meta.next_page_url`).
//!
//! Only templates whose WhatsApp approval `status` is `approved` are offered — nothing is
//! guessed from names — and only of the types WhatsApp templates use.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::TwilioError;
use crate::domain::{OrgConfig, Template, TemplateAction, is_content_sid};

/// The Content types a WhatsApp template can be, most specific first.
pub const WHATSAPP_TYPES: [&str; 5] = [
    "twilio/card",
    "twilio/call-to-action",
    "twilio/quick-reply",
    "twilio/media",
    "twilio/text",
];

/// One page of `ContentAndApprovals`.
#[derive(Debug, Deserialize)]
pub struct ContentPage {
    pub contents: Vec<Value>,
    pub meta: PageMeta,
}

#[derive(Debug, Deserialize)]
pub struct PageMeta {
    #[serde(default)]
    pub next_page_url: Option<String>,
}

impl super::client::TwilioClient {
    /// Every approved WhatsApp template of the account, all pages of Twilio's
    /// `ContentAndApprovals`. The credentials go only to the Content API's own origin: a
    /// next page elsewhere is an error, never followed.
    pub async fn templates(&self, config: &OrgConfig) -> Result<Vec<Template>, TwilioError> {
        let list = super::pages::ListRead {
            base: &self.content_base_url,
            first_page: format!(
                "{}/v1/ContentAndApprovals?PageSize={}",
                self.content_base_url, self.content_page_size
            ),
            max_pages: super::client::MAX_CONTENT_PAGES,
            timeout: None,
            what: "templates",
        };
        self.read_pages(config, list, |page: ContentPage, templates| {
            templates.extend(page.contents.iter().filter_map(approved_template));
            page.meta.next_page_url
        })
        .await
    }
}

/// The WhatsApp approval of a content: `approval_requests.whatsapp` in the current API,
/// `approval_requests` itself in older answers.
fn whatsapp_approval(content: &Value) -> Option<&Value> {
    let approval = content.get("approval_requests")?;
    match approval.get("whatsapp") {
        Some(whatsapp) if whatsapp.is_object() => Some(whatsapp),
        _ => Some(approval),
    }
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.is_empty())
}

fn actions(body: &Value) -> Vec<TemplateAction> {
    body.get("actions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|action| {
            let title = text(action, "title")?;
            let kind = text(action, "type").unwrap_or_else(|| "QUICK_REPLY".into());
            let value = ["url", "phone", "code"]
                .iter()
                .find_map(|key| text(action, key));
            Some(TemplateAction { kind, title, value })
        })
        .collect()
}

/// A content as a template the organization may send, if WhatsApp approved it.
pub fn approved_template(content: &Value) -> Option<Template> {
    let approval = whatsapp_approval(content)?;
    if approval.get("status").and_then(Value::as_str) != Some("approved") {
        return None;
    }
    let content_sid = text(content, "sid").filter(|s| is_content_sid(s))?;
    let types = content.get("types")?.as_object()?;
    // The type WhatsApp approved, when it says; else the richest one it can be.
    let approved_type = text(approval, "content_type").filter(|t| types.contains_key(t));
    let content_type = approved_type.or_else(|| {
        WHATSAPP_TYPES
            .iter()
            .find(|t| types.contains_key(**t))
            .map(|t| (*t).to_owned())
    })?;
    if !WHATSAPP_TYPES.contains(&content_type.as_str()) {
        return None;
    }
    let shape = types.get(&content_type)?;
    let body = match content_type.as_str() {
        // A card has a title and an optional subtitle instead of a body.
        "twilio/card" => [text(shape, "title"), text(shape, "subtitle")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("\n"),
        _ => text(shape, "body").unwrap_or_default(),
    };
    let media = shape
        .get("media")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    let variables: BTreeMap<String, String> = content
        .get("variables")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, sample)| {
            let sample = match sample {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), sample)
        })
        .collect();
    Some(Template {
        content_sid,
        name: text(content, "friendly_name")
            .or_else(|| text(approval, "name"))
            .unwrap_or_default(),
        language: text(content, "language").unwrap_or_default(),
        category: text(approval, "category").unwrap_or_default(),
        content_type,
        body,
        variables,
        media,
        actions: actions(shape),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Shaped like Twilio's reference answers for `ContentAndApprovals`.
    fn page() -> ContentPage {
        serde_json::from_value(json!({
            "contents": [
                {
                    "sid": "HX5fcd48a417c1cb59da349ad6d5da4607",
                    "account_sid": "AC25c0d4b9093547216c460212e24e77ee",
                    "friendly_name": "Media Test",
                    "language": "en",
                    "date_created": "2023-01-13T23:33:46Z",
                    "date_updated": "2023-01-13T23:33:46Z",
                    "variables": {"1": "name", "2": "typedocument"},
                    "types": {"twilio/media": {
                        "body": "{{1}}, Congratulations {{2}}! For additional assistance, please contact us at hello@twilio.com",
                        "media": ["https://example.com/template.pdf"]
                    }},
                    "approval_requests": {
                        "category": "TRANSACTIONAL", "status": "approved", "rejection_reason": "",
                        "name": "Media Test", "content_type": "twilio/media", "allow_category_change": false
                    }
                },
                {
                    "sid": "HX15c711fcc6d9ea5268d7ab77938a20ff",
                    "friendly_name": "Video Highlights",
                    "language": "en",
                    "variables": {"1": "name"},
                    "types": {"twilio/media": {"body": "Hi there, {{1}}", "media": ["http://example.com/highlights.mp4"]}},
                    "approval_requests": {"whatsapp": {
                        "type": "whatsapp", "category": "UTILITY", "status": "rejected",
                        "rejection_reason": "INVALID_FORMAT", "name": "video_highlights",
                        "content_type": "twilio/media"
                    }}
                },
                {
                    "sid": "HXb5b62575e6e4ff6129ad7c8efe1f983e",
                    "friendly_name": "flight_replies",
                    "language": "en",
                    "variables": {"1": "Owl Air Customer"},
                    "types": {
                        "twilio/text": {"body": "Hi {{1}}, thanks for contacting Owl Air."},
                        "twilio/quick-reply": {
                            "body": "Hi {{1}}, thanks for contacting Owl Air. How can we help?",
                            "actions": [
                                {"title": "Check flight status", "id": "flightid1"},
                                {"title": "Talk to an agent", "id": "agent"}
                            ]
                        }
                    },
                    "approval_requests": {"whatsapp": {
                        "type": "whatsapp", "category": "UTILITY", "status": "approved",
                        "name": "flight_replies", "content_type": "twilio/quick-reply",
                        "rejection_reason": "", "allow_category_change": true
                    }}
                },
                {
                    "sid": "HX1234567890abcdef1234567890abcdef",
                    "friendly_name": "order_card",
                    "language": "en",
                    "variables": {},
                    "types": {"twilio/card": {
                        "title": "Your order is on its way",
                        "subtitle": "Tap to track it",
                        "media": ["https://example.com/box.png"],
                        "actions": [{"type": "URL", "title": "Track", "url": "https://example.com/t"}]
                    }},
                    "approval_requests": {"whatsapp": {"status": "approved", "category": "UTILITY"}}
                },
                {
                    "sid": "HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    "friendly_name": "Some content",
                    "language": "en",
                    "types": {"twilio/location": {"latitude": 39.7, "longitude": 104.9, "label": "Foo"}},
                    "approval_requests": {"status": "approved"}
                },
                {"sid": "HXbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "types": {"twilio/text": {"body": "x"}},
                 "approval_requests": {"status": "unsubmitted"}},
                {"sid": "not-a-sid", "types": {"twilio/text": {"body": "x"}},
                 "approval_requests": {"status": "approved"}}
            ],
            "meta": {
                "page": 0, "page_size": 20, "key": "contents",
                "first_page_url": "https://content.twilio.com/v1/ContentAndApprovals?PageSize=20&Page=0",
                "url": "https://content.twilio.com/v1/ContentAndApprovals?PageSize=20&Page=0",
                "previous_page_url": null,
                "next_page_url": "https://content.twilio.com/v1/ContentAndApprovals?PageSize=20&Page=1&PageToken=PT1"
            }
        }))
        .unwrap()
    }

    #[test]
    fn only_approved_whatsapp_templates_are_offered() {
        let page = page();
        let names: Vec<String> = page
            .contents
            .iter()
            .filter_map(approved_template)
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["Media Test", "flight_replies", "order_card"]);
        assert_eq!(
            page.meta.next_page_url.as_deref(),
            Some(
                "https://content.twilio.com/v1/ContentAndApprovals?PageSize=20&Page=1&PageToken=PT1"
            )
        );
    }

    #[test]
    fn each_type_is_read_with_its_body_media_and_buttons() {
        let page = page();
        let templates: Vec<Template> = page.contents.iter().filter_map(approved_template).collect();
        let media = &templates[0];
        assert_eq!(media.content_type, "twilio/media");
        assert_eq!(media.category, "TRANSACTIONAL");
        assert_eq!(media.media, ["https://example.com/template.pdf"]);
        assert_eq!(media.variables["2"], "typedocument");
        assert_eq!(media.placeholders(), ["1", "2"]);

        let quick = &templates[1];
        assert_eq!(
            quick.content_type, "twilio/quick-reply",
            "the approved type wins"
        );
        assert_eq!(
            quick.body,
            "Hi {{1}}, thanks for contacting Owl Air. How can we help?"
        );
        assert_eq!(
            quick
                .actions
                .iter()
                .map(|a| a.title.as_str())
                .collect::<Vec<_>>(),
            ["Check flight status", "Talk to an agent"]
        );
        assert_eq!(quick.actions[0].kind, "QUICK_REPLY");

        let card = &templates[2];
        assert_eq!(card.content_type, "twilio/card");
        assert_eq!(card.body, "Your order is on its way\nTap to track it");
        assert_eq!(
            card.actions[0].value.as_deref(),
            Some("https://example.com/t")
        );
        assert!(card.placeholders().is_empty());
    }
}
