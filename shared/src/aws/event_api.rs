//! Publishing to an AppSync Event API over HTTP: `POST https://{http domain}/event` with
//! `{"channel", "events": [<JSON string>, …]}` (at most five), signed with SigV4 for the
//! `appsync` service by the `aws-sigv4` crate with the function's own credentials. The answer
//! lists the events it took (`successful`) and those it refused (`failed`, each with its
//! `code`). A refusal that may pass (throttling, a 5xx, credentials) makes the whole publish
//! an error the caller retries; one that never will (`live::refuses_for_good`: a 4xx such as
//! an invalid channel) is `PublishError::Rejected`, and when only some events were refused for
//! good the others were taken: the publish is done, those events logged.

use std::time::SystemTime;

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use serde::Deserialize;

use crate::live::{MAX_EVENTS_PER_PUBLISH, refuses_for_good};
use crate::ports::{ChannelPublisher, PublishError};

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
    index: Option<u64>,
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
            let reason = format!("HTTP {status}: {text}");
            return Err(if refuses_for_good(status.as_u16()) {
                PublishError::Rejected(reason)
            } else {
                PublishError::Unavailable(reason)
            });
        }
        let answer: PublishAnswer = serde_json::from_slice(&body).unwrap_or_default();
        refusals(&answer.failed, events.len())
    }
}

/// What AppSync's `failed` list means for the publish: nothing refused, or only refused for
/// good (the rest was taken: done, the refused ones logged), or a refusal that may pass.
fn refusals(failed: &[FailedEvent], total: usize) -> Result<(), PublishError> {
    let reason = |event: &FailedEvent| {
        format!(
            "{} {}",
            event
                .code
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            event.message.clone().unwrap_or_default()
        )
    };
    let for_good = |event: &FailedEvent| event.status().is_some_and(refuses_for_good);
    match failed.iter().find(|event| !for_good(event)) {
        Some(passing) => Err(PublishError::Refused {
            failed: failed.len(),
            total,
            reason: reason(passing),
        }),
        None => {
            for event in failed {
                tracing::warn!(index = ?event.index, reason = %reason(event), "an event refused for good: not published");
            }
            match failed.len() {
                n if n == total && total > 0 => Err(PublishError::Rejected(reason(&failed[0]))),
                _ => Ok(()),
            }
        }
    }
}

impl FailedEvent {
    /// The refusal's HTTP status: AppSync writes `code` as a number (or a numeric string).
    fn status(&self) -> Option<u16> {
        match self.code.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: serde_json::Value) -> FailedEvent {
        FailedEvent {
            index: Some(0),
            code: Some(code),
            message: Some("refused".into()),
        }
    }

    /// AppSync's `failed` list: a refusal that may pass retries the publish, refusals for
    /// good alone do not (the rest was taken), and a publish refused for good whole is
    /// `Rejected` so the caller can try its events one by one.
    #[test]
    fn refusals_that_may_pass_are_retried_and_refusals_for_good_are_not() {
        use serde_json::json;
        assert!(refusals(&[], 3).is_ok());
        assert!(
            refusals(&[failed(json!(400))], 3).is_ok(),
            "two taken, one never will be"
        );
        assert!(matches!(
            refusals(&[failed(json!(429))], 3),
            Err(PublishError::Refused {
                failed: 1,
                total: 3,
                ..
            })
        ));
        assert!(matches!(
            refusals(&[failed(json!("500")), failed(json!(400))], 3),
            Err(PublishError::Refused { .. })
        ));
        assert!(matches!(
            refusals(&[failed(json!(401))], 2),
            Err(PublishError::Refused { .. })
        ));
        assert!(matches!(
            refusals(&[failed(json!(400))], 1),
            Err(PublishError::Rejected(_))
        ));
        // Without a code nobody can say it will never pass.
        assert!(matches!(
            refusals(&[failed(json!(null))], 2),
            Err(PublishError::Refused { .. })
        ));
    }

    #[test]
    fn a_4xx_other_than_throttling_or_authorization_refuses_for_good() {
        for status in [400, 404, 413, 422] {
            assert!(refuses_for_good(status), "{status}");
        }
        for status in [200, 401, 403, 429, 500, 502, 503] {
            assert!(!refuses_for_good(status), "{status}");
        }
    }
}
