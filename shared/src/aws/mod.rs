//! The AWS implementations of the ports: DynamoDB (contacts, messages), Secrets Manager
//! (organization Twilio configuration), SQS (send jobs), S3 (media).
//!
//! Clients come from the standard AWS environment once per cold start; the endpoint comes
//! from the standard `AWS_ENDPOINT_URL` variables, so the same binaries run against an
//! emulator. Building them does no network I/O.

mod contact_update;
mod contacts;
mod media;
mod messages;
pub mod provision;
mod queue;
pub mod schema;
mod secrets;

use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};

pub use contacts::DynamoContacts;
pub use media::S3Media;
pub use messages::DynamoMessages;
pub use queue::{SqsSendQueue, to_sqs_event};
pub use secrets::SecretsManagerCredentials;

use crate::ports::{PortError, port_bundle};
use crate::twilio::TwilioClient;

/// The AWS set of ports. The sender is Twilio's REST client; emulator tests put a scripted
/// one in its place.
#[derive(Clone)]
pub struct AwsPorts<W = TwilioClient> {
    pub contacts: DynamoContacts,
    pub messages: DynamoMessages,
    pub credentials: SecretsManagerCredentials,
    pub queue: SqsSendQueue,
    pub media: S3Media,
    pub sender: W,
}

port_bundle!(
    AwsPorts,
    DynamoContacts,
    DynamoMessages,
    SecretsManagerCredentials,
    SqsSendQueue,
    S3Media
);

impl<W> AwsPorts<W> {
    pub fn with_sender<V>(self, sender: V) -> AwsPorts<V> {
        AwsPorts {
            contacts: self.contacts,
            messages: self.messages,
            credentials: self.credentials,
            queue: self.queue,
            media: self.media,
            sender,
        }
    }
}

/// Resource names, as the SAM template passes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub contacts_table: String,
    pub messages_table: String,
    pub send_queue_url: Option<String>,
    /// Where inbound media copy jobs go (`MEDIA_QUEUE_URL`), so a long copy never shares an
    /// invocation, and its timeout, with sends; the send queue when unset.
    pub media_queue_url: Option<String>,
    pub media_bucket: Option<String>,
}

impl Resources {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        Self {
            contacts_table: get("CONTACTS_TABLE")
                .unwrap_or_else(|| schema::CONTACTS.default_name.to_owned()),
            messages_table: get("MESSAGES_TABLE")
                .unwrap_or_else(|| schema::MESSAGES.default_name.to_owned()),
            send_queue_url: get("SEND_QUEUE_URL"),
            media_queue_url: get("MEDIA_QUEUE_URL"),
            media_bucket: get("MEDIA_BUCKET"),
        }
    }
}

/// The shared AWS configuration: region, credentials and endpoint from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_loader().load().await
}

/// The SDK configuration's loader, on the process's one HTTPS client (compiled-in roots):
/// every client built from it shares that client. Add an endpoint or region before `load`.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::https::aws_http_client())
}

/// An SDK failure as a port error: the operation and the service's error code, for the log.
pub(crate) fn unavailable<E>(operation: &str, error: E) -> PortError
where
    E: std::error::Error + ProvideErrorMetadata + Debug + Send + Sync + 'static,
{
    let code = error.code().unwrap_or("unknown").to_owned();
    PortError::Unavailable(format!(
        "{operation} failed ({code}): {}",
        DisplayErrorContext(&error)
    ))
}
