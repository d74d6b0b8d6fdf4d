//! `GET /whatsapp/channel?sender_health=`: whether the caller's organization can use
//! WhatsApp, which sender(s) it sends from (its number, or its Messaging Service's pool), how
//! those senders are (Twilio's Senders API, cached; left out with `sender_health=false`), and
//! where its page subscribes for live updates.
//! `GET /whatsapp/templates?q=&refresh=`: its approved WhatsApp templates (Twilio's Content
//! API, with the organization's own credentials; cached per organization).
#![cfg_attr(test, allow(clippy::too_many_lines))]

use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

use shared::api::{
    ApiError, ApiGatewayV2httpRequest, ApiGatewayV2httpResponse, json_response, organization_id,
    query, query_value, route_key,
};
use shared::cache::TtlCache;
use shared::config::{LiveEndpoint, Settings};
use shared::domain::{
    ChannelConfig, OrgConfig, OrganizationId, PhoneNumber, SenderHealth, Template, sentences,
};
use shared::ports::{CredentialStore, Ports, WhatsAppSender};
use shared::runtime::HttpRoutes;
use shared::template_cache::TemplateCache;

const MAX_SEARCH_CHARS: usize = 100;

#[derive(Clone)]
pub struct ChannelApi<P> {
    pub ports: P,
    pub org_claim: String,
    pub templates: TemplateCache,
    /// Each organization's Messaging Service senders, read from Twilio at most once per
    /// `senders_ttl` (`TEMPLATE_CACHE_SECONDS`): a pool changes as rarely as templates.
    pub service_senders: TtlCache<OrganizationId, Arc<Vec<PhoneNumber>>>,
    pub senders_ttl: Duration,
    /// Each organization's senders' health: read from Twilio at most once per `senders_ttl`
    /// (a rating or limit moves in hours; an outage shows within it), or per `HEALTH_RETRY`
    /// while Twilio cannot be read (None).
    pub sender_health: TtlCache<OrganizationId, Arc<Option<Vec<SenderHealth>>>>,
    pub live: Option<LiveEndpoint>,
}

/// How long "Twilio cannot be read" stands before it is tried again, so a Twilio outage does
/// not make every channel request wait out the timeout.
pub const HEALTH_RETRY: Duration = Duration::from_secs(30);

