//! Approved WhatsApp templates (Twilio Content API): what one offers, the variables a send
//! must fill, WhatsApp's rules for their values, and the text the contact receives.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::MessageType;

/// The longest value of one variable. WhatsApp caps a template body at 1,024 characters;
/// no single value can be longer than that.
pub const MAX_VARIABLE_CHARS: usize = 1024;

/// One approved template of an organization, as the picker shows it and a send checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// `HX` + 32 hex digits.
    pub content_sid: String,
    pub name: String,
    pub language: String,
    /// WhatsApp's category: `UTILITY`, `MARKETING`, `AUTHENTICATION`.
    pub category: String,
    /// The Content API type WhatsApp approved: `twilio/text`, `twilio/media`, …
    pub content_type: String,
    /// The text with `{{1}}`-style placeholders.
    pub body: String,
    /// Placeholder name → the sample value the template was approved with.
    pub variables: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<TemplateAction>,
}

/// A button of a template: a quick reply or a call to action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateAction {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `COPY_CODE`, `VOICE_CALL`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    /// The URL, phone number or code it carries (none for a quick reply).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What a message sent from a template records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentTemplate {
    pub content_sid: String,
    pub name: String,
    pub variables: BTreeMap<String, String>,
}

/// Why the variables of a template send are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateRejection {
    #[error("Variable {{{{{0}}}}} of this template needs a value.")]
    Missing(String),
    #[error("Variable {{{{{0}}}}} must not be empty.")]
    Empty(String),
    #[error("This template has no variable {{{{{0}}}}}.")]
    Unknown(String),
    #[error("Variable {{{{{0}}}}} must not contain a line break or a tab (WhatsApp refuses them).")]
    LineBreak(String),
    #[error(
        "Variable {{{{{0}}}}} must not contain more than four spaces in a row (WhatsApp refuses them)."
    )]
    Spaces(String),
    #[error("Variable {{{{{0}}}}} is longer than {MAX_VARIABLE_CHARS} characters.")]
    TooLong(String),
}

