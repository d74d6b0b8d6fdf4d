//! Contacts and the rule that decides who may be messaged on WhatsApp.

use super::sentences;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ContactId, OrganizationId, PhoneNumber};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub organization_id: OrganizationId,
    pub contact_id: ContactId,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// As the CRM holds it; not necessarily valid, which is why eligibility re-checks it.
    #[serde(default)]
    pub phone_number: Option<String>,
    #[serde(default)]
    pub whatsapp_opt_in: bool,
    #[serde(default)]
    pub whatsapp_blocked: bool,
    #[serde(default)]
    pub whatsapp_unsubscribed: bool,
    #[serde(default)]
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// When the contact last opted out or in from WhatsApp (the time of that STOP or START
    /// message): a retried older webhook never undoes a newer choice.
    #[serde(default)]
    pub whatsapp_opt_changed_at: Option<DateTime<Utc>>,
    /// The contact's WhatsApp business-scoped user id (BSUID, e.g. `US.13491208655302741918`),
    /// when the CRM knows it: a message from a WhatsApp user who hides their number behind a
    /// username lands in this contact's conversation.
    #[serde(default)]
    pub whatsapp_user_id: Option<String>,
}

/// Why a contact cannot be messaged. The texts are shown to CRM users as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ineligibility {
    #[error("{}", sentences::NO_VALID_PHONE)]
    NoValidPhone,
    #[error("{}", sentences::NOT_OPTED_IN)]
    NotOptedIn,
    #[error("{}", sentences::BLOCKED)]
    Blocked,
    #[error("{}", sentences::UNSUBSCRIBED)]
    Unsubscribed,
    /// Known by a WhatsApp user id only, without a number to send to.
    #[error("{}", sentences::USERNAME_ONLY)]
    UsernameOnly,
}

impl Contact {
    /// The contact's WhatsApp number if they may be messaged, else the first reason why not.
    pub fn eligibility(&self) -> Result<PhoneNumber, Ineligibility> {
        let phone = self
            .phone_number
            .as_deref()
            .and_then(|p| PhoneNumber::parse_e164(p).ok())
            .ok_or(if self.whatsapp_user_id.is_some() {
                Ineligibility::UsernameOnly
            } else {
                Ineligibility::NoValidPhone
            })?;
        if !self.whatsapp_opt_in {
            return Err(Ineligibility::NotOptedIn);
        }
        if self.whatsapp_blocked {
            return Err(Ineligibility::Blocked);
        }
        if self.whatsapp_unsubscribed {
            return Err(Ineligibility::Unsubscribed);
        }
        Ok(phone)
    }

    /// Eligible for the organization asking: a contact of another organization never is.
    pub fn is_eligible_in(&self, organization_id: &OrganizationId) -> bool {
        &self.organization_id == organization_id && self.eligibility().is_ok()
    }

    /// The order of the contact picker: by name, then id.
    pub fn list_sort_key(&self) -> String {
        format!("{}#{}", self.name.to_lowercase(), self.contact_id)
    }

    /// Applies a change; returns whether anything changed.
    pub fn apply(&mut self, change: &ContactChange) -> bool {
        let before = self.clone();
        // A contact's own STOP/START counts only if it is newer than the last one applied.
        let newer = change.opt_at.is_none_or(|at| {
            self.whatsapp_opt_changed_at
                .is_none_or(|applied| applied < at)
        });
        if newer {
            if let Some(opt_in) = change.whatsapp_opt_in {
                self.whatsapp_opt_in = opt_in;
                if change.opt_at.is_some() {
                    self.whatsapp_opt_changed_at = change.opt_at;
                }
            }
            if let Some(unsubscribed) = change.whatsapp_unsubscribed {
                self.whatsapp_unsubscribed = unsubscribed;
            }
        }
        if let Some(at) = change.last_inbound_at {
            // Webhooks arrive out of order: the window follows the newest inbound message.
            if self.last_inbound_at.is_none_or(|current| current < at) {
                self.last_inbound_at = Some(at);
            }
        }
        *self != before
    }
}

