//! Twilio errors and what the send path does about each.

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TwilioError {
    /// No connection was made: Twilio certainly did not get the request.
    #[error("could not reach Twilio: {0}")]
    Network(String),
    /// The request was (or may have been) sent, and no answer came in time: Twilio may have
    /// accepted it.
    #[error("Twilio did not answer in time")]
    Timeout,
    /// The connection broke after the request was written: Twilio may have accepted it.
    #[error("the connection to Twilio broke before its answer: {0}")]
    ConnectionLost(String),
    /// Twilio answered with its JSON error document (or at least an error status).
    #[error("Twilio error {code:?} (HTTP {http_status}): {message}")]
    Api {
        http_status: u16,
        code: Option<u32>,
        message: String,
        more_info: Option<String>,
    },
    /// An answer we could not read (for a send: a 2xx, so Twilio may have accepted it).
    #[error("unreadable answer from Twilio: {0}")]
    InvalidResponse(String),
    /// A media download refused before or while it was made (see `media_fetch`).
    #[error("media not fetched: {0}")]
    MediaRefused(super::MediaRefusal),
}

/// What the worker does with a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Try again later (network, timeout, 5xx, 429/20429, 63018).
    Transient,
    /// The organization's account or sender is wrong (20003, 63007, 21606, HTTP 401).
    Configuration,
    /// The contact has opted out at WhatsApp level (21610).
    Unsubscribed,
    /// Anything else: fail at once with Twilio's reason.
    Permanent,
}

/// Twilio's JSON error document: `{code, message, more_info, status}`.
#[derive(Debug, Deserialize)]
pub(crate) struct ErrorDocument {
    pub code: Option<u32>,
    pub message: Option<String>,
    pub more_info: Option<String>,
}

impl TwilioError {
    pub fn from_error_response(http_status: u16, body: &[u8]) -> Self {
        let doc: Option<ErrorDocument> = serde_json::from_slice(body).ok();
        let code = doc.as_ref().and_then(|d| d.code);
        let message = doc
            .as_ref()
            .and_then(|d| d.message.clone())
            .or_else(|| code.and_then(describe_error_code).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {http_status}"));
        TwilioError::Api {
            http_status,
            code,
            message,
            more_info: doc.and_then(|d| d.more_info),
        }
    }

    /// The HTTP status of an error answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            TwilioError::Api { http_status, .. } => Some(*http_status),
            _ => None,
        }
    }

    pub fn code(&self) -> Option<u32> {
        match self {
            TwilioError::Api { code, .. } => *code,
            _ => None,
        }
    }

    /// Whether Twilio may have accepted the request despite the error: a send must then be
    /// reconciled with Twilio before it is made again. A 5xx is one: Twilio's edge can answer
    /// 500/502/503/504 after the message was created behind it. A 429 and every 4xx are
    /// refusals.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            TwilioError::Timeout
            | TwilioError::ConnectionLost(_)
            | TwilioError::InvalidResponse(_) => true,
            TwilioError::Api { http_status, .. } => *http_status >= 500,
            TwilioError::Network(_) | TwilioError::MediaRefused(_) => false,
        }
    }

    pub fn kind(&self) -> FailureKind {
        match self {
            TwilioError::Network(_)
            | TwilioError::Timeout
            | TwilioError::ConnectionLost(_)
            | TwilioError::InvalidResponse(_) => FailureKind::Transient,
            TwilioError::Api {
                http_status, code, ..
            } => match code {
                Some(20429 | 63018) => FailureKind::Transient,
                Some(20003 | 63007 | 21606) => FailureKind::Configuration,
                Some(21610) => FailureKind::Unsubscribed,
                _ if *http_status == 429 || *http_status >= 500 => FailureKind::Transient,
                _ if *http_status == 401 => FailureKind::Configuration,
                _ => FailureKind::Permanent,
            },
            TwilioError::MediaRefused(_) => FailureKind::Permanent,
        }
    }

    /// The reason as a person reads it, without the "Failed to send via WhatsApp:" prefix.
    pub fn reason(&self) -> String {
        match self {
            TwilioError::Api { code, message, .. } => match code {
                Some(code) => format!("{message} (Twilio error {code})"),
                None => message.clone(),
            },
            other => other.to_string(),
        }
    }
}

