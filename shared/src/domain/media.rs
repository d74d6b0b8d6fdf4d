//! What WhatsApp on Twilio accepts as media, and how a file is checked against it: the
//! declared type and size first (before an upload), then the stored bytes themselves (before
//! a send), so a renamed executable or a spoofed content type never goes out.

use super::MessageType;

pub const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;
pub const MAX_MEDIA_BYTES: u64 = 16 * 1024 * 1024;

/// How many leading bytes the content check needs.
pub const SNIFF_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaRule {
    pub content_type: &'static str,
    pub extensions: &'static [&'static str],
    pub max_bytes: u64,
    pub message_type: MessageType,
    /// Whether the message body goes as this media's caption: images and videos. Twilio
    /// "does not support setting a filename or caption for documents" (Guidance on WhatsApp
    /// Media Messages) though WhatsApp shows one, so a document's text goes as a message of
    /// its own, which holds whichever reading is true.
    pub takes_caption: bool,
    /// What content sniffing may report for such a file.
    sniffed_as: &'static [&'static str],
}

const fn rule(
    content_type: &'static str,
    extensions: &'static [&'static str],
    max_bytes: u64,
    message_type: MessageType,
    takes_caption: bool,
    sniffed_as: &'static [&'static str],
) -> MediaRule {
    MediaRule {
        content_type,
        extensions,
        max_bytes,
        message_type,
        takes_caption,
        sniffed_as,
    }
}

