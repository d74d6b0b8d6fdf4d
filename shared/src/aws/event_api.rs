//! Publishing to an AppSync Event API over HTTP: `POST https://{http domain}/event` with
//! `{"channel", "events": [<JSON string>, …]}` (at most five), signed with SigV4 for the
//! `appsync` service by the `aws-sigv4` crate with the function's own credentials. The answer
//! lists the events it took (`successful`) and those it refused (`failed`); anything refused
//! makes the whole publish an error, so the caller retries it.

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde::Deserialize;

use crate::live::{ChannelPublisher, MAX_EVENTS_PER_PUBLISH, PublishError};

/// The signing name of AppSync (Event APIs included).
const SIGNING_NAME: &str = "appsync";

#[derive(Clone)]
pub struct EventApiPublisher {
    url: url::Url,
    region: String,
    credentials: SharedCredentialsProvider,
}

#[derive(Deserialize, Default)]
struct PublishAnswer {
    #[serde(default)]
    failed: Vec<FailedEvent>,
}

#[derive(Deserialize)]
struct FailedEvent {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

impl EventApiPublisher {
    /// `url` is the API's publish endpoint, `https://{Dns.Http}/event`.
    /// It publishes on the process's HTTPS client (`shared::https`), built at the first
    /// publish rather than in the function's init.
    pub fn new(
        url: &str,
        region: impl Into<String>,
        credentials: SharedCredentialsProvider,
    ) -> Result<Self, String> {
        let url = url::Url::parse(url).map_err(|e| format!("{url:?}: {e}"))?;
        if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
            return Err(format!("{url} is not an http(s) URL with a host"));
        }
        Ok(Self {
            url,
            region: region.into(),
            credentials,
        })
    }

    /// The request, signed: the body exactly as sent, `host`, `content-type`, `x-amz-date`,
    /// `x-amz-security-token` (temporary credentials) and `authorization`.
    pub async fn signed_request(
        &self,
        channel: &str,
        events: &[String],
        at: SystemTime,
    ) -> Result<http::Request<Vec<u8>>, PublishError> {
        let body = serde_json::to_vec(&serde_json::json!({ "channel": channel, "events": events }))
            .map_err(|e| PublishError::Unavailable(format!("body: {e}")))?;
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| PublishError::Unavailable(format!("credentials: {e}")))?;
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(SIGNING_NAME)
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| PublishError::Unavailable(format!("signing: {e}")))?
            .into();
        let content_type = ("content-type", "application/json");
        let signable = SignableRequest::new(
            "POST",
            self.url.as_str(),
            std::iter::once(content_type),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| PublishError::Unavailable(format!("signing: {e}")))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| PublishError::Unavailable(format!("signing: {e}")))?
            .into_parts();
        let mut request = http::Request::builder()
            .method("POST")
            .uri(self.url.as_str())
            .header(content_type.0, content_type.1)
            .body(body)
            .map_err(|e| PublishError::Unavailable(format!("request: {e}")))?;
        instructions.apply_to_request_http1x(&mut request);
        Ok(request)
    }
}

impl ChannelPublisher for EventApiPublisher {
    async fn publish(&self, channel: &str, events: &[String]) -> Result<(), PublishError> {
        debug_assert!(events.len() <= MAX_EVENTS_PER_PUBLISH);
        let request = self
            .signed_request(channel, events, SystemTime::now())
            .await?;
        let request = reqwest::Request::try_from(request)
            .map_err(|e| PublishError::Unavailable(format!("request: {e}")))?;
        let http = crate::https::client().map_err(PublishError::Unavailable)?;
        let response = http
            .execute(request)
            .await
            .map_err(|e| PublishError::Unavailable(format!("publish: {e}")))?;
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        if !status.is_success() {
            // The body names the error (UnauthorizedException, BadRequestException…), never
            // a credential.
            let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            return Err(PublishError::Unavailable(format!("HTTP {status}: {text}")));
        }
        let answer: PublishAnswer = serde_json::from_slice(&body).unwrap_or_default();
        match answer.failed.first() {
            None => Ok(()),
            Some(first) => Err(PublishError::Refused {
                failed: answer.failed.len(),
                total: events.len(),
                reason: format!(
                    "{} {}",
                    first
                        .code
                        .as_ref()
                        .map(|c| c.to_string())
                        .unwrap_or_default(),
                    first.message.clone().unwrap_or_default()
                ),
            }),
        }
    }
}
