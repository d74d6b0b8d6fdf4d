//! Twilio's webhook connection overrides: a URL fragment (`#rc=3&rp=ct,rt,5xx`) that tells
//! Twilio how long to wait for an answer and which failures to retry. Without it Twilio
//! retries a webhook once, and only when it could not connect: a 503 or a timeout from a
//! store that failed halfway is never delivered again. The fragment is not sent in the
//! request and not part of the signed URL.

/// The overrides this product's webhook URLs are configured with: retry three times on a
/// failed connection, a read timeout or a 5xx (never a 4xx: a refused signature stays
/// refused); connect within 3 s, answer within 5 s.
pub const RECOMMENDED_OVERRIDES: &str = "ct=3000&rt=5000&rc=3&rp=ct,rt,5xx";

/// A failure Twilio can be told to retry (`rp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOn {
    /// The connection could not be made (`ct`).
    Connect,
    /// No answer within the read timeout (`rt`).
    Read,
    /// An answer with a 4xx status (`4xx`).
    ClientError,
    /// An answer with a 5xx status (`5xx`).
    ServerError,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionOverrides {
    /// `ct`, milliseconds (100–10000; default 5000).
    pub connect_timeout_ms: u32,
    /// `rt`, milliseconds (100–15000; default 15000).
    pub read_timeout_ms: u32,
    /// `tt`, milliseconds for all attempts (100–15000; default 15000).
    pub total_timeout_ms: u32,
    /// `rc`, retries after the first attempt (0–5; default 1).
    pub retry_count: u32,
    /// `rp` (default `ct`; `all` is every kind).
    pub retry_on: Vec<RetryOn>,
}

impl Default for ConnectionOverrides {
    fn default() -> Self {
        Self {
            connect_timeout_ms: 5000,
            read_timeout_ms: 15000,
            total_timeout_ms: 15000,
            retry_count: 1,
            retry_on: vec![RetryOn::Connect],
        }
    }
}

impl ConnectionOverrides {
    /// What `RECOMMENDED_OVERRIDES` sets: the webhook answers within its `read_timeout_ms`.
    pub fn recommended() -> Self {
        Self::split(&format!("#{RECOMMENDED_OVERRIDES}")).1
    }

    /// The URL Twilio requests (and signs) and the overrides its fragment sets; keys it does
    /// not know and values out of range keep Twilio's defaults.
    pub fn split(url: &str) -> (&str, Self) {
        let Some((base, fragment)) = url.split_once('#') else {
            return (url, Self::default());
        };
        let mut overrides = Self::default();
        for (key, value) in fragment.split('&').filter_map(|pair| pair.split_once('=')) {
            let number = value.parse::<u32>().ok();
            match (key, number) {
                ("ct", Some(n)) if (100..=10000).contains(&n) => overrides.connect_timeout_ms = n,
                ("rt", Some(n)) if (100..=15000).contains(&n) => overrides.read_timeout_ms = n,
                ("tt", Some(n)) if (100..=15000).contains(&n) => overrides.total_timeout_ms = n,
                ("rc", Some(n)) if n <= 5 => overrides.retry_count = n,
                ("rp", _) => {
                    let mut policy = Vec::new();
                    for kind in value.split(',') {
                        match kind.trim() {
                            "ct" => policy.push(RetryOn::Connect),
                            "rt" => policy.push(RetryOn::Read),
                            "4xx" => policy.push(RetryOn::ClientError),
                            "5xx" => policy.push(RetryOn::ServerError),
                            "all" => policy.extend([
                                RetryOn::Connect,
                                RetryOn::Read,
                                RetryOn::ClientError,
                                RetryOn::ServerError,
                            ]),
                            _ => {}
                        }
                    }
                    if !policy.is_empty() {
                        overrides.retry_on = policy;
                    }
                }
                _ => {}
            }
        }
        (base, overrides)
    }

    pub fn retries(&self, failure: RetryOn) -> bool {
        self.retry_on.contains(&failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_fragment_twilio_retries_a_failed_connection_once() {
        let (url, o) =
            ConnectionOverrides::split("https://api.example.com/webhook/twilio/whatsapp/acme");
        assert_eq!(url, "https://api.example.com/webhook/twilio/whatsapp/acme");
        assert_eq!(o.retry_count, 1);
        assert!(o.retries(RetryOn::Connect));
        assert!(!o.retries(RetryOn::ServerError) && !o.retries(RetryOn::Read));
    }

    #[test]
    fn the_recommended_fragment_retries_what_a_store_failure_answers() {
        let url = format!("https://api.example.com/x?message_id=1#{RECOMMENDED_OVERRIDES}");
        let (base, o) = ConnectionOverrides::split(&url);
        assert_eq!(base, "https://api.example.com/x?message_id=1");
        assert_eq!(
            (o.retry_count, o.connect_timeout_ms, o.read_timeout_ms),
            (3, 3000, 5000)
        );
        assert!(o.retries(RetryOn::ServerError) && o.retries(RetryOn::Read));
        assert!(
            !o.retries(RetryOn::ClientError),
            "a refused signature is not retried"
        );
    }

    #[test]
    fn out_of_range_values_keep_twilios_defaults() {
        let (_, o) = ConnectionOverrides::split("https://x/y#rc=9&ct=50&rp=bogus&rt=20000&tt=1000");
        assert_eq!(o.retry_count, 1);
        assert_eq!(o.connect_timeout_ms, 5000);
        assert_eq!(o.read_timeout_ms, 15000);
        assert_eq!(o.total_timeout_ms, 1000);
        assert_eq!(o.retry_on, [RetryOn::Connect]);
        let (_, all) = ConnectionOverrides::split("https://x/y#rp=all&rc=0");
        assert!(all.retries(RetryOn::ClientError));
        assert_eq!(all.retry_count, 0);
    }
}
