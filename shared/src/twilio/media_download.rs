//! Downloading an inbound message's media under the media policy (`media_fetch`): the
//! account's credentials go only to its own media path on the API's origin; the redirect to
//! Twilio's media host is followed without them, under size and time caps.

use secrecy::ExposeSecret;

use super::client::transport_error;
use super::media_fetch::{MAX_REDIRECTS, is_account_media_url};
use super::{MediaRefusal, TwilioClient, TwilioError};
use crate::domain::OrgConfig;

impl TwilioClient {
    /// Downloads an inbound message's media under the media policy (see `media_fetch`):
    /// the account's credentials go only to its own media path on the API's origin; the
    /// redirect to Twilio's media host is followed without them.
    pub async fn fetch_media(
        &self,
        config: &OrgConfig,
        url: &str,
    ) -> Result<(Vec<u8>, String), TwilioError> {
        let api = url::Url::parse(&self.base_url)
            .map_err(|_| TwilioError::InvalidResponse("API base URL".into()))?;
        let url = url::Url::parse(url).map_err(|_| MediaRefusal::NotAccountMedia)?;
        if !is_account_media_url(&api, &config.account_sid, &url) {
            return Err(MediaRefusal::NotAccountMedia.into());
        }
        let policy = &self.media_policy;
        tokio::time::timeout(policy.total_time, self.download(config, url))
            .await
            .unwrap_or(Err(TwilioError::Timeout))
    }

    async fn download(
        &self,
        config: &OrgConfig,
        mut current: url::Url,
    ) -> Result<(Vec<u8>, String), TwilioError> {
        let policy = &self.media_policy;
        let invalid = |what: &str| TwilioError::InvalidResponse(what.to_owned());
        for hop in 0..=MAX_REDIRECTS {
            policy.address_allowed(&current)?;
            let mut request = self.media()?.get(current.clone());
            if hop == 0 {
                let (user, password) = config.rest_credentials();
                request = request.basic_auth(user, Some(password.expose_secret()));
            }
            let mut response = request.send().await.map_err(media_transport_error)?;
            let status = response.status();
            if status.is_redirection() {
                let location = response
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| invalid("redirect without a location"))?;
                current = current
                    .join(location)
                    .map_err(|_| invalid("redirect location"))?;
                policy.redirect_allowed(&current)?;
                continue;
            }
            if !status.is_success() {
                let bytes = response.bytes().await.map_err(media_transport_error)?;
                return Err(TwilioError::from_error_response(status.as_u16(), &bytes));
            }
            if response
                .content_length()
                .is_some_and(|len| len > policy.max_bytes as u64)
            {
                return Err(MediaRefusal::TooLarge.into());
            }
            let content_type = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            // Streamed: a body without Content-Length (chunked) stops at the cap.
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(media_transport_error)? {
                if body.len() + chunk.len() > policy.max_bytes {
                    return Err(MediaRefusal::TooLarge.into());
                }
                body.extend_from_slice(&chunk);
            }
            return Ok((body, content_type));
        }
        Err(MediaRefusal::TooManyRedirects.into())
    }
}

impl From<MediaRefusal> for TwilioError {
    fn from(refusal: MediaRefusal) -> Self {
        TwilioError::MediaRefused(refusal)
    }
}

/// A refusal by the resolver (a name with only private addresses) is a refusal, not a
/// network failure worth retrying.
fn media_transport_error(e: reqwest::Error) -> TwilioError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if let Some(refusal) = err.downcast_ref::<MediaRefusal>() {
            return TwilioError::MediaRefused(*refusal);
        }
        source = err.source();
    }
    transport_error(e)
}
