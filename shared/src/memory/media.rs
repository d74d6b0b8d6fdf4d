//! The media bucket in memory, with presigned URLs the local runner serves like S3's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use super::lock;
use crate::domain::{OrganizationId, ServedAs};
use crate::ports::{MediaStore, PortError, PortResult, PresignedRequest, StoredObject, media_key};

/// Bytes and content type by key.
type Objects = HashMap<String, (Vec<u8>, String)>;

/// Objects in memory, with presigned URLs that work like S3's: they point at `base_url`
/// (`/local/media/{key}` on the local runner), expire, and bind a PUT to its declared
/// content type and length — `verify` checks what the runner receives.
#[derive(Clone)]
pub struct MemoryMedia {
    objects: Arc<Mutex<Objects>>,
    /// Keys served with `Content-Disposition: attachment`, as S3 stores it per object.
    downloads: Arc<Mutex<std::collections::HashSet<String>>>,
    /// The retention period (days) each object is tagged with, as S3 keeps object tags.
    retention: Arc<Mutex<HashMap<String, u32>>>,
    base_url: String,
    signing_key: Arc<[u8; 16]>,
}

/// The parts of a presigned local media URL's query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaGrant {
    pub method: String,
    pub content_type: Option<String>,
    pub length: Option<u64>,
    pub expires: i64,
    pub signature: String,
}

