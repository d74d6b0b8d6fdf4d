//! Organization secrets in memory, read and validated like Secrets Manager's documents.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::domain::{ChannelConfig, OrganizationId, parse_org_secret};
use crate::ports::{CredentialStore, PortResult};

/// Holds each organization's secret document as Secrets Manager would, and parses it with
/// the same rules on every read. `cached()` keeps what it first read per organization until
/// `refresh`, as the Lambda-side cache does (a rotated token is seen only after a refresh).
#[derive(Clone, Default)]
pub struct MemoryCredentials {
    secrets: Arc<Mutex<HashMap<OrganizationId, String>>>,
    cache: Option<Arc<Mutex<HashMap<OrganizationId, ChannelConfig>>>>,
    /// Reads of the secret itself: what would be Secrets Manager calls.
    reads: Arc<std::sync::atomic::AtomicUsize>,
}

impl MemoryCredentials {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cached() -> Self {
        Self {
            cache: Some(Arc::default()),
            ..Self::default()
        }
    }

    /// How many times a secret was read (cache hits not counted).
    pub fn reads(&self) -> usize {
        self.reads.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn read(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(match lock(&self.secrets)?.get(org) {
            Some(json) => parse_org_secret(json),
            None => ChannelConfig::not_configured("no secret for this organization"),
        })
    }

    /// Stores (or rotates) an organization's secret JSON.
    pub fn put_secret(&self, org: &OrganizationId, secret_json: impl Into<String>) {
        if let Ok(mut secrets) = lock(&self.secrets) {
            secrets.insert(org.clone(), secret_json.into());
        }
    }

    pub fn remove_secret(&self, org: &OrganizationId) {
        if let Ok(mut secrets) = lock(&self.secrets) {
            secrets.remove(org);
        }
    }
}

impl CredentialStore for MemoryCredentials {
    async fn channel_config(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        let Some(cache) = &self.cache else {
            return self.read(org);
        };
        if let Some(config) = lock(cache)?.get(org) {
            return Ok(config.clone());
        }
        self.refresh(org).await
    }

    async fn refresh(&self, org: &OrganizationId) -> PortResult<ChannelConfig> {
        let config = self.read(org)?;
        if let Some(cache) = &self.cache {
            lock(cache)?.insert(org.clone(), config.clone());
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ACCOUNT_SID, SENDER, org, secret_json};
    use secrecy::ExposeSecret;

    fn token(config: ChannelConfig) -> String {
        match config {
            ChannelConfig::Configured(c) => c.auth_token.expose_secret().to_owned(),
            ChannelConfig::NotConfigured { why } => panic!("{why}"),
        }
    }

    #[tokio::test]
    async fn a_cached_store_sees_a_rotation_only_after_a_refresh() {
        for (credentials, cached) in [
            (MemoryCredentials::new(), false),
            (MemoryCredentials::cached(), true),
        ] {
            let acme = org("acme");
            credentials.put_secret(&acme, secret_json(ACCOUNT_SID, "old", SENDER, true));
            assert_eq!(
                token(credentials.channel_config(&acme).await.unwrap()),
                "old"
            );
            credentials.put_secret(&acme, secret_json(ACCOUNT_SID, "new", SENDER, true));
            let seen = token(credentials.channel_config(&acme).await.unwrap());
            assert_eq!(seen, if cached { "old" } else { "new" });
            assert_eq!(token(credentials.refresh(&acme).await.unwrap()), "new");
            assert_eq!(
                token(credentials.channel_config(&acme).await.unwrap()),
                "new"
            );
        }
    }
}
