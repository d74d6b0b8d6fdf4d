//! The DynamoDB tables: keys and indexes. The SAM template declares the same (a test holds
//! them together), and emulator tests and the local runner create tables from this.
//!
//! contacts — PK `organization_id`, SK `contact_id`
//!   GSI `phone`     organization_id + phone_number   inbound resolution by phone (sparse)
//!   GSI `eligible`  organization_id + eligible_sort  the contact picker: only eligible contacts
//!                                                    carry `eligible_sort` (`name#id`), sparse
//! messages — PK `organization_id`, SK `message_id` (ULID: time order)
//!   GSI `conversation` conversation + message_id     a page of one conversation
//!   GSI `changes`      conversation + revision       polling: created or changed since a cursor
//!   GSI `sid`          organization_id + twilio_message_sid   status callbacks by Twilio sid
//!   items `SID#<sid>` (same table, no `conversation`) make inbound de-duplication a
//!   conditional write in one transaction with the message.
//!   items `IDEM#<key>` (same table, in no index) record sends made with an Idempotency-Key;
//!   TTL on `expires_at_epoch` deletes them after 24 hours.
//! contact-search — PK `organization_id`, SK `term_key` (`{term}#{contact_id}`)
//!   one item per search term of an eligible contact: a search reads one prefix.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use crate::ports::PortError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The template's logical id.
    pub logical_id: &'static str,
    /// The name with the README's stack name `whatsapp`.
    pub default_name: &'static str,
    pub hash_key: &'static str,
    pub range_key: &'static str,
    pub indexes: &'static [IndexSpec],
    /// The attribute DynamoDB's TTL deletes items by (epoch seconds), if any.
    pub ttl_attribute: Option<&'static str>,
}

pub const CONTACTS: TableSpec = TableSpec {
    logical_id: "ContactsTable",
    default_name: "whatsapp-contacts",
    hash_key: "organization_id",
    range_key: "contact_id",
    indexes: &[
        IndexSpec {
            name: "phone",
            hash_key: "organization_id",
            range_key: "phone_number",
        },
        IndexSpec {
            name: "eligible",
            hash_key: "organization_id",
            range_key: "eligible_sort",
        },
    ],
    ttl_attribute: None,
};

pub const MESSAGES: TableSpec = TableSpec {
    logical_id: "MessagesTable",
    default_name: "whatsapp-messages",
    hash_key: "organization_id",
    range_key: "message_id",
    indexes: &[
        IndexSpec {
            name: "conversation",
            hash_key: "conversation",
            range_key: "message_id",
        },
        IndexSpec {
            name: "changes",
            hash_key: "conversation",
            range_key: "revision",
        },
        IndexSpec {
            name: "sid",
            hash_key: "organization_id",
            range_key: "twilio_message_sid",
        },
    ],
    // Idempotency records (`IDEM#<key>`) expire after a day; messages carry no such attribute.
    ttl_attribute: Some("expires_at_epoch"),
};

/// The contact search index: one item per search term of an eligible contact
/// (`domain::search`), written from the contacts table's stream.
pub const CONTACT_SEARCH: TableSpec = TableSpec {
    logical_id: "ContactSearchTable",
    default_name: "whatsapp-contact-search",
    hash_key: "organization_id",
    range_key: "term_key",
    indexes: &[],
    ttl_attribute: None,
};

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, PortError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| PortError::Unavailable(e.to_string()))
}

/// Creates a table as the template declares it (on-demand). For emulators and local runs.
pub async fn create_table(client: &Client, spec: &TableSpec, name: &str) -> Result<(), PortError> {
    let mut attributes: Vec<&str> = vec![spec.hash_key, spec.range_key];
    for index in spec.indexes {
        attributes.extend([index.hash_key, index.range_key]);
    }
    attributes.sort_unstable();
    attributes.dedup();
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(spec.hash_key, KeyType::Hash)?)
        .key_schema(key(spec.range_key, KeyType::Range)?);
    for attribute in attributes {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))?,
        );
    }
    for index in spec.indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.hash_key, KeyType::Hash)?)
                .key_schema(key(index.range_key, KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))?,
        );
    }
    request
        .send()
        .await
        .map_err(|e| super::unavailable("CreateTable", e.into_service_error()))?;
    if let Some(attribute) = spec.ttl_attribute {
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()
                    .map_err(|e| PortError::Unavailable(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| super::unavailable("UpdateTimeToLive", e.into_service_error()))?;
    }
    Ok(())
}
