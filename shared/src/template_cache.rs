//! An organization's approved templates, read from Twilio's Content API and kept for
//! `TEMPLATE_CACHE_SECONDS` per organization (one cache per Lambda process).

use std::sync::Arc;
use std::time::Duration;

use crate::cache::TtlCache;
use crate::domain::{OrgConfig, OrganizationId, Template};
use crate::ports::WhatsAppSender;
use crate::twilio::TwilioError;

/// How many organizations' lists a process keeps at most; the least recently used goes
/// first.
pub const MAX_CACHED_ORGANIZATIONS: usize = 1000;

#[derive(Clone)]
pub struct TemplateCache {
    ttl: Duration,
    entries: TtlCache<OrganizationId, Arc<Vec<Template>>>,
}

impl TemplateCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: TtlCache::new(MAX_CACHED_ORGANIZATIONS),
        }
    }

    fn fresh(&self, org: &OrganizationId) -> Option<Arc<Vec<Template>>> {
        self.entries.get(org)
    }

    /// The organization's templates: from the cache while fresh (unless `refresh`), else
    /// from Twilio. A failed read is an error, never an empty list.
    pub async fn templates<W: WhatsAppSender>(
        &self,
        sender: &W,
        org: &OrganizationId,
        config: &OrgConfig,
        refresh: bool,
    ) -> Result<Arc<Vec<Template>>, TwilioError> {
        if !refresh && let Some(templates) = self.fresh(org) {
            return Ok(templates);
        }
        let templates = Arc::new(sender.templates(config).await?);
        self.entries
            .insert(org.clone(), templates.clone(), self.ttl);
        Ok(templates)
    }

    /// One approved template of the organization by content sid.
    pub async fn find<W: WhatsAppSender>(
        &self,
        sender: &W,
        org: &OrganizationId,
        config: &OrgConfig,
        content_sid: &str,
    ) -> Result<Option<Template>, TwilioError> {
        let cached = self.templates(sender, org, config, false).await?;
        if let Some(found) = cached.iter().find(|t| t.content_sid == content_sid) {
            return Ok(Some(found.clone()));
        }
        // Approved since the list was read? One fresh read before saying no.
        let fresh = self.templates(sender, org, config, true).await?;
        Ok(fresh.iter().find(|t| t.content_sid == content_sid).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::ScriptedSender;
    use crate::testing::{ACCOUNT_SID, AUTH_TOKEN, SENDER, org, secret_json, template};

    fn config() -> OrgConfig {
        match crate::domain::parse_org_secret(&secret_json(ACCOUNT_SID, AUTH_TOKEN, SENDER, true)) {
            crate::domain::ChannelConfig::Configured(c) => c,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_fresh_list_is_reused_and_a_refresh_reads_again() {
        let sender = ScriptedSender::new();
        sender.set_templates(vec![template(
            "HX0123456789abcdef0123456789abcdef",
            "hello",
        )]);
        let cache = TemplateCache::new(Duration::from_secs(60));
        let acme = org("acme");
        assert_eq!(
            cache
                .templates(&sender, &acme, &config(), false)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            cache
                .templates(&sender, &acme, &config(), false)
                .await
                .unwrap()
                .len(),
            1
        );
        assert_eq!(sender.template_reads(), 1, "read once while fresh");
        cache
            .templates(&sender, &acme, &config(), true)
            .await
            .unwrap();
        assert_eq!(sender.template_reads(), 2);
        cache
            .templates(&sender, &org("globex"), &config(), false)
            .await
            .unwrap();
        assert_eq!(sender.template_reads(), 3, "per organization");
    }

    #[tokio::test]
    async fn an_expired_list_is_read_again_and_a_failure_is_an_error() {
        let sender = ScriptedSender::new();
        let cache = TemplateCache::new(Duration::ZERO);
        let acme = org("acme");
        cache
            .templates(&sender, &acme, &config(), false)
            .await
            .unwrap();
        sender.fail_next_template_reads([TwilioError::Timeout]);
        assert_eq!(
            cache.templates(&sender, &acme, &config(), false).await,
            Err(TwilioError::Timeout)
        );
    }

    #[tokio::test]
    async fn a_template_approved_since_the_last_read_is_found() {
        let sender = ScriptedSender::new();
        let cache = TemplateCache::new(Duration::from_secs(60));
        let acme = org("acme");
        let sid = "HX0123456789abcdef0123456789abcdef";
        assert_eq!(
            cache.find(&sender, &acme, &config(), sid).await.unwrap(),
            None
        );
        sender.set_templates(vec![template(sid, "hello")]);
        let found = cache.find(&sender, &acme, &config(), sid).await.unwrap();
        assert_eq!(found.map(|t| t.name), Some("hello".to_owned()));
    }
}
