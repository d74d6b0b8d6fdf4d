//! An agent's draft in one conversation: what they typed and attached but have not sent,
//! kept on the server per agent (the JWT's `sub`) so that switching contacts, a reload or
//! another device brings it back, and never shows it to another agent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::media::{MediaRejection, check_declared};
use super::{MAX_ATTACHMENTS, MAX_TEXT_CHARS};

/// What a draft will become: a message to the contact, or an internal note.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DraftKind {
    #[default]
    Message,
    Note,
}

/// A file attached to a draft: the upload's reference, as a send takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DraftAttachment {
    pub key: String,
    pub content_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    pub size: u64,
}

impl DraftAttachment {
    /// The name the file goes by: given, else the key's last segment.
    pub fn name(&self) -> &str {
        self.filename
            .as_deref()
            .unwrap_or_else(|| self.key.rsplit('/').next().unwrap_or_default())
    }
}

/// One agent's draft in one conversation. Last write wins between devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    #[serde(default)]
    pub kind: DraftKind,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub attachments: Vec<DraftAttachment>,
    pub updated_at: DateTime<Utc>,
}

/// Why a draft is refused, checked as a send is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftRejection {
    #[error("Text is longer than {MAX_TEXT_CHARS} characters.")]
    TextTooLong,
    #[error("At most {MAX_ATTACHMENTS} attachments per message.")]
    TooManyAttachments,
    #[error("{0}")]
    Attachment(MediaRejection),
}

impl Draft {
    /// Nothing typed (blanks count as nothing) and nothing attached: there is no draft.
    pub fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && self.attachments.is_empty()
    }

    /// The limits a send holds a message to: text length, the number of attachments and
    /// what each declares (type, size, extension). Whether an upload is there is the
    /// caller's to see: a draft may outlive its upload.
    pub fn check(&self) -> Result<(), DraftRejection> {
        if self.text.chars().count() > MAX_TEXT_CHARS {
            return Err(DraftRejection::TextTooLong);
        }
        if self.attachments.len() > MAX_ATTACHMENTS {
            return Err(DraftRejection::TooManyAttachments);
        }
        for attachment in &self.attachments {
            check_declared(attachment.name(), &attachment.content_type, attachment.size)
                .map_err(DraftRejection::Attachment)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(text: &str, attachments: Vec<DraftAttachment>) -> Draft {
        Draft {
            kind: DraftKind::Message,
            text: text.into(),
            attachments,
            updated_at: Utc::now(),
        }
    }

    fn file(name: &str, content_type: &str, size: u64) -> DraftAttachment {
        DraftAttachment {
            key: format!("acme/uploads/01/{name}"),
            content_type: content_type.into(),
            filename: None,
            size,
        }
    }

    #[test]
    fn a_draft_is_held_to_a_sends_limits() {
        let photo = || file("a.jpg", "image/jpeg", 1000);
        let cases: Vec<(Draft, Result<(), DraftRejection>)> = vec![
            (draft(&"x".repeat(MAX_TEXT_CHARS), vec![]), Ok(())),
            (
                draft(&"é".repeat(MAX_TEXT_CHARS + 1), vec![]),
                Err(DraftRejection::TextTooLong),
            ),
            (draft("", vec![photo(); MAX_ATTACHMENTS]), Ok(())),
            (
                draft("", vec![photo(); MAX_ATTACHMENTS + 1]),
                Err(DraftRejection::TooManyAttachments),
            ),
            (
                draft("hi", vec![file("a.exe", "application/x-msdownload", 10)]),
                Err(DraftRejection::Attachment(MediaRejection::UnsupportedType(
                    "application/x-msdownload".into(),
                ))),
            ),
            (
                draft("hi", vec![file("a.png", "image/jpeg", 10)]),
                Err(DraftRejection::Attachment(
                    MediaRejection::ExtensionMismatch("image/jpeg".into()),
                )),
            ),
            (
                draft("hi", vec![file("a.jpg", "image/jpeg", 0)]),
                Err(DraftRejection::Attachment(MediaRejection::Empty)),
            ),
        ];
        for (d, expected) in cases {
            assert_eq!(d.check(), expected, "{:?}", d.text.len());
        }
    }

    #[test]
    fn blanks_and_nothing_attached_are_no_draft() {
        assert!(draft(" \n ", vec![]).is_empty());
        assert!(!draft(" a ", vec![]).is_empty());
        assert!(!draft("", vec![file("a.jpg", "image/jpeg", 1)]).is_empty());
    }
}