/// A partial update of the WhatsApp state of a contact, applied atomically by the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactChange {
    pub whatsapp_opt_in: Option<bool>,
    pub whatsapp_unsubscribed: Option<bool>,
    /// The time of the contact's own opt-out/in message: the opt fields above apply only if
    /// no newer one was applied. None: applies whatever came before (the CRM, Twilio 21610).
    pub opt_at: Option<DateTime<Utc>>,
    /// Only ever moves forward.
    pub last_inbound_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact() -> Contact {
        Contact {
            organization_id: OrganizationId::parse("org-a").unwrap(),
            contact_id: ContactId::parse("c1").unwrap(),
            name: "Aisha Rahman".into(),
            email: Some("aisha@example.com".into()),
            phone_number: Some("+60123456789".into()),
            whatsapp_opt_in: true,
            whatsapp_blocked: false,
            whatsapp_unsubscribed: false,
            last_inbound_at: None,
            whatsapp_opt_changed_at: None,
            whatsapp_user_id: None,
        }
    }

    #[test]
    fn eligible_contact_yields_its_number() {
        assert_eq!(contact().eligibility().unwrap().as_str(), "+60123456789");
        assert!(contact().is_eligible_in(&OrganizationId::parse("org-a").unwrap()));
    }

    #[test]
    fn contact_of_another_organization_is_not_eligible() {
        assert!(!contact().is_eligible_in(&OrganizationId::parse("org-b").unwrap()));
    }

    #[test]
    fn each_rule_has_its_reason() {
        let mut c = contact();
        c.phone_number = Some("0123456789".into());
        assert_eq!(c.eligibility(), Err(Ineligibility::NoValidPhone));
        c.phone_number = None;
        assert_eq!(c.eligibility(), Err(Ineligibility::NoValidPhone));

        let mut c = contact();
        c.whatsapp_opt_in = false;
        assert_eq!(c.eligibility(), Err(Ineligibility::NotOptedIn));
        assert_eq!(
            Ineligibility::NotOptedIn.to_string(),
            "Contact has not opted in to WhatsApp."
        );
        assert_eq!(
            Ineligibility::NoValidPhone.to_string(),
            "Contact has no valid phone number."
        );

        let mut c = contact();
        c.whatsapp_blocked = true;
        assert_eq!(c.eligibility(), Err(Ineligibility::Blocked));

        let mut c = contact();
        c.whatsapp_unsubscribed = true;
        assert_eq!(c.eligibility(), Err(Ineligibility::Unsubscribed));
    }

    #[test]
    fn last_inbound_only_moves_forward() {
        let mut c = contact();
        let t1 = DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T09:00:00Z")
            .unwrap()
            .to_utc();
        assert!(c.apply(&ContactChange {
            last_inbound_at: Some(t1),
            ..Default::default()
        }));
        assert!(!c.apply(&ContactChange {
            last_inbound_at: Some(t0),
            ..Default::default()
        }));
        assert_eq!(c.last_inbound_at, Some(t1));
    }

    #[test]
    fn an_older_opt_out_never_undoes_a_newer_opt_in() {
        let base = Utc::now() - chrono::Duration::hours(1);
        let t = |minutes: i64| base + chrono::Duration::minutes(minutes);
        let stop_at = |at| ContactChange {
            whatsapp_opt_in: Some(false),
            opt_at: Some(at),
            ..Default::default()
        };
        let start_at = |at| ContactChange {
            whatsapp_opt_in: Some(true),
            whatsapp_unsubscribed: Some(false),
            opt_at: Some(at),
            ..Default::default()
        };
        let mut c = contact();
        c.whatsapp_unsubscribed = true;
        assert!(c.apply(&start_at(t(10))));
        assert!(c.whatsapp_opt_in && !c.whatsapp_unsubscribed);
        // The STOP sent before that START, delivered (again) after it.
        assert!(!c.apply(&stop_at(t(5))), "an older STOP changes nothing");
        assert!(c.whatsapp_opt_in);
        assert!(c.apply(&stop_at(t(20))));
        assert!(!c.whatsapp_opt_in);
        assert_eq!(c.whatsapp_opt_changed_at, Some(t(20)));
        // A change without a time (the CRM) applies whatever came before.
        assert!(c.apply(&ContactChange {
            whatsapp_opt_in: Some(true),
            ..Default::default()
        }));
        assert!(c.whatsapp_opt_in);
    }
}
