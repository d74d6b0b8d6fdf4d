//! Organization Twilio configuration from Secrets Manager (`{prefix}{organization_id}/twilio`),
//! cached in the process so a warm Lambda does not read it on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;

use super::unavailable;
use crate::domain::{ChannelConfig, OrganizationId, parse_org_secret};
use crate::ports::{CredentialStore, PortResult};

/// How long "not configured" is remembered: an admin who just provisioned the secret should
/// not wait the full TTL.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct SecretsManagerCredentials {
    client: Client,
    prefix: String,
    ttl: Duration,
    cache: Arc<Mutex<HashMap<OrganizationId, (Instant, ChannelConfig)>>>,
}

impl SecretsManagerCredentials {
    pub fn new(client: Client, prefix: impl Into<String>, ttl: Duration) -> Self {
        Self {
            client,
            prefix: prefix.into(),
            ttl,
            cache: Arc::default(),
        }
    }

    /// `whatsapp/{organization_id}/twilio` with the default prefix.
    pub fn secret_name(&self, org: &OrganizationId) -> String {
        format!("{}{org}/twilio", self.prefix)
    }

    fn cached(&self, org: &OrganizationId) -> Option<ChannelConfig> {
        let cache = self.cache.lock().ok()?;
        let (at, config) = cache.get(org)?;
        let ttl = match config {
            ChannelConfig::Configured(_) => self.ttl,
            ChannelConfig::NotConfigured { .. } => self.ttl.min(NEGATIVE_TTL),
        };
        (at.elapsed() < ttl).then(|| config.clone())
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
            tracing::warn!(organization_id = %org, why, "WhatsApp configuration unusable");
        }
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(org.clone(), (Instant::now(), config.clone()));
        }
        Ok(config)
    }
}

impl CredentialStore for SecretsManagerCredentials {
    async fn channel_config(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        match self.cached(org) {
            Some(config) => Ok(config),
            None => self.fetch(org).await,
        }
    }

    async fn refresh(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        self.fetch(org).await
    }
}
