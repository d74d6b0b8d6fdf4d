//! The DynamoDB tables: keys and indexes. The SAM template declares the same (a test holds
//! them together), and emulator tests and the local runner create tables from this.
//!
//! contacts — PK `organization_id`, SK `contact_id`
//!   GSI `phone`     organization_id + phone_number   inbound resolution by phone (sparse)
//!   GSI `eligible`  organization_id + eligible_sort  the contact picker: only eligible contacts
//!                                                    carry `eligible_sort` (`name#id`), sparse
//!   GSI `whatsapp_user` organization_id + whatsapp_user_id  inbound resolution of a WhatsApp
//!                                                    user writing under a username (sparse)
//! messages — PK `item_key` only: `{organization_id}#{message_id}` (ULID), so no key is
//!   shared by an organization's messages and its rate meets no partition limit
//!   GSI `conversation` conversation + message_id     a page of one conversation
//!   GSI `changes`      conversation + revision       polling: created or changed since a cursor
//!   GSI `sid`          twilio_message_sid, keys only  status callbacks by Twilio sid
//!   GSI `inbox`        inbox + activity              the organization's conversations, most
//!                                                    recent first (summary items only, sparse)
//!   GSI `unread`       unread_inbox + unread, keys only  the organization's unread total: the
//!                                                    summaries with something unread, sparse
//!   items `{org}#CONV#<contact>` (same table, in `inbox` and `unread` only) summarise a
//!   conversation.
//!   items `{org}#SID#<sid>` (same table, no `conversation`) make inbound de-duplication a
//!   conditional write in one transaction with the message.
//!   items `{org}#IDEM#<key>` (same table, in no index) record sends made with an
//!   Idempotency-Key; TTL on `expires_at_epoch` deletes them after 24 hours.
//!   GSI `canned`       canned_org + canned_id        the organization's canned responses
//!   items `{org}#CANNED#<id>`, `{org}#SHORTCUT#<shortcut>`, `{org}#CANNED_COUNT` keep them,
//!   their shortcuts unique and their number bounded; `{org}#DRAFT#<contact>` and
//!   `{org}#PRESENCE#<contact>` (in no index) agents' drafts and presence.
//! contact-search — PK `organization_id`, SK `term_key` (`{term}#{contact_id}`)
//!   one item per search term of an eligible contact: a search reads one prefix.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

use crate::ports::PortError;

/// What an index holds besides its keys and the table's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Projected {
    /// Every attribute: the index answers a page by itself; every write of the item that is
    /// in the index writes the index too.
    All,
    /// Keys only: the index is written only when its key changes (set, changed, removed).
    KeysOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: &'static str,
    pub hash_key: &'static str,
    pub range_key: Option<&'static str>,
    pub projected: Projected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableSpec {
    /// The template's logical id.
    pub logical_id: &'static str,
    /// The name with the README's stack name `whatsapp`.
    pub default_name: &'static str,
    pub hash_key: &'static str,
    pub range_key: Option<&'static str>,
    pub indexes: &'static [IndexSpec],
    /// The attribute DynamoDB's TTL deletes items by (epoch seconds), if any.
    pub ttl_attribute: Option<&'static str>,
    /// Whether the table has a stream (NEW_AND_OLD_IMAGES): what reads its changes does not
    /// miss the CRM's writes or anyone else's.
    pub stream: bool,
}

pub const CONTACTS: TableSpec = TableSpec {
    logical_id: "ContactsTable",
    default_name: "whatsapp-contacts",
    hash_key: "organization_id",
    range_key: Some("contact_id"),
    indexes: &[
        IndexSpec {
            name: "phone",
            hash_key: "organization_id",
            range_key: Some("phone_number"),
            projected: Projected::All,
        },
        IndexSpec {
            name: "eligible",
            hash_key: "organization_id",
            range_key: Some("eligible_sort"),
            projected: Projected::All,
        },
        IndexSpec {
            name: "whatsapp_user",
            hash_key: "organization_id",
            range_key: Some("whatsapp_user_id"),
            projected: Projected::All,
        },
    ],
    ttl_attribute: None,
    stream: true,
};

