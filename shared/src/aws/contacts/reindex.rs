//! Rebuilding an organization's search terms from its contacts as stored (`local reindex`):
//! the backfill after an upgrade, the repair after a dead-lettered change.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use super::{DynamoContacts, read};
use crate::domain::search::{contact_terms, index_key};
use crate::domain::{Contact, ContactId, OrganizationId};
use crate::ports::{PortError, PortResult};

/// What a rebuild of the search index starts from (`DynamoContacts::reindex_plan`): the
/// organization's term keys by contact, then its contacts with their items as read.
#[derive(Debug, Clone)]
pub struct ReindexPlan {
    pub terms: BTreeMap<ContactId, Vec<String>>,
    pub contacts: BTreeMap<ContactId, (Contact, HashMap<String, AttributeValue>)>,
}

impl DynamoContacts {
    /// Rebuilds the organization's search terms from its contacts as stored: the backfill
    /// after an upgrade, the repair after a dead-lettered change. Safe while the indexer runs:
    /// the terms are read first, then the contacts (one Query each, page after page), and
    /// each contact's terms are replaced in a transaction conditional on its item being as
    /// read (`DynamoSearchIndex::replace_terms`); a contact that changed meanwhile is read
    /// again and done again. Answers the contacts read and the terms written for them.
    pub async fn reindex(&self, org: &OrganizationId) -> PortResult<(usize, usize)> {
        let plan = self.reindex_plan(org).await?;
        self.apply_reindex(org, plan).await
    }

    /// The first half of `reindex`: what the index and the table hold now.
    pub async fn reindex_plan(&self, org: &OrganizationId) -> PortResult<ReindexPlan> {
        let index = self.search_terms()?;
        let terms = index.terms_by_contact(org).await?;
        let items = super::super::query_organization(
            &self.client,
            &self.table,
            org,
            None,
            "Query contacts",
        )
        .await?;
        let mut contacts = BTreeMap::new();
        for item in items {
            // An item the CRM wrote malformed cannot be found by anything; the others still are.
            match read(item.clone()) {
                Ok(contact) => {
                    contacts.insert(contact.contact_id.clone(), (contact.into_contact(), item));
                }
                Err(e) => {
                    tracing::warn!(organization_id = %org, error = %e, "contact left out of the search index")
                }
            }
        }
        Ok(ReindexPlan { terms, contacts })
    }

    /// The second half of `reindex`: each contact's terms replaced as its item says, retried
    /// with a fresh read of the item when it changed since the plan.
    pub async fn apply_reindex(
        &self,
        org: &OrganizationId,
        plan: ReindexPlan,
    ) -> PortResult<(usize, usize)> {
        const TRIES: usize = 5;
        let index = self.search_terms()?;
        let read_count = plan.contacts.len();
        let ids: BTreeSet<ContactId> = plan
            .terms
            .keys()
            .chain(plan.contacts.keys())
            .cloned()
            .collect();
        let mut terms = 0;
        for id in ids {
            let existing = plan.terms.get(&id).cloned().unwrap_or_default();
            let mut stored = plan.contacts.get(&id).cloned();
            let mut done = false;
            for _ in 0..TRIES {
                let wanted: Vec<(String, &Contact)> = stored
                    .as_ref()
                    .map(|(c, _)| contact_terms(c).into_iter().map(|t| (t, c)).collect())
                    .unwrap_or_default();
                let wanted_keys: BTreeSet<String> = wanted
                    .iter()
                    .map(|(t, c)| index_key(t, c.contact_id.as_str()))
                    .collect();
                let stale: Vec<String> = existing
                    .iter()
                    .filter(|k| !wanted_keys.contains(*k))
                    .cloned()
                    .collect();
                if stale.is_empty() && wanted.is_empty() {
                    done = true;
                    break;
                }
                let as_read = stored.as_ref().map(|(_, item)| item);
                if index
                    .replace_terms(&self.table, org, &id, as_read, &stale, &wanted)
                    .await?
                {
                    terms += wanted.len();
                    done = true;
                    break;
                }
                // Changed since it was read: read it again (the indexer has its change).
                stored = self.raw_item(org, &id).await?.and_then(|item| {
                    read(item.clone())
                        .ok()
                        .map(|contact| (contact.into_contact(), item))
                });
            }
            if !done {
                return Err(PortError::Unavailable(format!(
                    "contact {id} kept changing while its terms were rebuilt"
                )));
            }
        }
        Ok((read_count, terms))
    }
}
