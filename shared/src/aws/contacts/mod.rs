//! Contacts in DynamoDB. Every read is a key lookup or a Query on the organization's own
//! partition of the table or an index. `item`: a contact as the table holds it; `reindex`:
//! rebuilding an organization's search terms.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};

mod item;
mod reindex;

pub use item::contact_from_image;
use item::{ContactItem, read, write};

use super::contention::{Backoff, send_contended};
use super::{s, unavailable};
use crate::domain::{Contact, ContactChange, ContactId, OrganizationId, PhoneNumber};
use crate::ports::{ContactStore, Page, PortError, PortResult, contact_page, decode_cursor};

#[derive(Clone)]
pub struct DynamoContacts {
    client: super::LazyClient<Client>,
    table: String,
    /// Searches go to the search index; listing without a search reads `eligible`.
    search: Option<super::DynamoSearchIndex>,
    /// Where no stream feeds the indexer (the local runner, emulator tests): this store
    /// applies its own writes to the index as the indexer would.
    index_own_writes: bool,
}

impl DynamoContacts {
    pub fn new(client: impl Into<super::LazyClient<Client>>, table: impl Into<String>) -> Self {
        Self {
            client: client.into(),
            table: table.into(),
            search: None,
            index_own_writes: false,
        }
    }

    /// Applies this store's own writes to the search index, for environments where no
    /// stream feeds the contact indexer. On AWS the stream does it, for every writer.
    pub fn indexing_own_writes(mut self) -> Self {
        self.index_own_writes = true;
        self
    }

    async fn index(&self, before: Option<&Contact>, after: Option<&Contact>) -> PortResult<()> {
        match (&self.search, self.index_own_writes) {
            (Some(index), true) => index.apply_change(before, after).await,
            _ => Ok(()),
        }
    }

    /// Searches through the contact search index in `table` (same client).
    pub fn with_search_index(mut self, table: impl Into<String>) -> Self {
        self.search = Some(super::DynamoSearchIndex::new(self.client.clone(), table));
        self
    }

    /// The search index, for the indexer that keeps it.
    pub fn search_index(&self) -> Option<&super::DynamoSearchIndex> {
        self.search.as_ref()
    }

    /// The ids of every contact of the organization, as stored (one paginated Query, keys
    /// only): what an organization-wide repair walks.
    pub async fn contact_ids(&self, org: &OrganizationId) -> PortResult<Vec<ContactId>> {
        let items = super::query_organization(
            &self.client,
            &self.table,
            org,
            Some("contact_id"),
            "Query contact ids",
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(|item| item.get("contact_id")?.as_s().ok())
            .filter_map(|id| ContactId::parse(id).ok())
            .collect())
    }