pub const MESSAGES: TableSpec = TableSpec {
    logical_id: "MessagesTable",
    default_name: "whatsapp-messages",
    hash_key: "item_key",
    range_key: None,
    indexes: &[
        IndexSpec {
            name: "conversation",
            hash_key: "conversation",
            range_key: Some("message_id"),
            projected: Projected::All,
        },
        IndexSpec {
            name: "changes",
            hash_key: "conversation",
            range_key: Some("revision"),
            projected: Projected::All,
        },
        // The inbox: the organization's conversation summaries (`{org}#CONV#<contact>` items,
        // the only ones with `inbox`), the most recent activity last.
        IndexSpec {
            name: "inbox",
            hash_key: "inbox",
            range_key: Some("activity"),
            projected: Projected::All,
        },
        // The unread total: summaries with something unread (the only items with
        // `unread_inbox`), keys only: `unread` carries the retention end and the count.
        IndexSpec {
            name: "unread",
            hash_key: "unread_inbox",
            range_key: Some("unread"),
            projected: Projected::KeysOnly,
        },
        // Canned responses (`{org}#CANNED#<id>` items, the only ones with `canned_org`), in
        // the order they were made.
        IndexSpec {
            name: "canned",
            hash_key: "canned_org",
            range_key: Some("canned_id"),
            projected: Projected::All,
        },
        // Keyed by the sid alone (Twilio's sids are unique), keys only: each message writes
        // it once, when its sid becomes known, and on a key of its own.
        IndexSpec {
            name: "sid",
            hash_key: "twilio_message_sid",
            range_key: None,
            projected: Projected::KeysOnly,
        },
    ],
    // Idempotency records (`IDEM#<key>`) expire after a day; messages carry no such attribute.
    ttl_attribute: Some("expires_at_epoch"),
    stream: true,
};

/// The contact search index: one item per search term of an eligible contact
/// (`domain::search`), written from the contacts table's stream.
pub const CONTACT_SEARCH: TableSpec = TableSpec {
    logical_id: "ContactSearchTable",
    default_name: "whatsapp-contact-search",
    hash_key: "organization_id",
    range_key: Some("term_key"),
    indexes: &[],
    ttl_attribute: None,
    stream: false,
};

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, PortError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| PortError::Unavailable(e.to_string()))
}

/// Creates a table as the template declares it (on-demand). For emulators and local runs.
/// Creates the table; with `stream`, the stream it declares (if any).
pub async fn create_table(
    client: &Client,
    spec: &TableSpec,
    name: &str,
    stream: bool,
) -> Result<(), PortError> {
    let mut attributes: Vec<&str> = [Some(spec.hash_key), spec.range_key]
        .into_iter()
        .flatten()
        .collect();
    for index in spec.indexes {
        attributes.extend(
            [Some(index.hash_key), index.range_key]
                .into_iter()
                .flatten(),
        );
    }
    attributes.sort_unstable();
    attributes.dedup();
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(spec.hash_key, KeyType::Hash)?);
    if let Some(range_key) = spec.range_key {
        request = request.key_schema(key(range_key, KeyType::Range)?);
    }
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
        let mut gsi = GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .key_schema(key(index.hash_key, KeyType::Hash)?);
        if let Some(range_key) = index.range_key {
            gsi = gsi.key_schema(key(range_key, KeyType::Range)?);
        }
        let projection = match index.projected {
            Projected::All => ProjectionType::All,
            Projected::KeysOnly => ProjectionType::KeysOnly,
        };
        request = request.global_secondary_indexes(
            gsi.projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(|e| PortError::Unavailable(e.to_string()))?,
        );
    }
    if stream && spec.stream {
        request = request.stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
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
