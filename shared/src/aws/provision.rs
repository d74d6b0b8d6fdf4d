//! A stack's resources created on an AWS emulator as the SAM template declares them: the
//! two tables, the send queue with its dead-letter queue, the media bucket, organization
//! secrets. The one provisioner of the local runner (`--aws` on an emulator), the emulator
//! tests and the benchmark. On real AWS the template does this; nothing here runs there.
//!
//! Every step is idempotent, so a runner restarted on the same emulator reuses its stack.

use aws_config::SdkConfig;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use aws_sdk_sqs::types::QueueAttributeName;

use super::schema::{self, CONTACT_SEARCH, CONTACTS, MESSAGES};
use super::{Resources, unavailable};
use crate::ports::{PortError, PortResult};

/// The names of one stack's resources and the queue's redrive settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSpec {
    pub contacts_table: String,
    pub contact_search_table: String,
    pub messages_table: String,
    /// The send queue; its dead-letter queue is `{queue_name}-dlq`.
    pub queue_name: String,
    pub bucket: String,
    /// Seconds a received job stays invisible before it is delivered again.
    pub visibility_timeout: u32,
    /// Receives before a job moves to the dead-letter queue.
    pub max_receive_count: u32,
    /// Whether the tables get the streams the template declares. Off unless something reads
    /// them: moto keeps every record in memory and copies it with the table for every
    /// transaction, which slows a long run down until the emulator runs out of memory.
    pub streams: bool,
}

impl StackSpec {
    /// `{stack}-contacts`, `{stack}-messages`, `{stack}-send`, `{stack}-media`.
    pub fn named(stack: &str) -> Self {
        Self {
            contacts_table: format!("{stack}-contacts"),
            contact_search_table: format!("{stack}-contact-search"),
            messages_table: format!("{stack}-messages"),
            queue_name: format!("{stack}-send"),
            bucket: format!("{stack}-media"),
            // The local runner's worker redelivers a failed job after SQS's default 30 s;
            // the template's 360 s suit the Lambda's timeout, not a person waiting.
            visibility_timeout: 30,
            max_receive_count: 5,
            streams: false,
        }
    }
}

/// What `provision` made: the functions' resource settings and the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedStack {
    pub resources: Resources,
    pub dlq_url: String,
}

/// Creates (or finds) every resource of the stack.
pub async fn provision(sdk: &SdkConfig, spec: &StackSpec) -> PortResult<ProvisionedStack> {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    for (table, name) in [
        (&CONTACTS, &spec.contacts_table),
        (&MESSAGES, &spec.messages_table),
        (&CONTACT_SEARCH, &spec.contact_search_table),
    ] {
        if dynamodb
            .describe_table()
            .table_name(name)
            .send()
            .await
            .is_err()
        {
            schema::create_table(&dynamodb, table, name, spec.streams).await?;
        }
    }

    let sqs = aws_sdk_sqs::Client::new(sdk);
    let dlq_url = create_queue(&sqs, &format!("{}-dlq", spec.queue_name), &[]).await?;
    let dlq_arn = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| unavailable("GetQueueAttributes", e.into_service_error()))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| PortError::Unavailable("the dead-letter queue has no ARN".into()))?;
    let redrive = format!(
        r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{}"}}"#,
        spec.max_receive_count
    );
    let queue_url = create_queue(
        &sqs,
        &spec.queue_name,
        &[
            (QueueAttributeName::RedrivePolicy, redrive),
            (
                QueueAttributeName::VisibilityTimeout,
                spec.visibility_timeout.to_string(),
            ),
        ],
    )
    .await?;

    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    if s3.head_bucket().bucket(&spec.bucket).send().await.is_err() {
        let mut create = s3.create_bucket().bucket(&spec.bucket);
        // Outside us-east-1, S3 wants the region named.
        if let Some(region) = sdk.region().map(|r| r.as_ref().to_owned())
            && region != "us-east-1"
        {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region.as_str()))
                    .build(),
            );
        }
        create
            .send()
            .await
            .map_err(|e| unavailable("CreateBucket", e.into_service_error()))?;
    }

    Ok(ProvisionedStack {
        resources: Resources {
            contacts_table: spec.contacts_table.clone(),
            contact_search_table: spec.contact_search_table.clone(),
            messages_table: spec.messages_table.clone(),
            send_queue_url: Some(queue_url),
            media_queue_url: None,
            media_bucket: Some(spec.bucket.clone()),
        },
        dlq_url,
    })
}

async fn create_queue(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> PortResult<String> {
    let mut request = sqs.create_queue().queue_name(name);
    for (attribute, value) in attributes {
        request = request.attributes(attribute.clone(), value);
    }
    request
        .send()
        .await
        .map_err(|e| unavailable("CreateQueue", e.into_service_error()))?
        .queue_url
        .ok_or_else(|| PortError::Unavailable(format!("queue {name} has no URL")))
}

/// Stores an organization's secret as the admin template does, or rotates it.
pub async fn put_secret(sdk: &SdkConfig, name: &str, json: &str) -> PortResult<()> {
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    if secrets
        .create_secret()
        .name(name)
        .secret_string(json)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    secrets
        .put_secret_value()
        .secret_id(name)
        .secret_string(json)
        .send()
        .await
        .map_err(|e| unavailable("PutSecretValue", e.into_service_error()))?;
    Ok(())
}