    /// The organization's contacts whose `attribute` is `value`, by a sparse index keyed by
    /// organization and that attribute (inbound resolution): one number or user id has a
    /// handful of contacts at most, so one page, no Limit; sorted by contact id.
    async fn contacts_by_index(
        &self,
        org: &OrganizationId,
        index: &str,
        attribute: &str,
        value: &str,
    ) -> PortResult<Vec<Contact>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("organization_id = :o AND #a = :v")
            .expression_attribute_names("#a", attribute)
            .expression_attribute_values(":o", s(org.as_str()))
            .expression_attribute_values(":v", s(value))
            .send()
            .await
            .map_err(|e| {
                unavailable(
                    &format!("Query contacts by {attribute}"),
                    e.into_service_error(),
                )
            })?;
        let mut contacts = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| read(item).map(ContactItem::into_contact))
            .collect::<PortResult<Vec<_>>>()?;
        contacts.sort_by(|a, b| a.contact_id.cmp(&b.contact_id));
        Ok(contacts)
    }

    fn search_terms(&self) -> PortResult<&super::DynamoSearchIndex> {
        self.search
            .as_ref()
            .ok_or_else(|| PortError::Unavailable("no contact search index is configured".into()))
    }

    /// A contact's item as stored, read consistently.
    async fn raw_item(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> PortResult<Option<HashMap<String, AttributeValue>>> {
        self.client
            .get_item()
            .table_name(&self.table)
            .key("organization_id", s(org.as_str()))
            .key("contact_id", s(id.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| unavailable("GetItem contact", e.into_service_error()))
    }

    async fn get_item(
        &self,
        org: &OrganizationId,
        id: &ContactId,
    ) -> PortResult<Option<ContactItem>> {
        self.raw_item(org, id).await?.map(read).transpose()
    }
}

impl ContactStore for DynamoContacts {
    async fn get(&self, org: &OrganizationId, id: &ContactId) -> PortResult<Option<Contact>> {
        Ok(self.get_item(org, id).await?.map(ContactItem::into_contact))
    }

    async fn get_many(&self, org: &OrganizationId, ids: &[ContactId]) -> PortResult<Vec<Contact>> {
        let mut found = Vec::new();
        let mut unique: Vec<&ContactId> = ids.iter().collect();
        unique.sort();
        unique.dedup();
        // BatchGetItem takes 100 keys; what it leaves unprocessed (throttling) is asked again.
        for chunk in unique.chunks(100) {
            let keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|id| {
                    HashMap::from([
                        ("organization_id".to_owned(), s(org.as_str())),
                        ("contact_id".to_owned(), s(id.as_str())),
                    ])
                })
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .map_err(|e| PortError::Unavailable(e.to_string()))?,
            );
            let mut rounds = 0u32;
            while let Some(keys) = request.take() {
                if rounds > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << rounds.min(5))).await;
                }
                rounds += 1;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, keys)
                    .send()
                    .await
                    .map_err(|e| unavailable("BatchGetItem contacts", e.into_service_error()))?;
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.table)
                    .unwrap_or_default()
                {
                    found.push(read(item)?.into_contact());
                }
                request = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.table)
                    .filter(|k| !k.keys.is_empty());
                if request.is_some() && rounds >= 8 {
                    return Err(PortError::Unavailable(
                        "BatchGetItem contacts: keys left unprocessed".into(),
                    ));
                }
            }
        }
        Ok(found)
    }

    async fn contacts_by_phone(
        &self,
        org: &OrganizationId,
        phone: &PhoneNumber,
    ) -> PortResult<Vec<Contact>> {
        self.contacts_by_index(org, "phone", "phone_number", phone.as_str())
            .await
    }

    async fn contacts_by_whatsapp_user(
        &self,
        org: &OrganizationId,
        user_id: &str,
    ) -> PortResult<Vec<Contact>> {
        self.contacts_by_index(org, "whatsapp_user", "whatsapp_user_id", user_id)
            .await
    }

    async fn list_eligible(
        &self,
        org: &OrganizationId,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Contact>> {
        // A search reads the terms that start with the entry, never the organization's list.
        if let Some(query) = search.and_then(crate::domain::search::SearchQuery::parse) {
            let index = self.search.as_ref().ok_or_else(|| {
                PortError::Unavailable("no contact search index is configured".into())
            })?;
            return index.search(org, &query, cursor, limit).await;
        }
        let after = cursor.map(decode_cursor).transpose()?;
        let mut found: Vec<Contact> = Vec::with_capacity(limit + 1);
        let mut start_key: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("eligible")
                .expression_attribute_values(":o", s(org.as_str()))
                .set_exclusive_start_key(start_key.take())
                .limit((limit + 1) as i32);
            query = match &after {
                Some(a) => query
                    .key_condition_expression("organization_id = :o AND eligible_sort > :a")
                    .expression_attribute_values(":a", s(a.clone())),
                None => query.key_condition_expression("organization_id = :o"),
            };
            let out = query
                .send()
                .await
                .map_err(|e| unavailable("Query eligible contacts", e.into_service_error()))?;
            for item in out.items.unwrap_or_default() {
                let contact = read(item)?.into_contact();
                // The index can briefly lag behind a change: check again.
                if contact.is_eligible_in(org) {
                    found.push(contact);
                }
            }
            start_key = out.last_evaluated_key.filter(|k| !k.is_empty());
            if found.len() > limit || start_key.is_none() {
                break;
            }
        }
        Ok(contact_page(found, limit))
    }

    async fn update(
        &self,
        org: &OrganizationId,
        id: &ContactId,
        change: &ContactChange,
    ) -> PortResult<Option<Contact>> {
        // Read, apply the domain rule, write back if nobody wrote in between (a STOP and a
        // reply at once, an album's messages each moving the window): again until the
        // invocation's deadline.
        let backoff = Backoff::start();
        // After a lost race, the item as the failed condition returned it (no second read).
        let mut current = None;
        loop {
            let item = match current.take() {
                Some(item) => Some(item),
                None => self.get_item(org, id).await?,
            };
            let Some(item) = item else {
                return Ok(None);
            };
            let version = item.version;
            let before = item.into_contact();
            let mut contact = before.clone();
            if !contact.apply(change) {
                return Ok(Some(contact));
            }
            let update = super::contact_update::PartialUpdate::new(&before, &contact, version)?;
            let request = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("organization_id", s(org.as_str()))
                .key("contact_id", s(id.as_str()))
                .update_expression(update.expression)
                .condition_expression(update.condition)
                .set_expression_attribute_names(Some(update.names))
                .set_expression_attribute_values(Some(update.values))
                .return_values_on_condition_check_failure(
                    aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
                );
            match send_contended(|| request.clone().send()).await {
                Ok(_) => {
                    self.index(Some(&before), Some(&contact)).await?;
                    return Ok(Some(contact));
                }
                // A condition failed: the item changed since it was read (or is gone).
                Err(e) => match e.into_service_error() {
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(
                        failed,
                    ) => match failed.item {
                        Some(now) => current = Some(read(now)?),
                        None => return Ok(None),
                    },
                    other => return Err(super::unavailable("UpdateItem contact", other)),
                },
            }
            // Another write came first (progress): read again at once, before it changes
            // again; an older window or opt change then usually has nothing left to write.
            // Conflicts and throttling already paused in `send_contended`.
            if backoff.expired() {
                return Err(PortError::Unavailable(
                    "contact update kept conflicting with concurrent writes".into(),
                ));
            }
        }
    }

    async fn put(&self, contact: &Contact) -> PortResult<()> {
        let before = self
            .get_item(&contact.organization_id, &contact.contact_id)
            .await?;
        let version = before.as_ref().map_or(0, |i| i.version);
        let before = before.map(ContactItem::into_contact);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(write(&ContactItem::new(contact, version + 1))?))
            .send()
            .await
            .map_err(|e| unavailable("PutItem contact", e.into_service_error()))?;
        self.index(before.as_ref(), Some(contact)).await
    }

    async fn delete(&self, org: &OrganizationId, id: &ContactId) -> PortResult<()> {
        let before = self.get_item(org, id).await?.map(ContactItem::into_contact);
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("organization_id", s(org.as_str()))
            .key("contact_id", s(id.as_str()))
            .send()
            .await
            .map_err(|e| unavailable("DeleteItem contact", e.into_service_error()))?;
        self.index(before.as_ref(), None).await
    }
}
