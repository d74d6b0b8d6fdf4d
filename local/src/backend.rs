//! Where the local runner keeps its data: in process (default), or the AWS adapters
//! against an endpoint such as the emulator (`--aws`), with SQS feeding the worker the way
//! the Lambda event source mapping does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use list_contacts::ContactsApi;
use list_messages::MessagesApi;
use presign_upload::PresignApi;
use send_message::SendApi;
use send_worker::{SendWorker, WorkerSettings};
use shared::api::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use shared::aws::Resources;
use shared::aws::schema;
use shared::config::Settings;
use shared::memory::MemoryMedia;
use shared::memory::{MemoryContacts, MemoryCredentials, MemoryMessages, MemoryQueue};
use shared::ports::{
    ContactStore, CredentialStore, MediaStore, MessageStore, PortError, SendQueue, WhatsAppSender,
};
use shared::twilio::TwilioClient;
use twilio_webhook::TwilioWebhook;

use crate::seed::Seed;
use crate::{EnvLookup, LocalError};

pub type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = Option<ApiGatewayV2httpResponse>> + Send + 'a>>;

/// Calls the handler of a function by name.
pub trait Dispatch: Send + Sync + 'static {
    fn call(&self, function: &str, event: ApiGatewayV2httpRequest) -> ResponseFuture<'_>;
}

pub struct Handlers<C, M, K, Q, S> {
    pub contacts: ContactsApi<C, K>,
    pub presign: PresignApi<S>,
    pub messages: MessagesApi<C, M, S>,
    pub send: SendApi<C, M, K, Q, S>,
    pub webhook: TwilioWebhook<M, C, K, Q>,
}

impl<C, M, K, Q, S> Handlers<C, M, K, Q, S>
where
    C: ContactStore,
    M: MessageStore,
    K: CredentialStore,
    Q: SendQueue,
    S: MediaStore,
{
    fn new(
        contacts: C,
        messages: M,
        credentials: K,
        queue: Q,
        media: S,
        settings: &Settings,
    ) -> Self {
        Self {
            presign: PresignApi {
                media: media.clone(),
                org_claim: settings.org_claim.clone(),
            },
            contacts: ContactsApi {
                contacts: contacts.clone(),
                credentials: credentials.clone(),
                org_claim: settings.org_claim.clone(),
            },
            messages: MessagesApi {
                contacts: contacts.clone(),
                messages: messages.clone(),
                media: media.clone(),
                org_claim: settings.org_claim.clone(),
            },
            send: SendApi {
                contacts: contacts.clone(),
                messages: messages.clone(),
                credentials: credentials.clone(),
                queue: queue.clone(),
                media,
                org_claim: settings.org_claim.clone(),
            },
            webhook: TwilioWebhook {
                messages,
                contacts,
                credentials,
                queue,
                public_base_url: settings.public_base_url.clone(),
            },
        }
    }
}

impl<C, M, K, Q, S> Dispatch for Handlers<C, M, K, Q, S>
where
    C: ContactStore,
    M: MessageStore,
    K: CredentialStore,
    Q: SendQueue,
    S: MediaStore,
{
    fn call(&self, function: &str, event: ApiGatewayV2httpRequest) -> ResponseFuture<'_> {
        let function = function.to_owned();
        Box::pin(async move {
            Some(match function.as_str() {
                "list-contacts" => self.contacts.handle(event).await,
                "list-messages" => self.messages.handle(event).await,
                "send-message" => self.send.handle(event).await,
                "presign-upload" => self.presign.handle(event).await,
                "twilio-webhook" => self.webhook.handle(event).await,
                _ => return None,
            })
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn worker<M, C, K, S, Q, F>(
    messages: M,
    contacts: C,
    credentials: K,
    sender: S,
    queue: Q,
    media: F,
    settings: &Settings,
) -> SendWorker<M, C, K, S, Q, F> {
    SendWorker {
        messages,
        contacts,
        credentials,
        sender,
        queue,
        media,
        settings: WorkerSettings {
            max_attempts: settings.send_max_attempts,
            retry_base: settings.send_retry_base,
            public_base_url: settings.public_base_url.clone(),
        },
    }
}

async fn seed_contacts<C: ContactStore>(contacts: &C, seed: &Seed) -> Result<(), PortError> {
    let now = chrono::Utc::now();
    for org in &seed.organizations {
        for c in &org.contacts {
            contacts
                .put(&c.to_contact(&org.organization_id, now))
                .await?;
        }
    }
    Ok(())
}

/// In-process stores and queue.
pub async fn memory(
    seed: &Seed,
    settings: &Settings,
    twilio: TwilioClient,
    media: MemoryMedia,
) -> Result<Arc<dyn Dispatch>, LocalError> {
    let contacts = MemoryContacts::new();
    let messages = MemoryMessages::new();
    let credentials = MemoryCredentials::new();
    let (queue, jobs) = MemoryQueue::channel();
    seed_contacts(&contacts, seed).await?;
    for org in &seed.organizations {
        if let Some(secret) = &org.twilio {
            credentials.put_secret(&org.organization_id, secret.to_string());
        }
    }
    crate::worker::spawn(
        worker(
            messages.clone(),
            contacts.clone(),
            credentials.clone(),
            twilio,
            queue.clone(),
            media.clone(),
            settings,
        ),
        jobs,
    );
    Ok(Arc::new(Handlers::new(
        contacts,
        messages,
        credentials,
        queue,
        media,
        settings,
    )))
}

/// The AWS SDK configuration from the runner's environment lookup.
async fn sdk_config(env: &EnvLookup) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = env("AWS_ENDPOINT_URL") {
        loader = loader.endpoint_url(endpoint);
    }
    if let Some(region) = env("AWS_REGION").or_else(|| env("AWS_DEFAULT_REGION")) {
        loader = loader.region(aws_config::Region::new(region));
    }
    if let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        loader = loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            key,
            secret,
            env("AWS_SESSION_TOKEN"),
            None,
            "environment",
        ));
    }
    loader.load().await
}

