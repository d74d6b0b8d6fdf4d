//! Settings read from the environment once per cold start. Every name has a default that
//! works on AWS except where a value only the deployment knows is needed.

use std::str::FromStr;
use std::time::Duration;

use crate::api::DEFAULT_ORG_CLAIM;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {name} is not valid: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// JWT claim holding the organization id (`ORG_CLAIM`).
    pub org_claim: String,
    /// Twilio REST base URL (`TWILIO_API_BASE_URL`): the real API or the local sandbox.
    pub twilio_api_base_url: String,
    /// Per-request timeout towards Twilio (`TWILIO_TIMEOUT_SECONDS`).
    pub twilio_timeout: Duration,
    /// Twilio's Content API base URL (`TWILIO_CONTENT_BASE_URL`): templates are read there.
    pub twilio_content_base_url: String,
    /// Twilio's Messaging API base URL (`TWILIO_MESSAGING_BASE_URL`): Messaging Services.
    pub twilio_messaging_base_url: String,
    /// Hosts a media download may be redirected to (`TWILIO_MEDIA_HOSTS`, comma-separated;
    /// `*.` matches subdomains): Twilio's media hosts.
    pub twilio_media_hosts: String,
    /// The longest one inbound media download may take, redirects and body included
    /// (`MEDIA_FETCH_SECONDS`).
    pub media_fetch_timeout: Duration,
    /// How long one media copy job may start downloads for (`MEDIA_COPY_SECONDS`, at least
    /// `MEDIA_FETCH_SECONDS`): files not started by then go to the next job, so a message
    /// with many large files never outlasts the function.
    pub media_copy_deadline: Duration,
    /// How long an organization's template list is reused (`TEMPLATE_CACHE_SECONDS`).
    pub template_cache_ttl: Duration,
    /// How long an agent's presence in a conversation lasts unless renewed
    /// (`PRESENCE_SECONDS`, at least 10); pages renew it after two fifths of it.
    pub presence_ttl: Duration,
    /// How long a Content the product made for buttons or a list may go unused before the
    /// worker deletes it from the organization's Twilio account (`CONTENT_UNUSED_SECONDS`,
    /// 30 days).
    pub content_unused_for: Duration,
    /// Public base URL of this API as Twilio reaches it (`PUBLIC_BASE_URL`), for status
    /// callback URLs and webhook signatures. None: derived from the request (API Gateway).
    pub public_base_url: Option<String>,
    /// Attempts per outbound message before it is FAILED (`SEND_MAX_ATTEMPTS`).
    pub send_max_attempts: u32,
    /// First retry delay; doubles per attempt (`SEND_RETRY_BASE_MS`).
    pub send_retry_base: Duration,
    /// How long a worker holds a message it is sending (`SEND_CLAIM_SECONDS`; default twice
    /// the Twilio timeout plus 5 s): another delivery of the job waits that long before it
    /// takes over, and then reconciles with Twilio before sending.
    pub send_claim_lease: Duration,
    /// Secret name prefix (`SECRET_PREFIX`): secrets are `{prefix}{organization_id}/twilio`.
    pub secret_prefix: String,
    /// How long a read secret is reused (`SECRET_CACHE_SECONDS`).
    pub secret_cache_ttl: Duration,
    /// How many organizations' configurations a process keeps, the least recently used
    /// leaving first (`SECRET_CACHE_SIZE`); "not configured" answers count too.
    pub secret_cache_size: usize,
    /// How long after its revision a message change is surely visible to a poll
    /// (`POLL_SETTLE_SECONDS`): longer than a DynamoDB write may take (`DYNAMODB_TIMEOUT_SECONDS`)
    /// plus index propagation. Polls re-read this window and drop what they returned before.
    pub poll_settle: Duration,
    /// The longest a DynamoDB call may take, retries included (`DYNAMODB_TIMEOUT_SECONDS`).
    pub dynamodb_timeout: Duration,
    /// Where pages subscribe for live updates (`LIVE_HTTP_HOST`, `LIVE_REALTIME_URL`); None:
    /// push is not configured and pages poll.
    pub live: Option<LiveEndpoint>,
}

