//! The AWS implementations of the ports: DynamoDB (contacts, messages), Secrets Manager
//! (organization Twilio configuration), SQS (send jobs), S3 (media).
//!
//! Clients come from the standard AWS environment once per cold start; the endpoint comes
//! from the standard `AWS_ENDPOINT_URL` variables, so the same binaries run against an
//! emulator. Building them does no network I/O.

mod contact_update;
mod contacts;
pub(crate) mod contention;
mod event_api;
mod lazy;
mod media;
mod messages;
pub mod provision;
mod queue;
pub mod schema;
mod search_index;
mod secrets;

use std::fmt::Debug;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};

pub use contacts::{DynamoContacts, contact_from_image};
pub use event_api::EventApiPublisher;
pub use lazy::LazyClient;
pub use media::S3Media;
pub use messages::{DynamoMessages, message_from_image, presence_change, summary_from_image};
pub use queue::{SqsSendQueue, to_sqs_event};
pub use search_index::DynamoSearchIndex;
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
    /// The contact search index (`CONTACT_SEARCH_TABLE`).
    pub contact_search_table: String,
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
            contact_search_table: get("CONTACT_SEARCH_TABLE")
                .unwrap_or_else(|| schema::CONTACT_SEARCH.default_name.to_owned()),
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

/// The SDK configuration a Lambda cold start needs, from its environment alone: region,
/// the function's credentials and `AWS_ENDPOINT_URL`, on the process's HTTPS client. Unlike
/// the default chain it opens no profile file and asks no metadata service. None without
/// credentials in the environment (then `sdk_config` is the way).
pub fn lambda_sdk_config(lookup: impl Fn(&str) -> Option<String>) -> Option<aws_config::SdkConfig> {
    use aws_config::{BehaviorVersion, Region};
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    let region = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION"))?;
    let credentials = aws_credential_types::Credentials::new(
        get("AWS_ACCESS_KEY_ID")?,
        get("AWS_SECRET_ACCESS_KEY")?,
        get("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .http_client(crate::https::aws_http_client())
        .retry_config(aws_config::retry::RetryConfig::standard())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(crate::https::CONNECT_TIMEOUT)
                .build(),
        )
        .time_source(aws_smithy_async::time::SharedTimeSource::default());
    if let Some(sleep) = aws_smithy_async::rt::sleep::default_async_sleep() {
        builder = builder.sleep_impl(sleep);
    }
    if let Some(endpoint) = get("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    Some(builder.build())
}

/// The SDK configuration's loader, on the process's one HTTPS client (compiled-in roots):
/// every client built from it shares that client. Add an endpoint or region before `load`.
pub fn sdk_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(crate::https::aws_http_client())
}

/// A DynamoDB string attribute.
pub(crate) fn s(value: impl Into<String>) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(value.into())
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

/// A conditional write's outcome: `Some` with the answer when it was written, `None` when
/// its condition failed (another write came first: the caller decides what that means), an
/// error for anything else.
pub(crate) fn unless_condition_failed<T, E, R>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E, R>>,
    operation: &str,
) -> crate::ports::PortResult<Option<T>>
where
    E: std::error::Error + ProvideErrorMetadata + Debug + Send + Sync + 'static,
    R: Debug + Send + Sync + 'static,
{
    match result {
        Ok(answer) => Ok(Some(answer)),
        Err(e) => {
            let code = e.as_service_error().and_then(ProvideErrorMetadata::code);
            if code == Some("ConditionalCheckFailedException") {
                Ok(None)
            } else {
                Err(unavailable(operation, e))
            }
        }
    }
}

/// Every item of one organization's partition of a table keyed by `organization_id`, one
/// Query page after another (`projection`: the attributes to read, None for all). For the
/// administrative rebuild of the search index, never for a request path.
pub(crate) async fn query_organization(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    org: &crate::domain::OrganizationId,
    projection: Option<&str>,
    operation: &str,
) -> Result<
    Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>>,
    PortError,
> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .query()
            .table_name(table)
            .key_condition_expression("organization_id = :o")
            .expression_attribute_values(":o", AttributeValue::S(org.as_str().to_owned()))
            .set_projection_expression(projection.map(str::to_owned))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|e| unavailable(operation, e.into_service_error()))?;
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(key) if !key.is_empty() => start = Some(key),
            _ => return Ok(items),
        }
    }
}

/// The SDK configuration a Lambda would have, aimed at a fake service on loopback (tests).
#[cfg(test)]
pub(crate) fn loopback_sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    let endpoint = endpoint.to_owned();
    lambda_sdk_config(move |name| match name {
        "AWS_REGION" => Some("eu-west-1".into()),
        "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".into()),
        "AWS_SECRET_ACCESS_KEY" => Some("secret".into()),
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        _ => None,
    })
    .unwrap_or_else(|| unreachable!("region and credentials are given"))
}

#[cfg(test)]
mod lambda_config_tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[tokio::test]
    async fn a_lambda_environment_is_enough_and_nothing_else_is_read() {
        let sdk = lambda_sdk_config(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(sdk.endpoint_url(), Some("http://127.0.0.1:5000"));
        use aws_credential_types::provider::ProvideCredentials;
        let credentials = sdk
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(credentials.access_key_id(), "ASIAEXAMPLE");
        assert_eq!(credentials.session_token(), Some("token"));
        assert!(sdk.http_client().is_some() && sdk.sleep_impl().is_some());

        for missing in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let pairs: Vec<(&str, &str)> = [
                ("AWS_REGION", "eu-west-1"),
                ("AWS_ACCESS_KEY_ID", "A"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ]
            .into_iter()
            .filter(|(k, _)| *k != missing)
            .collect();
            assert!(lambda_sdk_config(env(&pairs)).is_none(), "{missing}");
        }
    }
}