/// Short descriptions of the error codes a WhatsApp sender meets most, for status callbacks
/// that carry only `ErrorCode`.
pub fn describe_error_code(code: u32) -> Option<&'static str> {
    Some(match code {
        20003 => "Authentication failed",
        20429 => "Too many requests",
        21211 => "Invalid 'To' phone number",
        21408 => "Permission to send to this region is not enabled",
        21606 => "The 'From' number is not a valid sender for this account",
        21610 => "The recipient has unsubscribed (replied STOP)",
        21614 => "'To' number is not a valid mobile number",
        21617 => "The message body exceeds the 1600 character limit",
        21619 => "A text message body or media URL is required",
        21620 => "Invalid media URL",
        21623 => "Too many media files for this message",
        30003 => "Unreachable destination handset",
        30004 => "Message blocked",
        30005 => "Unknown destination handset",
        30006 => "Landline or unreachable carrier",
        30007 => "Message filtered",
        30008 => "Unknown error",
        63001 => "WhatsApp could not authenticate the sender",
        63003 => "The recipient is not a WhatsApp user",
        63005 => "WhatsApp did not accept the message content",
        63007 => "Twilio could not find a WhatsApp sender for the 'From' number",
        63010 => "Twilio could not process the message for WhatsApp",
        63012 => "WhatsApp reported an internal error",
        63013 => "The message breaks WhatsApp's policy",
        63016 => "Outside the 24-hour window: a template message is required",
        63018 => "Rate limit exceeded for the WhatsApp sender",
        63019 => "Media failed to download",
        63021 => "WhatsApp does not accept this content",
        63024 => "Invalid message recipient",
        63027 => "The template does not exist for this language",
        63028 => "The number of template variables does not match the template",
        63030 => "WhatsApp does not support a parameter of this message",
        63032 => "The recipient cannot receive this message",
        63049 => "Meta chose not to deliver this marketing message to the recipient",
        130472 => "The recipient is part of a WhatsApp marketing experiment and did not receive it",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(http_status: u16, code: Option<u32>) -> TwilioError {
        TwilioError::Api {
            http_status,
            code,
            message: "m".into(),
            more_info: None,
        }
    }

    #[test]
    fn transient_failures_are_retried() {
        assert_eq!(TwilioError::Timeout.kind(), FailureKind::Transient);
        assert_eq!(
            TwilioError::Network("reset".into()).kind(),
            FailureKind::Transient
        );
        assert_eq!(api(500, None).kind(), FailureKind::Transient);
        assert_eq!(api(503, Some(20500)).kind(), FailureKind::Transient);
        assert_eq!(api(429, None).kind(), FailureKind::Transient);
        assert_eq!(api(429, Some(20429)).kind(), FailureKind::Transient);
        assert_eq!(api(400, Some(63018)).kind(), FailureKind::Transient);
    }

    #[test]
    fn configuration_failures() {
        assert_eq!(api(401, Some(20003)).kind(), FailureKind::Configuration);
        assert_eq!(api(400, Some(63007)).kind(), FailureKind::Configuration);
        assert_eq!(api(400, Some(21606)).kind(), FailureKind::Configuration);
        assert_eq!(api(401, None).kind(), FailureKind::Configuration);
    }

    #[test]
    fn unsubscribed_and_permanent() {
        assert_eq!(api(400, Some(21610)).kind(), FailureKind::Unsubscribed);
        assert_eq!(api(400, Some(21211)).kind(), FailureKind::Permanent);
        assert_eq!(api(400, Some(63016)).kind(), FailureKind::Permanent);
    }

    /// Only a failed connection or an error answer proves Twilio did not take a send; the
    /// rest must be looked up at Twilio before anything is sent again.
    #[test]
    fn which_failures_leave_the_outcome_unknown() {
        let unknown = [
            TwilioError::Timeout,
            TwilioError::ConnectionLost("dropped while reading the answer".into()),
            TwilioError::InvalidResponse("expected value".into()),
            api(500, Some(20500)),
            api(502, None),
            api(503, None),
            api(504, None),
        ];
        for e in &unknown {
            assert!(e.outcome_unknown(), "{e:?}");
            assert_eq!(e.kind(), FailureKind::Transient, "{e:?}");
        }
        for e in [
            TwilioError::Network("connection failed".into()),
            api(429, Some(20429)),
            api(429, Some(63018)),
            api(400, Some(21211)),
        ] {
            assert!(!e.outcome_unknown(), "{e:?}");
        }
    }

    #[test]
    fn reads_twilios_error_document() {
        let body = br#"{"code": 21211, "message": "The 'To' number +1 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
        let e = TwilioError::from_error_response(400, body);
        assert_eq!(e.code(), Some(21211));
        assert_eq!(
            e.reason(),
            "The 'To' number +1 is not a valid phone number. (Twilio error 21211)"
        );
        let e = TwilioError::from_error_response(502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), None);
        assert_eq!(e.reason(), "HTTP 502");
        assert_eq!(e.kind(), FailureKind::Transient);
    }
}
