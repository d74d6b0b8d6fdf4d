//! The AWS side of the benchmark on the emulator: tables, queue, bucket, the organization's
//! secret and its contact. Done straight against the emulator, not through the counting proxy.

use aws_config::SdkConfig;
use shared::aws::DynamoContacts;
use shared::aws::provision::{self, StackSpec};
use shared::ports::ContactStore;

use crate::events::{ACCOUNT_SID, AUTH_TOKEN, CONTACT_ID, CONTACT_PHONE, ORG, SENDER};

/// The names the functions are configured with.
pub struct Resources {
    pub contacts_table: String,
    pub contact_search_table: String,
    pub messages_table: String,
    pub queue_url: String,
    pub bucket: String,
    pub secret_prefix: String,
    /// A sealed outbound attachment (`{org}/sent/…`), for the media link.
    pub sent_media_key: String,
}

fn failed(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

pub async fn provision(sdk: &SdkConfig, run: &str) -> Result<Resources, String> {
    let stack = provision::provision(sdk, &StackSpec::named(run))
        .await
        .map_err(|e| failed("stack", e))?
        .resources;
    let resources = Resources {
        contacts_table: stack.contacts_table,
        contact_search_table: stack.contact_search_table,
        messages_table: stack.messages_table,
        queue_url: stack.send_queue_url.unwrap_or_default(),
        bucket: stack.media_bucket.unwrap_or_default(),
        secret_prefix: format!("{run}/"),
        sent_media_key: format!("{ORG}/sent/{}/invoice.pdf", ulid::Ulid::new()),
    };
    let secret = shared::testing::secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true);
    provision::put_secret(
        sdk,
        &format!("{}{ORG}/twilio", resources.secret_prefix),
        &secret,
    )
    .await
    .map_err(|e| failed("secret", e))?;
    let mut contact = shared::testing::contact(ORG, CONTACT_ID, "Aisha Rahman", CONTACT_PHONE);
    contact.last_inbound_at = Some(chrono::Utc::now());
    DynamoContacts::new(
        aws_sdk_dynamodb::Client::new(sdk),
        resources.contacts_table.clone(),
    )
    .put(&contact)
    .await
    .map_err(|e| failed("contact", e))?;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    s3.put_object()
        .bucket(&resources.bucket)
        .key(&resources.sent_media_key)
        .content_type("application/pdf")
        .body(vec![b'%'; 48_213].into())
        .send()
        .await
        .map_err(|e| failed("sent attachment", e))?;
    Ok(resources)
}

/// The CRM deletes the benchmark contact (before its conversation's erasure is measured).
pub async fn delete_contact(sdk: &SdkConfig, resources: &Resources) -> Result<(), String> {
    let (org, id) = (
        shared::domain::OrganizationId::parse(ORG).map_err(|e| failed("org", e))?,
        shared::domain::ContactId::parse(CONTACT_ID).map_err(|e| failed("contact id", e))?,
    );
    DynamoContacts::new(
        aws_sdk_dynamodb::Client::new(sdk),
        resources.contacts_table.clone(),
    )
    .delete(&org, &id)
    .await
    .map_err(|e| failed("delete contact", e))
}
