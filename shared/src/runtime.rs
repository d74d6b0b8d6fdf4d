//! What every Lambda `main` does: read the settings, build the AWS ports once per cold start,
//! and hand events to one handler. A function's `main` is then two lines:
//!
//! ```text
//! let (settings, ports) = shared::runtime::init(&[Resource::MediaBucket]).await?;
//! shared::runtime::serve(MessagesApi::new(ports, &settings)).await
//! ```

use std::future::Future;

use lambda_runtime::{LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::api::{ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use crate::aws::{
    AwsPorts, DynamoContacts, DynamoMessages, LazyClient, Resources, S3Media,
    SecretsManagerCredentials, SqsSendQueue,
};
use crate::config::{ConfigError, Settings};
use crate::twilio::TwilioClient;

/// A function's handler: one event in, one answer out. Errors are part of the answer (an
/// HTTP error response, a batch item failure), never a failed invocation.
pub trait Handler<E>: Send + Sync + 'static {
    type Response: Serialize + Send;

    fn handle(&self, event: E) -> impl Future<Output = Self::Response> + Send;
}

/// An HTTP API function: its routes answer a request or an `ApiError`. Every one is a
/// `Handler` of API Gateway's requests (the impl below), which turns the error into its
/// JSON response in this one place.
pub trait HttpRoutes: Send + Sync + 'static {
    fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> impl Future<Output = Result<ApiGatewayV2httpResponse, ApiError>> + Send;
}

impl<T: HttpRoutes> Handler<ApiGatewayV2httpRequest> for T {
    type Response = ApiGatewayV2httpResponse;

    async fn handle(&self, event: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        // API Gateway's `$default` route: a request no route takes (405 or 404).
        if event.route_key.as_deref() == Some("$default") {
            let method = event.request_context.http.method.as_str();
            let path = event.raw_path.as_deref().unwrap_or_default();
            return crate::routes::unrouted(method, path).into_response();
        }
        // Its log lines name the organization once the claim is read (`organization_id`).
        self.route(&event)
            .instrument(crate::telemetry::work_span())
            .await
            .unwrap_or_else(ApiError::into_response)
    }
}

/// Resources only some functions use; a function names the ones it needs so a missing
/// setting fails its cold start instead of its first request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    SendQueue,
    MediaQueue,
    MediaBucket,
}

impl Resource {
    fn setting(self) -> &'static str {
        match self {
            Resource::SendQueue => "SEND_QUEUE_URL",
            Resource::MediaQueue => "MEDIA_QUEUE_URL",
            Resource::MediaBucket => "MEDIA_BUCKET",
        }
    }
}

/// Logging, settings and the AWS ports from the process environment.
pub async fn init(needs: &[Resource]) -> Result<(Settings, AwsPorts), lambda_runtime::Error> {
    let (settings, ports, _sdk) = init_with_sdk(needs).await?;
    Ok((settings, ports))
}

/// `init`, and the SDK configuration the ports were built on (for a client of a service no
/// port covers: its region and credentials).
pub async fn init_with_sdk(
    needs: &[Resource],
) -> Result<(Settings, AwsPorts, aws_config::SdkConfig), lambda_runtime::Error> {
    crate::telemetry::init_lambda();
    let settings = Settings::from_env()?;
    let resources = Resources::from_lookup(|n| std::env::var(n).ok());
    require(needs, &resources)?;
    // Lambda puts region and credentials in the environment: nothing to look up elsewhere.
    let sdk = match crate::aws::lambda_sdk_config(|n| std::env::var(n).ok()) {
        Some(sdk) => sdk,
        None => crate::aws::sdk_config().await,
    };
    let ports = aws_ports_from(&settings, &sdk, resources)?;
    Ok((settings, ports, sdk))
}

/// Refuses to start a function without the resources it names.
pub fn require(needs: &[Resource], resources: &Resources) -> Result<(), ConfigError> {
    for need in needs {
        let present = match need {
            Resource::SendQueue => resources.send_queue_url.is_some(),
            Resource::MediaQueue => resources.media_queue_url.is_some(),
            Resource::MediaBucket => resources.media_bucket.is_some(),
        };
        if !present {
            return Err(ConfigError {
                name: need.setting(),
                reason: "is required by this function".into(),
            });
        }
    }
    Ok(())
}

/// Runs a handler as the Lambda function until the runtime stops it.
pub async fn serve<E, H>(handler: H) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    H: Handler<E>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| async move {
        // Boxed: the handler's future is deep (SDK calls inside), and one allocation per
        // invocation keeps the runtime's own future types shallow.
        // Retries of contended writes end a second before the function's timeout.
        let retries_end =
            crate::deadline::for_invocation(event.context.deadline, std::time::SystemTime::now());
        let answer = Box::pin(crate::deadline::within(
            retries_end,
            handler.handle(event.payload),
        ))
        .await;
        Ok::<_, lambda_runtime::Error>(answer)
    }))
    .await
}

