//! Twilio webhooks of one organization (no JWT; X-Twilio-Signature instead):
//! - `POST /webhook/twilio/whatsapp/{organization_id}`: a contact's message;
//! - `POST /webhook/twilio/whatsapp/{organization_id}/status`: a status callback.
//!
//! Every request is checked before anything is stored: the organization's auth token signs
//! the public URL and every posted parameter, and the AccountSid (and, inbound, the To
//! number) must be the organization's own. Anything we could not store or apply answers 503;
//! Twilio retries it only because the configured webhook URLs carry connection overrides
//! (`#…rc=3&rp=ct,rt,5xx`; by default Twilio retries failed connections only). A retry applies
//! exactly what the earlier delivery could not (see `inbound::apply_inbound_effects`).
//!
//! Here: routing and the checks every webhook passes. `inbound` and `status_callback`: one
//! file per webhook.
#![cfg_attr(test, allow(clippy::too_many_lines))]

mod inbound;
mod status_callback;

use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, body_bytes, header,
    path_parameter, route_key,
};
use shared::config::Settings;
use shared::deadline;
use shared::domain::{ChannelConfig, OrgConfig, OrganizationId, is_account_sid};
use shared::ports::{CredentialStore, Ports};
use shared::runtime::HttpRoutes;
use shared::telemetry;
use shared::twilio::{
    ConnectionOverrides, FormParams, RECOMMENDED_OVERRIDES, SIGNATURE_HEADER, SecretRereads,
    is_well_formed_signature, validate_signature,
};

use secrecy::ExposeSecret;
use std::time::{Duration, Instant};

/// Inbound media is copied by the worker (through the queue), off the webhook's critical
/// path.
#[derive(Clone)]
pub struct TwilioWebhook<P> {
    pub ports: P,
    /// The API's public base URL as configured in Twilio (`PUBLIC_BASE_URL`); None: the
    /// `https://` + domain API Gateway reports.
    pub public_base_url: Option<String>,
    /// When this process last read an organization's secret again for a refused signature.
    pub rereads: SecretRereads,
}

enum Kind {
    Inbound,
    Status,
}

impl<P: Ports> TwilioWebhook<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self::at(ports, settings.public_base_url.clone())
    }

    /// The webhook of the API at `public_base_url` (None: the domain API Gateway reports).
    pub fn at(ports: P, public_base_url: Option<String>) -> Self {
        Self {
            ports,
            public_base_url,
            rereads: SecretRereads::default(),
        }
    }
}

impl<P: Ports> HttpRoutes for TwilioWebhook<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        // Twilio stops waiting after the read timeout its URL sets (`rt`): contended writes
        // retry until a second before it, so a 503 still reaches Twilio, whose retry finds
        // the inbound marker, instead of an answer nobody reads.
        let read_timeout = ConnectionOverrides::recommended().read_timeout_ms;
        let answer_by = Instant::now() + Duration::from_millis(read_timeout.into());
        deadline::within(answer_by - deadline::MARGIN, self.webhook(event)).await
    }
}

impl<P: Ports> TwilioWebhook<P> {
    async fn webhook(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let kind = match route_key(event).as_str() {
            "POST /webhook/twilio/whatsapp/{organization_id}" => Kind::Inbound,
            "POST /webhook/twilio/whatsapp/{organization_id}/status" => Kind::Status,
            _ => return Err(ApiError::NotFound("No such route.")),
        };
        let org = path_parameter(event, "organization_id")
            .and_then(|id| OrganizationId::parse(id).ok())
            .inspect(telemetry::record_organization)
            .ok_or(ApiError::NotFound("Unknown organization."))?;
        // What cannot be Twilio's is refused before anything is read: a flood of unsigned
        // or malformed requests costs no Secrets Manager call.
        let signature = header(event, SIGNATURE_HEADER).unwrap_or_default().trim();
        if !is_well_formed_signature(signature) {
            tracing::warn!(
                has_signature = !signature.is_empty(),
                "webhook without a well-formed signature"
            );
            return Err(ApiError::Forbidden("Invalid Twilio signature."));
        }
        let form = FormParams::parse(&body_bytes(event)?).map_err(|_| {
            ApiError::InvalidParameter(
                "The body must be a form (application/x-www-form-urlencoded).".into(),
            )
        })?;
        if !form.get("AccountSid").is_some_and(is_account_sid) {
            tracing::warn!("webhook without a well-formed AccountSid");
            return Err(ApiError::Forbidden(
                "The request is not for this organization's account.",
            ));
        }
        // An organization without a usable configuration has no token to check with.
        let config = match self.ports.credentials().channel_config(&org).await? {
            ChannelConfig::Configured(config) => config,
            ChannelConfig::NotConfigured { .. } => {
                tracing::warn!("webhook for an organization that is not configured");
                return Err(ApiError::NotFound("Unknown organization."));
            }
        };
        let config = self.verify(event, &org, &kind, config, &form).await?;
        match kind {
            Kind::Inbound => self.inbound(&org, &config, &form).await,
            Kind::Status => self.status(&org, event, &form).await,
        }
    }
}

