//! The contact search index (`{stack}-contact-search`): one item per search term of an
//! eligible contact (`domain::search`), PK `organization_id`, SK `term_key` =
//! `{term}#{contact_id}`, carrying what the contact picker shows. A search is one Query of
//! the terms starting with what was typed, in the organization's partition: it reads what it
//! returns, not the organization.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Put, PutRequest, TransactWriteItem,
    WriteRequest,
};

use super::{s, unavailable};
use crate::domain::search::{SearchQuery, contact_terms, found_at, index_key};
use crate::domain::{Contact, ContactId, OrganizationId};
use crate::ports::{Page, PortError, PortResult, decode_cursor, encode_cursor};

/// BatchWriteItem's limit.
const BATCH: usize = 25;
/// TransactWriteItems' limit.
const TRANSACTION: usize = 100;
/// The contact attributes its search terms are made from (`domain::search::contact_terms`).
pub const TERM_SOURCES: [&str; 6] = [
    "name",
    "email",
    "phone_number",
    "whatsapp_opt_in",
    "whatsapp_blocked",
    "whatsapp_unsubscribed",
];
/// Rounds of unprocessed items retried before the write is reported unavailable.
const BATCH_ROUNDS: u32 = 6;
/// Queries one search page may take when words after the first filter what a term found.
const SEARCH_ROUNDS: usize = 4;

#[derive(Clone)]
pub struct DynamoSearchIndex {
    client: super::LazyClient<Client>,
    table: String,
}

/// One index item of a contact's term.
fn item(contact: &Contact, term: &str) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        (
            "organization_id".to_owned(),
            s(contact.organization_id.as_str()),
        ),
        (
            "term_key".to_owned(),
            s(index_key(term, contact.contact_id.as_str())),
        ),
        ("contact_id".to_owned(), s(contact.contact_id.as_str())),
        ("name".to_owned(), s(contact.name.clone())),
    ]);
    if let Some(email) = &contact.email {
        item.insert("email".into(), s(email.clone()));
    }
    if let Some(phone) = &contact.phone_number {
        item.insert("phone_number".into(), s(phone.clone()));
    }
    item
}

/// The batch write that removes one term item.
fn delete_term(org: &OrganizationId, term_key: &str) -> PortResult<WriteRequest> {
    let delete = DeleteRequest::builder()
        .key("organization_id", s(org.as_str()))
        .key("term_key", s(term_key))
        .build()
        .map_err(|e| PortError::Unavailable(e.to_string()))?;
    Ok(WriteRequest::builder().delete_request(delete).build())
}