/// The Event API as a page connects to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEndpoint {
    /// The API's HTTP host, which the page names in its authorization header.
    pub http_host: String,
    /// `wss://{realtime host}/event/realtime` (`ws://` on loopback).
    pub realtime_url: String,
}

impl Settings {
    /// Where and how inbound media may be downloaded (no local sandbox exception).
    pub fn media_policy(&self) -> crate::twilio::MediaPolicy {
        crate::twilio::MediaPolicy::new(
            &self.twilio_media_hosts,
            crate::twilio::MAX_INBOUND_MEDIA_BYTES,
            self.media_fetch_timeout,
        )
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one line per setting, read in one place (docs/design.md, \"Long functions\")"
    )]
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let public_base_url = get("PUBLIC_BASE_URL").map(|u| u.trim_end_matches('/').to_owned());
        if let Some(url) = &public_base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(ConfigError {
                name: "PUBLIC_BASE_URL",
                reason: "must start with https:// or http://".into(),
            });
        }
        let settings = Self {
            org_claim: get("ORG_CLAIM").unwrap_or_else(|| DEFAULT_ORG_CLAIM.to_owned()),
            twilio_api_base_url: get("TWILIO_API_BASE_URL")
                .unwrap_or_else(|| "https://api.twilio.com".to_owned()),
            twilio_timeout: Duration::from_secs(parse(&get, "TWILIO_TIMEOUT_SECONDS", 10u64)?),
            twilio_content_base_url: get("TWILIO_CONTENT_BASE_URL")
                .unwrap_or_else(|| "https://content.twilio.com".to_owned()),
            twilio_messaging_base_url: get("TWILIO_MESSAGING_BASE_URL")
                .unwrap_or_else(|| "https://messaging.twilio.com".to_owned()),
            twilio_media_hosts: get("TWILIO_MEDIA_HOSTS")
                .unwrap_or_else(|| crate::twilio::DEFAULT_MEDIA_HOSTS.to_owned()),
            media_fetch_timeout: Duration::from_secs(parse(&get, "MEDIA_FETCH_SECONDS", 20u64)?),
            media_copy_deadline: Duration::from_secs(parse(&get, "MEDIA_COPY_SECONDS", 40u64)?),
            template_cache_ttl: Duration::from_secs(parse(&get, "TEMPLATE_CACHE_SECONDS", 300u64)?),
            presence_ttl: Duration::from_secs(parse(&get, "PRESENCE_SECONDS", 300u64)?.max(10)),
            content_unused_for: Duration::from_secs(parse(
                &get,
                "CONTENT_UNUSED_SECONDS",
                30 * 86_400u64,
            )?),
            public_base_url,
            send_max_attempts: parse(&get, "SEND_MAX_ATTEMPTS", 5u32)?,
            send_retry_base: Duration::from_millis(parse(&get, "SEND_RETRY_BASE_MS", 2000u64)?),
            send_claim_lease: Duration::ZERO,
            secret_prefix: get("SECRET_PREFIX").unwrap_or_else(|| "whatsapp/".to_owned()),
            secret_cache_ttl: Duration::from_secs(parse(&get, "SECRET_CACHE_SECONDS", 300u64)?),
            secret_cache_size: parse(&get, "SECRET_CACHE_SIZE", 1000usize)?,
            poll_settle: Duration::from_secs(parse(&get, "POLL_SETTLE_SECONDS", 30u64)?),
            dynamodb_timeout: Duration::from_secs(parse(&get, "DYNAMODB_TIMEOUT_SECONDS", 10u64)?),
            live: live_endpoint(get("LIVE_HTTP_HOST"), get("LIVE_REALTIME_URL"))?,
        };
        let default_lease = settings.twilio_timeout.as_secs().saturating_mul(2) + 5;
        let settings = Settings {
            send_claim_lease: Duration::from_secs(parse(
                &get,
                "SEND_CLAIM_SECONDS",
                default_lease,
            )?),
            ..settings
        };
        if settings.dynamodb_timeout.is_zero() || settings.poll_settle <= settings.dynamodb_timeout
        {
            return Err(ConfigError {
                name: "POLL_SETTLE_SECONDS",
                reason:
                    "must be longer than DYNAMODB_TIMEOUT_SECONDS (a change can commit that late)"
                        .into(),
            });
        }
        if settings.secret_cache_size == 0 {
            return Err(ConfigError {
                name: "SECRET_CACHE_SIZE",
                reason: "must be at least 1".into(),
            });
        }
        if settings.media_fetch_timeout.is_zero() {
            return Err(ConfigError {
                name: "MEDIA_FETCH_SECONDS",
                reason: "must be at least 1".into(),
            });
        }
        if settings.media_copy_deadline < settings.media_fetch_timeout {
            return Err(ConfigError {
                name: "MEDIA_COPY_SECONDS",
                reason: "must be at least MEDIA_FETCH_SECONDS (a download must fit in a job)"
                    .into(),
            });
        }
        // A send is posted only while the claim outlasts the request (see the worker).
        if settings.send_claim_lease <= settings.twilio_timeout + CLAIM_MARGIN {
            return Err(ConfigError {
                name: "SEND_CLAIM_SECONDS",
                reason: format!(
                    "must be longer than TWILIO_TIMEOUT_SECONDS + {} s (a send must end before its claim does)",
                    CLAIM_MARGIN.as_secs()
                ),
            });
        }
        if settings.send_max_attempts == 0 {
            return Err(ConfigError {
                name: "SEND_MAX_ATTEMPTS",
                reason: "must be at least 1".into(),
            });
        }
        Ok(settings)
    }
}