impl<P: Ports> TwilioWebhook<P> {
    /// The URL Twilio called, as it signed it. With `PUBLIC_BASE_URL` (a custom domain,
    /// perhaps with an API mapping path such as `/whatsapp`), that base plus the route's own
    /// path: API Gateway's `rawPath` may carry the mapping key too, which would put it in
    /// twice. Without it, the execute-api domain plus `rawPath`, exactly what was called.
    fn public_url(
        &self,
        event: &ApiGatewayV2httpRequest,
        org: &OrganizationId,
        kind: &Kind,
    ) -> String {
        let url = match &self.public_base_url {
            Some(base) => {
                let suffix = match kind {
                    Kind::Inbound => "",
                    Kind::Status => "/status",
                };
                format!("{base}/webhook/twilio/whatsapp/{org}{suffix}")
            }
            None => format!(
                "https://{}{}",
                event
                    .request_context
                    .domain_name
                    .as_deref()
                    .unwrap_or_default(),
                event.raw_path.as_deref().unwrap_or_default()
            ),
        };
        match event.raw_query_string.as_deref().filter(|q| !q.is_empty()) {
            Some(q) => format!("{url}?{q}"),
            None => url,
        }
    }

    /// The configuration whose token signed the request (either token of the secret, read
    /// again once if neither matches: a token promoted in Twilio's console before the secret
    /// or this process's cache of it caught up), for this organization's account.
    async fn verify(
        &self,
        event: &ApiGatewayV2httpRequest,
        org: &OrganizationId,
        kind: &Kind,
        config: OrgConfig,
        form: &FormParams,
    ) -> Result<OrgConfig, ApiError> {
        let signature = header(event, SIGNATURE_HEADER).unwrap_or_default();
        let url = self.public_url(event, org, kind);
        // Twilio does not document whether the URL it signs keeps the connection-override
        // fragment of the configured URL (docs/deploy.md's, and our status callbacks'), and
        // its SDKs' validators sign whatever URL they are given: both readings are accepted.
        let configured = format!("{url}#{RECOMMENDED_OVERRIDES}");
        let signed = |config: &OrgConfig| {
            config.signing_tokens().any(|token| {
                [url.as_str(), configured.as_str()].iter().any(|candidate| {
                    validate_signature(token.expose_secret(), candidate, form.pairs(), signature)
                })
            })
        };
        // Another account's request is refused on the cached account sid, which a token
        // rotation does not change: it never makes the secret be read again.
        let account_matches = form.get("AccountSid") == Some(config.account_sid.as_str());
        let verified = if account_matches {
            self.rereads
                .signed_config(self.ports.credentials(), org, config, signed)
                .await?
        } else {
            Some(config).filter(|c| signed(c))
        };
        let Some(config) = verified else {
            tracing::warn!(
                url,
                has_signature = !signature.is_empty(),
                "webhook signature rejected"
            );
            return Err(ApiError::Forbidden("Invalid Twilio signature."));
        };
        if form.get("AccountSid") != Some(config.account_sid.as_str()) {
            tracing::warn!("webhook for another Twilio account");
            return Err(ApiError::Forbidden(
                "The request is not for this organization's account.",
            ));
        }
        Ok(config)
    }
}
