//! The contacts table in memory: the same lookups (by id, by number, by WhatsApp user id),
//! the eligible list with its search and cursor, and updates applied atomically under one lock.
//! Like the table's sparse eligible index, whether a contact is listed is decided when it is
//! written, so a list reads the index in order instead of judging every contact.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::domain::search::{SearchQuery, found_at};
use crate::domain::{Contact, ContactChange, ContactId, OrganizationId, PhoneNumber};
use crate::live::Change;
use crate::ports::{ContactStore, Page, PortResult, contact_page, decode_cursor, encode_cursor};

type Key = (OrganizationId, ContactId);

/// The contacts, and the eligible ones in the picker's order (organization, sort key).
#[derive(Default)]
struct Table {
    contacts: BTreeMap<Key, Contact>,
    eligible: BTreeMap<(OrganizationId, String), ContactId>,
}

impl Table {
    fn write(&mut self, contact: Contact) {
        let key = (contact.organization_id.clone(), contact.contact_id.clone());
        self.unlist(&key);
        if contact.eligibility().is_ok() {
            self.eligible.insert(
                (contact.organization_id.clone(), contact.list_sort_key()),
                contact.contact_id.clone(),
            );
        }
        self.contacts.insert(key, contact);
    }

    fn remove(&mut self, key: &Key) -> Option<Contact> {
        self.unlist(key);
        self.contacts.remove(key)
    }

    fn unlist(&mut self, key: &Key) {
        if let Some(old) = self.contacts.get(key) {
            self.eligible
                .remove(&(old.organization_id.clone(), old.list_sort_key()));
        }
    }

    /// The organization's eligible contacts in order, after `after` (a sort key).
    fn eligible_after<'a>(
        &'a self,
        org: &'a OrganizationId,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Contact> + 'a {
        let from = (org.clone(), after.unwrap_or_default().to_owned());
        self.eligible
            .range(from..)
            .take_while(move |((o, _), _)| o == org)
            .filter(move |((_, key), _)| after.is_none_or(|a| key.as_str() > a))
            .filter_map(move |((o, _), id)| self.contacts.get(&(o.clone(), id.clone())))
    }
}

#[derive(Clone, Default)]
pub struct MemoryContacts {
    contacts: Arc<Mutex<Table>>,
    /// Operations: `update`.
    pub faults: super::StoreFaults,
    /// Every contact written or removed, as the table's stream shows it.
    pub changes: super::ChangeFeed,
}

impl MemoryContacts {
    pub fn new() -> Self {
        Self::default()
    }
}

impl ContactStore for MemoryContacts {
    async fn get(&self, org: &OrganizationId, id: &ContactId) -> PortResult<Option<Contact>> {
        Ok(lock(&self.contacts)?
            .contacts
            .get(&(org.clone(), id.clone()))
            .cloned())
    }

    async fn get_many(&self, org: &OrganizationId, ids: &[ContactId]) -> PortResult<Vec<Contact>> {
        let table = lock(&self.contacts)?;
        Ok(ids
            .iter()
            .filter_map(|id| table.contacts.get(&(org.clone(), id.clone())).cloned())
            .collect())
    }

    async fn contacts_by_phone(
        &self,
        org: &OrganizationId,
        phone: &PhoneNumber,
    ) -> PortResult<Vec<Contact>> {
        // Sorted by (organization, contact id): the map's own order.
        Ok(lock(&self.contacts)?
            .contacts
            .values()
            .filter(|c| {
                &c.organization_id == org && c.phone_number.as_deref() == Some(phone.as_str())
            })
            .cloned()
            .collect())
    }

    async fn contacts_by_whatsapp_user(
        &self,
        org: &OrganizationId,
        user_id: &str,
    ) -> PortResult<Vec<Contact>> {
        Ok(lock(&self.contacts)?
            .contacts
            .values()
            .filter(|c| &c.organization_id == org && c.whatsapp_user_id.as_deref() == Some(user_id))
            .cloned()
            .collect())
    }

    async fn list_eligible(
        &self,
        org: &OrganizationId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Contact>> {
        let after = cursor.map(decode_cursor).transpose()?;
        // A search finds what the index would (`domain::search`), in the same order.
        if let Some(query) = search.and_then(SearchQuery::parse) {
            let mut found: Vec<(String, Contact)> = lock(&self.contacts)?
                .eligible_after(org, None)
                .filter_map(|c| Some((found_at(c, &query)?, c.clone())))
                .filter(|(key, _)| after.as_ref().is_none_or(|a| key > a))
                .collect();
            found.sort_by(|a, b| a.0.cmp(&b.0));
            let more = found.len() > limit;
            found.truncate(limit);
            return Ok(Page {
                next_cursor: more
                    .then(|| found.last().map(|(key, _)| encode_cursor(key)))
                    .flatten(),
                items: found.into_iter().map(|(_, c)| c).collect(),
            });
        }
        let eligible: Vec<Contact> = lock(&self.contacts)?
            .eligible_after(org, after.as_deref())
            .take(limit.saturating_add(1))
            .cloned()
            .collect();
        Ok(contact_page(eligible, limit))
    }

    async fn update(
        &self,
        org: &OrganizationId,
        id: &ContactId,
        change: &ContactChange,
    ) -> PortResult<Option<Contact>> {
        self.faults.check("update")?;
        let mut table = lock(&self.contacts)?;
        let updated = table
            .contacts
            .get(&(org.clone(), id.clone()))
            .cloned()
            .map(|mut c| {
                c.apply(change);
                c
            });
        if let Some(contact) = &updated {
            table.write(contact.clone());
            self.changes.send(Change::Contact(contact.clone()));
        }
        Ok(updated)
    }

    async fn put(&self, contact: &Contact) -> PortResult<()> {
        lock(&self.contacts)?.write(contact.clone());
        self.changes.send(Change::Contact(contact.clone()));
        Ok(())
    }

    async fn delete(&self, org: &OrganizationId, id: &ContactId) -> PortResult<()> {
        if lock(&self.contacts)?
            .remove(&(org.clone(), id.clone()))
            .is_some()
        {
            self.changes.send(Change::ContactRemoved {
                organization_id: org.clone(),
                contact_id: id.clone(),
            });
        }
        Ok(())
    }
}
