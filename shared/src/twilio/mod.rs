//! The Twilio protocol: Messages, Content, Messaging Services and typing indicator API client, webhook forms,
//! request signatures, error codes.

mod client;
pub mod content;
mod content_write;
mod error;
mod indicators;
mod media_download;
mod media_fetch;
mod outbound;
mod overrides;
mod pages;
mod rotation;
mod senders;
mod services;
mod signature;
mod webhook;

pub use client::{
    CONTENT_PAGE_SIZE, ListedMessage, MAX_CONTENT_PAGES, MAX_INBOUND_MEDIA_BYTES,
    RECONCILE_MAX_PAGES, RECONCILE_PAGE_SIZE, TwilioClient, new_message_sid,
};
pub use content_write::ListedContent;
pub use error::{FailureKind, TwilioError, describe_error_code};
pub use media_fetch::{
    DEFAULT_MEDIA_HOSTS, MediaPolicy, MediaRefusal, PublicOnlyResolver, is_account_media_url,
    is_public,
};
pub use outbound::{OutboundContent, OutboundMessage, SentMessage};
pub use overrides::{ConnectionOverrides, RECOMMENDED_OVERRIDES, RetryOn};
pub use rotation::{REREAD_EVERY, SecretRereads};
pub use senders::SENDER_HEALTH_TIMEOUT;
pub use signature::{compute_signature, is_well_formed_signature, validate_signature};
pub use webhook::{
    FormParams, InboundMedia, InboundMessage, StatusCallback, WebhookError, is_message_sid,
};

/// The header Twilio signs every webhook request with.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";