fn live_endpoint(
    http_host: Option<String>,
    realtime_url: Option<String>,
) -> Result<Option<LiveEndpoint>, ConfigError> {
    match (http_host, realtime_url) {
        (None, None) => Ok(None),
        (Some(http_host), Some(realtime_url)) => {
            let url = url::Url::parse(&realtime_url).map_err(|e| ConfigError {
                name: "LIVE_REALTIME_URL",
                reason: format!("is not a URL: {e}"),
            })?;
            if !matches!(url.scheme(), "wss" | "ws") || url.host_str().is_none() {
                return Err(ConfigError {
                    name: "LIVE_REALTIME_URL",
                    reason: "must be a wss:// URL (ws:// only on loopback)".into(),
                });
            }
            if http_host.contains('/') {
                return Err(ConfigError {
                    name: "LIVE_HTTP_HOST",
                    reason: "is a host name (and port), not a URL".into(),
                });
            }
            Ok(Some(LiveEndpoint {
                http_host,
                realtime_url,
            }))
        }
        (None, Some(_)) => Err(ConfigError {
            name: "LIVE_HTTP_HOST",
            reason: "is required with LIVE_REALTIME_URL".into(),
        }),
        (Some(_), None) => Err(ConfigError {
            name: "LIVE_REALTIME_URL",
            reason: "is required with LIVE_HTTP_HOST".into(),
        }),
    }
}

/// What a send claim must have left beyond the Twilio timeout for a send to be posted:
/// clocks of two functions differ by far less.
pub const CLAIM_MARGIN: Duration = Duration::from_secs(5);

