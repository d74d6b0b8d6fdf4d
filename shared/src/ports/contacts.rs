//! The contacts (the CRM's table) and their search index.

use std::future::Future;

use super::{Page, PortResult};
use crate::domain::{Contact, ContactChange, ContactId, OrganizationId, PhoneNumber};

pub trait ContactStore: Clone + Send + Sync + 'static {
    fn get(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> impl Future<Output = PortResult<Option<Contact>>> + Send;

    /// The contacts of these ids that exist, in no particular order: one request where the
    /// store has one (an inbox page names up to 100). Eventually consistent.
    fn get_many(
        &self,
        org: &OrganizationId,
        ids: &[ContactId],
    ) -> impl Future<Output = PortResult<Vec<Contact>>> + Send;

    /// Inbound resolution: every contact of the organization with this number (a CRM may
    /// hold the same person twice), sorted by contact id.
    fn contacts_by_phone(
        &self,
        org: &OrganizationId,
        phone: &PhoneNumber,
    ) -> impl Future<Output = PortResult<Vec<Contact>>> + Send;

    /// Inbound resolution of a WhatsApp user who writes under a username (no phone number):
    /// every contact whose CRM record carries that business-scoped user id, by contact id.
    fn contacts_by_whatsapp_user(
        &self,
        org: &OrganizationId,
        user_id: &str,
    ) -> impl Future<Output = PortResult<Vec<Contact>>> + Send;

    /// The organization's eligible contacts sorted by name, optionally filtered by a search
    /// term over name, email and phone.
    fn list_eligible(
        &self,
        org: &OrganizationId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = PortResult<Page<Contact>>> + Send;

    /// Applies a change atomically; None if there is no such contact.
    fn update(
        &self,
        org: &OrganizationId,
        id: &ContactId,
        change: &ContactChange,
    ) -> impl Future<Output = PortResult<Option<Contact>>> + Send;

    /// Creates or replaces a contact (CRM sync, seeding, tests).
    fn put(&self, contact: &Contact) -> impl Future<Output = PortResult<()>> + Send;

    /// Deletes a contact, as the CRM does (the local runner, tests); no error if there is none.
    fn delete(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> impl Future<Output = PortResult<()>> + Send;
}

/// The contact search index (`domain::search`): kept in step with the contacts table by the
/// contact indexer, from the table's stream.
pub trait ContactSearchIndex: Clone + Send + Sync + 'static {
    /// Brings a contact's index items from `before` to `after` (either absent: the contact
    /// was created or deleted). Idempotent, so a redelivered change is harmless.
    fn apply(
        &self,
        before: Option<&Contact>,
        after: Option<&Contact>,
    ) -> impl Future<Output = PortResult<()>> + Send;
}
