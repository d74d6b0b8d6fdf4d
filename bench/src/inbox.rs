//! The inbox at the size of a CRM customer: an organization of 20,000 contacts, 5,000 of them
//! with a conversation, and what one page of `GET /whatsapp/conversations` reads, counted by
//! the proxy — the page's Query, its contacts and the organization's unread total. Contacts
//! and conversations are written straight against the emulator (not counted): each
//! conversation one inbound message and its summary, one in ten of them unread.

use aws_config::SdkConfig;
use shared::aws::{DynamoContacts, DynamoMessages};
use shared::domain::{Contact, Message, OrganizationId, PhoneNumber};
use shared::ports::{ContactStore, MessageStore};

use crate::provision::Resources;

pub const CONTACTS: usize = 20_000;
pub const CONVERSATIONS: usize = 5_000;
/// Conversations with an unread message: the unread total reads these.
pub const UNREAD: usize = 500;

pub fn organization() -> String {
    format!("inbox-{CONTACTS}")
}

fn contact(org: &OrganizationId, i: usize) -> Contact {
    let mut contact = shared::testing::contact(
        org.as_str(),
        &format!("c{i:06}"),
        &format!("Contact {i}"),
        &format!("+6013{:07}", 1_000_000 + i),
    );
    // A few are no longer eligible: the page lists them with their reason.
    contact.whatsapp_unsubscribed = i.is_multiple_of(50);
    contact
}

/// Fills the organization: `CONTACTS` contacts, the first `CONVERSATIONS` with a message.
pub async fn fill(sdk: &SdkConfig, resources: &Resources) -> Result<(), String> {
    let org = OrganizationId::parse(&organization()).map_err(|e| e.to_string())?;
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let contacts = DynamoContacts::new(client.clone(), resources.contacts_table.clone());
    let messages = DynamoMessages::new(client, resources.messages_table.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (contacts, messages, org) = (contacts.clone(), messages.clone(), org.clone());
        tasks.spawn(async move {
            for i in (worker..CONTACTS).step_by(8) {
                let c = contact(&org, i);
                contacts
                    .put(&c)
                    .await
                    .map_err(|e| format!("contact {i}: {e}"))?;
                if i < CONVERSATIONS {
                    let phone =
                        PhoneNumber::parse_e164(c.phone_number.as_deref().unwrap_or_default())
                            .map_err(|e| e.to_string())?;
                    let inbound = Message::inbound(
                        &org,
                        Some(c.contact_id.clone()),
                        Some(&phone),
                        &format!("SM{:032x}", i),
                        Some(format!("Hello from contact {i}, is my order on its way?")),
                        vec![],
                        chrono::Utc::now(),
                    );
                    // The unread ones as the webhook stores them (counted in a transaction);
                    // the others as a plain write with their summary: moto copies the whole
                    // table for every transaction, so 5,000 of them would take an hour (the
                    // first 500 come while the table is small). What the page reads is the
                    // same.
                    let stored = if i < UNREAD {
                        messages.insert_inbound(&inbound).await.map(|_| ())
                    } else {
                        messages.insert(&inbound).await
                    };
                    stored.map_err(|e| format!("conversation {i}: {e}"))?;
                }
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    Ok(())
}