impl MemoryMedia {
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            objects: Arc::default(),
            downloads: Arc::default(),
            retention: Arc::default(),
            base_url: base_url.into(),
            signing_key: Arc::new(ulid::Ulid::new().to_bytes()),
        }
    }

    /// An object's bytes and content type, by full key.
    pub fn object(&self, key: &str) -> Option<(Vec<u8>, String)> {
        lock(&self.objects).ok()?.get(key).cloned()
    }

    /// The retention period an object is tagged with (`RETENTION_TAG`), if any.
    pub fn retention_days(&self, key: &str) -> Option<u32> {
        lock(&self.retention).ok()?.get(key).copied()
    }

    /// The `Content-Disposition` an object is served with, if any.
    pub fn disposition(&self, key: &str) -> Option<&'static str> {
        lock(&self.downloads)
            .ok()?
            .contains(key)
            .then_some("attachment")
    }

    /// Every key, sorted (tests).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.objects)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    /// Stores what a presigned PUT delivered (after `verify`).
    pub fn store(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> PortResult<()> {
        lock(&self.objects)?.insert(key.to_owned(), (bytes, content_type.to_owned()));
        Ok(())
    }

    fn sign(&self, key: &str, grant: &MediaGrant) -> String {
        let mut mac = Hmac::<Sha1>::new_from_slice(self.signing_key.as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        let ct = grant.content_type.as_deref().unwrap_or_default();
        let len = grant.length.map(|l| l.to_string()).unwrap_or_default();
        mac.update(format!("{}\n{key}\n{ct}\n{len}\n{}", grant.method, grant.expires).as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn url(&self, key: &str, grant: &MediaGrant) -> String {
        let mut query = vec![
            ("method", grant.method.clone()),
            ("expires", grant.expires.to_string()),
        ];
        if let Some(ct) = &grant.content_type {
            query.push(("content_type", ct.clone()));
        }
        if let Some(len) = grant.length {
            query.push(("length", len.to_string()));
        }
        query.push(("signature", self.sign(key, grant)));
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        format!("{}/local/media/{key}?{query}", self.base_url)
    }

    /// Parses a presigned URL's query.
    pub fn grant(query: &str) -> Option<MediaGrant> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        Some(MediaGrant {
            method: get("method")?,
            content_type: get("content_type"),
            length: get("length").and_then(|l| l.parse().ok()),
            expires: get("expires")?.parse().ok()?,
            signature: get("signature")?,
        })
    }

    /// Whether a request may use this grant: signed by us, unexpired, same method, and for a
    /// PUT the content type and length it was issued for.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        grant: &MediaGrant,
        content_type: Option<&str>,
        length: Option<u64>,
    ) -> bool {
        let signed = self.sign(key, grant);
        let fresh = grant.expires >= chrono::Utc::now().timestamp();
        let same_body = grant.method != "PUT"
            || (grant.content_type.as_deref() == content_type && grant.length == length);
        signed == grant.signature && fresh && grant.method == method && same_body
    }
}

fn expiry(expires: Duration) -> i64 {
    chrono::Utc::now().timestamp() + expires.as_secs() as i64
}

impl MediaStore for MemoryMedia {
    async fn read_head(
        &self,
        org: &OrganizationId,
        key: &str,
        max_bytes: usize,
    ) -> PortResult<Option<Vec<u8>>> {
        let key = media_key(org, key)?;
        Ok(lock(&self.objects)?
            .get(&key)
            .map(|(bytes, _)| bytes[..bytes.len().min(max_bytes)].to_vec()))
    }

    async fn seal(
        &self,
        org: &OrganizationId,
        upload_key: &str,
        sealed_key: &str,
        retention_days: Option<u32>,
    ) -> PortResult<Option<StoredObject>> {
        let (from, to) = (media_key(org, upload_key)?, media_key(org, sealed_key)?);
        if let Some(days) = retention_days {
            lock(&self.retention)?.insert(to.clone(), days);
        }
        let mut objects = lock(&self.objects)?;
        let Some(object) = objects.get(&from).cloned() else {
            return Ok(None);
        };
        let stored = StoredObject {
            size: object.0.len() as u64,
            content_type: object.1.clone(),
        };
        objects.insert(to, object);
        Ok(Some(stored))
    }

    async fn discard(&self, org: &OrganizationId, key: &str) -> PortResult<()> {
        let key = media_key(org, key)?;
        lock(&self.objects)?.remove(&key);
        Ok(())
    }

    async fn put(
        &self,
        org: &OrganizationId,
        name: &str,
        bytes: Vec<u8>,
        served: &ServedAs,
        retention_days: Option<u32>,
    ) -> PortResult<String> {
        let key = media_key(org, name)?;
        if let Some(days) = retention_days {
            lock(&self.retention)?.insert(key.clone(), days);
        }
        self.store(&key, bytes, &served.content_type)?;
        if served.download {
            lock(&self.downloads)?.insert(key.clone());
        }
        Ok(key)
    }

    async fn head(&self, org: &OrganizationId, key: &str) -> PortResult<Option<StoredObject>> {
        let key = media_key(org, key)?;
        Ok(lock(&self.objects)?
            .get(&key)
            .map(|(bytes, content_type)| StoredObject {
                size: bytes.len() as u64,
                content_type: content_type.clone(),
            }))
    }

    async fn presign_get(
        &self,
        org: &OrganizationId,
        key: &str,
        expires: Duration,
    ) -> PortResult<String> {
        let key = media_key(org, key)?;
        let grant = MediaGrant {
            method: "GET".into(),
            expires: expiry(expires),
            ..Default::default()
        };
        Ok(self.url(&key, &grant))
    }

    async fn presign_put(
        &self,
        org: &OrganizationId,
        key: &str,
        content_type: &str,
        length: u64,
        expires: Duration,
    ) -> PortResult<PresignedRequest> {
        let key = media_key(org, key)?;
        if length == 0 {
            return Err(PortError::Corrupt("an upload needs a length".into()));
        }
        let grant = MediaGrant {
            method: "PUT".into(),
            content_type: Some(content_type.to_owned()),
            length: Some(length),
            expires: expiry(expires),
            signature: String::new(),
        };
        Ok(PresignedRequest {
            url: self.url(&key, &grant),
            method: "PUT".into(),
            headers: vec![("content-type".into(), content_type.to_owned())],
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn presigned_puts_bind_type_length_and_expiry() {
        let media = MemoryMedia::new("http://127.0.0.1:1");
        let org = OrganizationId::parse("acme").unwrap();
        let put = media
            .presign_put(
                &org,
                "acme/uploads/a.png",
                "image/png",
                10,
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        let query = put.url.split_once('?').unwrap().1;
        let grant = MemoryMedia::grant(query).unwrap();
        assert!(media.verify(
            "PUT",
            "acme/uploads/a.png",
            &grant,
            Some("image/png"),
            Some(10)
        ));
        assert!(!media.verify(
            "PUT",
            "acme/uploads/a.png",
            &grant,
            Some("image/png"),
            Some(11)
        ));
        assert!(!media.verify(
            "PUT",
            "acme/uploads/a.png",
            &grant,
            Some("image/jpeg"),
            Some(10)
        ));
        assert!(!media.verify(
            "PUT",
            "acme/uploads/b.png",
            &grant,
            Some("image/png"),
            Some(10)
        ));
        assert!(!media.verify("GET", "acme/uploads/a.png", &grant, None, None));
        let mut forged = grant.clone();
        forged.length = Some(11);
        assert!(!media.verify(
            "PUT",
            "acme/uploads/a.png",
            &forged,
            Some("image/png"),
            Some(11)
        ));
        let mut expired = grant.clone();
        expired.expires -= 120;
        assert!(!media.verify(
            "PUT",
            "acme/uploads/a.png",
            &expired,
            Some("image/png"),
            Some(10)
        ));
        assert!(
            media
                .presign_put(&org, "globex/a.png", "image/png", 1, Duration::from_secs(1))
                .await
                .is_err()
        );
    }
}
