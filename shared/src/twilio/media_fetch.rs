//! Inbound media downloads that cannot be aimed elsewhere.
//!
//! A webhook's `MediaUrl` is only as trustworthy as the organization that signed it, and
//! every organization knows its own auth token. So the worker fetches only the Twilio API's
//! media path of the organization's own account, with its credentials; follows a redirect
//! only to an https host on the media allow-list, without them; never connects to a private,
//! loopback or link-local address (the local sandbox is the one configured exception); and
//! reads the body under a hard size cap, the whole download under a time cap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Twilio's media hosts, where the API's media URL redirects (`TWILIO_MEDIA_HOSTS`).
/// `*.` matches any subdomain.
pub const DEFAULT_MEDIA_HOSTS: &str = "*.twiliocdn.com,s3-external-1.amazonaws.com";

/// Redirects followed at most (Twilio answers with one).
pub(super) const MAX_REDIRECTS: usize = 3;

/// Where a media download may go, how big and how long it may be.
#[derive(Debug, Clone)]
pub struct MediaPolicy {
    redirect_hosts: Vec<String>,
    /// The local sandbox's host and port: http allowed, loopback allowed. None on AWS.
    local_sandbox: Option<(String, Option<u16>)>,
    pub max_bytes: usize,
    pub total_time: Duration,
}

impl MediaPolicy {
    /// `hosts` is a comma-separated list of host names; `*.example.com` matches subdomains.
    pub fn new(hosts: &str, max_bytes: usize, total_time: Duration) -> Self {
        Self {
            redirect_hosts: hosts
                .split(',')
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            local_sandbox: None,
            max_bytes,
            total_time,
        }
    }

    /// Lets downloads reach the local sandbox at `base_url` (plain http on loopback): only
    /// the local runner does this, and only while it uses its own sandbox.
    pub fn with_local_sandbox(mut self, base_url: &str) -> Self {
        self.local_sandbox = url::Url::parse(base_url).ok().and_then(|u| {
            let host = u.host_str()?.to_ascii_lowercase();
            Some((host, u.port_or_known_default()))
        });
        self
    }

    fn is_local_sandbox(&self, url: &url::Url) -> bool {
        let Some((host, port)) = &self.local_sandbox else {
            return false;
        };
        url.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
            && url.port_or_known_default() == *port
    }

    /// Whether a redirect may go there: https to an allow-listed host, or the local sandbox.
    pub fn redirect_allowed(&self, url: &url::Url) -> Result<(), MediaRefusal> {
        if self.is_local_sandbox(url) {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(MediaRefusal::NotHttps);
        }
        let host = url
            .host_str()
            .ok_or(MediaRefusal::HostNotAllowed)?
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let listed = self
            .redirect_hosts
            .iter()
            .any(|pattern| match pattern.strip_prefix("*.") {
                Some(suffix) => host
                    .strip_suffix(suffix)
                    .is_some_and(|sub| sub.ends_with('.') && sub.len() > 1),
                None => host == *pattern,
            });
        if listed {
            Ok(())
        } else {
            Err(MediaRefusal::HostNotAllowed)
        }
    }

    /// A literal IP address in the URL is checked here; names are checked when resolved.
    pub fn address_allowed(&self, url: &url::Url) -> Result<(), MediaRefusal> {
        if self.is_local_sandbox(url) {
            return Ok(());
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(MediaRefusal::HostNotAllowed),
        };
        if is_public(ip) {
            Ok(())
        } else {
            Err(MediaRefusal::PrivateAddress)
        }
    }

    /// The resolver of the media client: names resolve only to public addresses, except the
    /// local sandbox's own.
    pub fn resolver(&self) -> Arc<PublicOnlyResolver> {
        Arc::new(PublicOnlyResolver {
            exempt_host: self.local_sandbox.as_ref().map(|(host, _)| host.clone()),
        })
    }
}

/// Why a media URL was not fetched. None of these is worth a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MediaRefusal {
    #[error("not the Twilio API's media URL of this account")]
    NotAccountMedia,
    #[error("a redirect to something other than https")]
    NotHttps,
    #[error("a host not on the media allow-list")]
    HostNotAllowed,
    #[error("a private, loopback or link-local address")]
    PrivateAddress,
    #[error("more redirects than Twilio makes")]
    TooManyRedirects,
    #[error("larger than the media size limit")]
    TooLarge,
}

/// Whether `url` is `{api}/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media/{sid}`:
/// the only place the account's credentials are sent for media.
pub fn is_account_media_url(api_base: &url::Url, account_sid: &str, url: &url::Url) -> bool {
    if url.origin() != api_base.origin()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return false;
    }
    let base_path = api_base.path().trim_end_matches('/');
    let Some(rest) = url.path().strip_prefix(base_path) else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    matches!(
        segments.as_slice(),
        ["", "2010-04-01", "Accounts", account, "Messages", message, "Media", media]
            if *account == account_sid
                && (is_sid(message, "MM") || is_sid(message, "SM"))
                && is_sid(media, "ME")
    )
}

