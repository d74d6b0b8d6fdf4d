//! The contacts table's stream consumer on Lambda (DynamoDB event source, partial batch
//! responses): search terms, and erasure of removed contacts.
use contact_indexer::ContactIndexer;
use shared::runtime::{init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (_settings, ports) = init(&[]).await?;
    let index = ports
        .contacts
        .search_index()
        .cloned()
        .ok_or("the contact search index is not configured")?;
    serve(ContactIndexer::new(index, ports.queue)).await
}
