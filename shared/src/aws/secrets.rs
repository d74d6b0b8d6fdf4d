//! Organization Twilio configuration from Secrets Manager (`{prefix}{organization_id}/twilio`),
//! cached in the process so a warm Lambda does not read it on every request. The cache is
//! bounded (`SECRET_CACHE_SIZE` organizations, least recently used out first) and remembers
//! "not configured" too, briefly.

use std::time::Duration;

use aws_sdk_secretsmanager::Client;

use super::unavailable;
use crate::cache::TtlCache;
use crate::domain::{ChannelConfig, OrganizationId, parse_org_secret};
use crate::ports::{CredentialStore, PortResult};

/// How long "not configured" is remembered: an admin who just provisioned the secret should
/// not wait the full TTL.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct SecretsManagerCredentials {
    client: super::LazyClient<Client>,
    prefix: String,
    ttl: Duration,
    cache: TtlCache<OrganizationId, ChannelConfig>,
}

impl SecretsManagerCredentials {
    /// Keeps what it read for `ttl`, for at most `capacity` organizations.
    pub fn new(
        client: impl Into<super::LazyClient<Client>>,
        prefix: impl Into<String>,
        ttl: Duration,
        capacity: usize,
    ) -> Self {
        Self {
            client: client.into(),
            prefix: prefix.into(),
            ttl,
            cache: TtlCache::new(capacity),
        }
    }

    /// How many organizations' configurations are cached.
    pub fn cached_organizations(&self) -> usize {
        self.cache.len()
    }

    /// `whatsapp/{organization_id}/twilio` with the default prefix.
    pub fn secret_name(&self, org: &OrganizationId) -> String {
        format!("{}{org}/twilio", self.prefix)
    }

    async fn fetch(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        let result = self
            .client
            .get_secret_value()
            .secret_id(self.secret_name(org))
            .send()
            .await;
        let config = match result {
            Ok(out) => match out.secret_string() {
                Some(json) => parse_org_secret(json),
                None => ChannelConfig::not_configured("the secret has no string value"),
            },
            Err(e) => {
                let e = e.into_service_error();
                if e.is_resource_not_found_exception() {
                    ChannelConfig::not_configured("no secret for this organization")
                } else {
                    return Err(unavailable("GetSecretValue", e));
                }
            }
        };
        if let ChannelConfig::NotConfigured { why } = &config {
            tracing::warn!(why, "WhatsApp configuration unusable");
        }
        let ttl = match &config {
            ChannelConfig::Configured(_) => self.ttl,
            ChannelConfig::NotConfigured { .. } => self.ttl.min(NEGATIVE_TTL),
        };
        self.cache.insert(org.clone(), config.clone(), ttl);
        Ok(config)
    }
}

impl CredentialStore for SecretsManagerCredentials {
    async fn channel_config(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        match self.cache.get(org) {
            Some(config) => Ok(config),
            None => self.fetch(org).await,
        }
    }

    async fn refresh(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        self.fetch(org).await
    }
}
