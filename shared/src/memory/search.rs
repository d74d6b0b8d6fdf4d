//! The contact search index in memory, for the indexer's tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::domain::search::{contact_terms, index_key};
use crate::domain::{Contact, OrganizationId};
use crate::ports::{ContactSearchIndex, PortResult};

/// The search index's items in memory, as the DynamoDB table holds them (organization,
/// `term#contact` key, the contact shown), for tests of the indexer.
#[derive(Clone, Default)]
pub struct MemorySearchIndex {
    items: Arc<Mutex<BTreeMap<(OrganizationId, String), Contact>>>,
    /// Operations: `apply`.
    pub faults: super::StoreFaults,
}

impl MemorySearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every item's key of an organization, in key order, and the contact's name.
    pub fn items(&self, org: &OrganizationId) -> Vec<(String, String)> {
        lock(&self.items)
            .map(|items| {
                items
                    .iter()
                    .filter(|((o, _), _)| o == org)
                    .map(|((_, key), c)| (key.clone(), c.name.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl ContactSearchIndex for MemorySearchIndex {
    async fn apply(&self, before: Option<&Contact>, after: Option<&Contact>) -> PortResult<()> {
        self.faults.check("apply")?;
        let mut items = lock(&self.items)?;
        if let Some(before) = before {
            for term in contact_terms(before) {
                items.remove(&(
                    before.organization_id.clone(),
                    index_key(&term, before.contact_id.as_str()),
                ));
            }
        }
        if let Some(after) = after {
            for term in contact_terms(after) {
                items.insert(
                    (
                        after.organization_id.clone(),
                        index_key(&term, after.contact_id.as_str()),
                    ),
                    after.clone(),
                );
            }
        }
        Ok(())
    }
}
