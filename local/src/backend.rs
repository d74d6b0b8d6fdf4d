//! Where the local runner keeps its data: in process (default), or the AWS adapters
//! against an endpoint such as the emulator (`--aws`), with SQS feeding the worker the way
//! the Lambda event source mapping does.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use canned_responses::CannedApi;
use channel::ChannelApi;
use inbox::InboxApi;
use list_contacts::ContactsApi;
use list_messages::MessagesApi;
use media_url::MediaLinkApi;
use presign_upload::PresignApi;
use send_message::SendApi;
use send_worker::SendWorker;
use shared::api::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use shared::aws::Resources;
use shared::aws::provision::{self, StackSpec};
use shared::config::Settings;
use shared::domain::{Contact, ContactId, OrganizationId, WorkerJob};
use shared::memory::{ChangeFeed, MemoryMedia, MemoryPorts, MemoryQueue, StoreFaults};
use shared::ports::{ContactStore, PortError, Ports, SendQueue};
use shared::runtime::Handler;
use shared::twilio::TwilioClient;
use twilio_webhook::TwilioWebhook;

use crate::seed::Seed;
use crate::{EnvLookup, LocalError};

pub type ResponseFuture<'a> =
    Pin<Box<dyn Future<Output = Option<ApiGatewayV2httpResponse>> + Send + 'a>>;

pub type StoreFuture<'a> = Pin<Box<dyn Future<Output = Result<(), PortError>> + Send + 'a>>;

/// Calls the handler of a function by name.
pub trait Dispatch: Send + Sync + 'static {
    fn call(&self, function: &str, event: ApiGatewayV2httpRequest) -> ResponseFuture<'_>;

    /// Writes a contact as the CRM does (a whole item), in whichever store is in use.
    fn put_contact(&self, contact: Contact) -> StoreFuture<'_>;

    /// Deletes a contact as the CRM does, and starts its erasure as the contact indexer does
    /// when the table's stream shows the removal (here there is no stream).
    fn delete_contact(&self, org: OrganizationId, id: ContactId) -> StoreFuture<'_>;
}

/// Every API function's handler, built from one set of ports as each Lambda builds its own.
pub struct Handlers<P> {
    /// The stores themselves, for what the CRM writes directly.
    pub ports: P,
    pub channel: ChannelApi<P>,
    pub contacts: ContactsApi<P>,
    pub presign: PresignApi<P>,
    pub messages: MessagesApi<P>,
    pub inbox: InboxApi<P>,
    pub canned: CannedApi<P>,
    pub send: SendApi<P>,
    pub webhook: TwilioWebhook<P>,
    pub media: MediaLinkApi<P>,
}

impl<P: Ports> Handlers<P> {
    fn new(ports: P, settings: &Settings) -> Self {
        Self {
            channel: ChannelApi::new(ports.clone(), settings),
            contacts: ContactsApi::new(ports.clone(), settings),
            presign: PresignApi::new(ports.clone(), settings),
            messages: MessagesApi::new(ports.clone(), settings),
            inbox: InboxApi::new(ports.clone(), settings),
            canned: CannedApi::new(ports.clone(), settings),
            send: SendApi::new(ports.clone(), settings),
            media: MediaLinkApi::new(ports.clone()),
            webhook: TwilioWebhook::new(ports.clone(), settings),
            ports,
        }
    }
}

impl<P: Ports> Dispatch for Handlers<P> {
    fn call(&self, function: &str, event: ApiGatewayV2httpRequest) -> ResponseFuture<'_> {
        let function = function.to_owned();
        Box::pin(async move {
            Some(match function.as_str() {
                "channel" => self.channel.handle(event).await,
                "list-contacts" => self.contacts.handle(event).await,
                "list-messages" => self.messages.handle(event).await,
                "inbox" => self.inbox.handle(event).await,
                "canned-responses" => self.canned.handle(event).await,
                "send-message" => self.send.handle(event).await,
                "presign-upload" => self.presign.handle(event).await,
                "twilio-webhook" => self.webhook.handle(event).await,
                "media-url" => self.media.handle(event).await,
                _ => return None,
            })
        })
    }

    fn put_contact(&self, contact: Contact) -> StoreFuture<'_> {
        Box::pin(async move { self.ports.contacts().put(&contact).await })
    }

    fn delete_contact(&self, org: OrganizationId, id: ContactId) -> StoreFuture<'_> {
        Box::pin(async move {
            self.ports.contacts().delete(&org, &id).await?;
            let job = WorkerJob::erase_contact(&org, &id);
            self.ports.queue().enqueue(&job, Duration::ZERO).await
        })
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

