//! Demo data: organizations (with their Twilio secret, or none), a demo user each, and
//! contacts. The format is documented in the README; `--seed FILE` loads another file.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use shared::domain::{Contact, ContactId, OrganizationId};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub organizations: Vec<SeedOrganization>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedOrganization {
    pub organization_id: OrganizationId,
    pub name: String,
    pub user: SeedUser,
    /// More agents of the organization, each with a demo token of its own (the page signs in
    /// as `user`; tests and a second tab can act as these).
    #[serde(default)]
    pub agents: Vec<SeedUser>,
    /// A little conversation history the runner plays at start through the sandbox and the
    /// API (`cargo run -p local`; `LOCAL_HISTORY=off` skips it), so a new user sees the
    /// inbox at work.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// Exactly the JSON of the organization's Secrets Manager secret; null = no secret.
    #[serde(default)]
    pub twilio: Option<serde_json::Value>,
    #[serde(default)]
    pub contacts: Vec<SeedContact>,
    /// The organization's Twilio Content API templates, exactly as Twilio's
    /// `ContentAndApprovals` lists them (approved, pending, rejected; any type).
    #[serde(default)]
    pub templates: Vec<serde_json::Value>,
    /// The WhatsApp senders (E.164) in the sandbox's Messaging Service of the organization,
    /// when its secret names one (`twilio_messaging_service_sid`), besides its
    /// `twilio_whatsapp_from`.
    #[serde(default)]
    pub messaging_service_senders: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub sub: String,
    pub email: String,
    /// The token's `name` claim: what other agents see on this agent's messages.
    #[serde(default)]
    pub name: Option<String>,
}

/// One message of the seed's history, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    pub contact_id: ContactId,
    /// Who writes it: the contact (through the sandbox, as Twilio delivers it) or the
    /// organization's first agent (through the API).
    pub from: HistorySide,
    #[serde(default)]
    pub text: Option<String>,
    /// A contact's media, as the sandbox panel sends it: `image`, `document` or `voice`.
    #[serde(default)]
    pub media: Option<String>,
    /// Leaves the conversation unread (every other one is read up to its newest message).
    #[serde(default)]
    pub unread: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistorySide {
    Contact,
    Agent,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedContact {
    pub contact_id: ContactId,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub whatsapp_opt_in: bool,
    #[serde(default)]
    pub whatsapp_blocked: bool,
    #[serde(default)]
    pub whatsapp_unsubscribed: bool,
    /// An absolute time, or…
    #[serde(default)]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// …minutes before the runner started, so the demo's 24-hour windows stay open.
    #[serde(default)]
    pub last_inbound_minutes_ago: Option<i64>,
    /// The contact's WhatsApp user id (BSUID), for a user who writes under a username.
    #[serde(default)]
    pub whatsapp_user_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("seed file {path} is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("seed file {path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// The demo data shipped with the repository.
pub const DEFAULT_SEED: &str = include_str!("../seed.json");

impl Seed {
    pub fn parse(json: &str, origin: &str) -> Result<Self, SeedError> {
        let seed: Seed = serde_json::from_str(json).map_err(|source| SeedError::Parse {
            path: origin.into(),
            source,
        })?;
        let mut ids = std::collections::HashSet::new();
        for org in &seed.organizations {
            if !ids.insert(org.organization_id.clone()) {
                return Err(SeedError::Invalid {
                    path: origin.into(),
                    reason: format!("organization {} appears twice", org.organization_id),
                });
            }
        }
        Ok(seed)
    }

    pub fn load(path: &Path) -> Result<Self, SeedError> {
        let json = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&json, &path.display().to_string())
    }

    pub fn default_demo() -> Result<Self, SeedError> {
        Self::parse(DEFAULT_SEED, "local/seed.json")
    }
}

impl SeedContact {
    pub fn to_contact(&self, org: &OrganizationId, now: DateTime<Utc>) -> Contact {
        Contact {
            organization_id: org.clone(),
            contact_id: self.contact_id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
            phone_number: self.phone_number.clone(),
            whatsapp_opt_in: self.whatsapp_opt_in,
            whatsapp_blocked: self.whatsapp_blocked,
            whatsapp_unsubscribed: self.whatsapp_unsubscribed,
            last_inbound_at: self.last_inbound_at.or_else(|| {
                self.last_inbound_minutes_ago
                    .map(|m| now - Duration::minutes(m))
            }),
            whatsapp_opt_changed_at: None,
            whatsapp_user_id: self.whatsapp_user_id.clone(),
        }
    }
}
