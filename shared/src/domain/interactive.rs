//! Buttons and lists a customer answers with a tap: inside the 24-hour window WhatsApp takes
//! them without Meta's approval, and Twilio carries them as Content — `twilio/quick-reply`
//! (up to 3 buttons in a session) and `twilio/list-picker` (1–10 items, session only). The
//! limits are WhatsApp's as Twilio's Content type references state them; everything is
//! checked when a send is accepted, so nothing Twilio would refuse is ever queued.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const MAX_INTERACTIVE_BODY_CHARS: usize = 1024;
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
pub const MAX_LIST_ITEMS: usize = 10;
pub const MAX_LIST_BUTTON_CHARS: usize = 20;
pub const MAX_ITEM_TITLE_CHARS: usize = 24;
pub const MAX_ITEM_DESCRIPTION_CHARS: usize = 72;
pub const MAX_OPTION_ID_CHARS: usize = 200;
/// How the Contents the product makes for buttons and lists are named (kept out of the
/// template picker, and found again after a crash).
pub const CONTENT_NAME_PREFIX: &str = "crm_interactive_";

/// An interactive message: a body and the options the customer taps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum Interactive {
    /// Quick-reply buttons under the body.
    Buttons { body: String, buttons: Vec<Button> },
    /// A list the customer opens with `button` and picks one item of.
    List {
        body: String,
        button: String,
        items: Vec<ListItem>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Button {
    /// What comes back when it is tapped (`ButtonPayload`).
    pub id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListItem {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Why an interactive message cannot be sent, in words for the agent. `duplicate_id`: two
/// options share an id (a request the OpenAPI description cannot refuse by itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InteractiveRejection(pub String, pub bool);

impl InteractiveRejection {
    fn new(why: String) -> Self {
        Self(why, false)
    }

    pub fn duplicate_id(&self) -> bool {
        self.1
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn required(what: &str, value: &str, max: usize) -> Result<(), InteractiveRejection> {
    if value.trim().is_empty() {
        return Err(InteractiveRejection::new(format!(
            "{what} must not be empty."
        )));
    }
    if chars(value) > max {
        return Err(InteractiveRejection::new(format!(
            "{what} must be at most {max} characters."
        )));
    }
    Ok(())
}

/// Option ids: present, short enough, and each once (a tap names one option).
fn unique_ids<'a>(ids: impl Iterator<Item = &'a str>) -> Result<(), InteractiveRejection> {
    let mut seen = HashSet::new();
    for id in ids {
        required("Each option's id", id, MAX_OPTION_ID_CHARS)?;
        if !seen.insert(id) {
            return Err(InteractiveRejection(
                format!("Option ids must be unique: \"{id}\" is used twice."),
                true,
            ));
        }
    }
    Ok(())
}

/// Quick-reply buttons: 1 to 3, each titled, ids unique (a send's, or a canned response's).
pub fn check_buttons(buttons: &[Button]) -> Result<(), InteractiveRejection> {
    if buttons.is_empty() || buttons.len() > MAX_BUTTONS {
        return Err(InteractiveRejection::new(format!(
            "Buttons: 1 to {MAX_BUTTONS}."
        )));
    }
    for b in buttons {
        required("Each button's title", &b.title, MAX_BUTTON_TITLE_CHARS)?;
    }
    unique_ids(buttons.iter().map(|b| b.id.as_str()))
}

impl Interactive {
    pub fn body(&self) -> &str {
        match self {
            Interactive::Buttons { body, .. } | Interactive::List { body, .. } => body,
        }
    }

    /// Every rule WhatsApp and Twilio hold it to.
    pub fn check(&self) -> Result<(), InteractiveRejection> {
        let body = self.body();
        required("The body", body, MAX_INTERACTIVE_BODY_CHARS)?;
        // Content bodies are templates to Twilio: `{{1}}` would be read as a variable.
        if body.contains("{{") {
            return Err(InteractiveRejection::new(
                "The body must not contain \"{{\" (Twilio would read it as a variable).".into(),
            ));
        }
        match self {
            Interactive::Buttons { buttons, .. } => check_buttons(buttons),
            Interactive::List { button, items, .. } => {
                required("The list's button", button, MAX_LIST_BUTTON_CHARS)?;
                if items.is_empty() || items.len() > MAX_LIST_ITEMS {
                    return Err(InteractiveRejection::new(format!(
                        "List items: 1 to {MAX_LIST_ITEMS}."
                    )));
                }
                for item in items {
                    required("Each item's title", &item.title, MAX_ITEM_TITLE_CHARS)?;
                    if item
                        .description
                        .as_deref()
                        .is_some_and(|d| chars(d) > MAX_ITEM_DESCRIPTION_CHARS)
                    {
                        return Err(InteractiveRejection::new(format!(
                            "Each item's description must be at most {MAX_ITEM_DESCRIPTION_CHARS} characters."
                        )));
                    }
                }
                unique_ids(items.iter().map(|i| i.id.as_str()))
            }
        }
    }

    /// Twilio's Content type for it.
    pub fn content_type(&self) -> &'static str {
        match self {
            Interactive::Buttons { .. } => "twilio/quick-reply",
            Interactive::List { .. } => "twilio/list-picker",
        }
    }

    /// The `types` of a Content API create request (twilio_content_v1: `twilioQuickReply`
    /// `{body, actions: [{title, id}]}`, `twilioListPicker` `{body, button, items: [{id, item,
    /// description}]}`).
    pub fn content_types(&self) -> Value {
        let types = match self {
            Interactive::Buttons { body, buttons } => json!({
                "body": body,
                "actions": buttons.iter().map(|b| json!({"title": b.title, "id": b.id})).collect::<Vec<_>>(),
            }),
            Interactive::List {
                body,
                button,
                items,
            } => json!({
                "body": body,
                "button": button,
                "items": items.iter().map(|i| {
                    let mut item = json!({"id": i.id, "item": i.title});
                    if let Some(d) = &i.description {
                        item["description"] = json!(d);
                    }
                    item
                }).collect::<Vec<_>>(),
            }),
        };
        json!({ self.content_type(): types })
    }

    /// The name of the one Content this payload goes out as: the same for every identical
    /// payload (a SHA-256 of Twilio's `types` as JSON, whose keys serde_json orders), and
    /// recognisable in the customer's Twilio account as the product's.
    pub fn content_name(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.content_types().to_string().as_bytes());
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        format!("{CONTENT_NAME_PREFIX}{hex}")
    }

    /// The title of the option a tap names (its id), if it is one of this message's.
    pub fn option_title(&self, id: &str) -> Option<&str> {
        match self {
            Interactive::Buttons { buttons, .. } => buttons
                .iter()
                .find(|b| b.id == id)
                .map(|b| b.title.as_str()),
            Interactive::List { items, .. } => {
                items.iter().find(|i| i.id == id).map(|i| i.title.as_str())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buttons(titles: &[&str]) -> Interactive {
        Interactive::Buttons {
            body: "Pick one".into(),
            buttons: titles
                .iter()
                .enumerate()
                .map(|(i, t)| Button {
                    id: format!("b{i}"),
                    title: (*t).into(),
                })
                .collect(),
        }
    }

    fn list(n: usize) -> Interactive {
        Interactive::List {
            body: "Choose a slot".into(),
            button: "Slots".into(),
            items: (0..n)
                .map(|i| ListItem {
                    id: format!("slot-{i}"),
                    title: format!("{}:00", 9 + i),
                    description: Some("Room A".into()),
                })
                .collect(),
        }
    }

    #[test]
    fn whatsapps_limits_are_held_when_a_send_is_accepted() {
        let long = |n: usize| "x".repeat(n);
        let mut duplicate_ids = list(2);
        if let Interactive::List { items, .. } = &mut duplicate_ids {
            items[1].id = items[0].id.clone();
        }
        let mut long_description = list(1);
        if let Interactive::List { items, .. } = &mut long_description {
            items[0].description = Some(long(73));
        }
        let mut long_id = buttons(&["Yes"]);
        if let Interactive::Buttons { buttons, .. } = &mut long_id {
            buttons[0].id = long(201);
        }
        let cases: Vec<(Interactive, Option<&str>)> = vec![
            (buttons(&["Yes", "No", "Later"]), None),
            (buttons(&[&long(20)]), None),
            (list(10), None),
            (list(1), None),
            (buttons(&[]), Some("Buttons: 1 to 3.")),
            (buttons(&["a", "b", "c", "d"]), Some("Buttons: 1 to 3.")),
            (
                buttons(&[&long(21)]),
                Some("Each button's title must be at most 20 characters."),
            ),
            (
                buttons(&["  "]),
                Some("Each button's title must not be empty."),
            ),
            (list(0), Some("List items: 1 to 10.")),
            (list(11), Some("List items: 1 to 10.")),
            (
                duplicate_ids,
                Some("Option ids must be unique: \"slot-0\" is used twice."),
            ),
            (
                long_description,
                Some("Each item's description must be at most 72 characters."),
            ),
            (
                long_id,
                Some("Each option's id must be at most 200 characters."),
            ),
            (
                Interactive::Buttons {
                    body: "Reply {{1}}".into(),
                    buttons: vec![Button {
                        id: "a".into(),
                        title: "A".into(),
                    }],
                },
                Some("The body must not contain \"{{\" (Twilio would read it as a variable)."),
            ),
            (
                Interactive::Buttons {
                    body: long(1025),
                    buttons: vec![Button {
                        id: "a".into(),
                        title: "A".into(),
                    }],
                },
                Some("The body must be at most 1024 characters."),
            ),
            (
                Interactive::List {
                    body: "b".into(),
                    button: " ".into(),
                    items: vec![ListItem {
                        id: "a".into(),
                        title: "A".into(),
                        description: None,
                    }],
                },
                Some("The list's button must not be empty."),
            ),
            (
                Interactive::List {
                    body: "b".into(),
                    button: "b".into(),
                    items: vec![ListItem {
                        id: "a".into(),
                        title: long(25),
                        description: None,
                    }],
                },
                Some("Each item's title must be at most 24 characters."),
            ),
        ];
        for (interactive, expected) in cases {
            assert_eq!(
                interactive.check().err().map(|e| e.0),
                expected.map(str::to_owned),
                "{interactive:?}"
            );
        }
    }

    #[test]
    fn the_content_api_gets_twilios_own_shapes() {
        assert_eq!(
            buttons(&["Yes", "No"]).content_types(),
            json!({"twilio/quick-reply": {"body": "Pick one", "actions": [
                {"title": "Yes", "id": "b0"}, {"title": "No", "id": "b1"}]}})
        );
        let mut one = list(1);
        if let Interactive::List { items, .. } = &mut one {
            items[0].description = None;
        }
        assert_eq!(
            one.content_types(),
            json!({"twilio/list-picker": {"body": "Choose a slot", "button": "Slots",
                "items": [{"id": "slot-0", "item": "9:00"}]}})
        );
        assert_eq!(list(2).option_title("slot-1"), Some("10:00"));
        // One name per distinct payload.
        let name = list(2).content_name();
        assert_eq!(name, list(2).content_name());
        assert_ne!(name, list(3).content_name());
        assert!(
            name.starts_with(CONTENT_NAME_PREFIX) && name.len() == CONTENT_NAME_PREFIX.len() + 32
        );
        assert_eq!(list(2).option_title("nope"), None);
    }

    #[test]
    fn the_api_shape_reads_and_refuses_unknown_fields() {
        let read: Interactive = serde_json::from_value(json!({
            "type": "buttons", "body": "Pick", "buttons": [{"id": "y", "title": "Yes"}]
        }))
        .unwrap();
        assert_eq!(
            read,
            Interactive::Buttons {
                body: "Pick".into(),
                buttons: vec![Button {
                    id: "y".into(),
                    title: "Yes".into()
                }]
            }
        );
        assert!(
            serde_json::from_value::<Interactive>(json!({"type": "carousel", "body": "x"}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<Interactive>(json!({
                "type": "buttons", "body": "Pick", "buttons": [], "extra": 1
            }))
            .is_err()
        );
    }
}
