//! `ApiError`: every way a request fails, and the one place errors meet HTTP (status, code,
//! the JSON `{"error": {code, message}}` body).

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use serde_json::json;

use super::json_response;
use crate::domain::{Ineligibility, MAX_TEXT_CHARS, sentences};
use crate::ports::PortError;

/// Every way an API request can fail. `status` and `code` are the one place errors meet
/// HTTP; the Display text is the message a person reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("Missing or invalid authorization.")]
    Unauthorized,
    #[error("{0}")]
    InvalidJson(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Content-Type must be application/json.")]
    UnsupportedMediaType,
    #[error("{}", sentences::NO_CONTENT)]
    NoContent,
    #[error("Text is longer than {MAX_TEXT_CHARS} characters.")]
    TextTooLong,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{}", sentences::NOT_CONFIGURED)]
    NotConfigured,
    #[error("{0}")]
    Ineligible(Ineligibility),
    #[error("{}", sentences::OUTSIDE_WINDOW)]
    OutsideWindow,
    #[error("{0}")]
    AttachmentRejected(crate::domain::MediaRejection),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("This needs a signed-in agent: the token names none (no `sub` claim).")]
    AgentRequired,
    #[error("{0}")]
    NotSupported(&'static str),
    #[error("{}", sentences::INVALID_CONFIGURATION)]
    InvalidConfiguration,
    #[error("This template is not one of the organization's approved WhatsApp templates.")]
    TemplateNotFound,
    #[error("{0}")]
    TemplateRejected(crate::domain::TemplateRejection),
    #[error("{0}")]
    InvalidIdempotencyKey(&'static str),
    #[error("This Idempotency-Key was already used for a different message.")]
    IdempotencyKeyReused,
    #[error("A send with this Idempotency-Key is still in progress. Please try again in a moment.")]
    SendInProgress,
    #[error("This message is not in this contact's conversation.")]
    NotInConversation,
    /// A send that named the newest message its agent had seen, while the contact or
    /// another agent wrote since: `messages` are those (as `GET /whatsapp/messages` shows
    /// them), newest last.
    #[error(
        "The conversation changed since you looked: {count} new message(s). Read them, then send again."
    )]
    ConversationChanged {
        count: usize,
        messages: serde_json::Value,
    },
    #[error("Another canned response of the organization has this shortcut.")]
    ShortcutTaken,
    #[error(
        "The organization has {} canned responses, as many as it may: delete one first.",
        crate::domain::MAX_CANNED_RESPONSES
    )]
    CannedResponseLimit,
    #[error(
        "This canned response changed since it was read (another agent saved or deleted it). Read it again."
    )]
    CannedResponseChanged,
    #[error("{0}")]
    UnknownVariable(String),
    /// Two options of a button or list message share an id.
    #[error("{0}")]
    DuplicateOptionId(String),
    /// A canned response with buttons whose text is longer than their body may be.
    #[error("{0}")]
    TextTooLongForButtons(String),
    /// A method no route takes at a path that has routes; `allow` lists theirs.
    #[error("{method} is not allowed here; this path takes {allow}.")]
    MethodNotAllowed { method: String, allow: String },
    #[error("{}", sentences::UNAVAILABLE)]
    Unavailable,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized => 401,
            ApiError::InvalidJson(_)
            | ApiError::InvalidParameter(_)
            | ApiError::NoContent
            | ApiError::TextTooLong
            | ApiError::InvalidIdempotencyKey(_) => 400,
            ApiError::Forbidden(_) | ApiError::AgentRequired => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::NotConfigured
            | ApiError::InvalidConfiguration
            | ApiError::SendInProgress
            | ApiError::ConversationChanged { .. }
            | ApiError::ShortcutTaken
            | ApiError::CannedResponseLimit
            | ApiError::CannedResponseChanged => 409,
            ApiError::UnsupportedMediaType => 415,
            ApiError::Ineligible(_)
            | ApiError::OutsideWindow
            | ApiError::NotSupported(_)
            | ApiError::AttachmentRejected(_)
            | ApiError::TemplateNotFound
            | ApiError::TemplateRejected(_)
            | ApiError::IdempotencyKeyReused
            | ApiError::NotInConversation
            | ApiError::UnknownVariable(_)
            | ApiError::DuplicateOptionId(_)
            | ApiError::TextTooLongForButtons(_) => 422,
            ApiError::Unavailable => 503,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidParameter(_) => "invalid_parameter",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::NoContent => "no_content",
            ApiError::TextTooLong => "text_too_long",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotConfigured => "whatsapp_not_configured",
            ApiError::Ineligible(Ineligibility::NoValidPhone) => "invalid_phone_number",
            ApiError::Ineligible(Ineligibility::NotOptedIn) => "not_opted_in",
            ApiError::Ineligible(Ineligibility::Blocked) => "contact_blocked",
            ApiError::Ineligible(Ineligibility::Unsubscribed) => "contact_unsubscribed",
            ApiError::Ineligible(Ineligibility::UsernameOnly) => "username_only",
            ApiError::OutsideWindow => "outside_24h_window",
            ApiError::AttachmentRejected(_) => "attachment_rejected",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::AgentRequired => "agent_required",
            ApiError::NotSupported(_) => "not_supported",
            ApiError::InvalidConfiguration => "whatsapp_invalid_configuration",
            ApiError::TemplateNotFound => "template_not_found",
            ApiError::TemplateRejected(_) => "invalid_template_variables",
            ApiError::InvalidIdempotencyKey(_) => "invalid_idempotency_key",
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::SendInProgress => "send_in_progress",
            ApiError::NotInConversation => "message_not_in_conversation",
            ApiError::ConversationChanged { .. } => "conversation_changed",
            ApiError::ShortcutTaken => "shortcut_taken",
            ApiError::CannedResponseLimit => "canned_response_limit",
            ApiError::CannedResponseChanged => "canned_response_changed",
            ApiError::UnknownVariable(_) => "unknown_variable",
            ApiError::DuplicateOptionId(_) => "duplicate_option_id",
            ApiError::TextTooLongForButtons(_) => "text_too_long_for_buttons",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Unavailable => "service_unavailable",
        }
    }

    /// A failed read from Twilio (templates): the organization's credentials refused, or
    /// Twilio unreachable or unreadable — never an empty answer.
    pub fn from_twilio(e: &crate::twilio::TwilioError) -> Self {
        match e.kind() {
            crate::twilio::FailureKind::Configuration => ApiError::InvalidConfiguration,
            _ => ApiError::Unavailable,
        }
    }

    pub fn into_response(self) -> ApiGatewayV2httpResponse {
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        if let ApiError::ConversationChanged { messages, .. } = &self {
            error["messages"] = messages.clone();
        }
        let mut response = json_response(self.status(), &json!({ "error": error }));
        if let ApiError::MethodNotAllowed { allow, .. } = &self
            && let Ok(allow) = http::HeaderValue::from_str(allow)
        {
            response.headers.insert(http::header::ALLOW, allow);
        }
        if matches!(self, ApiError::Unavailable | ApiError::SendInProgress) {
            response.headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from_static("5"),
            );
        }
        response
    }
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::InvalidCursor => {
                ApiError::InvalidParameter("The cursor is not valid.".into())
            }
            PortError::NotFound => ApiError::NotFound("Not found."),
            PortError::Unavailable(detail) => {
                tracing::error!(error = %detail, "backing service unavailable");
                ApiError::Unavailable
            }
            PortError::Corrupt(detail) => {
                tracing::error!(error = %detail, "stored data unreadable");
                ApiError::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &ApiGatewayV2httpResponse) -> serde_json::Value {
        match &r.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => serde_json::from_str(t).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn errors_are_json_with_code_and_exact_message() {
        let r = ApiError::NotConfigured.into_response();
        assert_eq!(r.status_code, 409);
        assert_eq!(
            body(&r),
            json!({"error": {"code": "whatsapp_not_configured", "message": "WhatsApp is not configured for this organization."}})
        );
        let r = ApiError::OutsideWindow.into_response();
        assert_eq!(
            body(&r)["error"]["message"],
            "This contact hasn't messaged you for more than 24 hours; WhatsApp may require a template message."
        );
        assert_eq!(ApiError::NoContent.to_string(), "No content to send.");
        assert_eq!(
            ApiError::Ineligible(Ineligibility::NoValidPhone)
                .into_response()
                .status_code,
            422
        );
    }

    #[test]
    fn port_failures_are_503_never_500() {
        let r = ApiError::from(PortError::Unavailable("dynamodb throttled".into())).into_response();
        assert_eq!(r.status_code, 503);
        assert!(r.headers.contains_key("retry-after"));
        assert!(
            !body(&r).to_string().contains("dynamodb"),
            "no internals leak"
        );
        assert_eq!(
            ApiError::from(PortError::InvalidCursor)
                .into_response()
                .status_code,
            400
        );
    }
}