fn aws_error(e: impl std::error::Error) -> LocalError {
    LocalError::Store(PortError::Unavailable(
        aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
    ))
}

/// The AWS adapters. Against an emulator (`AWS_ENDPOINT_URL` set) the tables, queue and
/// organization secrets are created from the seed; against real AWS only contacts are
/// written (the stack and the secrets are the admins' to provision).
pub async fn aws(
    seed: &Seed,
    settings: &Settings,
    twilio: TwilioClient,
    env: &EnvLookup,
) -> Result<Arc<dyn Dispatch>, LocalError> {
    let sdk = sdk_config(env).await;
    let emulator = env("AWS_ENDPOINT_URL").is_some();
    let mut resources = Resources::from_lookup(|name| env(name));
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    if emulator {
        for (spec, name) in [
            (&schema::CONTACTS, &resources.contacts_table),
            (&schema::MESSAGES, &resources.messages_table),
        ] {
            if dynamodb
                .describe_table()
                .table_name(name)
                .send()
                .await
                .is_err()
            {
                schema::create_table(&dynamodb, spec, name).await?;
            }
        }
        if resources.send_queue_url.is_none() {
            let name = resources
                .contacts_table
                .trim_end_matches("-contacts")
                .to_owned()
                + "-send";
            let url = sqs
                .create_queue()
                .queue_name(name)
                .send()
                .await
                .map_err(aws_error)?
                .queue_url
                .unwrap_or_default();
            resources.send_queue_url = Some(url);
        }
    }
    let queue_url = resources.send_queue_url.clone().ok_or_else(|| {
        LocalError::Config(shared::config::ConfigError {
            name: "SEND_QUEUE_URL",
            reason: "is required with --aws outside an emulator".into(),
        })
    })?;
    if emulator && resources.media_bucket.is_none() {
        let bucket = resources
            .contacts_table
            .trim_end_matches("-contacts")
            .to_owned()
            + "-media";
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        if s3.head_bucket().bucket(&bucket).send().await.is_err() {
            let mut create = s3.create_bucket().bucket(&bucket);
            // Outside us-east-1, S3 wants the region named.
            if let Some(region) = sdk.region().map(|r| r.as_ref().to_owned())
                && region != "us-east-1"
            {
                create = create.create_bucket_configuration(
                    aws_sdk_s3::types::CreateBucketConfiguration::builder()
                        .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                            region.as_str(),
                        ))
                        .build(),
                );
            }
            create.send().await.map_err(aws_error)?;
        }
        resources.media_bucket = Some(bucket);
    }
    let ports = shared::runtime::aws_ports_from(settings, &sdk, resources);
    let queue = ports.queue()?;
    let media = ports.media()?;
    seed_contacts(&ports.contacts, seed).await?;
    if emulator {
        let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
        for org in &seed.organizations {
            if let Some(secret) = &org.twilio {
                let name = ports.credentials.secret_name(&org.organization_id);
                let json = secret.to_string();
                if secrets
                    .create_secret()
                    .name(&name)
                    .secret_string(&json)
                    .send()
                    .await
                    .is_err()
                {
                    secrets
                        .put_secret_value()
                        .secret_id(&name)
                        .secret_string(&json)
                        .send()
                        .await
                        .map_err(aws_error)?;
                }
            }
        }
    }
    let worker = worker(
        ports.messages.clone(),
        ports.contacts.clone(),
        ports.credentials.clone(),
        twilio,
        queue.clone(),
        media.clone(),
        settings,
    );
    tokio::spawn(poll_queue(sqs, queue_url, worker));
    Ok(Arc::new(Handlers::new(
        ports.contacts,
        ports.messages,
        ports.credentials,
        queue,
        media,
        settings,
    )))
}

/// The SQS event source mapping in miniature: receive a batch, hand it to the worker as an
/// `SqsEvent`, delete what it did not report as failed.
async fn poll_queue<M, C, K, S, Q, F>(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    worker: SendWorker<M, C, K, S, Q, F>,
) where
    M: MessageStore,
    C: ContactStore,
    K: CredentialStore,
    S: WhatsAppSender,
    Q: SendQueue,
    F: MediaStore,
{
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "receive failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let Ok(event) = shared::aws::to_sqs_event(&messages) else {
            continue;
        };
        let response = worker.handle_sqs(event).await;
        for m in &messages {
            let failed = response
                .batch_item_failures
                .iter()
                .any(|f| Some(f.item_identifier.as_str()) == m.message_id());
            if !failed
                && let Some(handle) = m.receipt_handle()
                && let Err(e) = sqs
                    .delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
            {
                tracing::warn!(error = %aws_sdk_sqs::error::DisplayErrorContext(&e), "delete failed");
            }
        }
    }
}
