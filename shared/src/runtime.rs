//! The ports a Lambda binary runs on, built once per cold start from the environment:
//! DynamoDB tables, the organization secrets, the send queue, the media bucket.

use crate::aws::{
    DynamoContacts, DynamoMessages, Resources, S3Media, SecretsManagerCredentials, SqsSendQueue,
};
use crate::config::{ConfigError, Settings};

#[derive(Clone)]
pub struct AwsPorts {
    pub contacts: DynamoContacts,
    pub messages: DynamoMessages,
    pub credentials: SecretsManagerCredentials,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    resources: Resources,
}

impl AwsPorts {
    /// The send queue; only the functions that use it need `SEND_QUEUE_URL`.
    pub fn queue(&self) -> Result<SqsSendQueue, ConfigError> {
        let url = self.resources.send_queue_url.clone().ok_or(ConfigError {
            name: "SEND_QUEUE_URL",
            reason: "is required by this function".into(),
        })?;
        Ok(SqsSendQueue::new(self.sqs.clone(), url))
    }

    /// The media bucket; only the functions that use it need `MEDIA_BUCKET`.
    pub fn media(&self) -> Result<S3Media, ConfigError> {
        let bucket = self.resources.media_bucket.clone().ok_or(ConfigError {
            name: "MEDIA_BUCKET",
            reason: "is required by this function".into(),
        })?;
        Ok(S3Media::new(self.s3.clone(), bucket))
    }
}

/// Builds every client from one shared SDK configuration (no network I/O here).
pub async fn aws_ports(settings: &Settings) -> AwsPorts {
    let sdk = crate::aws::sdk_config().await;
    aws_ports_from(
        settings,
        &sdk,
        Resources::from_lookup(|n| std::env::var(n).ok()),
    )
}

pub fn aws_ports_from(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    resources: Resources,
) -> AwsPorts {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    // Emulators on loopback cannot serve virtual-hosted bucket names.
    let s3_config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    AwsPorts {
        contacts: DynamoContacts::new(dynamodb.clone(), resources.contacts_table.clone()),
        messages: DynamoMessages::new(dynamodb, resources.messages_table.clone()),
        credentials: SecretsManagerCredentials::new(
            aws_sdk_secretsmanager::Client::new(sdk),
            settings.secret_prefix.clone(),
            settings.secret_cache_ttl,
        ),
        sqs: aws_sdk_sqs::Client::new(sdk),
        s3: aws_sdk_s3::Client::from_conf(s3_config),
        resources,
    }
}
