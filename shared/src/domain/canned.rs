//! Canned responses: an organization's shared answers, typed in a keystroke (`/shortcut` in
//! the composer). Their text may name the contact and the agent, and ask the agent for
//! blanks before sending:
//! - `{{contact.name}}`, `{{contact.first_name}}` (the name's first word), `{{agent.name}}`;
//! - `{{?label}}`: a blank the agent fills (label 1–40 characters).
//!
//! Anything else between `{{` and `}}` is refused when the response is saved, as is a `{{`
//! never closed: the agent would otherwise send the braces to the contact. A response may
//! carry quick-reply buttons: its filled text then goes out as their body.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Button, MAX_INTERACTIVE_BODY_CHARS, MAX_TEXT_CHARS, check_buttons};

/// At most this many canned responses per organization.
pub const MAX_CANNED_RESPONSES: usize = 1000;
/// A shortcut's length, in characters of `[a-z0-9_-]`.
pub const MAX_SHORTCUT_CHARS: usize = 32;
/// A title's length.
pub const MAX_TITLE_CHARS: usize = 100;
/// A prompted blank's label length.
pub const MAX_BLANK_LABEL_CHARS: usize = 40;

/// The variables a canned response may name besides prompted blanks.
pub const CANNED_VARIABLES: [&str; 3] = ["contact.name", "contact.first_name", "agent.name"];

/// One shared answer of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CannedResponse {
    /// A ULID: the order they were made in.
    pub id: String,
    /// Typed after `/` in the composer: 1–32 of `[a-z0-9_-]`, unique in the organization
    /// (kept lowercase, so unique whatever the case it was typed in).
    pub shortcut: String,
    pub title: String,
    pub text: String,
    /// Quick-reply buttons the filled text goes out with (0–3): the response is then sent as
    /// buttons (`Interactive::Buttons`), its text their body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    /// Changed at every save: an edit names the one it was made from (a stale one is refused).
    pub updated_at: DateTime<Utc>,
}

/// Why a canned response cannot be saved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CannedRejection {
    #[error("The shortcut must be 1 to 32 characters: letters, digits, - and _.")]
    Shortcut,
    #[error("The title must be 1 to {MAX_TITLE_CHARS} characters.")]
    Title,
    #[error("The text must not be blank.")]
    Blank,
    #[error("Text is longer than {MAX_TEXT_CHARS} characters.")]
    TextTooLong,
    #[error(
        "{{{{{0}}}}} is not a variable a canned response may use: {{{{contact.name}}}}, {{{{contact.first_name}}}}, {{{{agent.name}}}} or a blank {{{{?label}}}}."
    )]
    UnknownVariable(String),
    #[error("A {{{{ is never closed with }}}}.")]
    Unclosed,
    /// Its buttons break WhatsApp's rules (the words say which).
    #[error("{0}")]
    Buttons(super::InteractiveRejection),
    /// With buttons, the text is their body: at most 1,024 characters.
    #[error(
        "With buttons the text is their message: at most {MAX_INTERACTIVE_BODY_CHARS} characters."
    )]
    TextTooLongForButtons,
}

/// The shortcut as kept: lowercase; None when it is not 1–32 of `[A-Za-z0-9_-]` (blanks
/// included: a shortcut is typed right after `/`).
pub fn normalize_shortcut(shortcut: &str) -> Option<String> {
    let shortcut = shortcut.to_ascii_lowercase();
    ((1..=MAX_SHORTCUT_CHARS).contains(&shortcut.len())
        && shortcut
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'))
    .then_some(shortcut)
}

/// What a text's `{{…}}` name, in order: each variable or blank (`?label`), checked.
pub fn placeholders(text: &str) -> Result<Vec<String>, CannedRejection> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after.find("}}").ok_or(CannedRejection::Unclosed)?;
        let name = after[..end].trim();
        let known = CANNED_VARIABLES.contains(&name)
            || name.strip_prefix('?').is_some_and(|label| {
                let label = label.trim();
                !label.is_empty()
                    && label.chars().count() <= MAX_BLANK_LABEL_CHARS
                    && !label.contains('{')
            });
        if !known {
            return Err(CannedRejection::UnknownVariable(name.to_owned()));
        }
        found.push(name.to_owned());
        rest = &after[end + 2..];
    }
    Ok(found)
}

