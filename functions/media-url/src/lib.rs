//! `GET|HEAD /media/{organization_id}/{token}/{filename}`: an outbound attachment as Twilio
//! fetches it (no JWT; the link is signed, see `shared::media_link`).
//!
//! Twilio checks the media with `HEAD` as well as `GET` before WhatsApp sends it. `HEAD` is
//! answered from the stored object's metadata (type and length); `GET` is a redirect to a
//! presigned GET of our bucket, valid a few minutes. A link that is malformed, forged, for
//! another organization, or of an object that is gone answers 404; an expired one 403.
#![cfg_attr(test, allow(clippy::too_many_lines))]

use std::time::Duration;

use chrono::Utc;
use http::HeaderValue;
use secrecy::ExposeSecret;
use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, path_parameter, route_key,
};
use shared::domain::{ChannelConfig, OrganizationId};
use shared::media_link::{LinkError, LinkToken};
use shared::ports::{CredentialStore, MediaStore, Ports};
use shared::runtime::HttpRoutes;
use shared::twilio::SecretRereads;

/// How long the redirect to our bucket works.
pub const REDIRECT_EXPIRY: Duration = Duration::from_secs(300);

#[derive(Clone)]
pub struct MediaLinkApi<P> {
    pub ports: P,
    /// When this process last read an organization's secret again for a link signed with
    /// neither of its cached tokens.
    rereads: SecretRereads,
}

impl<P: Ports> MediaLinkApi<P> {
    pub fn new(ports: P) -> Self {
        Self {
            ports,
            rereads: SecretRereads::default(),
        }
    }
}

const NOT_FOUND: ApiError = ApiError::NotFound("No such media.");

impl<P: Ports> MediaLinkApi<P> {
    /// The link is the organization's and still valid: signed with either token of its
    /// secret, or of the secret as it is now.
    async fn verify(
        &self,
        org: &OrganizationId,
        config: shared::domain::OrgConfig,
        link: &LinkToken,
    ) -> Result<(), ApiError> {
        // Signed with either token of the secret: a link made before a rotation works until
        // it expires while the old token is still the secondary (docs/deploy.md).
        let now = Utc::now().timestamp();
        let verdict = |config: &shared::domain::OrgConfig| {
            let verdicts = config
                .signing_tokens()
                .map(|token| link.verify(token.expose_secret(), org, now));
            verdicts
                .reduce(|a, b| if a.is_ok() { a } else { b })
                .unwrap_or(Err(LinkError::Forged))
        };
        match verdict(&config) {
            Ok(()) => {}
            Err(LinkError::Expired) => {
                return Err(ApiError::Forbidden("This media link has expired."));
            }
            Err(e) => {
                // Perhaps signed by a worker that read a newer secret than this process.
                let fresh = self
                    .rereads
                    .signed_config(self.ports.credentials(), org, config, |c| {
                        verdict(c).is_ok()
                    })
                    .await?;
                if fresh.is_none() {
                    tracing::warn!(error = %e, "media link refused");
                    return Err(NOT_FOUND);
                }
            }
        }
        Ok(())
    }
}

impl<P: Ports> HttpRoutes for MediaLinkApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let head = match route_key(event).as_str() {
            "HEAD /media/{organization_id}/{token}/{filename}" => true,
            "GET /media/{organization_id}/{token}/{filename}" => false,
            _ => return Err(ApiError::NotFound("No such route.")),
        };
        let org = path_parameter(event, "organization_id")
            .and_then(|o| OrganizationId::parse(o).ok())
            .inspect(shared::telemetry::record_organization)
            .ok_or(NOT_FOUND)?;
        let link = path_parameter(event, "token")
            .and_then(|t| LinkToken::parse(t).ok())
            .ok_or(NOT_FOUND)?;
        let ChannelConfig::Configured(config) =
            self.ports.credentials().channel_config(&org).await?
        else {
            return Err(NOT_FOUND);
        };
        self.verify(&org, config, &link).await?;
        let filename = path_parameter(event, "filename").unwrap_or_default();
        if link.key.rsplit('/').next() != Some(filename) {
            return Err(NOT_FOUND);
        }
        let object = self
            .ports
            .media()
            .head(&org, &link.key)
            .await?
            .ok_or(NOT_FOUND)?;
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = 200;
        let headers = &mut response.headers;
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        if head {
            let content_type =
                HeaderValue::from_str(&object.content_type).map_err(|_| NOT_FOUND)?;
            headers.insert(http::header::CONTENT_TYPE, content_type);
            headers.insert(http::header::CONTENT_LENGTH, HeaderValue::from(object.size));
            return Ok(response);
        }
        let location = self
            .ports
            .media()
            .presign_get(&org, &link.key, REDIRECT_EXPIRY)
            .await?;
        response.status_code = 302;
        headers.insert(
            http::header::LOCATION,
            HeaderValue::from_str(&location).map_err(|_| NOT_FOUND)?,
        );
        Ok(response)
    }
}