fn is_sid(value: &str, prefix: &str) -> bool {
    value.len() == 34
        && value.starts_with(prefix)
        && value[2..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether an address is reachable on the public internet: not private, loopback,
/// link-local, shared (CGNAT), documentation, benchmarking, multicast or reserved; an
/// IPv4-mapped or NAT64 IPv6 address is judged by its IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => is_public_v6(ip),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) reaches the IPv4 address it embeds.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible, deprecated
}

/// Resolves names with the system resolver and keeps only public addresses, so a name that
/// points at the metadata service or the Lambda Runtime API is never connected to — also
/// after a redirect, and whatever the name resolves to by the time of the connection.
#[derive(Debug)]
pub struct PublicOnlyResolver {
    exempt_host: Option<String>,
}

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let exempt = self.exempt_host.as_deref() == Some(host.as_str());
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| exempt || is_public(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(Box::new(MediaRefusal::PrivateAddress) as _);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
    const MM: &str = "MM0123456789abcdef0123456789abcdef";
    const ME: &str = "ME0123456789abcdef0123456789abcdef";

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn only_the_accounts_own_media_path_on_the_api_origin_is_account_media() {
        let api = url("https://api.twilio.com");
        let good = format!(
            "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}"
        );
        assert!(is_account_media_url(&api, ACCOUNT, &url(&good)));
        let other_account = "AC99999999999999999999999999999999";
        for bad in [
            format!(
                "https://api.twilio.com/2010-04-01/Accounts/{other_account}/Messages/{MM}/Media/{ME}"
            ),
            format!("http://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}"),
            format!(
                "https://api.twilio.com:8443/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}"
            ),
            format!("https://evil.example/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}"),
            format!(
                "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}?x=1"
            ),
            format!(
                "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}/extra"
            ),
            format!(
                "https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/../../Messages.json"
            ),
            format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"),
            format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Calls/{MM}/Media/{ME}"),
            format!(
                "https://user:pw@api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}"
            ),
            "https://169.254.169.254/latest/meta-data/".to_owned(),
        ] {
            assert!(!is_account_media_url(&api, ACCOUNT, &url(&bad)), "{bad}");
        }
        // A base with a path (the local sandbox) keeps its prefix.
        let sandbox = url("http://127.0.0.1:8080/sandbox");
        let under = format!(
            "http://127.0.0.1:8080/sandbox/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}"
        );
        let outside =
            format!("http://127.0.0.1:8080/2010-04-01/Accounts/{ACCOUNT}/Messages/{MM}/Media/{ME}");
        assert!(is_account_media_url(&sandbox, ACCOUNT, &url(&under)));
        assert!(!is_account_media_url(&sandbox, ACCOUNT, &url(&outside)));
    }

    #[test]
    fn redirects_go_only_to_https_hosts_on_the_allow_list() {
        let policy = MediaPolicy::new(DEFAULT_MEDIA_HOSTS, 10, Duration::from_secs(1));
        for ok in [
            "https://media.twiliocdn.com/AC/x",
            "https://mms.twiliocdn.com/x",
            "https://MEDIA.TwilioCDN.com./x",
            "https://s3-external-1.amazonaws.com/media.twiliocdn.com/x",
        ] {
            assert_eq!(policy.redirect_allowed(&url(ok)), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("http://media.twiliocdn.com/x", MediaRefusal::NotHttps),
            ("ftp://media.twiliocdn.com/x", MediaRefusal::NotHttps),
            (
                "https://twiliocdn.com.evil.example/x",
                MediaRefusal::HostNotAllowed,
            ),
            ("https://eviltwiliocdn.com/x", MediaRefusal::HostNotAllowed),
            ("https://twiliocdn.com/x", MediaRefusal::HostNotAllowed),
            (
                "https://169.254.169.254/latest",
                MediaRefusal::HostNotAllowed,
            ),
            ("https://localhost/x", MediaRefusal::HostNotAllowed),
        ] {
            assert_eq!(policy.redirect_allowed(&url(bad)), Err(why), "{bad}");
        }
    }

    #[test]
    fn the_local_sandbox_is_the_one_exception() {
        let strict = MediaPolicy::new(DEFAULT_MEDIA_HOSTS, 10, Duration::from_secs(1));
        let local = strict
            .clone()
            .with_local_sandbox("http://127.0.0.1:8080/sandbox");
        let cdn = url("http://127.0.0.1:8080/sandbox/cdn/ME1");
        assert_eq!(strict.redirect_allowed(&cdn), Err(MediaRefusal::NotHttps));
        assert_eq!(
            strict.address_allowed(&cdn),
            Err(MediaRefusal::PrivateAddress)
        );
        assert_eq!(local.redirect_allowed(&cdn), Ok(()));
        assert_eq!(local.address_allowed(&cdn), Ok(()));
        // Only the sandbox's host and port: another loopback address or port stays refused.
        for other in ["http://127.0.0.2:8080/x", "http://127.0.0.1:9001/x"] {
            let other = url(other);
            assert_eq!(
                local.address_allowed(&other),
                Err(MediaRefusal::PrivateAddress)
            );
            assert_eq!(local.redirect_allowed(&other), Err(MediaRefusal::NotHttps));
        }
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.170.2",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.0.9",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "ff02::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "52.1.2.3",
            "172.32.0.1",
            "100.128.0.1",
            "8.8.8.8",
            "2600:1f18::1",
            "::ffff:52.1.2.3",
            "64:ff9b::3401:203",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn names_that_resolve_only_to_private_addresses_are_refused() {
        use reqwest::dns::Resolve;
        let policy = MediaPolicy::new(DEFAULT_MEDIA_HOSTS, 10, Duration::from_secs(1));
        let resolver = policy.resolver();
        let refused = resolver.resolve("localhost".parse().unwrap()).await;
        assert!(refused.is_err());
        let local = policy.with_local_sandbox("http://localhost:8080");
        let addrs: Vec<SocketAddr> = local
            .resolver()
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }
}
