//! GET /whatsapp/contacts on Lambda.
use list_contacts::ContactsApi;
use shared::runtime::{init, serve};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let (settings, ports) = init(&[]).await?;
    serve(ContactsApi::new(ports, &settings)).await
}