/// Whether a text is a Content sid: `HX` and 32 hex digits.
pub fn is_content_sid(text: &str) -> bool {
    text.len() == 34 && text.starts_with("HX") && text[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `{{name}}` placeholders in a text, in order of first use.
fn placeholders_in(text: &str, found: &mut Vec<String>) {
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !name.contains('{') && !found.iter().any(|f| f == name) {
            found.push(name.to_owned());
        }
        rest = &after[end + 2..];
    }
}

fn fill(text: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(value) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

impl Template {
    /// Every placeholder the template uses: in its body, media URLs and buttons.
    pub fn placeholders(&self) -> Vec<String> {
        let mut found = vec![];
        placeholders_in(&self.body, &mut found);
        for url in &self.media {
            placeholders_in(url, &mut found);
        }
        for action in &self.actions {
            placeholders_in(&action.title, &mut found);
            if let Some(value) = &action.value {
                placeholders_in(value, &mut found);
            }
        }
        found
    }

    /// The values of a send: every placeholder given and valid for WhatsApp, nothing else.
    pub fn check(&self, values: &BTreeMap<String, String>) -> Result<(), TemplateRejection> {
        let used: BTreeSet<String> = self.placeholders().into_iter().collect();
        if let Some(unknown) = values.keys().find(|k| !used.contains(*k)) {
            return Err(TemplateRejection::Unknown(unknown.clone()));
        }
        for name in self.placeholders() {
            let Some(value) = values.get(&name) else {
                return Err(TemplateRejection::Missing(name));
            };
            if value.trim().is_empty() {
                return Err(TemplateRejection::Empty(name));
            }
            if value.contains(['\n', '\r', '\t']) {
                return Err(TemplateRejection::LineBreak(name));
            }
            if value.contains("     ") {
                return Err(TemplateRejection::Spaces(name));
            }
            if value.chars().count() > MAX_VARIABLE_CHARS {
                return Err(TemplateRejection::TooLong(name));
            }
        }
        Ok(())
    }

    /// The text the contact receives: the body with the values filled in.
    pub fn render(&self, values: &BTreeMap<String, String>) -> String {
        fill(&self.body, values)
    }

    /// A media template's media URLs with the values filled in.
    pub fn rendered_media(&self, values: &BTreeMap<String, String>) -> Vec<String> {
        self.media.iter().map(|url| fill(url, values)).collect()
    }

    /// The stored message's type: a media template's by its media's file extension.
    pub fn message_type(&self) -> MessageType {
        let Some(url) = self.media.first() else {
            return MessageType::Text;
        };
        let path = url
            .split(['?', '#'])
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let extension = path.rsplit('.').next().unwrap_or_default();
        match extension {
            "jpg" | "jpeg" | "png" | "webp" => MessageType::Image,
            "mp4" | "3gp" => MessageType::Video,
            "mp3" | "ogg" | "amr" | "aac" | "m4a" | "opus" => MessageType::Audio,
            "pdf" | "doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" | "txt" => {
                MessageType::Document
            }
            _ => MessageType::Other,
        }
    }

    /// Search: every word of the query in the name or the body, any case.
    pub fn matches(&self, query: &str) -> bool {
        let haystack = format!("{} {}", self.name, self.body).to_lowercase();
        query
            .to_lowercase()
            .split_whitespace()
            .all(|word| haystack.contains(word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template {
            content_sid: "HX0123456789abcdef0123456789abcdef".into(),
            name: "order_update".into(),
            language: "en".into(),
            category: "UTILITY".into(),
            content_type: "twilio/call-to-action".into(),
            body: "Hi {{1}}, your order {{2}} has shipped.".into(),
            variables: BTreeMap::from([("1".into(), "Aisha".into()), ("2".into(), "#1042".into())]),
            media: vec![],
            actions: vec![TemplateAction {
                kind: "URL".into(),
                title: "Track".into(),
                value: Some("https://example.com/track/{{3}}".into()),
            }],
        }
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn content_sids_are_hx_and_32_hex_digits() {
        assert!(is_content_sid("HX0123456789abcdef0123456789ABCDEF"));
        for bad in [
            "",
            "HX0123",
            "SM0123456789abcdef0123456789abcdef",
            "HX0123456789abcdef0123456789abcdeg",
            "HX0123456789abcdef0123456789abcdef0",
        ] {
            assert!(!is_content_sid(bad), "{bad}");
        }
    }

    #[test]
    fn placeholders_come_from_body_media_and_buttons() {
        assert_eq!(template().placeholders(), ["1", "2", "3"]);
        let odd = Template {
            body: "{{ 1 }} and {{}} and {{1}} and {{unclosed".into(),
            actions: vec![],
            ..template()
        };
        assert_eq!(odd.placeholders(), ["1"]);
    }

    #[test]
    fn every_variable_must_be_given_and_valid_for_whatsapp() {
        let t = template();
        let ok = values(&[("1", "Aisha"), ("2", "#1042"), ("3", "A1")]);
        assert_eq!(t.check(&ok), Ok(()));
        let cases = [
            (
                values(&[("1", "Aisha"), ("2", "#1042")]),
                TemplateRejection::Missing("3".into()),
            ),
            (
                values(&[("1", " "), ("2", "x"), ("3", "y")]),
                TemplateRejection::Empty("1".into()),
            ),
            (
                values(&[("1", "a"), ("2", "b"), ("3", "c"), ("4", "d")]),
                TemplateRejection::Unknown("4".into()),
            ),
            (
                values(&[("1", "a\nb"), ("2", "b"), ("3", "c")]),
                TemplateRejection::LineBreak("1".into()),
            ),
            (
                values(&[("1", "a"), ("2", "b\tc"), ("3", "c")]),
                TemplateRejection::LineBreak("2".into()),
            ),
            (
                values(&[("1", "a     b"), ("2", "b"), ("3", "c")]),
                TemplateRejection::Spaces("1".into()),
            ),
            (
                values(&[("1", &"x".repeat(1025)), ("2", "b"), ("3", "c")]),
                TemplateRejection::TooLong("1".into()),
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(t.check(&given), Err(expected.clone()), "{given:?}");
        }
        assert_eq!(
            t.check(&values(&[("1", "a    b"), ("2", "b"), ("3", "c")])),
            Ok(()),
            "four spaces are allowed"
        );
        assert_eq!(
            TemplateRejection::Missing("3".into()).to_string(),
            "Variable {{3}} of this template needs a value."
        );
    }

    #[test]
    fn the_rendered_text_is_what_the_contact_reads() {
        let t = template();
        assert_eq!(
            t.render(&values(&[("1", "Aisha"), ("2", "#1042")])),
            "Hi Aisha, your order #1042 has shipped."
        );
        let media = Template {
            media: vec!["https://cdn.example.com/{{1}}/invoice.pdf".into()],
            ..template()
        };
        assert_eq!(
            media.rendered_media(&values(&[("1", "acme")])),
            ["https://cdn.example.com/acme/invoice.pdf"]
        );
        assert_eq!(media.message_type(), MessageType::Document);
        assert_eq!(template().message_type(), MessageType::Text);
    }

    #[test]
    fn search_looks_at_name_and_body() {
        let t = template();
        assert!(t.matches("ORDER shipped"));
        assert!(t.matches(""));
        assert!(!t.matches("refund"));
    }
}