/// The failure injection of the in-process stores, by store name.
#[derive(Clone)]
pub struct StoreFaultSwitches {
    pub contacts: StoreFaults,
    pub messages: StoreFaults,
    pub queue: StoreFaults,
    /// `stop_mid_job`: the worker is stopped at a random point of its next job.
    pub worker: StoreFaults,
}

impl StoreFaultSwitches {
    pub fn get(&self, store: &str) -> Option<&StoreFaults> {
        match store {
            "contacts" => Some(&self.contacts),
            "messages" => Some(&self.messages),
            "queue" => Some(&self.queue),
            "worker" => Some(&self.worker),
            _ => None,
        }
    }
}

/// In-process stores and queue.
pub async fn memory(
    seed: &Seed,
    settings: &Settings,
    twilio: TwilioClient,
    media: MemoryMedia,
) -> Result<(Arc<dyn Dispatch>, StoreFaultSwitches, Vec<ChangeFeed>), LocalError> {
    let (queue, jobs) = MemoryQueue::channel();
    let ports = MemoryPorts {
        media,
        ..MemoryPorts::new("")
    }
    .with_queue(queue)
    .with_sender(twilio);
    seed_contacts(&ports.contacts, seed).await?;
    for org in &seed.organizations {
        if let Some(secret) = &org.twilio {
            ports
                .credentials
                .put_secret(&org.organization_id, secret.to_string());
        }
    }
    let worker_faults = StoreFaults::default();
    crate::worker::spawn(
        SendWorker::new(ports.clone(), settings),
        jobs,
        ports.queue.clone(),
        worker_faults.clone(),
    );
    let switches = StoreFaultSwitches {
        contacts: ports.contacts.faults.clone(),
        messages: ports.messages.faults.clone(),
        queue: ports.queue.faults.clone(),
        worker: worker_faults,
    };
    let feeds = vec![
        ports.messages.changes.clone(),
        ports.contacts.changes.clone(),
    ];
    Ok((Arc::new(Handlers::new(ports, settings)), switches, feeds))
}

/// The AWS SDK configuration from the runner's environment lookup.
async fn sdk_config(env: &EnvLookup) -> aws_config::SdkConfig {
    let mut loader = shared::aws::sdk_loader();
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

/// The AWS adapters. Against an emulator (`AWS_ENDPOINT_URL` set) the stack and the
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
    if emulator {
        let stack = resources.contacts_table.trim_end_matches("-contacts");
        let spec = StackSpec {
            contacts_table: resources.contacts_table.clone(),
            contact_search_table: resources.contact_search_table.clone(),
            messages_table: resources.messages_table.clone(),
            ..StackSpec::named(stack)
        };
        let provisioned = provision::provision(&sdk, &spec).await?.resources;
        resources.send_queue_url = resources.send_queue_url.or(provisioned.send_queue_url);
        resources.media_bucket = resources.media_bucket.or(provisioned.media_bucket);
    }
    let Some(queue_url) = resources.send_queue_url.clone() else {
        return Err(LocalError::Config(shared::config::ConfigError {
            name: "SEND_QUEUE_URL",
            reason: "is required with --aws outside an emulator".into(),
        }));
    };
    let mut ports = shared::runtime::aws_ports_from(settings, &sdk, resources)?.with_sender(twilio);
    // No DynamoDB stream here: the contact store feeds the search index itself.
    ports.contacts = ports.contacts.indexing_own_writes();
    seed_contacts(&ports.contacts, seed).await?;
    if emulator {
        for org in &seed.organizations {
            if let Some(secret) = &org.twilio {
                let name = ports.credentials.secret_name(&org.organization_id);
                provision::put_secret(&sdk, &name, &secret.to_string()).await?;
            }
        }
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let worker = SendWorker::new(ports.clone(), settings);
    for _ in 0..CONCURRENT_BATCHES {
        tokio::spawn(poll_queue(sqs.clone(), queue_url.clone(), worker.clone()));
    }
    Ok(Arc::new(Handlers::new(ports, settings)))
}

/// Batches worked on at once: Lambda's SQS event source mapping "starts processing five
/// batches at a time with five concurrent invocations" (Lambda developer guide, "Configuring
/// scaling behavior for SQS event source mappings"), so a job that waits on Twilio's timeout
/// never holds up the queue behind it.
const CONCURRENT_BATCHES: usize = 5;

/// The SQS event source mapping in miniature (one of its concurrent pollers): receive a
/// batch, hand it to the worker as an `SqsEvent`, delete what it did not report as failed.
async fn poll_queue<P: Ports>(sqs: aws_sdk_sqs::Client, queue_url: String, worker: SendWorker<P>) {
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