/// Every port on one shared SDK configuration; each SDK client and its configuration are
/// built on first use (no network I/O, and no work for clients a function never calls). A
/// queue or bucket that is not configured answers every call as unavailable; `init` refuses
/// to start a function that needs it.
pub fn aws_ports_from(
    settings: &Settings,
    sdk: &aws_config::SdkConfig,
    resources: Resources,
) -> Result<AwsPorts, ConfigError> {
    // Each client's configuration is built with the client, on first use: a cold start
    // runs none of the four SDKs' builders (their code is pages the process never faults in
    // unless it calls that service).
    let dynamodb_timeout = settings.dynamodb_timeout;
    let dynamodb_sdk = sdk.clone();
    let dynamodb = LazyClient::new(move || {
        // Bounded writes keep the poll settle window honest: a revision commits within it.
        let config = aws_sdk_dynamodb::config::Builder::from(&dynamodb_sdk)
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_timeout(dynamodb_timeout)
                    .build(),
            )
            .build();
        aws_sdk_dynamodb::Client::from_conf(config)
    });
    let s3_sdk = sdk.clone();
    let s3 = LazyClient::new(move || {
        // Emulators on loopback cannot serve virtual-hosted bucket names.
        let config = aws_sdk_s3::config::Builder::from(&s3_sdk)
            .force_path_style(s3_sdk.endpoint_url().is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    });
    let secrets_sdk = sdk.clone();
    let secrets = LazyClient::new(move || aws_sdk_secretsmanager::Client::new(&secrets_sdk));
    let sqs_sdk = sdk.clone();
    let sqs = LazyClient::new(move || aws_sdk_sqs::Client::new(&sqs_sdk));
    let sender = TwilioClient::new(&settings.twilio_api_base_url, settings.twilio_timeout)
        .map_err(|e| ConfigError {
            name: "TWILIO_API_BASE_URL",
            reason: e.to_string(),
        })?
        .with_content_base_url(&settings.twilio_content_base_url)
        .map_err(|e| ConfigError {
            name: "TWILIO_CONTENT_BASE_URL",
            reason: e.to_string(),
        })?
        .with_messaging_base_url(&settings.twilio_messaging_base_url)
        .map_err(|e| ConfigError {
            name: "TWILIO_MESSAGING_BASE_URL",
            reason: e.to_string(),
        })?
        .with_media_policy(settings.media_policy());
    Ok(AwsPorts {
        contacts: DynamoContacts::new(dynamodb.clone(), resources.contacts_table)
            .with_search_index(resources.contact_search_table),
        messages: DynamoMessages::new(dynamodb, resources.messages_table),
        credentials: SecretsManagerCredentials::new(
            secrets,
            settings.secret_prefix.clone(),
            settings.secret_cache_ttl,
            settings.secret_cache_size,
        ),
        queue: SqsSendQueue::new(sqs, resources.send_queue_url.unwrap_or_default())
            .with_media_queue(resources.media_queue_url),
        media: S3Media::new(s3, resources.media_bucket.unwrap_or_default()),
        sender,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_names_the_resources_it_cannot_start_without() {
        let lookup = |queue: Option<&str>| {
            Resources::from_lookup(|name| match name {
                "SEND_QUEUE_URL" => queue.map(str::to_owned),
                _ => None,
            })
        };
        let without_queue = lookup(None);
        assert_eq!(require(&[], &without_queue), Ok(()));
        let e = require(&[Resource::SendQueue], &without_queue).unwrap_err();
        assert_eq!(e.name, "SEND_QUEUE_URL");
        let with_queue = lookup(Some("https://sqs.eu-west-1.amazonaws.com/1/q"));
        assert_eq!(require(&[Resource::SendQueue], &with_queue), Ok(()));
        let e = require(&[Resource::SendQueue, Resource::MediaBucket], &with_queue).unwrap_err();
        assert_eq!(e.name, "MEDIA_BUCKET");
        // The webhook queues media copies only: it needs their queue, not the send queue.
        let e = require(&[Resource::MediaQueue], &with_queue).unwrap_err();
        assert_eq!(e.name, "MEDIA_QUEUE_URL");
    }

    #[test]
    fn an_unusable_twilio_base_url_fails_the_cold_start() {
        let settings = Settings::from_lookup(|name| {
            (name == "TWILIO_API_BASE_URL").then(|| "not a url".to_owned())
        })
        .unwrap();
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let e = aws_ports_from(&settings, &sdk, Resources::from_lookup(|_| None))
            .err()
            .expect("refused");
        assert_eq!(e.name, "TWILIO_API_BASE_URL");
    }

    #[tokio::test]
    async fn a_queue_that_is_not_configured_is_unavailable_not_a_panic() {
        let settings = Settings::from_lookup(|_| None).unwrap();
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let ports = aws_ports_from(&settings, &sdk, Resources::from_lookup(|_| None)).unwrap();
        let job = crate::domain::WorkerJob::Send(crate::domain::MessageJob::new(
            &crate::domain::OrganizationId::parse("acme").unwrap(),
            crate::domain::MessageId::new(),
        ));
        let e = crate::ports::SendQueue::enqueue(&ports.queue, &job, std::time::Duration::ZERO)
            .await
            .unwrap_err();
        assert!(
            matches!(e, crate::ports::PortError::Unavailable(ref why) if why.contains("SEND_QUEUE_URL")),
            "{e:?}"
        );
    }
}