fn parse<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| ConfigError {
            name,
            reason: format!("{v:?} is not a number"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_suit_aws() {
        let s = from(&[]).unwrap();
        assert_eq!(s.org_claim, "custom:organization_id");
        assert_eq!(s.twilio_api_base_url, "https://api.twilio.com");
        assert_eq!(s.public_base_url, None);
        assert_eq!(s.send_max_attempts, 5);
        assert_eq!(s.secret_prefix, "whatsapp/");
        assert_eq!(s.poll_settle, Duration::from_secs(30));
        assert_eq!(s.twilio_content_base_url, "https://content.twilio.com");
        assert_eq!(s.twilio_messaging_base_url, "https://messaging.twilio.com");
        assert_eq!(s.template_cache_ttl, Duration::from_secs(300));
        assert!(s.poll_settle > s.dynamodb_timeout);
    }

    #[test]
    fn live_updates_need_both_endpoints_and_a_websocket_url() {
        assert_eq!(from(&[]).unwrap().live, None);
        let live = from(&[
            ("LIVE_HTTP_HOST", "abc.appsync-api.eu-west-1.amazonaws.com"),
            (
                "LIVE_REALTIME_URL",
                "wss://abc.appsync-realtime-api.eu-west-1.amazonaws.com/event/realtime",
            ),
        ])
        .unwrap()
        .live
        .unwrap();
        assert_eq!(live.http_host, "abc.appsync-api.eu-west-1.amazonaws.com");
        for (pairs, name) in [
            (vec![("LIVE_HTTP_HOST", "h")], "LIVE_REALTIME_URL"),
            (
                vec![("LIVE_REALTIME_URL", "wss://r/event/realtime")],
                "LIVE_HTTP_HOST",
            ),
            (
                vec![
                    ("LIVE_HTTP_HOST", "h"),
                    ("LIVE_REALTIME_URL", "https://r/event/realtime"),
                ],
                "LIVE_REALTIME_URL",
            ),
            (
                vec![
                    ("LIVE_HTTP_HOST", "https://h"),
                    ("LIVE_REALTIME_URL", "wss://r/event/realtime"),
                ],
                "LIVE_HTTP_HOST",
            ),
        ] {
            assert_eq!(from(&pairs).unwrap_err().name, name, "{pairs:?}");
        }
    }

    #[test]
    fn the_poll_settle_window_outlasts_a_write() {
        let err = from(&[
            ("POLL_SETTLE_SECONDS", "5"),
            ("DYNAMODB_TIMEOUT_SECONDS", "10"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "POLL_SETTLE_SECONDS");
        assert!(from(&[("DYNAMODB_TIMEOUT_SECONDS", "0")]).is_err());
        let ok = from(&[
            ("POLL_SETTLE_SECONDS", "12"),
            ("DYNAMODB_TIMEOUT_SECONDS", "3"),
        ])
        .unwrap();
        assert_eq!(ok.poll_settle, Duration::from_secs(12));
    }

    #[test]
    fn a_send_claim_outlasts_the_request_and_a_copy_job_one_download() {
        let s = from(&[]).unwrap();
        assert!(s.send_claim_lease > s.twilio_timeout + CLAIM_MARGIN);
        assert!(s.media_copy_deadline >= s.media_fetch_timeout);
        let err = from(&[
            ("TWILIO_TIMEOUT_SECONDS", "20"),
            ("SEND_CLAIM_SECONDS", "25"),
        ])
        .unwrap_err();
        assert_eq!(err.name, "SEND_CLAIM_SECONDS");
        assert!(
            from(&[
                ("TWILIO_TIMEOUT_SECONDS", "20"),
                ("SEND_CLAIM_SECONDS", "26")
            ])
            .is_ok()
        );
        let err = from(&[("MEDIA_FETCH_SECONDS", "30"), ("MEDIA_COPY_SECONDS", "29")]).unwrap_err();
        assert_eq!(err.name, "MEDIA_COPY_SECONDS");
    }

    #[test]
    fn overrides_and_bad_values() {
        let s = from(&[
            ("ORG_CLAIM", "org"),
            ("PUBLIC_BASE_URL", "https://api.example.com/"),
        ])
        .unwrap();
        assert_eq!(s.org_claim, "org");
        assert_eq!(
            s.public_base_url.as_deref(),
            Some("https://api.example.com")
        );
        assert_eq!(
            from(&[("SEND_MAX_ATTEMPTS", "many")]).unwrap_err().name,
            "SEND_MAX_ATTEMPTS"
        );
        assert!(from(&[("SEND_MAX_ATTEMPTS", "0")]).is_err());
        assert!(from(&[("PUBLIC_BASE_URL", "ftp://x")]).is_err());
    }
}
