//! A rotated auth token loses nothing. Twilio signs webhooks with the account's primary
//! token the moment it is promoted in the console, while the organization's secret (and
//! every warm function's cache of it) may still name the old one. So a signature is
//! accepted for either token the secret holds (`twilio_auth_token` and
//! `twilio_auth_token_secondary`), and a signature valid for neither has the secret read
//! again before it is refused, at most once per organization every `REREAD_EVERY` per
//! process: a flood of forged requests costs one extra `GetSecretValue` each period.

use std::time::Duration;

use crate::cache::TtlCache;
use crate::domain::{ChannelConfig, OrgConfig, OrganizationId};
use crate::ports::{CredentialStore, PortResult};

/// How often one process may read an organization's secret again for a signature that
/// matched neither cached token.
pub const REREAD_EVERY: Duration = Duration::from_secs(10);

/// Organizations whose secret this process read again lately for a refused signature.
#[derive(Clone)]
pub struct SecretRereads {
    recent: TtlCache<OrganizationId, ()>,
}

impl Default for SecretRereads {
    fn default() -> Self {
        // Bounded like the secret cache: ids come from requests.
        Self {
            recent: TtlCache::new(1024),
        }
    }
}

impl SecretRereads {
    /// Whether the secret may be read again now (and, if so, not again for a while).
    fn allow(&self, org: &OrganizationId) -> bool {
        if self.recent.get(org).is_some() {
            return false;
        }
        self.recent.insert(org.clone(), (), REREAD_EVERY);
        true
    }

    /// The configuration whose tokens sign the request (`signed` checks one), reading the
    /// secret again once when the cached one's do not and the period allows. None: signed
    /// by neither.
    pub async fn signed_config<C: CredentialStore>(
        &self,
        credentials: &C,
        org: &OrganizationId,
        cached: OrgConfig,
        signed: impl Fn(&OrgConfig) -> bool,
    ) -> PortResult<Option<OrgConfig>> {
        if signed(&cached) {
            return Ok(Some(cached));
        }
        if !self.allow(org) {
            return Ok(None);
        }
        tracing::info!("signature valid for no cached token: reading the secret again");
        Ok(match credentials.refresh(org).await? {
            ChannelConfig::Configured(fresh) if signed(&fresh) => Some(fresh),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryCredentials;
    use crate::testing::{ACCOUNT_SID, SENDER, org, secret_json};
    use secrecy::ExposeSecret;

    fn configured(c: ChannelConfig) -> OrgConfig {
        match c {
            ChannelConfig::Configured(c) => c,
            ChannelConfig::NotConfigured { why } => panic!("{why}"),
        }
    }

    fn signed_by(token: &'static str) -> impl Fn(&OrgConfig) -> bool {
        move |c: &OrgConfig| c.signing_tokens().any(|t| t.expose_secret() == token)
    }

    #[tokio::test]
    async fn a_new_token_is_read_once_and_forgeries_cost_one_read_per_period() {
        let credentials = MemoryCredentials::cached();
        let acme = org("acme");
        credentials.put_secret(&acme, secret_json(ACCOUNT_SID, "old", SENDER, true));
        let cached = configured(credentials.channel_config(&acme).await.unwrap());
        // The operator updates the secret; this process still has the old one cached.
        credentials.put_secret(&acme, secret_json(ACCOUNT_SID, "new", SENDER, true));
        let rereads = SecretRereads::default();
        let reads = credentials.reads();
        let fresh = rereads
            .signed_config(&credentials, &acme, cached.clone(), signed_by("new"))
            .await
            .unwrap()
            .expect("the new token's signature is accepted");
        assert_eq!(fresh.auth_token.expose_secret(), "new");
        assert_eq!(credentials.reads(), reads + 1);

        // 100 forgeries within the period: no further read, each refused.
        let fresh_cached = configured(credentials.channel_config(&acme).await.unwrap());
        for _ in 0..100 {
            let verdict = rereads
                .signed_config(
                    &credentials,
                    &acme,
                    fresh_cached.clone(),
                    signed_by("forged"),
                )
                .await
                .unwrap();
            assert!(verdict.is_none());
        }
        assert_eq!(credentials.reads(), reads + 1, "no read within the period");
        // Another organization has a period of its own.
        let globex = org("globex");
        credentials.put_secret(&globex, secret_json(ACCOUNT_SID, "g", SENDER, true));
        let g = configured(credentials.channel_config(&globex).await.unwrap());
        let before = credentials.reads();
        assert!(
            rereads
                .signed_config(&credentials, &globex, g, signed_by("forged"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(credentials.reads(), before + 1);
    }

    #[tokio::test]
    async fn either_token_of_the_secret_signs_without_a_read() {
        let credentials = MemoryCredentials::cached();
        let acme = org("acme");
        credentials.put_secret(
            &acme,
            format!(
                r#"{{"twilio_account_sid":"{ACCOUNT_SID}","twilio_auth_token":"old","twilio_auth_token_secondary":"new","twilio_whatsapp_from":"{SENDER}","whatsapp_enabled":true}}"#
            ),
        );
        let cached = configured(credentials.channel_config(&acme).await.unwrap());
        let reads = credentials.reads();
        let rereads = SecretRereads::default();
        for token in ["old", "new"] {
            assert!(
                rereads
                    .signed_config(&credentials, &acme, cached.clone(), signed_by(token))
                    .await
                    .unwrap()
                    .is_some(),
                "{token}"
            );
        }
        assert_eq!(credentials.reads(), reads);
    }
}
