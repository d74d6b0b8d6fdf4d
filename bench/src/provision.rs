//! The AWS side of the benchmark on the emulator: tables, queue, bucket, the organization's
//! secret and its contact. Done straight against the emulator, not through the counting proxy.

use aws_config::SdkConfig;
use shared::aws::DynamoContacts;
use shared::aws::schema::{self, CONTACTS, MESSAGES};
use shared::ports::ContactStore;

use crate::events::{ACCOUNT_SID, AUTH_TOKEN, CONTACT_ID, CONTACT_PHONE, ORG, SENDER};

/// The names the functions are configured with.
pub struct Resources {
    pub contacts_table: String,
    pub messages_table: String,
    pub queue_url: String,
    pub bucket: String,
    pub secret_prefix: String,
}

fn failed(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

pub async fn provision(sdk: &SdkConfig, run: &str) -> Result<Resources, String> {
    let resources = Resources {
        contacts_table: format!("{run}-contacts"),
        messages_table: format!("{run}-messages"),
        queue_url: String::new(),
        bucket: format!("{run}-media"),
        secret_prefix: format!("{run}/"),
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    schema::create_table(&dynamodb, &CONTACTS, &resources.contacts_table)
        .await
        .map_err(|e| failed("contacts table", e))?;
    schema::create_table(&dynamodb, &MESSAGES, &resources.messages_table)
        .await
        .map_err(|e| failed("messages table", e))?;
    let queue_url = aws_sdk_sqs::Client::new(sdk)
        .create_queue()
        .queue_name(format!("{run}-send"))
        .send()
        .await
        .map_err(|e| failed("queue", e))?
        .queue_url
        .unwrap_or_default();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&resources.bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .map_err(|e| failed("bucket", e))?;
    let secret = serde_json::json!({
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "twilio_whatsapp_from": format!("whatsapp:{SENDER}"),
        "whatsapp_enabled": true,
    });
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(format!("{}{ORG}/twilio", resources.secret_prefix))
        .secret_string(secret.to_string())
        .send()
        .await
        .map_err(|e| failed("secret", e))?;
    let mut contact = shared::testing::contact(ORG, CONTACT_ID, "Aisha Rahman", CONTACT_PHONE);
    contact.last_inbound_at = Some(chrono::Utc::now());
    DynamoContacts::new(dynamodb, resources.contacts_table.clone())
        .put(&contact)
        .await
        .map_err(|e| failed("contact", e))?;
    Ok(Resources {
        queue_url,
        ..resources
    })
}
