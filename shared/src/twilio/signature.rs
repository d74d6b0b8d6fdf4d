//! X-Twilio-Signature: base64(HMAC-SHA1(auth token, URL + every POST parameter sorted by
//! name, name and value appended without separators)).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

fn mac_over(auth_token: &str, url: &str, params: &[(String, String)]) -> HmacSha1 {
    // Sorted by name, then value for repeated names, identical pairs once: what Twilio's
    // own SDKs compute.
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    sorted.dedup();
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = HmacSha1::new_from_slice(auth_token.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// The signature Twilio sends for this URL and these parameters.
pub fn compute_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    STANDARD.encode(mac_over(auth_token, url, params).finalize().into_bytes())
}

/// Whether a header value can be a Twilio signature at all: base64 of an HMAC-SHA1 (20
/// bytes). Checked before anything is read for the request.
pub fn is_well_formed_signature(signature: &str) -> bool {
    signature.len() == 28
        && STANDARD
            .decode(signature)
            .is_ok_and(|bytes| bytes.len() == 20)
}

/// Checks a signature in constant time. Twilio signs the URL exactly as it was configured,
/// and proxies add or drop the scheme's default port, so both spellings are accepted.
pub fn validate_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(expected) = STANDARD.decode(signature.trim()) else {
        return false;
    };
    url_variants(url).iter().any(|candidate| {
        mac_over(auth_token, candidate, params)
            .verify_slice(&expected)
            .is_ok()
    })
}

/// The URL as given, plus the same URL with its default port added or removed.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return variants,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_and_port = &authority[host_start..];
    // A ':' after an IPv6 literal's closing bracket (or anywhere in a plain host) is a port.
    let port_sep = match host_and_port.rfind(']') {
        Some(close) => host_and_port[close..].find(':').map(|i| close + i),
        None => host_and_port.find(':'),
    };
    let prefix = &authority[..host_start];
    match port_sep {
        Some(i) if &host_and_port[i + 1..] == default_port => {
            variants.push(format!("{scheme}://{prefix}{}{tail}", &host_and_port[..i]));
        }
        Some(_) => {}
        None => {
            variants.push(format!(
                "{scheme}://{prefix}{host_and_port}:{default_port}{tail}"
            ));
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;

    // The public vectors of Twilio's SDK test suites (twilio-python, twilio-node).
    const TOKEN: &str = "12345";
    const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const URL_443: &str = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    const SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    const SIGNATURE_443: &str = "kvajT1Ptam85bY51eRf/AJRuM3w=";

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn computes_twilios_published_vectors() {
        assert_eq!(compute_signature(TOKEN, URL, &params()), SIGNATURE);
        assert_eq!(compute_signature(TOKEN, URL_443, &params()), SIGNATURE_443);
    }

    #[test]
    fn parameter_order_does_not_matter() {
        let mut reversed = params();
        reversed.reverse();
        assert_eq!(compute_signature(TOKEN, URL, &reversed), SIGNATURE);
    }

    #[test]
    fn validates_with_and_without_default_port() {
        assert!(validate_signature(TOKEN, URL, &params(), SIGNATURE));
        assert!(validate_signature(TOKEN, URL, &params(), SIGNATURE_443));
        assert!(validate_signature(TOKEN, URL_443, &params(), SIGNATURE));
        assert!(validate_signature(TOKEN, URL_443, &params(), SIGNATURE_443));
    }

    #[test]
    fn rejects_wrong_token_url_params_or_garbage() {
        assert!(!validate_signature("54321", URL, &params(), SIGNATURE));
        assert!(!validate_signature(
            TOKEN,
            "https://mycompany.com/other.php",
            &params(),
            SIGNATURE
        ));
        let mut tampered = params();
        tampered[2].1 = "9999".into();
        assert!(!validate_signature(TOKEN, URL, &tampered, SIGNATURE));
        let mut extra = params();
        extra.push(("Body".into(), "hi".into()));
        assert!(!validate_signature(TOKEN, URL, &extra, SIGNATURE));
        assert!(!validate_signature(TOKEN, URL, &params(), "not base64!"));
        assert!(!validate_signature(TOKEN, URL, &params(), ""));
    }

    #[test]
    fn repeated_parameters_are_all_signed_in_value_order() {
        let p = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let a = compute_signature(TOKEN, URL, &p(&[("MediaUrl", "b"), ("MediaUrl", "a")]));
        let b = compute_signature(TOKEN, URL, &p(&[("MediaUrl", "a"), ("MediaUrl", "b")]));
        let only_a = compute_signature(TOKEN, URL, &p(&[("MediaUrl", "a")]));
        assert_eq!(a, b);
        assert_ne!(a, only_a);
    }

    #[test]
    fn url_variants_handle_ports_userinfo_and_plain_http() {
        assert_eq!(
            url_variants("http://u:p@host/x"),
            vec!["http://u:p@host/x", "http://u:p@host:80/x"]
        );
        assert_eq!(
            url_variants("http://127.0.0.1:8080/x"),
            vec!["http://127.0.0.1:8080/x"]
        );
        assert_eq!(
            url_variants("https://[::1]:443/x?y"),
            vec!["https://[::1]:443/x?y", "https://[::1]/x?y"]
        );
    }
}