/// The batch write that stores one term item of a contact.
fn put_term(contact: &Contact, term: &str) -> PortResult<WriteRequest> {
    let put = PutRequest::builder()
        .set_item(Some(item(contact, term)))
        .build()
        .map_err(|e| PortError::Unavailable(e.to_string()))?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// The contact as the index shows it: eligible, with what the picker needs.
fn listed(org: &OrganizationId, item: &HashMap<String, AttributeValue>) -> Option<Contact> {
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned();
    Some(Contact {
        organization_id: org.clone(),
        contact_id: ContactId::parse(&text("contact_id")?).ok()?,
        name: text("name")?,
        email: text("email"),
        phone_number: text("phone_number"),
        whatsapp_opt_in: true,
        whatsapp_blocked: false,
        whatsapp_unsubscribed: false,
        last_inbound_at: None,
        whatsapp_opt_changed_at: None,
        whatsapp_user_id: None,
    })
}

impl DynamoSearchIndex {
    pub fn new(client: impl Into<super::LazyClient<Client>>, table: impl Into<String>) -> Self {
        Self {
            client: client.into(),
            table: table.into(),
        }
    }

    /// Brings a contact's index items from what `before` had to what `after` has (either
    /// absent: created or deleted). Idempotent: applying a change twice, or a later state
    /// over an earlier one, ends in the later state's items.
    pub async fn apply_change(
        &self,
        before: Option<&Contact>,
        after: Option<&Contact>,
    ) -> PortResult<()> {
        let old: BTreeMap<String, &Contact> = before
            .map(|c| {
                contact_terms(c)
                    .into_iter()
                    .map(|t| (index_key(&t, c.contact_id.as_str()), c))
                    .collect()
            })
            .unwrap_or_default();
        let new: BTreeMap<String, (String, &Contact)> = after
            .map(|c| {
                contact_terms(c)
                    .into_iter()
                    .map(|t| (index_key(&t, c.contact_id.as_str()), (t, c)))
                    .collect()
            })
            .unwrap_or_default();
        let shown_changed = match (before, after) {
            (Some(b), Some(a)) => {
                b.name != a.name || b.email != a.email || b.phone_number != a.phone_number
            }
            _ => true,
        };
        let mut writes = Vec::new();
        for (key, contact) in &old {
            if !new.contains_key(key) {
                writes.push(delete_term(&contact.organization_id, key)?);
            }
        }
        for (key, (term, contact)) in &new {
            if shown_changed || !old.contains_key(key) {
                writes.push(put_term(contact, term)?);
            }
        }
        for chunk in writes.chunks(BATCH) {
            self.batch_write(chunk.to_vec()).await?;
        }
        Ok(())
    }

    /// Every term key the organization has in the index, by the contact it finds (a term key
    /// ends in `#{contact_id}`, and contact ids have no `#`): where a rebuild starts.
    pub async fn terms_by_contact(
        &self,
        org: &OrganizationId,
    ) -> PortResult<BTreeMap<ContactId, Vec<String>>> {
        let mut by_contact: BTreeMap<ContactId, Vec<String>> = BTreeMap::new();
        for key in self.term_keys(org).await? {
            if let Some(id) = key
                .rsplit('#')
                .next()
                .and_then(|id| ContactId::parse(id).ok())
            {
                by_contact.entry(id).or_default().push(key);
            }
        }
        Ok(by_contact)
    }

    /// Makes one contact's terms what its stored item calls for, in one transaction that
    /// holds only while the item is still as it was read (`as_read`: the attributes its terms
    /// depend on; None: there was no item). A change the indexer applies meanwhile is
    /// therefore never undone: if the contact changed, nothing is written and the answer is
    /// false (read it again and retry); if it changes after, its stream record brings the
    /// terms from this state to the new one. `stale`: term keys to delete; `wanted`: the
    /// contact's terms (all written, so what they show is current).
    pub async fn replace_terms(
        &self,
        contacts_table: &str,
        org: &OrganizationId,
        contact_id: &ContactId,
        as_read: Option<&HashMap<String, AttributeValue>>,
        stale: &[String],
        wanted: &[(String, &Contact)],
    ) -> PortResult<bool> {
        let mut check = ConditionCheck::builder()
            .table_name(contacts_table)
            .key("organization_id", s(org.as_str()))
            .key("contact_id", s(contact_id.as_str()));
        match as_read {
            None => check = check.condition_expression("attribute_not_exists(contact_id)"),
            Some(item) => {
                let mut conditions = vec!["attribute_exists(contact_id)".to_owned()];
                for (i, name) in TERM_SOURCES.iter().enumerate() {
                    check = check.expression_attribute_names(format!("#a{i}"), *name);
                    match item.get(*name) {
                        Some(value) => {
                            conditions.push(format!("#a{i} = :v{i}"));
                            check =
                                check.expression_attribute_values(format!(":v{i}"), value.clone());
                        }
                        None => conditions.push(format!("attribute_not_exists(#a{i})")),
                    }
                }
                check = check.condition_expression(conditions.join(" AND "));
            }
        }
        let check = check
            .build()
            .map_err(|e| PortError::Unavailable(e.to_string()))?;
        let mut writes = Vec::new();
        for key in stale {
            let delete = Delete::builder()
                .table_name(&self.table)
                .key("organization_id", s(org.as_str()))
                .key("term_key", s(key))
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))?;
            writes.push(TransactWriteItem::builder().delete(delete).build());
        }
        for (term, contact) in wanted {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item(contact, term)))
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))?;
            writes.push(TransactWriteItem::builder().put(put).build());
        }
        // A transaction takes 100 items: the check rides with every chunk.
        for chunk in writes.chunks(TRANSACTION - 1) {
            let mut items = vec![
                TransactWriteItem::builder()
                    .condition_check(check.clone())
                    .build(),
            ];
            items.extend(chunk.iter().cloned());
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items))
                .send()
                .await;
            if let Err(e) = result {
                let e = e.into_service_error();
                let changed = match &e {
                    TransactWriteItemsError::TransactionCanceledException(t) => {
                        t.cancellation_reasons().first().and_then(|r| r.code())
                            == Some("ConditionalCheckFailed")
                    }
                    _ => false,
                };
                if changed {
                    return Ok(false);
                }
                return Err(unavailable("TransactWriteItems search terms", e));
            }
        }
        Ok(true)
    }

    /// Every term key the organization has in the index.
    async fn term_keys(&self, org: &OrganizationId) -> PortResult<Vec<String>> {
        let items = super::query_organization(
            &self.client,
            &self.table,
            org,
            Some("term_key"),
            "Query search terms",
        )
        .await?;
        Ok(items
            .iter()
            .filter_map(|i| i.get("term_key")?.as_s().ok().cloned())
            .collect())
    }

    async fn batch_write(&self, mut requests: Vec<WriteRequest>) -> PortResult<()> {
        for round in 0..BATCH_ROUNDS {
            if requests.is_empty() {
                return Ok(());
            }
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(50 << round)).await;
            }
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(|e| unavailable("BatchWriteItem search terms", e.into_service_error()))?;
            requests = out
                .unprocessed_items
                .and_then(|mut u| u.remove(&self.table))
                .unwrap_or_default();
        }
        if requests.is_empty() {
            Ok(())
        } else {
            Err(PortError::Unavailable(
                "search terms left unprocessed by DynamoDB".into(),
            ))
        }
    }

    /// A page of the eligible contacts an entry finds, in the order of the term each is found
    /// by first; the cursor is the last term read. An entry with two prefixes (digits also
    /// looked up as typed) reads their ranges one after the other, in the index's order.
    pub async fn search(
        &self,
        org: &OrganizationId,
        query: &SearchQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> PortResult<Page<Contact>> {
        let cursor = cursor.map(decode_cursor).transpose()?;
        let mut found = Found {
            contacts: Vec::with_capacity(limit),
            seen: HashSet::new(),
            last_read: None,
            more: false,
        };
        let prefixes = query.term_prefixes();
        for (i, prefix) in prefixes.iter().enumerate() {
            // A cursor is a position among the terms: one before a range starts it at its
            // first term, one inside it after that term, one past it skips it (DynamoDB
            // refuses a start key outside the key condition).
            let start = match &cursor {
                Some(after) if after.starts_with(prefix.as_str()) => Some(after.clone()),
                Some(after) if after > prefix => continue,
                _ => None,
            };
            self.read_range(org, query, prefix, start, limit, &mut found)
                .await?;
            if found.contacts.len() == limit {
                // A full page: the next range may hold more, from where this one stopped.
                found.more |= i + 1 < prefixes.len();
                break;
            }
        }
        Ok(Page {
            next_cursor: if found.more {
                found.last_read.map(|k| encode_cursor(&k))
            } else {
                None
            },
            items: found.contacts,
        })
    }

    /// Reads the terms of one prefix from `start` into `found` until the page is full or the
    /// range ends (at most `SEARCH_ROUNDS` Queries: words after the first may filter out
    /// what one read).
    async fn read_range(
        &self,
        org: &OrganizationId,
        query: &SearchQuery,
        prefix: &str,
        mut start: Option<String>,
        limit: usize,
        found: &mut Found,
    ) -> PortResult<()> {
        for _ in 0..SEARCH_ROUNDS {
            let mut request = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("organization_id = :o AND begins_with(term_key, :p)")
                .expression_attribute_values(":o", s(org.as_str()))
                .expression_attribute_values(":p", s(prefix))
                .limit((limit - found.contacts.len()).max(1) as i32 + 1);
            if let Some(after) = start.take() {
                request = request
                    .exclusive_start_key("organization_id", s(org.as_str()))
                    .exclusive_start_key("term_key", s(after));
            }
            let out = request
                .send()
                .await
                .map_err(|e| unavailable("Query search terms", e.into_service_error()))?;
            let items = out.items.unwrap_or_default();
            found.more = out.last_evaluated_key.is_some_and(|k| !k.is_empty());
            for item in &items {
                if found.contacts.len() == limit {
                    // One more than the page: there is a next page, from the last one shown.
                    found.more = true;
                    break;
                }
                found.last_read = item.get("term_key").and_then(|v| v.as_s().ok()).cloned();
                let Some(contact) = listed(org, item) else {
                    continue;
                };
                // A contact with several matching terms (a name word and an email that both
                // start with the entry) is returned at its first one only, so no later
                // page repeats it.
                if found_at(&contact, query) == found.last_read
                    && found.seen.insert(contact.contact_id.clone())
                {
                    found.contacts.push(contact);
                }
            }
            if found.contacts.len() == limit || !found.more {
                return Ok(());
            }
            start = found.last_read.clone();
        }
        Ok(())
    }
}

/// What a search has found so far: the page, the contacts on it, the last term read and
/// whether the index has more after it.
struct Found {
    contacts: Vec<Contact>,
    seen: HashSet<ContactId>,
    last_read: Option<String>,
    more: bool,
}

impl crate::ports::ContactSearchIndex for DynamoSearchIndex {
    async fn apply(&self, before: Option<&Contact>, after: Option<&Contact>) -> PortResult<()> {
        self.apply_change(before, after).await
    }
}