impl CannedResponse {
    /// A response as typed, checked and made ready to keep (shortcut lowercase, title trimmed).
    pub fn new(
        id: String,
        shortcut: &str,
        title: &str,
        text: String,
        updated_at: DateTime<Utc>,
    ) -> Result<Self, CannedRejection> {
        let shortcut = normalize_shortcut(shortcut).ok_or(CannedRejection::Shortcut)?;
        let title = title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(CannedRejection::Title);
        }
        if text.trim().is_empty() {
            return Err(CannedRejection::Blank);
        }
        if text.chars().count() > MAX_TEXT_CHARS {
            return Err(CannedRejection::TextTooLong);
        }
        placeholders(&text)?;
        Ok(Self {
            id,
            shortcut,
            title: title.to_owned(),
            text,
            buttons: Vec::new(),
            updated_at,
        })
    }

    /// The response with buttons (none: a text response). With buttons its text is their
    /// body, so it holds to a body's length (1,024).
    pub fn with_buttons(mut self, buttons: Vec<Button>) -> Result<Self, CannedRejection> {
        if buttons.is_empty() {
            return Ok(self);
        }
        check_buttons(&buttons).map_err(CannedRejection::Buttons)?;
        if self.text.chars().count() > MAX_INTERACTIVE_BODY_CHARS {
            return Err(CannedRejection::TextTooLongForButtons);
        }
        self.buttons = buttons;
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortcuts_are_kept_lowercase_and_of_their_alphabet() {
        assert_eq!(normalize_shortcut("Thanks").as_deref(), Some("thanks"));
        assert_eq!(
            normalize_shortcut("late-order_2").as_deref(),
            Some("late-order_2")
        );
        assert_eq!(
            normalize_shortcut(&"a".repeat(32)).map(|s| s.len()),
            Some(32)
        );
        for bad in [
            "",
            "  ",
            " thanks",
            "two words",
            "émoji",
            "a/b",
            &"a".repeat(33),
        ] {
            assert_eq!(normalize_shortcut(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn variables_are_the_known_ones_and_blanks() {
        let text =
            "Hi {{contact.first_name}}, {{ agent.name }} here: {{?order number}} ships {{?date}}.";
        assert_eq!(
            placeholders(text).unwrap(),
            ["contact.first_name", "agent.name", "?order number", "?date"]
        );
        let cases = [
            (
                "Hi {{contact.email}}",
                CannedRejection::UnknownVariable("contact.email".into()),
            ),
            ("Hi {{1}}", CannedRejection::UnknownVariable("1".into())),
            ("{{?}}", CannedRejection::UnknownVariable("?".into())),
            ("Hi {{contact.name", CannedRejection::Unclosed),
        ];
        for (text, why) in cases {
            assert_eq!(placeholders(text), Err(why), "{text}");
        }
        assert_eq!(
            placeholders("no braces, } or { alone").unwrap(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn buttons_are_held_to_whatsapps_rules() {
        let now = Utc::now();
        let base = || {
            CannedResponse::new(
                "01J".into(),
                "when",
                "When",
                "When suits you, {{contact.first_name}}?".into(),
                now,
            )
            .unwrap()
        };
        let button = |id: &str, title: &str| Button {
            id: id.into(),
            title: title.into(),
        };
        let ok = base()
            .with_buttons(vec![button("1", "Today"), button("2", "Tomorrow")])
            .unwrap();
        assert_eq!(ok.buttons.len(), 2);
        assert!(base().with_buttons(vec![]).unwrap().buttons.is_empty());
        let refused = |buttons: Vec<Button>| match base().with_buttons(buttons) {
            Err(CannedRejection::Buttons(why)) => why.to_string(),
            other => panic!("{other:?}"),
        };
        assert!(
            refused(
                vec![button("1", "a"); 4]
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| Button {
                        id: i.to_string(),
                        ..b
                    })
                    .collect()
            )
            .contains("1 to 3")
        );
        assert!(refused(vec![button("1", "  ")]).contains("title"));
        assert!(refused(vec![button("1", &"x".repeat(21))]).contains("20"));
        assert!(refused(vec![button("1", "a"), button("1", "b")]).contains("unique"));
        let long =
            CannedResponse::new("01J".into(), "long", "Long", "x".repeat(1025), now).unwrap();
        assert_eq!(
            long.with_buttons(vec![button("1", "Ok")]),
            Err(CannedRejection::TextTooLongForButtons)
        );
    }

    #[test]
    fn a_response_is_checked_whole() {
        let now = Utc::now();
        let ok = CannedResponse::new(
            "01J".into(),
            "Thanks",
            "  Thank you ",
            "Thanks {{contact.name}}!".into(),
            now,
        )
        .unwrap();
        assert_eq!(
            (ok.shortcut.as_str(), ok.title.as_str()),
            ("thanks", "Thank you")
        );
        let new = |shortcut: &str, title: &str, text: String| {
            CannedResponse::new("01J".into(), shortcut, title, text, now).unwrap_err()
        };
        assert_eq!(new("a b", "T", "x".into()), CannedRejection::Shortcut);
        assert_eq!(new("a", " ", "x".into()), CannedRejection::Title);
        assert_eq!(new("a", "T", "  ".into()), CannedRejection::Blank);
        assert_eq!(
            new("a", "T", "x".repeat(1601)),
            CannedRejection::TextTooLong
        );
        assert_eq!(
            new("a", "T", "{{x}}".into()),
            CannedRejection::UnknownVariable("x".into())
        );
        assert_eq!(
            new("a", "T", "{{x}}".into()).to_string(),
            "{{x}} is not a variable a canned response may use: {{contact.name}}, {{contact.first_name}}, {{agent.name}} or a blank {{?label}}."
        );
    }
}