const OOXML: &[&str] = &[
    "application/zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];
const OLE: &[&str] = &[
    "application/x-ole-storage",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
];

pub const MEDIA_RULES: &[MediaRule] = &[
    rule(
        "image/jpeg",
        &["jpg", "jpeg"],
        MAX_IMAGE_BYTES,
        MessageType::Image,
        true,
        &["image/jpeg"],
    ),
    rule(
        "image/png",
        &["png"],
        MAX_IMAGE_BYTES,
        MessageType::Image,
        true,
        &["image/png"],
    ),
    rule(
        "audio/ogg",
        &["ogg", "opus", "oga"],
        MAX_MEDIA_BYTES,
        MessageType::Audio,
        false,
        &["audio/ogg", "audio/opus"],
    ),
    rule(
        "audio/amr",
        &["amr"],
        MAX_MEDIA_BYTES,
        MessageType::Audio,
        false,
        &["audio/amr"],
    ),
    rule(
        "audio/3gpp",
        &["3gp", "3gpp"],
        MAX_MEDIA_BYTES,
        MessageType::Audio,
        false,
        &["video/3gpp", "audio/3gpp"],
    ),
    rule(
        "audio/aac",
        &["aac"],
        MAX_MEDIA_BYTES,
        MessageType::Audio,
        false,
        &["audio/aac", "audio/x-aac"],
    ),
    rule(
        "audio/mpeg",
        &["mp3", "mpga"],
        MAX_MEDIA_BYTES,
        MessageType::Audio,
        false,
        &["audio/mpeg"],
    ),
    rule(
        "video/mp4",
        &["mp4"],
        MAX_MEDIA_BYTES,
        MessageType::Video,
        true,
        &["video/mp4"],
    ),
    rule(
        "application/pdf",
        &["pdf"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        &["application/pdf"],
    ),
    rule(
        "application/msword",
        &["doc"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        OLE,
    ),
    rule(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        &["docx"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        OOXML,
    ),
    rule(
        "application/vnd.ms-excel",
        &["xls"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        OLE,
    ),
    rule(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &["xlsx"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        OOXML,
    ),
    rule(
        "application/vnd.ms-powerpoint",
        &["ppt"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        OLE,
    ),
    rule(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        &["pptx"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        OOXML,
    ),
    rule(
        "text/vcard",
        &["vcf", "vcard"],
        MAX_MEDIA_BYTES,
        MessageType::Document,
        false,
        &[],
    ),
];

/// Why a file cannot be sent on WhatsApp. The texts are shown to CRM users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaRejection {
    #[error("WhatsApp does not accept {0} files.")]
    UnsupportedType(String),
    #[error("The file is too large: at most {0} MB for this type.")]
    TooLarge(u64),
    #[error("The file is empty.")]
    Empty,
    #[error("The file name does not match its type ({0}).")]
    ExtensionMismatch(String),
    #[error("The file's content is not {0}.")]
    ContentMismatch(String),
    #[error("The uploaded file is not the one declared ({0}).")]
    UploadMismatch(&'static str),
    #[error("The attachment was not uploaded.")]
    NotUploaded,
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The one name of a type that goes by several: its essence, lowercase, with the aliases
/// clients and WhatsApp use (`image/jpg`, `text/x-vcard`, `audio/opus`) as their standard type.
pub fn canonical_type(content_type: &str) -> String {
    let essence = essence(content_type);
    match essence.as_str() {
        "image/jpg" => "image/jpeg".to_owned(),
        "text/x-vcard" => "text/vcard".to_owned(),
        "audio/opus" => "audio/ogg".to_owned(),
        _ => essence,
    }
}

pub fn media_rule(content_type: &str) -> Option<&'static MediaRule> {
    let canonical = canonical_type(content_type);
    MEDIA_RULES.iter().find(|r| r.content_type == canonical)
}

/// Checks what a client declares before it uploads.
pub fn check_declared(
    filename: &str,
    content_type: &str,
    size: u64,
) -> Result<&'static MediaRule, MediaRejection> {
    let rule = media_rule(content_type)
        .ok_or_else(|| MediaRejection::UnsupportedType(essence(content_type)))?;
    if size == 0 {
        return Err(MediaRejection::Empty);
    }
    if size > rule.max_bytes {
        return Err(MediaRejection::TooLarge(rule.max_bytes / (1024 * 1024)));
    }
    let extension = filename
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    if !rule.extensions.contains(&extension.as_str()) {
        return Err(MediaRejection::ExtensionMismatch(
            rule.content_type.to_owned(),
        ));
    }
    Ok(rule)
}

/// Checks the stored bytes (their beginning) against the rule the upload was declared with.
pub fn check_content(rule: &MediaRule, head: &[u8]) -> Result<(), MediaRejection> {
    if head.is_empty() {
        return Err(MediaRejection::Empty);
    }
    let mismatch = || MediaRejection::ContentMismatch(rule.content_type.to_owned());
    if rule.content_type == "text/vcard" {
        let text = String::from_utf8_lossy(head);
        return if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("BEGIN:VCARD")
        {
            Ok(())
        } else {
            Err(mismatch())
        };
    }
    let sniffed = infer::get(head)
        .map(|t| t.mime_type())
        .ok_or_else(mismatch)?;
    if rule.sniffed_as.contains(&sniffed) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// One WhatsApp message of a send: WhatsApp carries one media per message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPart {
    pub message_type: MessageType,
    pub text: Option<String>,
    pub attachment: Option<super::Attachment>,
}

/// Longest caption WhatsApp shows under a photo or video ("Maximum 1024 characters", the
/// Cloud API's media messages); a longer text goes as a message of its own.
pub const MAX_CAPTION_CHARS: usize = 1024;

/// Splits a send into WhatsApp messages: one per attachment, the text as the caption of the
/// first attachment whose type takes one (when it fits a caption) — otherwise as a text
/// message of its own, first.
pub fn split_outbound(
    text: Option<String>,
    attachments: Vec<(super::Attachment, &'static MediaRule)>,
) -> Vec<OutboundPart> {
    let caption_at = text
        .as_ref()
        .filter(|t| t.chars().count() <= MAX_CAPTION_CHARS)
        .and_then(|_| attachments.iter().position(|(_, rule)| rule.takes_caption));
    let mut parts = Vec::with_capacity(attachments.len() + 1);
    if caption_at.is_none()
        && let Some(text) = &text
    {
        parts.push(OutboundPart {
            message_type: MessageType::Text,
            text: Some(text.clone()),
            attachment: None,
        });
    }
    for (i, (attachment, rule)) in attachments.into_iter().enumerate() {
        parts.push(OutboundPart {
            message_type: rule.message_type,
            text: if caption_at == Some(i) {
                text.clone()
            } else {
                None
            },
            attachment: Some(attachment),
        });
    }
    parts
}

/// Received types served inline: what WhatsApp itself displays (images, stickers, voice
/// notes and audio, video). Everything else — documents, contact cards, and whatever a contact
/// or a CDN calls `text/html` or `image/svg+xml` — is served as a download, so nothing a
/// contact sends can run in the CRM's origin or a browser tab.
pub const SHOWN_INLINE: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "audio/ogg",
    "audio/amr",
    "audio/aac",
    "audio/mpeg",
    "audio/mp4",
    "video/mp4",
    "video/3gpp",
];

/// How a received file is stored and served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedAs {
    /// The stored `Content-Type`.
    pub content_type: String,
    /// Whether it is served with `Content-Disposition: attachment`.
    pub download: bool,
}

/// A displayable type as it is; anything else as an opaque download.
pub fn served_as(content_type: &str) -> ServedAs {
    let essence = canonical_type(content_type);
    if SHOWN_INLINE.contains(&essence.as_str()) {
        ServedAs {
            content_type: essence,
            download: false,
        }
    } else {
        ServedAs {
            content_type: "application/octet-stream".into(),
            download: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x80\0\0\0\x0e\x1f\xba\x0e\0\xb4\t\xcd!\xb8\x01L\xcd!This program cannot be run in DOS mode.";
    const OGG: &[u8] =
        b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x8a\x9f\x8b\x8a\x01\x13OpusHead\x01\x01";

    #[test]
    fn declared_types_and_sizes() {
        assert_eq!(
            check_declared("photo.JPG", "image/jpeg", 1000)
                .unwrap()
                .message_type,
            MessageType::Image
        );
        assert!(check_declared("photo.png", "image/png", MAX_IMAGE_BYTES).is_ok());
        assert_eq!(
            check_declared("photo.png", "image/png", MAX_IMAGE_BYTES + 1),
            Err(MediaRejection::TooLarge(5))
        );
        assert!(check_declared("report.pdf", "application/pdf", MAX_MEDIA_BYTES).is_ok());
        assert_eq!(
            check_declared("report.pdf", "application/pdf", MAX_MEDIA_BYTES + 1),
            Err(MediaRejection::TooLarge(16))
        );
        assert_eq!(
            check_declared("note.ogg", "audio/ogg; codecs=opus", 10)
                .unwrap()
                .message_type,
            MessageType::Audio
        );
        assert!(check_declared("clip.mp4", "video/mp4", 10).is_ok());
        assert!(check_declared("card.vcf", "text/vcard", 10).is_ok());
        for (name, ct) in [
            (
                "a.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            (
                "a.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                "a.pptx",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            ),
            ("a.doc", "application/msword"),
            ("a.xls", "application/vnd.ms-excel"),
            ("a.ppt", "application/vnd.ms-powerpoint"),
            ("a.amr", "audio/amr"),
            ("a.3gp", "audio/3gpp"),
            ("a.aac", "audio/aac"),
            ("a.mp3", "audio/mpeg"),
        ] {
            assert!(check_declared(name, ct, 10).is_ok(), "{name}");
        }
    }

    #[test]
    fn refused_declarations() {
        assert_eq!(
            check_declared("a.gif", "image/gif", 10),
            Err(MediaRejection::UnsupportedType("image/gif".into()))
        );
        assert!(matches!(
            check_declared("setup.exe", "application/x-msdownload", 10),
            Err(MediaRejection::UnsupportedType(_))
        ));
        assert_eq!(
            check_declared("a.png", "image/png", 0),
            Err(MediaRejection::Empty)
        );
        assert!(matches!(
            check_declared("invoice.exe", "application/pdf", 10),
            Err(MediaRejection::ExtensionMismatch(_))
        ));
        assert!(matches!(
            check_declared("noextension", "application/pdf", 10),
            Err(MediaRejection::ExtensionMismatch(_))
        ));
        assert_eq!(
            MediaRejection::TooLarge(5).to_string(),
            "The file is too large: at most 5 MB for this type."
        );
    }

    #[test]
    fn content_must_be_what_was_declared() {
        let png = media_rule("image/png").unwrap();
        let jpeg = media_rule("image/jpeg").unwrap();
        let pdf = media_rule("application/pdf").unwrap();
        assert_eq!(check_content(png, PNG), Ok(()));
        assert_eq!(check_content(jpeg, JPEG), Ok(()));
        assert_eq!(check_content(pdf, PDF), Ok(()));
        assert_eq!(check_content(media_rule("audio/ogg").unwrap(), OGG), Ok(()));
        // A spoofed content type, and an executable renamed .pdf.
        assert!(matches!(
            check_content(png, JPEG),
            Err(MediaRejection::ContentMismatch(_))
        ));
        assert!(matches!(
            check_content(pdf, EXE),
            Err(MediaRejection::ContentMismatch(_))
        ));
        assert!(matches!(
            check_content(pdf, b"just some text"),
            Err(MediaRejection::ContentMismatch(_))
        ));
        assert_eq!(check_content(pdf, b""), Err(MediaRejection::Empty));
        let vcard = media_rule("text/x-vcard").unwrap();
        assert_eq!(
            check_content(
                vcard,
                b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Aisha\r\nEND:VCARD\r\n"
            ),
            Ok(())
        );
        assert!(check_content(vcard, EXE).is_err());
    }

    fn attachment(content_type: &str) -> (super::super::Attachment, &'static MediaRule) {
        (
            super::super::Attachment {
                key: Some(format!("acme/uploads/x/{content_type}")),
                url: None,
                content_type: content_type.into(),
                filename: None,
                size: Some(1),
                error: None,
                card: None,
            },
            media_rule(content_type).unwrap(),
        )
    }

    #[test]
    fn one_message_per_attachment_with_the_text_as_first_possible_caption() {
        let parts = split_outbound(
            Some("Here you go".into()),
            vec![
                attachment("audio/mpeg"),
                attachment("image/png"),
                attachment("application/pdf"),
            ],
        );
        let shape: Vec<(MessageType, Option<&str>)> = parts
            .iter()
            .map(|p| (p.message_type, p.text.as_deref()))
            .collect();
        assert_eq!(
            shape,
            [
                (MessageType::Audio, None),
                (MessageType::Image, Some("Here you go")),
                (MessageType::Document, None)
            ]
        );
    }

    #[test]
    fn a_text_longer_than_a_caption_goes_alone_before_the_files() {
        for (chars, caption) in [(MAX_CAPTION_CHARS, true), (MAX_CAPTION_CHARS + 1, false)] {
            let text = "é".repeat(chars);
            let parts = split_outbound(Some(text.clone()), vec![attachment("image/jpeg")]);
            let shape: Vec<(MessageType, bool)> = parts
                .iter()
                .map(|p| (p.message_type, p.text.is_some()))
                .collect();
            let expected: &[(MessageType, bool)] = if caption {
                &[(MessageType::Image, true)]
            } else {
                &[(MessageType::Text, true), (MessageType::Image, false)]
            };
            assert_eq!(shape, expected, "{chars} characters");
        }
    }

    #[test]
    fn text_goes_alone_when_no_attachment_takes_a_caption() {
        let parts = split_outbound(
            Some("Listen".into()),
            vec![attachment("audio/ogg"), attachment("text/vcard")],
        );
        let shape: Vec<(MessageType, Option<&str>)> = parts
            .iter()
            .map(|p| (p.message_type, p.text.as_deref()))
            .collect();
        assert_eq!(
            shape,
            [
                (MessageType::Text, Some("Listen")),
                (MessageType::Audio, None),
                (MessageType::Document, None)
            ]
        );
        assert_eq!(
            split_outbound(None, vec![attachment("image/jpeg")]).len(),
            1
        );
        assert_eq!(split_outbound(Some("hi".into()), vec![]).len(), 1);
    }

    #[test]
    fn captions_follow_whatsapp() {
        assert!(media_rule("image/png").unwrap().takes_caption);
        assert!(!media_rule("application/pdf").unwrap().takes_caption);
        assert!(media_rule("video/mp4").unwrap().takes_caption);
        assert!(!media_rule("audio/mpeg").unwrap().takes_caption);
        assert!(!media_rule("text/vcard").unwrap().takes_caption);
    }

    #[test]
    fn only_what_whatsapp_displays_is_served_inline() {
        for (received, stored) in [
            ("image/jpeg", "image/jpeg"),
            ("image/JPG", "image/jpeg"),
            ("image/webp", "image/webp"),
            ("audio/ogg; codecs=opus", "audio/ogg"),
            ("video/mp4", "video/mp4"),
        ] {
            assert_eq!(
                served_as(received),
                ServedAs {
                    content_type: stored.into(),
                    download: false
                },
                "{received}"
            );
        }
        for received in [
            "text/html",
            "text/html; charset=utf-8",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "application/javascript",
            "application/pdf",
            "text/vcard",
            "",
            "nonsense",
        ] {
            assert_eq!(
                served_as(received),
                ServedAs {
                    content_type: "application/octet-stream".into(),
                    download: true
                },
                "{received}"
            );
        }
    }
}
