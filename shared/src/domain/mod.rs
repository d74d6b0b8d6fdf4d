//! Pure types and rules of the WhatsApp channel. No I/O lives here.

mod agent;
mod canned;
mod contact;
mod conversation;
mod details;
mod draft;
pub mod failure_advice;
mod ids;
mod interactive;
mod job;
mod media;
mod message;
mod optout;
mod org_config;
mod phone;
mod phone_metadata;
mod phone_rules;
mod presence;
pub mod search;
mod sender_health;
pub mod sentences;
mod template;
mod vcard;
mod window;

pub use agent::{AgentId, AgentRef, SentBy};
pub use canned::{
    CANNED_VARIABLES, CannedRejection, CannedResponse, MAX_CANNED_RESPONSES, MAX_SHORTCUT_CHARS,
    normalize_shortcut, placeholders,
};
pub use contact::{Contact, ContactChange, Ineligibility};
pub use conversation::{ConversationSummary, LastMessage, PREVIEW_CHARS, preview};
pub use details::{
    ButtonReply, InboundDetails, Location, Referral, ReplyTo, WhatsAppUser, is_whatsapp_user_id,
};
pub use draft::{Draft, DraftAttachment, DraftKind, DraftRejection};
pub use ids::{ContactId, InvalidId, MessageId, OrganizationId};
pub use interactive::{
    Button, CONTENT_NAME_PREFIX, Interactive, InteractiveRejection, ListItem,
    MAX_BUTTON_TITLE_CHARS, MAX_BUTTONS, MAX_INTERACTIVE_BODY_CHARS, MAX_ITEM_DESCRIPTION_CHARS,
    MAX_ITEM_TITLE_CHARS, MAX_LIST_BUTTON_CHARS, MAX_LIST_ITEMS, check_buttons,
};
pub use job::{ERASURE_FINAL_SWEEP_DELAY, ERASURE_SWEEPS, ErasureJob, MessageJob, WorkerJob};
pub use media::{
    MAX_CAPTION_CHARS, MAX_IMAGE_BYTES, MAX_MEDIA_BYTES, MEDIA_RULES, MediaRejection, MediaRule,
    OutboundPart, SHOWN_INLINE, SNIFF_BYTES, ServedAs, check_content, check_declared, media_rule,
    served_as, split_outbound,
};
pub use message::{
    Attachment, Direction, Message, MessageStatus, MessageType, StatusChange, merge_attachments,
};
pub use optout::{OptAction, keyword_action, opt_out_type_action};
pub use org_config::{
    ApiKey, ChannelConfig, OrgConfig, RETENTION_DAYS, RETENTION_TAG, is_account_sid,
    is_api_key_sid, is_messaging_service_sid, parse_org_secret,
};
pub use phone::{InvalidPhoneNumber, PhoneNumber};
pub use presence::{Presence, PresenceState, shown_presences};
pub use sender_health::{HealthLevel, OfflineReason, SenderHealth};
pub use template::{
    MAX_VARIABLE_CHARS, SentTemplate, Template, TemplateAction, TemplateRejection, is_content_sid,
};
pub use vcard::{ContactCard, MAX_CARD_BYTES, parse_vcard};
pub use window::{ConversationWindow, WINDOW_HOURS, conversation_window};

/// Longest free-form text Twilio accepts in one WhatsApp message body.
pub const MAX_TEXT_CHARS: usize = 1600;

/// At most this many attachments in one send (each becomes a message of its own).
pub const MAX_ATTACHMENTS: usize = 10;
