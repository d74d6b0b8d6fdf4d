//! Contact search at the size of a CRM customer: organizations of 1,000 and 20,000 eligible
//! contacts in the search index, and what the first page of a search reads, counted by the
//! proxy. The index is filled straight against the emulator (not counted), as the indexer
//! would from the contacts table's stream.

use aws_config::SdkConfig;
use shared::aws::DynamoSearchIndex;
use shared::domain::{Contact, ContactId, OrganizationId};

use crate::provision::Resources;

const FIRST: &[&str] = &[
    "Aisha", "Ahmad", "Amelia", "Ben", "Carla", "Chen", "Dev", "Diego", "Elena", "Farah", "Grace",
    "Hana", "Ivan", "Jia", "Kumar", "Lina", "Marco", "Mei", "Nadia", "Omar", "Priya", "Ravi",
    "Sara", "Tomas", "Wei", "Yusuf", "Zara", "Anna", "Maria", "Mohamed",
];
const LAST: &[&str] = &[
    "Rahman", "Tan", "Lim", "Ong", "Mendes", "Patel", "Garcia", "Silva", "Wong", "Singh", "Lee",
    "Kumar", "Abdullah", "Nguyen", "Rossi", "Muller", "Smith", "Santos", "Ali", "Chua",
];
/// One contact of each organization has this name: a rare search.
pub const RARE: &str = "Zebediah Quartermaine";

/// The organization id for a size.
pub fn organization(size: usize) -> String {
    format!("search-{size}")
}

fn contact(org: &OrganizationId, i: usize, size: usize) -> Contact {
    let name = if i == size / 2 {
        RARE.to_owned()
    } else {
        format!(
            "{} {}",
            FIRST[i % FIRST.len()],
            LAST[(i / FIRST.len()) % LAST.len()]
        )
    };
    let email = format!(
        "{}.{i}@example.com",
        name.split(' ').next().unwrap_or("c").to_lowercase()
    );
    Contact {
        organization_id: org.clone(),
        contact_id: ContactId::parse(&format!("c{i:06}")).unwrap_or_else(|_| unreachable!()),
        name,
        email: Some(email),
        // Malaysian mobiles: +60 12 and seven digits.
        phone_number: Some(format!("+6012{:07}", 1_000_000 + i)),
        whatsapp_opt_in: true,
        whatsapp_blocked: false,
        whatsapp_unsubscribed: false,
        last_inbound_at: None,
        whatsapp_opt_changed_at: None,
        whatsapp_user_id: None,
    }
}

/// Fills the index with `size` eligible contacts of `organization(size)`.
pub async fn fill(sdk: &SdkConfig, resources: &Resources, size: usize) -> Result<(), String> {
    let org = OrganizationId::parse(&organization(size)).map_err(|e| e.to_string())?;
    let index = DynamoSearchIndex::new(
        aws_sdk_dynamodb::Client::new(sdk),
        resources.contact_search_table.clone(),
    );
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (index, org) = (index.clone(), org.clone());
        tasks.spawn(async move {
            for i in (worker..size).step_by(8) {
                index
                    .apply_change(None, Some(&contact(&org, i, size)))
                    .await
                    .map_err(|e| format!("index contact {i}: {e}"))?;
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// The searches measured: (label part, entry).
pub const SEARCHES: &[(&str, &str)] = &[
    ("a rare name", "zebediah"),
    ("a common prefix", "a"),
    ("a common name", "aisha"),
    ("the last digits", "0123"),
    ("a number's beginning", "+6012"),
];