impl<P: Ports> ChannelApi<P> {
    pub fn new(ports: P, settings: &Settings) -> Self {
        Self {
            ports,
            org_claim: settings.org_claim.clone(),
            templates: TemplateCache::new(settings.template_cache_ttl),
            service_senders: TtlCache::new(shared::template_cache::MAX_CACHED_ORGANIZATIONS),
            senders_ttl: settings.template_cache_ttl,
            sender_health: TtlCache::new(shared::template_cache::MAX_CACHED_ORGANIZATIONS),
            live: settings.live.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TemplateList {
    pub templates: Vec<Template>,
}

#[derive(Debug, Serialize)]
pub struct ChannelStatus {
    pub enabled: bool,
    pub reason: Option<&'static str>,
    /// The organization's WhatsApp number (public information, not a credential); None
    /// when it sends through a Messaging Service alone.
    pub sender: Option<String>,
    /// The Messaging Service its messages go out through (Twilio picks the sender), if any.
    pub messaging_service_sid: Option<String>,
    /// Every number it sends from: its own, or its service's WhatsApp senders. None when the
    /// service's senders could not be read just now.
    pub senders: Option<Vec<String>>,
    /// Where the page subscribes for live updates; None: it polls.
    pub live: Option<LiveChannel>,
    /// The health of `senders` (only those): null when Twilio could not be read; left out
    /// when the request asked not to wait for it (`sender_health=false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_health: Option<Option<Vec<SenderHealth>>>,
}

/// The Event API's realtime endpoint and the organization's channel on it.
#[derive(Debug, Serialize)]
pub struct LiveChannel {
    pub realtime_url: String,
    /// The API's HTTP host, named in the connection's authorization header.
    pub host: String,
    pub channel: String,
}

impl<P: Ports> HttpRoutes for ChannelApi<P> {
    async fn route(
        &self,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let org = organization_id(event, &self.org_claim)?;
        match route_key(event).as_str() {
            "GET /whatsapp/channel" => self.channel(&org, event).await,
            "GET /whatsapp/templates" => self.list_templates(&org, event).await,
            _ => Err(ApiError::NotFound("No such route.")),
        }
    }
}

impl<P: Ports> ChannelApi<P> {
    async fn channel(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let with_health = match query_value(event, "sender_health")?.as_deref() {
            None | Some("true") => true,
            Some("false") => false,
            Some(_) => {
                return Err(ApiError::InvalidParameter(
                    "sender_health must be true or false.".into(),
                ));
            }
        };
        let channel = shared::live::channel(org);
        if self.live.is_some() && channel.is_none() {
            tracing::warn!(
                "the organization id cannot name an Event API channel: its page polls instead"
            );
        }
        let live = self
            .live
            .as_ref()
            .zip(channel)
            .map(|(endpoint, channel)| LiveChannel {
                realtime_url: endpoint.realtime_url.clone(),
                host: endpoint.http_host.clone(),
                channel,
            });
        let status = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => {
                let senders = self.senders(org, &config).await;
                let sender_health = match (with_health, &senders) {
                    (false, _) => None,
                    (true, None) => Some(None),
                    (true, Some(senders)) => Some(self.health(org, &config, senders).await),
                };
                ChannelStatus {
                    enabled: true,
                    reason: None,
                    sender: config.whatsapp_from.as_ref().map(PhoneNumber::to_string),
                    senders,
                    messaging_service_sid: config.messaging_service_sid,
                    live,
                    sender_health,
                }
            }
            ChannelConfig::NotConfigured { why } => {
                tracing::info!(why, "WhatsApp not configured");
                ChannelStatus {
                    enabled: false,
                    reason: Some(sentences::NOT_CONFIGURED),
                    sender: None,
                    messaging_service_sid: None,
                    senders: None,
                    live: None,
                    sender_health: with_health.then_some(None),
                }
            }
        };
        Ok(json_response(200, &status))
    }

    /// The numbers the organization sends from. Through a Messaging Service, its pool as
    /// Twilio lists it (cached); a failed read is logged and shown as unknown, never as an
    /// error of the channel, which works without the list.
    async fn senders(&self, org: &OrganizationId, config: &OrgConfig) -> Option<Vec<String>> {
        let Some(service) = &config.messaging_service_sid else {
            return Some(
                config
                    .whatsapp_from
                    .iter()
                    .map(PhoneNumber::to_string)
                    .collect(),
            );
        };
        let pool = match self.service_senders.get(org) {
            Some(pool) => pool,
            None => match self.ports.sender().service_senders(config).await {
                Ok(pool) => {
                    let pool = Arc::new(pool);
                    self.service_senders
                        .insert(org.clone(), pool.clone(), self.senders_ttl);
                    pool
                }
                Err(e) => {
                    tracing::warn!(messaging_service_sid = %service, error = %e, "Messaging Service senders not read");
                    return None;
                }
            },
        };
        Some(pool.iter().map(PhoneNumber::to_string).collect())
    }

    /// The health of the organization's senders (`senders`, and only those: the account may
    /// hold others), cached; None when Twilio cannot be read within its timeout, logged.
    async fn health(
        &self,
        org: &OrganizationId,
        config: &OrgConfig,
        senders: &[String],
    ) -> Option<Vec<SenderHealth>> {
        if let Some(cached) = self.sender_health.get(org) {
            return (*cached).clone();
        }
        let read = match self.ports.sender().sender_health(config).await {
            Ok(listed) => Some(
                listed
                    .into_iter()
                    .filter(|h| senders.contains(&h.sender))
                    .collect::<Vec<_>>(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "sender health not read from Twilio");
                None
            }
        };
        let ttl = if read.is_some() {
            self.senders_ttl
        } else {
            HEALTH_RETRY.min(self.senders_ttl)
        };
        self.sender_health
            .insert(org.clone(), Arc::new(read.clone()), ttl);
        read
    }

    async fn list_templates(
        &self,
        org: &OrganizationId,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, ApiError> {
        let search = query(event, "q").unwrap_or_default();
        if search.chars().count() > MAX_SEARCH_CHARS {
            return Err(ApiError::InvalidParameter(format!(
                "q must be at most {MAX_SEARCH_CHARS} characters."
            )));
        }
        let refresh = match query_value(event, "refresh")?.as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(ApiError::InvalidParameter(
                    "refresh must be true or false.".into(),
                ));
            }
        };
        let config = match self.ports.credentials().channel_config(org).await? {
            ChannelConfig::Configured(config) => config,
            ChannelConfig::NotConfigured { .. } => return Err(ApiError::NotConfigured),
        };
        let templates = self
            .templates
            .templates(self.ports.sender(), org, &config, refresh)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "templates could not be read");
                ApiError::from_twilio(&e)
            })?;
        let mut found: Vec<Template> = templates
            .iter()
            .filter(|t| t.matches(&search))
            .cloned()
            .collect();
        found.sort_by_key(|t| t.name.to_lowercase());
        Ok(json_response(200, &TemplateList { templates: found }))
    }
}
