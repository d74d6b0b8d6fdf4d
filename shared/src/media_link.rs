//! The media URL Twilio is given for an outbound attachment:
//! `{PUBLIC_BASE_URL}/media/{organization_id}/{token}/{filename}`.
//!
//! Twilio checks the media (with `HEAD` as well as `GET`) before WhatsApp sends it. An S3
//! presigned GET answers `HEAD` with 403 — the signature covers the method — so the URL is
//! ours: the `media-url` function answers `HEAD` from the object's metadata and `GET` with a
//! redirect to a short presigned GET. The token carries the object's key and an expiry, signed
//! (HMAC-SHA1) with the organization's own Twilio auth token: no new secret, and nobody
//! without that token can mint one. Only sealed copies (`{org}/sent/…`) are ever linked.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::domain::OrganizationId;

/// How long Twilio may fetch the media (it does within seconds of the send).
pub const LINK_LIFETIME_SECONDS: i64 = 900;

fn mac(auth_token: &str, org: &OrganizationId, key: &str, expires: i64) -> Option<Hmac<Sha1>> {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).ok()?;
    mac.update(format!("media\n{org}\n{key}\n{expires}").as_bytes());
    Some(mac)
}

/// The path (under the API's base URL) of a signed link to a sealed attachment.
pub fn path(auth_token: &str, org: &OrganizationId, key: &str, expires: i64) -> Option<String> {
    if !key.starts_with(&format!("{org}/sent/")) {
        return None;
    }
    let signature = hex(&mac(auth_token, org, key, expires)?.finalize().into_bytes());
    let filename = key.rsplit('/').next().unwrap_or_default();
    let token = format!("{expires}.{signature}.{}", URL_SAFE_NO_PAD.encode(key));
    Some(format!("/media/{org}/{token}/{}", urlencoding(filename)))
}

/// What a token says, before its signature is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkToken {
    pub expires: i64,
    pub signature: Vec<u8>,
    pub key: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is malformed")]
    Malformed,
    #[error("the link has expired")]
    Expired,
    #[error("the link's signature does not match")]
    Forged,
}

impl LinkToken {
    pub fn parse(token: &str) -> Result<Self, LinkError> {
        let mut parts = token.splitn(3, '.');
        let (Some(expires), Some(signature), Some(key)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Malformed);
        };
        let expires = expires.parse().map_err(|_| LinkError::Malformed)?;
        let signature = unhex(signature).ok_or(LinkError::Malformed)?;
        let key = URL_SAFE_NO_PAD
            .decode(key)
            .ok()
            .and_then(|k| String::from_utf8(k).ok())
            .ok_or(LinkError::Malformed)?;
        Ok(Self {
            expires,
            signature,
            key,
        })
    }

    /// Checks the link for this organization at `now` (Unix seconds): unexpired, signed with
    /// its token, and for one of its sealed copies.
    pub fn verify(
        &self,
        auth_token: &str,
        org: &OrganizationId,
        now: i64,
    ) -> Result<(), LinkError> {
        if !self.key.starts_with(&format!("{org}/sent/")) {
            return Err(LinkError::Forged);
        }
        if self.expires < now {
            return Err(LinkError::Expired);
        }
        // Constant-time comparison (hmac's verify).
        mac(auth_token, org, &self.key, self.expires)
            .ok_or(LinkError::Forged)?
            .verify_slice(&self.signature)
            .map_err(|_| LinkError::Forged)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A file name as one path segment.
fn urlencoding(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::org;

    const TOKEN: &str = "auth-token-0123";

    fn token_of(path: &str) -> &str {
        path.split('/').nth(3).unwrap()
    }

    #[test]
    fn a_link_verifies_for_its_organization_until_it_expires() {
        let acme = org("acme");
        let path = path(TOKEN, &acme, "acme/sent/01J0/My invoice.pdf", 1_000).unwrap();
        assert!(path.starts_with("/media/acme/1000."), "{path}");
        assert!(path.ends_with("/My%20invoice.pdf"), "{path}");
        let link = LinkToken::parse(token_of(&path)).unwrap();
        assert_eq!(link.key, "acme/sent/01J0/My invoice.pdf");
        assert_eq!(link.verify(TOKEN, &acme, 999), Ok(()));
        assert_eq!(link.verify(TOKEN, &acme, 1_001), Err(LinkError::Expired));
        assert_eq!(
            link.verify("another-token", &acme, 999),
            Err(LinkError::Forged)
        );
        assert_eq!(
            link.verify(TOKEN, &org("globex"), 999),
            Err(LinkError::Forged)
        );
    }

    #[test]
    fn only_sealed_copies_are_linked_and_tampering_is_caught() {
        let acme = org("acme");
        assert_eq!(path(TOKEN, &acme, "acme/uploads/1/a.pdf", 1_000), None);
        assert_eq!(path(TOKEN, &acme, "globex/sent/1/a.pdf", 1_000), None);
        let good = path(TOKEN, &acme, "acme/sent/1/a.pdf", 1_000).unwrap();
        let token = token_of(&good);
        // Another key under the same signature, a later expiry: both refused.
        let (expires, rest) = token.split_once('.').unwrap();
        let (signature, _) = rest.split_once('.').unwrap();
        let other_key = format!(
            "{expires}.{signature}.{}",
            URL_SAFE_NO_PAD.encode("acme/sent/2/b.pdf")
        );
        assert_eq!(
            LinkToken::parse(&other_key)
                .unwrap()
                .verify(TOKEN, &acme, 0),
            Err(LinkError::Forged)
        );
        let later = format!("9999.{rest}");
        assert_eq!(
            LinkToken::parse(&later).unwrap().verify(TOKEN, &acme, 0),
            Err(LinkError::Forged)
        );
        for bad in ["", "1.2", "x.00.YQ", "1.zz.YQ", "1.0.%%%", "1.000.YQ"] {
            assert!(
                LinkToken::parse(bad).map_or(true, |t| t.verify(TOKEN, &acme, 0).is_err()),
                "{bad}"
            );
        }
    }
}
